/* wasi-libc's <stdio.h>, with popen() and pclose(), which libbpf-tools'
 * helpers call (src/posix.c), and perror() reading Linux's errno numbers
 * (see the SDK's <errno.h>). */
#include_next <stdio.h>

#ifndef __WASM_BPF_STDIO_H
#define __WASM_BPF_STDIO_H

#ifdef __cplusplus
extern "C" {
#endif

/* A guest runs no commands: popen() fails with ENOSYS, and the helpers
 * that ask `ausyscall` or `errno` fall back as they do natively when the
 * command is missing. pclose(NULL) fails with EINVAL. */
FILE *popen(const char *command, const char *type);
int pclose(FILE *stream);

#ifndef __WASM_BPF_WASI_NUMBERS
void perror(const char *s) __asm__("__wbpf_perror");
#endif

#ifdef __cplusplus
}
#endif

#endif
