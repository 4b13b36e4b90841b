/* wasi-libc's <unistd.h>, with what libbpf-tools call that WASI leaves
 * out (src/posix.c, src/stop.c). */
#include_next <unistd.h>

#ifndef __WASM_BPF_UNISTD_H
#define __WASM_BPF_UNISTD_H

#ifdef __cplusplus
extern "C" {
#endif

/* Waits until the host asks the guest to stop (Ctrl-C, SIGTERM,
 * --timeout), runs the tool's SIGINT handler, and returns -1 with errno
 * EINTR, as pause() returns after a signal natively. */
int pause(void);
/* 65536, a page of WebAssembly memory: a multiple of the kernel's page
 * size on every architecture Linux runs BPF on, so sizes computed from it
 * (a ring buffer of getpagesize() bytes) are valid for the kernel. */
int getpagesize(void);

#ifdef __cplusplus
}
#endif

#endif
