# heed - every entry point. Build output goes only under $(BUILD).
#
#   make                 libheed, the tools, heed-trace, heed-flame (BUILD_TYPE=default: -O2)
#   make test            every test suite (BPF tests need root)
#   make demo            heed-load traced by heed-trace; histograms and build/demo/flame.svg
#   make bench           every benchmark suite (BENCH=btree_ops for one)
#   make release|native|pgo|debug   the same tree under build/<profile>/
#   make lint            cppcheck + clang-tidy
#   make install         libheed, heed.pc, the tools, man pages, completion
#                        [PREFIX=/usr/local] [LIBDIR=PREFIX/lib] [DESTDIR=staging root]
#   make man             the man pages (build/man), from man/*.scd
#   make HEED_PROBES=0   USDT probes compiled out
#   make SANITIZE=address,undefined test
#   V=1                  full commands
.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all

BUILD_TYPE ?= default
ifeq ($(BUILD_TYPE),default)
BUILD ?= build
else
BUILD ?= build/$(BUILD_TYPE)
endif
HEED_PROBES ?= 1
SANITIZE ?=

# make predefines CC=cc, so `CC ?= gcc` would never apply: take gcc unless CC was
# given on the command line or in the environment.
ifeq ($(origin CC),default)
CC := gcc
endif
CLANG ?= clang
BPFTOOL ?= bpftool
# Debian's multiarch triplet (x86_64-linux-gnu), where the asm/ headers BPF C needs
# live; clang's -dumpmachine names another triplet, -print-multiarch is the same for both.
MULTIARCH := $(shell $(CC) -print-multiarch)
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-7s %s\n' '$(1)' '$(2)';
endif

OPT_debug := -O0
OPT_default := -O2
OPT_release := -O3 -flto=auto
OPT_native := -O2 -march=native -mtune=native
OPT_pgo-gen := -O2 -fprofile-generate -fprofile-update=atomic -fprofile-dir=$(abspath $(BUILD))/pgo-data
# Profile diagnostics (stale or missing counts) are not errors: -Werror is enforced by
# the default build, and a stale profile only costs optimisation.
OPT_pgo := -O2 -fprofile-use -fprofile-partial-training -Wno-missing-profile -Wno-coverage-mismatch -fprofile-dir=$(abspath build/pgo-gen)/pgo-data
ifeq ($(origin OPT_$(BUILD_TYPE)),undefined)
$(error unknown BUILD_TYPE '$(BUILD_TYPE)': debug default release native pgo-gen pgo)
endif
OPT := $(OPT_$(BUILD_TYPE))
WERROR := $(if $(filter pgo,$(BUILD_TYPE)),,-Werror)

SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-sanitize-recover=all)

CPPFLAGS := -D_GNU_SOURCE -Icore -I$(BUILD)/include -DHEED_PROBES=$(HEED_PROBES)
CFLAGS := -std=gnu11 -g $(OPT) -Wall -Wextra $(WERROR) -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -MMD -MP $(SAN_FLAGS)
LDFLAGS := $(OPT) $(SAN_FLAGS)
LDLIBS := -lpthread

# Filled by the module fragments.
BINS :=
LIBS :=
TESTS :=
BENCHES :=
LINT_SRCS :=
LINT_DEPS :=
CLEAN_EXTRA :=

all:

include util/module.mk
include core/module.mk
include bpf/module.mk
include profiler/module.mk
include profiler/profile.mk
include flame/module.mk
include bench/module.mk
include bench/dash.mk
include tests/module.mk
include tests/fuzz/module.mk
include tests/faults/module.mk
include tests/sanitize/module.mk
include tests/progs/module.mk

all: $(LIBS) $(BINS) $(BENCHES)

# One rule for every user-space object; fragments add flags per directory
# with target-specific variables on $(BUILD)/obj/<dir>/%.o.
$(BUILD)/obj/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

DEPS := $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
-include $(DEPS)

# test and demo first install what a fresh machine lacks (quiet when all is there).
deps:
	$(Q)sh ci/install-deps.sh

test: deps
	$(Q)$(MAKE) --no-print-directory check

check: all $(TESTS)
	$(Q)sh tests/run.sh $(BUILD) $(TESTS)

bench: all $(BENCHES)
	$(Q)sh bench/run.sh $(BUILD) $(if $(BENCH),$(BUILD)/bench/$(BENCH),$(BENCHES))

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)sh ci/demo.sh $(BUILD)

release native debug pgo-gen:
	$(Q)$(MAKE) --no-print-directory BUILD_TYPE=$@ all

pgo:
	$(Q)sh ci/pgo.sh

lint: $(PROBES_H) $(LINT_DEPS)
	$(Q)sh ci/lint.sh $(BUILD) $(LINT_SRCS)

format:
	$(Q)clang-format -i $(LINT_SRCS) $(BPF_SRCS) $(filter-out build/%,$(wildcard */*.h */*/*.h))

include man/module.mk

# What a user of heed gets: the tools that work outside this tree (heed-profile
# profiles this tree's bench suites and stays in build/bin), libheed and its
# pkg-config file, the man pages, the bash completion. No benchmark is built.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INSTALL_TOOLS := heed-stat heed-check heed-load heed-copy heed-dump heed-load-dump heed-trace \
	heed-flame heed-pprof heed-dash

install-files: $(BUILD)/lib/libheed.a $(HEED_SO) $(INSTALL_TOOLS:%=$(BUILD)/bin/%) man

install: install-files
	$(Q)HEED_VERSION=$(HEED_VERSION) HEED_SOVERSION=$(HEED_SOVERSION) LIBDIR=$(LIBDIR) \
		sh ci/install.sh $(BUILD) $(PREFIX) $(INSTALL_TOOLS)

clean:
	rm -rf build

.PHONY: all deps check test bench demo release native debug pgo-gen pgo lint format install install-files man clean
