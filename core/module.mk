# core/: libheed (static and shared) and its tools heed-stat, heed-check, heed-load.
CORE_SRCS := $(wildcard core/*.c)
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
CORE_TOOLS := $(patsubst core/tools/%.c,$(BUILD)/bin/%,$(wildcard core/tools/heed-*.c))
PROBES_H := $(BUILD)/include/heed_probes.h

# Every libheed function starts with a one-byte NOP so that a uprobe on it is
# emulated (about 0.7 us a hit) instead of single-stepped (about 12 us).
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
$(CORE_SRCS:%.c=$(BUILD)/obj/%.o): | $(PROBES_H)

$(BUILD)/lib/libheed.a: $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/lib/libheed.so: $(CORE_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -shared $(LDFLAGS) -Wl,-soname,libheed.so.0 -o $@ $^ $(LDLIBS)

$(CORE_TOOLS): $(BUILD)/bin/%: $(BUILD)/obj/core/tools/%.o $(BUILD)/lib/libheed.a $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(UTIL_LDLIBS) $(LDLIBS)

$(BUILD)/obj/core/tools/%.o: | $(PROBES_H)

LIBS += $(BUILD)/lib/libheed.a $(BUILD)/lib/libheed.so
BINS += $(CORE_TOOLS)
LINT_SRCS += $(CORE_SRCS) $(wildcard core/tools/*.c)
