# bench/: the harness (libheedbench.a), the suites btree_ops, page_alloc and
# db_comparison, heed-bench-compare (interleaved A/B comparison) and heed-gen-folded.
# Sources are listed, not globbed: bench/ also holds other modules' files.
BENCH_LIB_SRCS := bench/stats.c bench/harness.c
BENCH_LIB_OBJS := $(BENCH_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
BENCH_LIB := $(BUILD)/lib/libheedbench.a
BENCH_KV_SRCS := bench/kv.c bench/kv_heed.c bench/kv_lmdb.c bench/kv_sqlite.c \
	bench/kv_leveldb.c bench/kv_rocksdb.c
BENCH_SUITE_SRCS := bench/btree_ops.c bench/page_alloc.c bench/db_comparison.c
BENCH_COMPARE_SRCS := bench/compare.c
BENCH_SRCS := $(BENCH_LIB_SRCS) $(BENCH_KV_SRCS) $(BENCH_SUITE_SRCS) $(BENCH_COMPARE_SRCS)
BENCH_OBJS := $(BENCH_SRCS:%.c=$(BUILD)/obj/%.o)
BENCH_BINS := $(BUILD)/bench/btree_ops $(BUILD)/bench/page_alloc $(BUILD)/bench/db_comparison
BENCH_COMPARE := $(BUILD)/bin/heed-bench-compare

# The JSON results name the build type they were measured with.
$(BUILD)/obj/bench/harness.o: CPPFLAGS += -DHEED_BENCH_BUILD_TYPE='"$(BUILD_TYPE)"'
$(BENCH_OBJS): CPPFLAGS += -Ibench
$(BENCH_OBJS): | $(PROBES_H)

$(BENCH_LIB): $(BENCH_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bench/btree_ops $(BUILD)/bench/page_alloc: $(BUILD)/bench/%: $(BUILD)/obj/bench/%.o \
		$(BENCH_LIB) $(BUILD)/lib/libheed.a $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(UTIL_LDLIBS) -lm $(LDLIBS)

$(BUILD)/bench/db_comparison: $(BUILD)/obj/bench/db_comparison.o \
		$(BENCH_KV_SRCS:%.c=$(BUILD)/obj/%.o) $(BENCH_LIB) $(BUILD)/lib/libheed.a $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -llmdb -lsqlite3 -lleveldb -lrocksdb $(UTIL_LDLIBS) -lm $(LDLIBS)

$(BENCH_COMPARE): $(BUILD)/obj/bench/compare.o $(BENCH_LIB) $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(UTIL_LDLIBS) -lm $(LDLIBS)

TEST_LIBS_test_harness := $(BENCH_LIB)
TEST_LDLIBS_test_harness := $(UTIL_LDLIBS) -lm

LIBS += $(BENCH_LIB)
BINS += $(BENCH_COMPARE)
BENCHES += $(BENCH_BINS)
LINT_SRCS += $(BENCH_SRCS)
$(BUILD)/obj/tests/test_harness.o: CPPFLAGS += -Ibench

# heed-gen-folded: synthetic folded-stack files for flame/bench.sh.
$(BUILD)/bin/heed-gen-folded: $(BUILD)/obj/bench/gen_folded.o $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

BINS += $(BUILD)/bin/heed-gen-folded
LINT_SRCS += bench/gen_folded.c
