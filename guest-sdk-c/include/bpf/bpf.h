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

/* The UAPI header (BPF_ANY, enum bpf_map_type, ...), which guest.mk copies
 * from the build machine's kernel headers, and the __u32 family. */
#include <linux/bpf.h>
#include <linux/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the value under `key` into `value` (for per-CPU maps: one slot
 * per possible CPU, each rounded up to 8 bytes). -ENOENT when absent. */
int bpf_map_lookup_elem(int fd, const void *key, void *value);
/* As bpf_map_lookup_elem(); `flags` may be BPF_F_LOCK. */
int bpf_map_lookup_elem_flags(int fd, const void *key, void *value, __u64 flags);
/* Writes `value` under `key`; `flags` is BPF_ANY, BPF_NOEXIST or
 * BPF_EXIST, optionally with BPF_F_LOCK. */
int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags);
/* For a cgroup-array map: stores the cgroup v2 directory at `cgroup_path`
 * under `key`, where a native tool stores the fd it opened:
 *
 *     cgfd = open(path, O_RDONLY);
 *     bpf_map_update_elem(fd, &zero, &cgfd, BPF_ANY);
 *
 * becomes wasm_bpf_map_update_cgroup(fd, &zero, path, BPF_ANY). The path
 * is the guest's, inside a `run --dir` grant; the host opens it. */
int wasm_bpf_map_update_cgroup(int fd, const void *key, const char *cgroup_path, __u64 flags);
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
