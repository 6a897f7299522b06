/* symtab.h - a module's symbols sorted by address, to name code addresses by
 * binary search instead of libdw's dwfl_module_addrinfo, which reads the whole
 * symbol table for every address (10^5 symbols in cc1, valgrind, node).
 *
 * The table answers only where its answer is certainly dwfl_module_addrinfo's
 * (elfutils' rules: symbols with a name and a section, not STT_SECTION, STT_FILE
 * or STT_TLS; the globals searched before the locals; a sized symbol holding the
 * address preferred to any sizeless one; among aliases the stronger binding,
 * GLOBAL over WEAK over LOCAL, then the first in the table): the address is held
 * by sized symbols that all start at one address and have one size, and no
 * sizeless global symbol sits at the address itself; or no symbol holds it and
 * no sizeless symbol can name it (none below it, or the highest one below the
 * end of a sized symbol that libdw reads first). Elsewhere (nested or
 * overlapping symbols, sizeless assembly labels) the caller asks
 * dwfl_module_addrinfo.
 *
 * Memory: 52 bytes per eligible symbol; names point into libdw's data, so a table
 * lives no longer than its module.
 */
#ifndef HEED_PROFILER_SYMTAB_H
#define HEED_PROFILER_SYMTAB_H

#include <elfutils/libdwfl.h>
#include <stddef.h>
#include <stdint.h>

typedef struct heed_symtab heed_symtab;

/* Reads mod's symbols (.symtab, .dynsym, .gnu_debugdata as libdw merges them)
 * once. Returns 0 and *out, which is NULL when the table could not be certain for
 * any address of mod (a symbol whose address is not its st_value plus its bias,
 * as on function-descriptor ABIs), or -ENOMEM. */
int heed_symtab_new(Dwfl_Module *mod, heed_symtab **out);

/* NULL is allowed. */
void heed_symtab_free(heed_symtab *t);

/* The symbol dwfl_module_addrinfo(mod, addr) names: returns 1 with *name and
 * *off (addr minus the symbol's address; *name NULL when libdw names none) when
 * the table is certain of it, 0 when
 * the caller must ask libdw (t NULL included). */
int heed_symtab_lookup(const heed_symtab *t, uint64_t addr, const char **name, uint64_t *off);

/* Symbols held (the eligible ones). */
size_t heed_symtab_count(const heed_symtab *t);

#endif
