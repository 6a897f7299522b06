/* elfinfo.c - see elfinfo.h. */
#include "elfinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int open_elf(const char *path, int *fd, Elf **elf)
{
	*elf = NULL;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	*elf = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (!*elf || elf_kind(*elf) != ELF_K_ELF) {
		if (*elf)
			elf_end(*elf);
		*elf = NULL;
		close(*fd);
		*fd = -1;
		return -EINVAL;
	}
	return 0;
}

static void close_elf(int fd, Elf *elf)
{
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
}

static Elf_Scn *find_scn(Elf *elf, Elf64_Word type, const char *name)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type)
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || (n && !strcmp(n, name)))
			return scn;
	}
	return NULL;
}

/* File offset of virtual address a, through the section that holds it (as the
 * kernel's uprobe wants: an offset into the file, not an address). */
static int vaddr_to_off(Elf *elf, uint64_t a, uint64_t *off)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(sh.sh_flags & SHF_ALLOC))
			continue;
		if (a >= sh.sh_addr && a < sh.sh_addr + sh.sh_size) {
			*off = a - sh.sh_addr + sh.sh_offset;
			return 0;
		}
	}
	return -ENOENT;
}

void heed_elf_funcs_free(struct heed_elf_func *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

int heed_elf_funcs(const char *path, const char *glob, struct heed_elf_func **out, size_t *n)
{
	struct heed_elf_func *v = NULL;
	size_t cnt = 0, cap = 0, i, k, nsyms;
	Elf_Scn *scn;
	GElf_Shdr sh;
	Elf_Data *data;
	Elf *elf;
	int fd, err;

	*out = NULL;
	*n = 0;
	err = open_elf(path, &fd, &elf);
	if (err)
		return err;
	scn = find_scn(elf, SHT_SYMTAB, NULL);
	if (!scn)
		scn = find_scn(elf, SHT_DYNSYM, NULL);
	if (!scn)
		goto cleanup;
	if (!gelf_getshdr(scn, &sh) || !(data = elf_getdata(scn, NULL)) || !sh.sh_entsize) {
		err = -EINVAL;
		goto cleanup;
	}
	nsyms = sh.sh_size / sh.sh_entsize;
	for (i = 0; i < nsyms; i++) {
		GElf_Sym sym;
		const char *name;
		uint64_t off;
		int dup = 0;

		if (!gelf_getsym(data, i, &sym))
			continue;
		if ((GELF_ST_TYPE(sym.st_info) != STT_FUNC &&
		     GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC) ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name || !*name || fnmatch(glob, name, 0))
			continue;
		if (vaddr_to_off(elf, sym.st_value, &off))
			continue;
		for (k = 0; k < cnt && !dup; k++)
			dup = v[k].off == off;
		if (dup)
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct heed_elf_func *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				err = -ENOMEM;
				goto cleanup;
			}
			v = nv;
			cap = ncap;
		}
		v[cnt].name = strdup(name);
		if (!v[cnt].name) {
			err = -ENOMEM;
			goto cleanup;
		}
		v[cnt].addr = sym.st_value;
		v[cnt].ifunc = GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC;
		v[cnt++].off = off;
	}
cleanup:
	close_elf(fd, elf);
	if (err) {
		heed_elf_funcs_free(v, cnt);
		return err;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int heed_elf_ifunc_slot(const char *path, uint64_t resolver, uint64_t *slot, uint64_t *delta)
{
	unsigned int irel;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	GElf_Phdr ph;
	GElf_Shdr sh;
	size_t i, nph;
	Elf *elf;
	int fd, err, found_load = 0;

	err = open_elf(path, &fd, &elf);
	if (err)
		return err;
	err = -EINVAL;
	if (!gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &nph))
		goto cleanup;
	if (eh.e_machine == EM_X86_64)
		irel = R_X86_64_IRELATIVE;
	else if (eh.e_machine == EM_AARCH64)
		irel = R_AARCH64_IRELATIVE;
	else
		goto cleanup;
	for (i = 0; i < nph && !found_load; i++) {
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD) {
			*delta = ph.p_vaddr - ph.p_offset;
			found_load = 1;
		}
	}
	if (!found_load)
		goto cleanup;
	err = -ENOENT;
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			GElf_Rela r;

			if (gelf_getrela(data, (int)i, &r) && GELF_R_TYPE(r.r_info) == irel &&
			    (uint64_t)r.r_addend == resolver) {
				*slot = r.r_offset;
				err = 0;
				goto cleanup;
			}
		}
	}
cleanup:
	close_elf(fd, elf);
	return err;
}

void heed_elf_usdt_free(struct heed_elf_usdt *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].provider);
		free(v[i].name);
		free(v[i].args);
	}
	free(v);
}

/* Note layout (type 3, owner "stapsdt"): pc, base, semaphore (3 addresses of the
 * file's class), then "provider\0name\0args\0". */
int heed_elf_usdt(const char *path, struct heed_elf_usdt **out, size_t *n)
{
	struct heed_elf_usdt *v = NULL;
	size_t cnt = 0, cap = 0, pos = 0, noff, doff, asz, k;
	GElf_Nhdr nh;
	Elf_Data *data;
	Elf_Scn *scn;
	Elf *elf;
	int fd, err;

	*out = NULL;
	*n = 0;
	err = open_elf(path, &fd, &elf);
	if (err)
		return err;
	scn = find_scn(elf, SHT_NOTE, ".note.stapsdt");
	if (!scn)
		goto cleanup;
	data = elf_getdata(scn, NULL);
	if (!data) {
		err = -EINVAL;
		goto cleanup;
	}
	asz = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
	while ((pos = gelf_getnote(data, pos, &nh, &noff, &doff)) > 0) {
		const char *d = (const char *)data->d_buf + doff, *prov, *name, *args;
		size_t len = nh.n_descsz, l1, l2, alen;
		int dup = 0;

		if (nh.n_type != 3 || nh.n_namesz != 8 ||
		    memcmp((const char *)data->d_buf + noff, "stapsdt", 8) != 0 ||
		    len < 3 * asz + 3)
			continue;
		prov = d + 3 * asz;
		l1 = strnlen(prov, len - 3 * asz);
		if (3 * asz + l1 + 1 >= len)
			continue;
		name = prov + l1 + 1;
		l2 = strnlen(name, len - 3 * asz - l1 - 1);
		if (3 * asz + l1 + l2 + 2 > len)
			continue;
		args = "";
		alen = 0;
		if (3 * asz + l1 + l2 + 2 < len) {
			args = name + l2 + 1;
			alen = strnlen(args, len - (size_t)(args - d));
		}
		for (k = 0; k < cnt && !dup; k++)
			dup = !strcmp(v[k].provider, prov) && !strcmp(v[k].name, name);
		if (dup)
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct heed_elf_usdt *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				err = -ENOMEM;
				goto cleanup;
			}
			v = nv;
			cap = ncap;
		}
		v[cnt].provider = strndup(prov, l1);
		v[cnt].name = strndup(name, l2);
		v[cnt].args = strndup(args, alen);
		cnt++;
		if (!v[cnt - 1].provider || !v[cnt - 1].name || !v[cnt - 1].args) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
cleanup:
	close_elf(fd, elf);
	if (err) {
		heed_elf_usdt_free(v, cnt);
		return err;
	}
	*out = v;
	*n = cnt;
	return 0;
}
