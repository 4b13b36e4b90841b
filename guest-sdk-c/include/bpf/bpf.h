/* The low-level map calls of libbpf's <bpf/bpf.h>, for wasm-bpf C guests.
 *
 * Map "fds" here are descriptors of this SDK, not kernel fds: they come
 * from bpf_map__fd() or bpf_object__find_map_fd_by_name(), work with the
 * calls below and with ring_buffer__new()/perf_buffer__new(), and mean
 * nothing to read(), close() or other system calls. Every call returns 0
 * or a negative errno and sets errno, as libbpf 1.x does.
 */
#ifndef __WASM_BPF_BPF_H
#define __WASM_BPF_BPF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel's fixed-width types, which libbpf headers and tool headers
 * (libbpf-tools' *.h) use; wasi-libc has no <linux/types.h>. */
#ifndef __WASM_BPF_KERNEL_TYPES
#define __WASM_BPF_KERNEL_TYPES
typedef int8_t __s8;
typedef uint8_t __u8;
typedef int16_t __s16;
typedef uint16_t __u16;
typedef int32_t __s32;
typedef uint32_t __u32;
typedef int64_t __s64;
typedef uint64_t __u64;
#endif

/* Update flags (<linux/bpf.h>). */
#ifndef BPF_ANY
#define BPF_ANY 0
#define BPF_NOEXIST 1
#define BPF_EXIST 2
#define BPF_F_LOCK 4
#endif

/* Reads the value under `key` into `value` (for per-CPU maps: one slot
 * per possible CPU, each rounded up to 8 bytes). -ENOENT when absent. */
int bpf_map_lookup_elem(int fd, const void *key, void *value);
/* As bpf_map_lookup_elem(); `flags` may be BPF_F_LOCK. */
int bpf_map_lookup_elem_flags(int fd, const void *key, void *value, __u64 flags);
/* Writes `value` under `key`; `flags` is BPF_ANY, BPF_NOEXIST or
 * BPF_EXIST, optionally with BPF_F_LOCK. */
int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags);
/* Deletes `key`; -ENOENT when absent. */
int bpf_map_delete_elem(int fd, const void *key);
/* Reads and deletes the value under `key`; for queues and stacks `key`
 * is NULL and the call pops. -ENOENT when absent or empty. */
int bpf_map_lookup_and_delete_elem(int fd, const void *key, void *value);
/* The key after `key` (the first key when `key` is NULL) into
 * `next_key`; -ENOENT after the last. */
int bpf_map_get_next_key(int fd, const void *key, void *next_key);

#ifdef __cplusplus
}
#endif

#endif
