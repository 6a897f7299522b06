# tests/faults/: the fault injector (fault.h) linked into test_faults by
# --wrap, so only calls made from libheed.a and the test object are wrapped;
# the release library never sees it.
FAULT_FNS := write writev pwrite pwrite64 pwritev fsync fdatasync msync sync_file_range \
	ftruncate ftruncate64 fallocate fallocate64 posix_fallocate posix_fallocate64 \
	mmap mmap64
FAULT_WRAP := $(foreach f,$(FAULT_FNS),-Wl,--wrap=$(f))
FAULT_OBJ := $(BUILD)/obj/tests/faults/fault.o

TEST_LIBS_test_faults := $(FAULT_OBJ)
TEST_LDLIBS_test_faults := $(FAULT_WRAP)

LINT_SRCS += tests/faults/fault.c
