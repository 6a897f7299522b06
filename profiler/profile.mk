# profiler/profile.mk: heed-profile (profiles the bench suites under heed-trace,
# recommends, writes optimize.sh) and libheedprofile.a, the folded-stack ranking
# and the rule table it is built from.
PROFILE_LIB_SRCS := profiler/profile_stacks.c profiler/recommend.c
PROFILE_LIB_OBJS := $(PROFILE_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
PROFILE_LIB := $(BUILD)/lib/libheedprofile.a

$(PROFILE_LIB): $(PROFILE_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/heed-profile: $(BUILD)/obj/profiler/heed-profile.o $(PROFILE_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/profiler/heed-profile.o: CFLAGS += -Iprofiler

TEST_LIBS_test_recommend := $(PROFILE_LIB)
$(BUILD)/obj/tests/test_recommend.o: CFLAGS += -Iprofiler

LIBS += $(PROFILE_LIB)
BINS += $(BUILD)/bin/heed-profile
LINT_SRCS += $(PROFILE_LIB_SRCS) profiler/heed-profile.c
