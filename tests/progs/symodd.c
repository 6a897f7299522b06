/* symodd.c - symbols where libdw's choice depends on more than one symbol, for
 * test_symcache's comparison of profiler/symtab.c with dwfl_module_addrinfo:
 * heed_inner nested in heed_outer (libdw takes the highest start, whatever the
 * order of its table), and the global label heed_label, sizeless, inside the local
 * function heed_local (libdw names the label at its own address: its locals are
 * searched only when the globals gave nothing there). */
__asm__(".text\n"
	".globl heed_outer\n"
	".type heed_outer, @function\n"
	"heed_outer:\n"
	".skip 16, 0x90\n"
	".globl heed_inner\n"
	".type heed_inner, @function\n"
	"heed_inner:\n"
	".skip 8, 0x90\n"
	".size heed_inner, 8\n"
	".skip 40, 0x90\n"
	".size heed_outer, 64\n"
	".type heed_local, @function\n"
	"heed_local:\n"
	".skip 8, 0x90\n"
	".globl heed_label\n"
	"heed_label:\n"
	".skip 24, 0x90\n"
	".size heed_local, 32\n");

int main(void)
{
	return 0;
}
