/* dumpdocs.c -- prints what t6 makes of a task's files, for tests/eval/prompts.sh to
 * compare with a Python transcription of lm-eval (tests/eval/lmeval_prompts.py):
 *   dumpdocs EVAL_DIR TASK [fewshot]
 *     the documents (gold, doc_to_text, target, the choices), fields separated by 0x1f,
 *     documents by 0x1e; "fewshot" reads the few-shot split instead;
 *   dumpdocs EVAL_DIR TASK requests K LIMIT
 *     the request strings of the first LIMIT documents (0 = all; MMLU: per subject) with
 *     K few-shot examples drawn as job eval draws them (t6_ev_fewshot_pick,
 *     random.Random(1234) per task): context 0x1f continuation, requests separated by 0x1e. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/evtask.h"

static int requests(const char *dir, int id, int k, long limit)
{
    char err[1024];
    const t6_task_info *info = t6_task_get((t6_task_id)id);
    t6_ev_docs d, fs = {0};
    if (t6_ev_read(id, dir, 0, limit, &d, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    if (k > 0 && t6_ev_read(id, dir, 1, 0, &fs, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    t6_pyrandom rnd;
    t6_pyrandom_seed(&rnd, 1234);
    for (size_t i = 0; i < d.n; i++) {
        const t6_ev_raw *ex[64];
        int nex = k > 0 ? t6_ev_fewshot_pick(id, &rnd, &fs, &d.docs[i], k, ex) : 0;
        if (nex < k) { fprintf(stderr, "document %zu: %d of %d few-shot examples\n", i, nex, k); return 1; }
        char *prefix = t6_ev_fewshot_prefix(info, &d.docs[i], ex, nex);
        t6_ev_pair p[64];
        int np = t6_ev_build_requests(info, &d.docs[i], prefix, p);
        for (int j = 0; j < np; j++) {
            printf("%s\x1f%s\x1e", p[j].ctx, p[j].cont);
            free(p[j].ctx);
            free(p[j].cont);
        }
        free(prefix);
    }
    t6_ev_docs_free(&d);
    if (k > 0) t6_ev_docs_free(&fs);
    return 0;
}

int main(int argc, char **argv)
{
    char err[1024];
    t6_ev_docs d;
    if (argc < 3) { fprintf(stderr, "usage: dumpdocs EVAL_DIR TASK [fewshot | requests K LIMIT]\n"); return 2; }
    int id = t6_task_lookup(argv[2]);
    if (id < 0) { fprintf(stderr, "unknown task %s\n", argv[2]); return 2; }
    if (argc > 3 && strcmp(argv[3], "requests") == 0) {
        if (argc != 6 || atoi(argv[4]) < 0 || atoi(argv[4]) > 64) { fprintf(stderr, "requests needs K (0..64) and LIMIT\n"); return 2; }
        return requests(argv[1], id, atoi(argv[4]), atol(argv[5]));
    }
    if (t6_ev_read(id, argv[1], argc > 3, 0, &d, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
    for (size_t i = 0; i < d.n; i++) {
        const t6_ev_raw *r = &d.docs[i];
        printf("%d\x1f%s\x1f%s", r->gold, r->text ? r->text : "", r->target ? r->target : "");
        for (int c = 0; c < r->n_choices; c++) printf("\x1f%s", r->choices[c]);
        printf("\x1e");
    }
    t6_ev_docs_free(&d);
    return 0;
}
