# tests/sanitize/threads: the multi-threaded stress program that
# tests/t_sanitize.sh runs under ThreadSanitizer (a plain program: Criterion
# cannot start under TSan). Also an ordinary test of every build.
THREADS_BIN := $(BUILD)/tests/threads
$(BUILD)/obj/tests/sanitize/threads.o: | $(PROBES_H)
$(THREADS_BIN): $(BUILD)/obj/tests/sanitize/threads.o $(BUILD)/lib/libheed.a $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
TESTS += $(THREADS_BIN)
LINT_SRCS += tests/sanitize/threads.c
