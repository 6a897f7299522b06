# profiler/profile.mk: libheedprofile.a, the folded-stack ranking and the rule
# table heed-profile uses.
PROFILE_LIB_SRCS := profiler/profile_stacks.c profiler/recommend.c
PROFILE_LIB_OBJS := $(PROFILE_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
PROFILE_LIB := $(BUILD)/lib/libheedprofile.a

$(PROFILE_LIB): $(PROFILE_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

TEST_LIBS_test_recommend := $(PROFILE_LIB)
$(BUILD)/obj/tests/test_recommend.o: CFLAGS += -Iprofiler

LIBS += $(PROFILE_LIB)
LINT_SRCS += $(PROFILE_LIB_SRCS)
