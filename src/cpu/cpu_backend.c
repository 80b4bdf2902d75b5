/* cpu_backend.c -- SCAFFOLD: replaced by the CPU-model issue's implementation. */
#include "backend.h"
#include "util.h"
t6_backend *t6_cpu_backend_create(const t6_backend_config *cfg) { (void)cfg; t6_fatal("CPU backend not implemented yet"); }
void t6_cpu_backend_destroy(t6_backend *be) { (void)be; }
