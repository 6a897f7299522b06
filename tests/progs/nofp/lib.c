/* lib.c - the library half of the chain (chain.h): lib6 .. lib11, then leaf_spin,
 * which burns n rounds of CPU. Each level keeps a buffer on its stack so that its
 * frame has a size only its CFI describes. */
#include <string.h>

#include "chain.h"

#define LEVEL(name, next)                                                                          \
	__attribute__((noipa)) unsigned long name(unsigned long n)                                 \
	{                                                                                          \
		volatile char pad[64];                                                             \
		unsigned long r;                                                                   \
                                                                                                   \
		memset((char *)pad, (int)n, sizeof(pad));                                          \
		r = next(n);                                                                       \
		return r + pad[n % sizeof(pad)];                                                   \
	}

__attribute__((noipa)) unsigned long leaf_spin(unsigned long n)
{
	volatile unsigned long x = 0;
	unsigned long i;

	for (i = 0; i < n; i++)
		x += i * i;
	return x;
}

LEVEL(lib11, leaf_spin)
LEVEL(lib10, lib11)
LEVEL(lib9, lib10)
LEVEL(lib8, lib9)
LEVEL(lib7, lib8)
LEVEL(lib6, lib7)
