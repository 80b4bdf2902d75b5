# tests/local.mk -- make check. Each area keeps its tests in tests/<area>/local.mk.
include tests/deck/local.mk
include tests/model/local.mk
include tests/prep/local.mk
include tests/train/local.mk
include tests/jobs/local.mk
include tests/install/local.mk
