# profiler/: heed-trace and the modules it is built from, in libheedtrace.a so that
# heed-profile can link them too; plus the target programs of the trace tests.
TRACE_LIB_SRCS := profiler/jsonw.c profiler/lathist.c profiler/procmaps.c \
	profiler/symbolize.c profiler/elfinfo.c profiler/target.c profiler/stacks.c \
	profiler/links.c profiler/usdt.c profiler/func.c profiler/prof.c profiler/unwind.c
TRACE_LIB_OBJS := $(TRACE_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TRACE_OBJS := $(TRACE_LIB_OBJS) $(BUILD)/obj/profiler/heed-trace.o
TRACE_LIB := $(BUILD)/lib/libheedtrace.a
# What a program linking libheedtrace.a needs after it.
TRACE_LDLIBS := -lbpf -lelf -lz -ldw -lpthread -lstdc++
FLAME_LIB ?= $(BUILD)/lib/libflame.a
# stacks.c ranks functions with profile_stacks.c (profile.mk).
PROFILE_LIB ?= $(BUILD)/lib/libheedprofile.a

$(TRACE_OBJS): CFLAGS += -Iprofiler -Ibpf -I$(BUILD)/bpf -Iflame
# The skeletons are generated headers: build them before any object that may
# include one (-MMD tracks the real dependencies from then on).
$(TRACE_OBJS): | $(BPF_SKELS) $(PROBES_H)

$(TRACE_LIB): $(TRACE_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/heed-trace: $(BUILD)/obj/profiler/heed-trace.o $(TRACE_LIB) $(PROFILE_LIB) \
	$(FLAME_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(TRACE_LDLIBS) $(LDLIBS) -lm

# Target programs for tests/t_trace*.sh: -O2 with frame pointers like everything,
# each with its own USDT provider where it needs one.
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

$(TRACE_PROGS:$(BUILD)/tests/progs/%=$(BUILD)/obj/tests/progs/%.o): | $(TRACE_PROG_PROBES) \
	$(TRACE_PAIRS_PROBES)

$(BUILD)/tests/progs/pairs: $(BUILD)/obj/tests/progs/pairs.o $(BUILD)/obj/tests/progs/heedpairs.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/progs/%: $(BUILD)/obj/tests/progs/%.o $(BUILD)/obj/tests/progs/probes.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

LIBS += $(TRACE_LIB)
BINS += $(BUILD)/bin/heed-trace
LINT_SRCS += $(TRACE_LIB_SRCS) profiler/heed-trace.c $(wildcard tests/progs/*.c)
LINT_DEPS += $(BPF_SKELS) $(TRACE_PROG_PROBES) $(TRACE_PAIRS_PROBES)

# The trace tests (tests/t_trace*.sh) run these programs.
check: $(TRACE_PROGS)

# tests/test_trace.c: the modules above, without root.
TEST_LIBS_test_trace := $(TRACE_LIB) $(PROFILE_LIB) $(FLAME_LIB)
TEST_LDLIBS_test_trace := $(TRACE_LDLIBS) -lm
$(BUILD)/obj/tests/test_trace.o: CFLAGS += -Iprofiler -Ibpf -I$(BUILD)/bpf -Iflame
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
