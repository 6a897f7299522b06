# flame/: libflame (folded stacks -> interactive SVG) and the heed-flame tool.
FLAME_LIB_SRCS := flame/tree.c flame/text.c flame/svg.c flame/collapse.c flame/attrs.c
FLAME_LIB_OBJS := $(FLAME_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
FLAME_OBJS := $(FLAME_LIB_OBJS) $(BUILD)/obj/flame/main.o
FLAME_JS_H := $(BUILD)/include/flame_js.h

$(FLAME_OBJS) $(BUILD)/obj/tests/test_flame.o: CFLAGS += -Iflame
$(BUILD)/obj/flame/svg.o: $(FLAME_JS_H)

# The script goes into every SVG inside a CDATA section, which "]]>" would end.
$(FLAME_JS_H): flame/flame.js
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)if grep -q ']]>' $<; then echo "$<: contains ]]>, which ends the CDATA section" >&2; exit 1; fi
	$(Q){ printf '/* generated from flame/flame.js */\nstatic const char flame_js[] =\n'; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; printf ';\n'; } > $@

$(BUILD)/lib/libflame.a: $(FLAME_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/heed-flame: $(BUILD)/obj/flame/main.o $(BUILD)/lib/libflame.a $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lm $(LDLIBS)

LIBS += $(BUILD)/lib/libflame.a
BINS += $(BUILD)/bin/heed-flame
TEST_LIBS_test_flame := $(BUILD)/lib/libflame.a
TEST_LDLIBS_test_flame := -lm
LINT_SRCS += $(FLAME_LIB_SRCS) flame/main.c
LINT_DEPS += $(FLAME_JS_H)
