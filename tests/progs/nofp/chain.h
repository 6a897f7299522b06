/* chain.h - the call chain of tests/progs/nofp: main -> ch0 .. ch5 in the program,
 * lib6 .. lib11 and the hot leaf in libnofpchain.so, all built -O2
 * -fomit-frame-pointer like Debian's own binaries, so only CFI can walk it.
 * noipa keeps each function a real frame (no inlining, cloning or tail call). */
#ifndef HEED_TESTS_NOFP_CHAIN_H
#define HEED_TESTS_NOFP_CHAIN_H

__attribute__((noipa)) unsigned long lib6(unsigned long n);

#endif
