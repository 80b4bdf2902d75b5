# tests/hf/local.mk -- Hugging Face export/import (issue 11 item 5): the library round
# trip per attention type (roundtrip.c), the t6 command line end to end with an
# independent Python reader of the safetensors header (export.sh, st_check.py), and
# bad inputs (errors.sh, st_edit.py).
check_PROGRAMS += tests/hf/roundtrip
tests_hf_roundtrip_SOURCES = tests/hf/roundtrip.c
tests_hf_roundtrip_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
HF_TESTS = tests/hf/units.sh tests/hf/export.sh tests/hf/errors.sh
TESTS += $(HF_TESTS)
EXTRA_DIST += $(HF_TESTS) tests/hf/common.sh tests/hf/st_check.py tests/hf/st_edit.py
# t6's logits from an export or a checkpoint (export.sh; tests/gpu/hf_reference_check.py)
check_PROGRAMS += tests/hf/hf_logits
tests_hf_hf_logits_SOURCES = tests/hf/hf_logits.c
tests_hf_hf_logits_LDADD = libt6core.a $(T6_CUDA_LIB) $(T6_BASE_LIBS) $(CUDA_LIBS)
EXTRA_DIST += tests/gpu/hf_reference_check.sh tests/gpu/hf_reference_check.py
