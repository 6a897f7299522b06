# core/: libheed (static and shared) and its tools (core/tools/heed-*.c, one binary each).
CORE_SRCS := $(wildcard core/*.c)
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
CORE_TOOLS := $(patsubst core/tools/%.c,$(BUILD)/bin/%,$(wildcard core/tools/heed-*.c))
PROBES_H := $(BUILD)/include/heed_probes.h

# The version has one source, core/heed.h; the shared library's file name and
# heed.pc carry it, debian/changelog must match it (tests/t_install.sh checks).
# HEED_SOVERSION changes only when the ABI breaks: a symbol of
# debian/libheed0.symbols removed or changed in meaning (tests/t_abi.sh).
HEED_VERSION := $(shell sed -n 's/^.define HEED_VERSION_\(MAJOR\|MINOR\|PATCH\)[[:space:]]*//p' \
	core/heed.h | paste -sd.)
ifeq ($(shell echo '$(HEED_VERSION)' | grep -xE '[0-9]+[.][0-9]+[.][0-9]+'),)
$(error core/heed.h: HEED_VERSION_MAJOR, _MINOR, _PATCH do not read as a version: '$(HEED_VERSION)')
endif
HEED_SOVERSION := 0
HEED_SO := $(BUILD)/lib/libheed.so.$(HEED_VERSION)

# Every libheed function starts with a one-byte NOP so that a uprobe on it is
# emulated (about 0.7 us a hit) instead of single-stepped (about 12 us). A 5-byte
# NOP, which Linux 6.18 optimises into a call, cannot be had from GCC 12 with
# -fPIC (=5 gives five 1-byte NOPs, -mnop-mcount refuses -fPIC); the hot public
# functions are timed through heed:ops__batch instead (profiler/README.md).
CORE_CFLAGS := -fPIC -fvisibility=hidden -fpatchable-function-entry=1

ifeq ($(HEED_PROBES),1)
CORE_OBJS += $(BUILD)/obj/core/probes_sem.o

$(PROBES_H): core/probes.d
	$(call msg,DTRACE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)dtrace --no-pyparsing -h -s $< -o $@

# The semaphores the *_ENABLED() guards read; a tracer sets them on attach.
$(BUILD)/obj/core/probes_sem.o: core/probes.d
	$(call msg,DTRACE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)CFLAGS="-fPIC" dtrace --no-pyparsing -G -s $< -o $@
else
$(PROBES_H):
	$(Q)mkdir -p $(@D)
	$(Q)printf '/* HEED_PROBES=0: probes compiled out */\n' > $@
endif

$(CORE_SRCS:%.c=$(BUILD)/obj/%.o): CFLAGS += $(CORE_CFLAGS)
# The ops batch's thread-local buffer through TLS descriptors: their call clobbers
# one register, where __tls_get_addr's clobbers all that a call may, which made
# op_append save and restore four registers on every traced op. Still dynamic TLS,
# so a dlopen()ed libheed.so works; relaxed to a plain %fs access when linked into a
# program.
ifeq ($(ARCH),x86)
$(BUILD)/obj/core/opbatch.o: CFLAGS += -mtls-dialect=gnu2
endif
$(CORE_SRCS:%.c=$(BUILD)/obj/%.o): | $(PROBES_H)

$(BUILD)/lib/libheed.a: $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

# libheed.so.0.1.0 with SONAME libheed.so.0, and the two links a distribution
# installs: libheed.so.0 (the run-time name) and libheed.so (the link-time one).
$(HEED_SO): $(CORE_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -shared $(LDFLAGS) -Wl,-soname,libheed.so.$(HEED_SOVERSION) -Wl,-z,defs \
		-o $@ $^ $(LDLIBS)

$(BUILD)/lib/libheed.so.$(HEED_SOVERSION) $(BUILD)/lib/libheed.so: $(HEED_SO)
	$(Q)ln -sf $(notdir $<) $@

$(CORE_TOOLS): $(BUILD)/bin/%: $(BUILD)/obj/core/tools/%.o $(BUILD)/lib/libheed.a $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(UTIL_LDLIBS) $(LDLIBS)

$(BUILD)/obj/core/tools/%.o: | $(PROBES_H)

LIBS += $(BUILD)/lib/libheed.a $(BUILD)/lib/libheed.so $(BUILD)/lib/libheed.so.$(HEED_SOVERSION)
BINS += $(CORE_TOOLS)
LINT_SRCS += $(CORE_SRCS) $(wildcard core/tools/*.c)
