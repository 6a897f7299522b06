# tests/fuzz/: libFuzzer targets. libheed's sources are compiled again with
# clang, ASan and UBSan (and libFuzzer's coverage) into $(BUILD)/fuzz/, apart
# from the normal objects; probes are compiled out (HEED_PROBES=0).
#   make fuzz                         both targets
#   $(BUILD)/fuzz/fuzz_open CORPUS    run one (see tests/t_fuzz.sh)
#   make fuzz-seeds                   regenerate tests/fuzz/corpus/
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_NAMES := fuzz_open fuzz_ops
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_DIR)/%)
FUZZ_CORE_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(wildcard core/*.c))
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -fno-omit-frame-pointer -MMD -MP \
	-D_GNU_SOURCE -Icore -DHEED_PROBES=0 $(FUZZ_SAN) -fsanitize=fuzzer-no-link

$(FUZZ_DIR)/obj/%.o: %.c
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BINS): $(FUZZ_DIR)/%: $(FUZZ_DIR)/obj/tests/fuzz/%.o $(FUZZ_CORE_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -lpthread

$(BUILD)/fuzz/gen_seeds: $(BUILD)/obj/tests/fuzz/gen_seeds.o $(BUILD)/lib/libheed.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/tests/fuzz/gen_seeds.o: | $(PROBES_H)

fuzz: $(FUZZ_BINS)

fuzz-seeds: $(BUILD)/fuzz/gen_seeds
	$(Q)$< tests/fuzz/corpus

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)

LINT_SRCS += tests/fuzz/fuzz_open.c tests/fuzz/fuzz_ops.c tests/fuzz/gen_seeds.c
.PHONY: fuzz fuzz-seeds
