# bench/dash.mk: heed-dash, the results dashboard (one self-contained HTML page).
# Its stylesheet and script are plain files embedded at build time as C arrays.
DASH_SRCS := bench/dash/heed-dash.c bench/dash/dash_model.c bench/dash/dash_html.c
DASH_OBJS := $(DASH_SRCS:%.c=$(BUILD)/obj/%.o)
# The bench harness's statistics (bootstrap ratio intervals).
DASH_DEP_OBJS := $(BUILD)/obj/bench/stats.o
DASH_ASSETS := $(BUILD)/include/dash_assets.h

$(DASH_ASSETS): bench/dash/dash.css bench/dash/dash.js
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q){ printf '/* generated from bench/dash/dash.css and dash.js */\n'; \
	  printf 'static const char dash_css[] = {\n'; \
	  od -An -v -tx1 bench/dash/dash.css | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  printf '0};\nstatic const char dash_js[] = {\n'; \
	  od -An -v -tx1 bench/dash/dash.js | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  printf '0};\n'; } > $@

$(DASH_OBJS): CFLAGS += -Ibench -Ibench/dash
$(DASH_OBJS): | $(DASH_ASSETS)

$(BUILD)/bin/heed-dash: $(DASH_OBJS) $(DASH_DEP_OBJS) $(UTIL_LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(UTIL_LDLIBS) -lm $(LDLIBS)

BINS += $(BUILD)/bin/heed-dash
LINT_SRCS += $(DASH_SRCS)
LINT_DEPS += $(DASH_ASSETS)

# tests/t_heed_profile.sh profiles the bench suites: build them for make check.
check: $(BENCHES)
