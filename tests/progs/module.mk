# tests/progs/: the target programs that tests/t_trace*.sh trace, -O2 with frame
# pointers like everything, each with its own USDT provider where it needs one.
TRACE_PROGS := $(patsubst tests/progs/%.c,$(BUILD)/tests/progs/%,$(wildcard tests/progs/*.c))
TRACE_PROG_PROBES := $(BUILD)/include/trace_probes.h

$(TRACE_PROG_PROBES): tests/progs/probes.d
	$(call msg,DTRACE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)dtrace --no-pyparsing -h -s $< -o $@

$(BUILD)/obj/tests/progs/probes.o: tests/progs/probes.d
	$(call msg,DTRACE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)dtrace --no-pyparsing -G -s $< -o $@

# pairs.c carries a heed provider without ops__batch (heedpairs.d).
TRACE_PAIRS_PROBES := $(BUILD)/include/heedpairs_probes.h

$(TRACE_PAIRS_PROBES): tests/progs/heedpairs.d
	$(call msg,DTRACE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)dtrace --no-pyparsing -h -s $< -o $@

$(BUILD)/obj/tests/progs/heedpairs.o: tests/progs/heedpairs.d
	$(call msg,DTRACE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)dtrace --no-pyparsing -G -s $< -o $@

# badbatch.c carries a heed provider with only ops__batch (heedbatch.d).
TRACE_BATCH_PROBES := $(BUILD)/include/heedbatch_probes.h

$(TRACE_BATCH_PROBES): tests/progs/heedbatch.d
	$(call msg,DTRACE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)dtrace --no-pyparsing -h -s $< -o $@

$(BUILD)/obj/tests/progs/heedbatch.o: tests/progs/heedbatch.d
	$(call msg,DTRACE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)dtrace --no-pyparsing -G -s $< -o $@

$(TRACE_PROGS:$(BUILD)/tests/progs/%=$(BUILD)/obj/tests/progs/%.o): | $(TRACE_PROG_PROBES) \
	$(TRACE_PAIRS_PROBES) $(TRACE_BATCH_PROBES)

$(BUILD)/tests/progs/badbatch: $(BUILD)/obj/tests/progs/badbatch.o \
		$(BUILD)/obj/tests/progs/heedbatch.o $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/progs/pairs: $(BUILD)/obj/tests/progs/pairs.o $(BUILD)/obj/tests/progs/heedpairs.o \
		$(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# nested.c and pending.c drive libheed itself (nested write txns under --ops and
# --usdt; threads that end with ops in their batch).
$(BUILD)/tests/progs/nested $(BUILD)/tests/progs/pending: $(BUILD)/tests/progs/%: \
		$(BUILD)/obj/tests/progs/%.o $(BUILD)/lib/libheed.a $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/progs/%: $(BUILD)/obj/tests/progs/%.o $(BUILD)/obj/tests/progs/probes.o \
		$(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

LINT_SRCS += $(wildcard tests/progs/*.c)
LINT_DEPS += $(TRACE_PROG_PROBES) $(TRACE_PAIRS_PROBES) $(TRACE_BATCH_PROBES)

# The trace tests (tests/t_trace*.sh, test_trace) run or read these programs.
check: $(TRACE_PROGS)
$(BUILD)/tests/test_trace: | $(TRACE_PROGS)

# tests/progs/nofp: a program and its shared library built -O2 -fomit-frame-pointer
# like Debian's packages, whose call chain only CFI can walk (t_trace_unwind.sh).
NOFP_PROG := $(BUILD)/tests/progs/nofp
NOFP_LIB := $(BUILD)/tests/progs/libnofpchain.so
$(BUILD)/obj/tests/progs/nofp/%.o: CFLAGS += -O2 -fomit-frame-pointer -momit-leaf-frame-pointer
$(BUILD)/obj/tests/progs/nofp/lib.o: CFLAGS += -fPIC

$(NOFP_LIB): $(BUILD)/obj/tests/progs/nofp/lib.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -shared -o $@ $^

$(NOFP_PROG): $(BUILD)/obj/tests/progs/nofp/main.o $(NOFP_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< -L$(@D) -lnofpchain -Wl,-rpath,'$$ORIGIN'

LINT_SRCS += $(wildcard tests/progs/nofp/*.c)
check: $(NOFP_PROG)

# tests/progs/cxx: a C++ program whose hot function has a mangled name.
CXXHOT_PROG := $(BUILD)/tests/progs/cxxhot
$(CXXHOT_PROG): tests/progs/cxx/hot.cc
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -std=c++17 -O2 -g -Wall -Wextra $(WERROR) -o $@ $<

check: $(CXXHOT_PROG)
