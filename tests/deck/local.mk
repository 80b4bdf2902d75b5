# tests/deck/local.mk -- tests of this area (see tests/local.mk).
