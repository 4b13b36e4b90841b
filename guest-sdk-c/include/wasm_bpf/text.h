/* Text for WIT strings, which must be valid UTF-8 (an invalid one traps the
 * component that passes it). A C string member of an event (`char
 * comm[16]`) holds whatever bytes the kernel had. */
#ifndef __WASM_BPF_TEXT_H
#define __WASM_BPF_TEXT_H

#include <stddef.h>

/* Copies `buf` up to its first NUL (at most `len` bytes) into `out`, each
 * invalid UTF-8 sequence replaced by U+FFFD, as Rust's
 * String::from_utf8_lossy and the Rust SDK do; returns the bytes written,
 * with no NUL after them. `out` needs room for 3 * len bytes
 * (WASM_BPF_TEXT_SIZE(len)). */
size_t wasm_bpf_text(const char *buf, size_t len, char *out);

#define WASM_BPF_TEXT_SIZE(len) (3 * (len))

#endif
