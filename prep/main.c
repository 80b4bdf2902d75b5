/* main.c -- t6-prep (placeholder while the pipeline is written). */
int main(void) { return 0; }
