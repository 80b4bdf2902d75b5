# src/cpu/local.mk -- the CPU backend (float32, OpenMP), part of libt6core.a.
libt6core_a_SOURCES += src/cpu/cpu_backend.c src/cpu/cpu_ops.h src/cpu/blas_env.c src/cpu/blas_env.h \
  src/cpu/cpu_matmul.c src/cpu/cpu_attention.c src/cpu/cpu_norm_rope.c \
  src/cpu/cpu_tpa.c src/cpu/cpu_mla.c src/cpu/cpu_decode.c src/cpu/cpu_decode_mla.c src/cpu/cpu_loss.c src/cpu/cpu_optim.c
