/* The low-level calls of libbpf's <bpf/bpf.h>, for wasm-bpf C guests.
 *
 * "fds" here are descriptors of this SDK, not kernel fds: a map's come
 * from bpf_map__fd() or bpf_object__find_map_fd_by_name() and work with
 * the calls below and with ring_buffer__new()/perf_buffer__new(); those of
 * bpf_prog_load(), bpf_map_create() and bpf_raw_tracepoint_open() are
 * freed by close(), as kernel fds are (guest.mk routes close() through
 * the SDK). None means anything to read() or other system calls. Every
 * call returns 0 (or a new fd) or a negative errno and sets errno, as
 * libbpf 1.x does.
 */
#ifndef __WASM_BPF_BPF_H
#define __WASM_BPF_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The UAPI header (BPF_ANY, enum bpf_map_type, ...), which guest.mk copies
 * from the build machine's kernel headers, and the __u32 family. */
#include <linux/bpf.h>
#include <linux/types.h>

#include "libbpf_common.h"

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


/* The batch calls. `in_batch` is NULL for the first call and then the
 * previous call's `out_batch` (at least 4 bytes); `*count` is how many
 * entries `keys` and `values` have room for, and becomes how many were
 * copied. After the last entries the call fails with -ENOENT, `*count`
 * holding how many it copied: loop until then, as with the kernel.
 *
 * bpf_map_lookup_batch() reads the map as it is at the first call (one
 * host call for the whole map). bpf_map_lookup_and_delete_batch() drains
 * a hash map as the kernel's batch operation does, a bucket at a time;
 * entries it removed beyond `*count` are handed out by the next call. */
struct bpf_map_batch_opts {
	size_t sz;
	/* BPF_F_LOCK, or for updates BPF_ANY/BPF_NOEXIST/BPF_EXIST. */
	__u64 elem_flags;
	__u64 flags;
};
#define bpf_map_batch_opts__last_field flags

int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values,
			 __u32 *count, const struct bpf_map_batch_opts *opts);
int bpf_map_lookup_and_delete_batch(int fd, void *in_batch, void *out_batch, void *keys,
				    void *values, __u32 *count,
				    const struct bpf_map_batch_opts *opts);
/* Stores `*count` entries, keys and values back to back. */
int bpf_map_update_batch(int fd, const void *keys, const void *values, __u32 *count,
			 const struct bpf_map_batch_opts *opts);
/* Removes `*count` keys; -ENOENT at the first absent one. */
int bpf_map_delete_batch(int fd, const void *keys, __u32 *count,
			 const struct bpf_map_batch_opts *opts);

/* ---- programs and maps outside objects (wit/raw.wit) ----
 *
 * What libbpf-tools' feature probes use: a program of a few instructions
 * or a one-page map, made to see whether the kernel takes it, then closed.
 * The run's policy checks them as an object's: hooks that need a grant,
 * every helper and kfunc called. Attributes the kernel would read as file
 * descriptors cannot be given (a program cannot refer to a map by fd, a
 * map cannot hold maps); options that carry them must stay 0. */

struct bpf_prog_load_opts {
	size_t sz;
	int attempts;
	enum bpf_attach_type expected_attach_type;
	__u32 prog_btf_fd;
	__u32 prog_flags;
	__u32 prog_ifindex;
	__u32 kern_version;
	__u32 attach_btf_id;
	__u32 attach_prog_fd;
	__u32 attach_btf_obj_fd;
	const int *fd_array;
	const void *func_info;
	__u32 func_info_cnt;
	__u32 func_info_rec_size;
	const void *line_info;
	__u32 line_info_cnt;
	__u32 line_info_rec_size;
	/* With log_buf set and log_level 0, a rejected load is retried at
	 * level 1 for the verifier's log, as libbpf does. */
	__u32 log_level;
	__u32 log_size;
	char *log_buf;
	/* The verifier's statistics (log level 4). */
	__u32 log_true_size;
	__u32 token_fd;
	__u32 fd_array_cnt;
	size_t :0;
};
#define bpf_prog_load_opts__last_field fd_array_cnt

/* Loads `insn_cnt` instructions as a program of `prog_type`: a new fd, or
 * -errno (-EACCES/-EINVAL from the verifier, its log in opts->log_buf). */
int bpf_prog_load(enum bpf_prog_type prog_type, const char *prog_name, const char *license,
		  const struct bpf_insn *insns, size_t insn_cnt, struct bpf_prog_load_opts *opts);

struct bpf_map_create_opts {
	size_t sz;
	__u32 btf_fd;
	__u32 btf_key_type_id;
	__u32 btf_value_type_id;
	__u32 btf_vmlinux_value_type_id;
	__u32 inner_map_fd;
	__u32 map_flags;
	__u64 map_extra;
	__u32 numa_node;
	__u32 map_ifindex;
	__s32 value_type_btf_obj_fd;
	__u32 token_fd;
	size_t :0;
};
#define bpf_map_create_opts__last_field token_fd

/* Creates a map: a new fd, or -errno. It supports no element calls here;
 * tools create maps this way to probe the kernel. */
int bpf_map_create(enum bpf_map_type map_type, const char *map_name, __u32 key_size,
		   __u32 value_size, __u32 max_entries, const struct bpf_map_create_opts *opts);

/* Attaches the program at `prog_fd` (from bpf_prog_load()) to the raw
 * tracepoint `name`, or with NULL to the kernel function or tracepoint its
 * attach_btf_id named: a new link fd, or -errno. */
int bpf_raw_tracepoint_open(const char *name, int prog_fd);

#ifdef __cplusplus
}
#endif

#endif
