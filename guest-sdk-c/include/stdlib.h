/* wasi-libc's <stdlib.h>, with what libbpf-tools call that WASI leaves
 * out (src/posix.c). */
#include_next <stdlib.h>

#ifndef __WASM_BPF_STDLIB_H
#define __WASM_BPF_STDLIB_H

#ifdef __cplusplus
extern "C" {
#endif

/* As POSIX's: create and open a file named by `template` with its
 * trailing XXXXXX replaced, mode 0600. The directory must be inside a
 * `run --dir` grant (/tmp is not there unless granted). */
int mkstemp(char *template);
/* mkstemp() with `flags` added to O_RDWR|O_CREAT|O_EXCL. */
int mkostemp(char *template, int flags);

/* The wait status macros, as glibc's <stdlib.h> has them: pclose()'s
 * status is read with them. */
#ifndef WEXITSTATUS
#define WEXITSTATUS(s) (((s) & 0xff00) >> 8)
#define WTERMSIG(s) ((s) & 0x7f)
#define WSTOPSIG(s) WEXITSTATUS(s)
#define WIFEXITED(s) (!WTERMSIG(s))
#define WIFSIGNALED(s) (((s) & 0xffff) - 1U < 0xffu)
#endif

#ifdef __cplusplus
}
#endif

#endif
