# profiler/: heed-trace and the modules it is built from, in libheedtrace.a so that
# heed-profile can link them too.
TRACE_LIB_SRCS := profiler/lathist.c profiler/procmaps.c \
	profiler/symbolize.c profiler/symcache.c profiler/symtab.c profiler/elfinfo.c profiler/target.c profiler/stacks.c \
	profiler/links.c profiler/usdt.c profiler/func.c profiler/sampler.c profiler/slow.c profiler/watch.c \
	profiler/unwind.c profiler/select.c profiler/maptrack.c
TRACE_LIB_OBJS := $(TRACE_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TRACE_OBJS := $(TRACE_LIB_OBJS) $(BUILD)/obj/profiler/heed-trace.o
TRACE_LIB := $(BUILD)/lib/libheedtrace.a
PROBE_RC_H := $(BUILD)/include/heed_probe_rc.h
# What a program linking libheedtrace.a needs after it.
TRACE_LDLIBS := -lbpf -lelf -lz -ldw -lpthread -lstdc++ $(UTIL_LDLIBS)
FLAME_LIB ?= $(BUILD)/lib/libflame.a
# stacks.c ranks functions with folded.c (profile.mk).
PROFILE_LIB ?= $(BUILD)/lib/libheedprofile.a

$(TRACE_OBJS): CFLAGS += -Iprofiler -Ibpf -I$(BUILD)/bpf -Iflame
# The skeletons are generated headers: build them before any object that may
# include one (-MMD tracks the real dependencies from then on).
$(TRACE_OBJS): | $(BPF_SKELS) $(PROBES_H) $(PROBE_RC_H)

# Where each probe of core/probes.d carries its result code, its argument named rc:
# HEED_PROBE_RC(probe, 1 + index) a line, 0 for none (usdt.c).
$(PROBE_RC_H): core/probes.d profiler/module.mk
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)awk 'BEGIN { print "/* Generated from core/probes.d by profiler/module.mk */" } \
	  /^[[:space:]]*probe[[:space:]]/ { s = $$0; sub(/^[[:space:]]*probe[[:space:]]+/, "", s); \
	    name = s; sub(/[[:space:]]*\(.*/, "", name); sub(/^[^(]*\(/, "", s); sub(/\).*/, "", s); \
	    n = split(s, a, ","); rc = 0; for (i = 1; i <= n; i++) if (a[i] ~ /[[:space:]*]rc[[:space:]]*$$/) \
	      rc = i; printf "HEED_PROBE_RC(%s, %d)\n", name, rc }' $< > $@.tmp && mv $@.tmp $@

$(TRACE_LIB): $(TRACE_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/heed-trace: $(BUILD)/obj/profiler/heed-trace.o $(TRACE_LIB) $(PROFILE_LIB) \
	$(FLAME_LIB) $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(TRACE_LDLIBS) $(LDLIBS) -lm

LIBS += $(TRACE_LIB)
BINS += $(BUILD)/bin/heed-trace
LINT_SRCS += $(TRACE_LIB_SRCS) profiler/heed-trace.c
LINT_DEPS += $(BPF_SKELS)

# tests/test_trace.c: the modules above, without root.
TEST_LIBS_test_trace := $(TRACE_LIB) $(PROFILE_LIB) $(FLAME_LIB)
TEST_LDLIBS_test_trace := $(TRACE_LDLIBS) -lm
$(BUILD)/obj/tests/test_trace.o: CFLAGS += -Iprofiler -Ibpf -I$(BUILD)/bpf -Iflame
# tests/test_symcache.c: symbol tables shared per file; as root (map_files).
TEST_LIBS_test_symcache := $(TRACE_LIB)
TEST_LDLIBS_test_symcache := $(TRACE_LDLIBS)
$(BUILD)/obj/tests/test_symcache.o: CFLAGS += -Iprofiler
$(BUILD)/tests/test_symcache: | $(BUILD)/tests/progs/hot $(BUILD)/tests/progs/symodd
# tests/test_maptrack.c: mappings as the kernel tells them; as root (perf events).
TEST_LIBS_test_maptrack := $(TRACE_LIB)
TEST_LDLIBS_test_maptrack := $(TRACE_LDLIBS)
$(BUILD)/obj/tests/test_maptrack.o: CFLAGS += -Iprofiler
# pprof.c: profiles in pprof's format (gzipped profile.proto), in libheedtrace.a;
# heed-pprof converts folded stacks to it.
PPROF_OBJS := $(BUILD)/obj/profiler/pprof.o $(BUILD)/obj/profiler/pprof_write.o
$(TRACE_LIB): $(PPROF_OBJS)
$(PPROF_OBJS) $(BUILD)/obj/profiler/heed-pprof.o: CFLAGS += -Iprofiler

$(BUILD)/bin/heed-pprof: $(BUILD)/obj/profiler/heed-pprof.o $(TRACE_LIB) $(PROFILE_LIB) $(FLAME_LIB) \
		$(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lz $(LDLIBS)

BINS += $(BUILD)/bin/heed-pprof
LINT_SRCS += profiler/pprof.c profiler/pprof_write.c profiler/heed-pprof.c

# tests/test_pprof.c: built profiles read back by Debian's go tool pprof.
TEST_LIBS_test_pprof := $(TRACE_LIB) $(PROFILE_LIB)
TEST_LDLIBS_test_pprof := -lz
$(BUILD)/obj/tests/test_pprof.o: CFLAGS += -Iprofiler

# Benchmarks of the symbolizer run by hand (README.md): symscale, the cost of
# symbolizing the same stacks in 1 and in N processes of one binary; symlookup, the
# cost of naming many addresses of one big file.
PROFILER_BENCHES := symscale symlookup
$(BUILD)/obj/profiler/symscale.o $(BUILD)/obj/profiler/symlookup.o: CFLAGS += -Iprofiler -Ibpf
$(PROFILER_BENCHES:%=$(BUILD)/bench/%): $(BUILD)/bench/%: $(BUILD)/obj/profiler/%.o $(TRACE_LIB) $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(TRACE_LDLIBS) $(LDLIBS)

BINS += $(PROFILER_BENCHES:%=$(BUILD)/bench/%)
LINT_SRCS += $(PROFILER_BENCHES:%=profiler/%.c)
