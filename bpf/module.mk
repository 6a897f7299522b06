# bpf/: every bpf/X.bpf.c becomes $(BUILD)/bpf/X.bpf.o and its libbpf skeleton
# $(BUILD)/bpf/X.skel.h, which profiler/ includes.
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
VMLINUX_H := $(BUILD)/bpf/vmlinux.h
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I/usr/include/$(MULTIARCH) \
	-I$(BUILD)/bpf -Ibpf -Icore -Wall -Werror -MMD -MP

$(VMLINUX_H): $(VMLINUX_BTF)
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file $< format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c | $(VMLINUX_H)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GENSKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

-include $(BPF_OBJS:.o=.d)

# Keep the objects: they are the skeletons' inputs and what -MMD tracks.
.SECONDARY: $(BPF_OBJS)
