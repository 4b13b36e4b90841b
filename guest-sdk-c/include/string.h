/* wasi-libc's <string.h>, with strerror() and strerror_r() taking Linux's
 * errno numbers (see the SDK's <errno.h>) and giving glibc's texts. */
#include_next <string.h>

#if !defined(__WASM_BPF_STRING_H) && !defined(__WASM_BPF_WASI_NUMBERS)
#define __WASM_BPF_STRING_H

#ifdef __cplusplus
extern "C" {
#endif

char *strerror(int errnum) __asm__("__wbpf_strerror");
int strerror_r(int errnum, char *buf, size_t buflen) __asm__("__wbpf_strerror_r");

#ifdef __cplusplus
}
#endif

#endif
