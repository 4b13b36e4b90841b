/* The checks of helpers.c that need no kernel: built into the guest and,
 * natively, into a program of their own, whose output the test compares. */
#ifndef __CHECKS_H
#define __CHECKS_H

/* `elf FILE FUNC`, `zlib FILE.gz`, `tmp DIR`, `errno DIR`, `time` or
 * `options ARGS...`: 0, or 1 with a message on
 * stderr; -1 for another command. */
int run_check(int argc, char **argv);

#endif
