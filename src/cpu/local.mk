# src/cpu/local.mk -- the CPU backend (float32, OpenMP), part of libt6core.a.
libt6core_a_SOURCES += src/cpu/cpu_backend.c
