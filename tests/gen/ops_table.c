/* ops_table.c -- every slot of the backends' ops tables is set: a backend that
 * forgets an op (e.g. a new one added to backend.h) is caught here, without a device
 * (the tables are constant data). The CPU table always; the CUDA table in CUDA builds. */
#include "config.h"

#include "../model/tmodel.h"

typedef void (*slot_fn)(void);

static void check_table(const char *name, const t6_ops *ops)
{
    _Static_assert(sizeof(t6_ops) % sizeof(slot_fn) == 0, "t6_ops holds only function pointers");
    const int n = (int)(sizeof(t6_ops) / sizeof(slot_fn));
    slot_fn slots[sizeof(t6_ops) / sizeof(slot_fn)];
    memcpy(slots, ops, sizeof slots);
    int unset = 0;
    for (int i = 0; i < n; i++)
        if (!slots[i]) {
            printf("  %s: slot %d of %d is NULL\n", name, i, n);
            unset++;
        }
    tm_check(unset == 0, "%s ops table: all %d slots set", name, n);
    /* and the named generation slots, so a message says which */
    tm_check(ops->rope_fwd_pos && ops->cache_scatter && ops->decode_attention_tpa && ops->decode_attention_kv &&
                 ops->decode_attention_mla,
             "%s ops table: the generation ops are set", name);
}

int main(void)
{
    check_table("cpu", t6_cpu_ops_table());
#ifdef T6_HAVE_CUDA
    check_table("cuda", t6_cuda_ops_table());
#endif
    return tm_finish("ops_table");
}
