/* dumpdocs.c -- prints the documents t6 reads for a task (gold, doc_to_text, the
 * choices, the target), fields separated by 0x1f and documents by 0x1e, for
 * tests/eval/prompts.sh to compare with a Python transcription of lm-eval's templates.
 *   dumpdocs EVAL_DIR TASK [fewshot] */
#include <stdio.h>

#include "eval/evtask.h"

int main(int argc, char **argv)
{
    char err[1024];
    t6_ev_docs d;
    if (argc < 3) { fprintf(stderr, "usage: dumpdocs EVAL_DIR TASK [fewshot]\n"); return 2; }
    int id = t6_task_lookup(argv[2]);
    if (id < 0) { fprintf(stderr, "unknown task %s\n", argv[2]); return 2; }
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
