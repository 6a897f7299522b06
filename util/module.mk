# util/: libheedutil.a, the pieces every tool and test shares (number parsing,
# the regression verdict, value formatting, directories, JSON through jansson).
# libheed does not link it: the store stays free of dependencies.
UTIL_SRCS := $(wildcard util/*.c)
UTIL_OBJS := $(UTIL_SRCS:%.c=$(BUILD)/obj/%.o)
UTIL_LIB := $(BUILD)/lib/libheedutil.a
# What a program linking $(UTIL_LIB) needs after it.
UTIL_LDLIBS := -ljansson -lm

$(UTIL_LIB): $(UTIL_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

# Every object outside core/ may include util/*.h.
CPPFLAGS += -Iutil

LIBS += $(UTIL_LIB)
LINT_SRCS += $(UTIL_SRCS)

# tests/test_util.c: this library's contracts.
TEST_LDLIBS_test_util := $(UTIL_LDLIBS) -lm
