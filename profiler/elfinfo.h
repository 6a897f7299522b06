/* elfinfo.h - what heed-trace needs from ELF files on disk: function symbols matching
 * a glob (with the file offsets uprobes attach at) and the USDT probes a file carries
 * (its .note.stapsdt notes). Files are untrusted: malformed ones give -EINVAL.
 */
#ifndef HEED_PROFILER_ELFINFO_H
#define HEED_PROFILER_ELFINFO_H

#include <stddef.h>
#include <stdint.h>

struct heed_elf_func {
	char *name;
	uint64_t off;  /* file offset of the first instruction */
	uint64_t addr; /* its virtual address (st_value) */
	int ifunc;     /* STT_GNU_IFUNC: off and addr are the resolver's, which returns
			  the implementation (heed_elf_ifunc_slot finds its choice) */
};

/* Defined functions of `path` (symtab, else dynsym) whose names match the fnmatch(3)
 * glob, one per address (aliases collapse to the first name), IFUNCs included
 * (flagged). Returns 0 (also with
 * *n == 0), -errno of open, -EINVAL (not a readable ELF file) or -ENOMEM. Free with
 * heed_elf_funcs_free. */
int heed_elf_funcs(const char *path, const char *glob, struct heed_elf_func **out, size_t *n);
void heed_elf_funcs_free(struct heed_elf_func *v, size_t n);

/* Where the dynamic linker stores the implementation an IFUNC of `path` resolved to:
 * the virtual address *slot of the IRELATIVE relocation whose addend is the resolver
 * (x86-64 and aarch64), and *delta, the first PT_LOAD's p_vaddr - p_offset, so that
 * the file mapped at offset 0 at address S has the slot at S - delta + *slot.
 * Returns 0, -ENOENT (no such relocation: the file itself never calls it), -EINVAL,
 * or -errno of open. */
int heed_elf_ifunc_slot(const char *path, uint64_t resolver, uint64_t *slot, uint64_t *delta);

struct heed_elf_usdt {
	char *provider, *name;
	char *args; /* the argument spec, e.g. "-4@%eax 8@%rbx" */
};

/* The USDT probes of `path`, one per (provider, name) even when the probe has several
 * sites. Same returns as heed_elf_funcs. Free with heed_elf_usdt_free. */
int heed_elf_usdt(const char *path, struct heed_elf_usdt **out, size_t *n);
void heed_elf_usdt_free(struct heed_elf_usdt *v, size_t n);

#endif
