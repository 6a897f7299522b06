# man/: the man pages, written in scdoc (man/<name>.<section>.scd) and turned
# into troff under $(BUILD)/man. make install installs them; tests/t_man.sh
# checks them with man --warnings and against each tool's --help.
MAN_SRCS := $(wildcard man/*.scd)
MAN_PAGES := $(MAN_SRCS:man/%.scd=$(BUILD)/man/%)

$(BUILD)/man/%: man/%.scd
	$(call msg,SCDOC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)scdoc < $< > $@

man: $(MAN_PAGES)
check: man
