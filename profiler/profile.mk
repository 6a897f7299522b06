# profiler/profile.mk: heed-profile (profiles the bench suites under heed-trace,
# recommends, writes optimize.sh) and libheedprofile.a, the folded-stack ranking
# and the rule table it is built from (link libflame.a after it).
PROFILE_LIB_SRCS := profiler/folded.c profiler/recommend.c
PROFILE_LIB_OBJS := $(PROFILE_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
PROFILE_LIB := $(BUILD)/lib/libheedprofile.a

$(PROFILE_LIB): $(PROFILE_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/heed-profile: $(BUILD)/obj/profiler/heed-profile.o $(PROFILE_LIB) $(FLAME_LIB) \
		$(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(UTIL_LDLIBS) -lm $(LDLIBS)

# The body of the optimize.sh heed-profile writes is a plain shell file,
# embedded as a C string.
PROFILE_OPTIMIZE_H := $(BUILD)/include/profile_optimize.h
$(BUILD)/obj/profiler/heed-profile.o: CFLAGS += -Iprofiler
$(BUILD)/obj/profiler/heed-profile.o: | $(PROFILE_OPTIMIZE_H)
$(PROFILE_OPTIMIZE_H): profiler/profile_optimize.sh
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q){ printf '/* generated from profiler/profile_optimize.sh */\n'; \
	  printf 'static const char profile_optimize_sh[] = {\n'; \
	  od -An -v -tx1 $< | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  printf '0};\n'; } > $@

# folded.c reads folded text through libflame.
$(BUILD)/obj/profiler/folded.o: CFLAGS += -Iflame
TEST_LIBS_test_recommend := $(PROFILE_LIB) $(FLAME_LIB)
TEST_LDLIBS_test_recommend := -lm
$(BUILD)/obj/tests/test_recommend.o: CFLAGS += -Iprofiler

LIBS += $(PROFILE_LIB)
BINS += $(BUILD)/bin/heed-profile
LINT_SRCS += $(PROFILE_LIB_SRCS) profiler/heed-profile.c
LINT_DEPS += $(PROFILE_OPTIMIZE_H)
