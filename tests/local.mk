# tests/local.mk -- make check. Each area keeps its tests in tests/<area>/local.mk.
include tests/deck/local.mk
include tests/model/local.mk
include tests/prep/local.mk
include tests/train/local.mk
include tests/jobs/local.mk
include tests/plot/local.mk
include tests/hf/local.mk
include tests/eval/local.mk
include tests/gen/local.mk
include tests/install/local.mk
