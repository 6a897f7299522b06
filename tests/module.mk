# tests/: one Criterion suite per module, tests/test_<module>.c -> $(BUILD)/tests/test_<module>.
# A suite links libheed.a unless its module sets TEST_LIBS_test_<module> (extra
# libraries, linked before libheed.a) in its own fragment.
TEST_SRCS := $(wildcard tests/test_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

$(TEST_SRCS:%.c=$(BUILD)/obj/%.o): | $(PROBES_H)

.SECONDEXPANSION:
$(TEST_BINS): $(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $$(TEST_LIBS_$$*) $(BUILD)/lib/libheed.a \
		$(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LDLIBS_$*) -lcriterion $(LDLIBS)

TESTS += $(TEST_BINS)
LINT_SRCS += $(TEST_SRCS)

# test_lmdb_diff runs the same calls on heed and on Debian's LMDB.
TEST_LDLIBS_test_lmdb_diff := -llmdb
TEST_LDLIBS_test_lmdb_dups := -llmdb
