/* What the SDK's source files share; not for guests. */
#ifndef __WASM_BPF_SDK_INTERNAL_H
#define __WASM_BPF_SDK_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <bpf/libbpf.h>

/* The WIT error record has a member named `errno`, which the SDK's
 * <errno.h> macro (Linux's numbers) would rewrite. */
#pragma push_macro("errno")
#undef errno
#include "bpf_app.h"
#pragma pop_macro("errno")

typedef wasm_bpf_bpf_types_error_t wbpf_error_t;

/* The errno of a host error: Linux's number (or libbpf's), or 0. */
static inline int32_t wbpf_host_errno(const wbpf_error_t *e)
{
#pragma push_macro("errno")
#undef errno
	return e->errno;
#pragma pop_macro("errno")
}

struct bpf_map {
	struct bpf_object *obj;
	char *name;
	/* This SDK's descriptor (see map.c); -1 until first needed. */
	int fd;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	/* Possible CPUs for per-CPU maps, else 0. */
	__u32 per_cpu_slots;
	/* Entries a batch call fetched and has not handed out (batch.c). */
	struct wbpf_batch *batch;
};

struct bpf_program {
	struct bpf_object *obj;
	char *name;
	char *section;
	bool autoload;
	__u32 log_level;
	/* The guest's buffer for the verifier's log (bpf_program__set_log_buf),
	 * filled after a successful load. */
	char *log_buf;
	size_t log_size;
	wasm_bpf_bpf_program_own_program_t handle;
};

struct bpf_object {
	wasm_bpf_bpf_object_own_bpf_object_t handle;
	char *name;
	struct bpf_map *maps;
	size_t map_cnt;
	struct bpf_program *progs;
	size_t prog_cnt;
	/* The skeleton that opened the object, if one did. */
	struct bpf_object_skeleton *skel;
};

struct bpf_link {
	wasm_bpf_bpf_link_own_link_t handle;
	bool attached;
};

/* error.c: turns a host error into libbpf's convention. Frees `e`, hands
 * its message to the print callback, sets errno; returns -errno. */
int wbpf_fail(wbpf_error_t *e);
/* Hands the messages the host kept for the print callback to it. */
void wbpf_log_deliver(void);
/* Runs the tool's SIGINT handler, once: the host asked the guest to stop. */
void wbpf_deliver_stop(void);
/* Sets errno to -err (err < 0) and returns err. */
int wbpf_err(int err);
/* NULL with errno set to -err. */
void *wbpf_err_ptr(int err);

/* A string argument that borrows `s`. */
bpf_app_string_t wbpf_str(const char *s);
/* A list argument that borrows `len` bytes at `p`. */
bpf_app_list_u8_t wbpf_bytes(const void *p, size_t len);
/* A NUL-terminated copy of a host string, which is freed. */
char *wbpf_take_str(bpf_app_string_t *s);

/* batch.c: frees what a batch call kept of `map`. */
void wbpf_batch_release(struct bpf_map *map);
/* map.c: the map behind an SDK descriptor, and its host handle. */
int wbpf_fd_map(int fd, wasm_bpf_bpf_bpf_map_borrow_bpf_map_t *handle, struct bpf_map **map);
/* map.c: BPF_ANY/BPF_NOEXIST/BPF_EXIST and BPF_F_LOCK as the WIT's flags. */
wasm_bpf_bpf_bpf_map_update_flags_t wbpf_update_flags(__u64 flags);
/* map.c: the map behind an SDK descriptor. */
struct bpf_map *wbpf_map_of_fd(int fd);
/* The map's host resource, found on first use. */
int wbpf_map_handle(struct bpf_map *map, wasm_bpf_bpf_bpf_map_borrow_bpf_map_t *out);
/* Forgets the descriptors and handles of `obj`'s maps. */
void wbpf_maps_release(struct bpf_object *obj);
/* Bytes of a value as lookups return it (all slots for per-CPU maps). */
size_t wbpf_value_bytes(const struct bpf_map *map);

/* skeleton.c: a section set whole (bpf_map__set_initial_value) is also
 * the skeleton's copy, which its load sends. */
void wbpf_skeleton_set_section(struct bpf_object *obj, const struct bpf_map *map,
			       const void *data, size_t size);
/* skeleton.c: after a poll, the skeleton's writable data follows the
 * kernel. */
void wbpf_skeleton_refresh(struct bpf_object *obj);

/* program.c: copies the verifier's log of a loaded program into the
 * buffer bpf_program__set_log_buf() gave. */
void wbpf_program_fill_log(struct bpf_program *prog);
/* program.c */
struct bpf_link *wbpf_link_new(wasm_bpf_bpf_program_own_link_t handle);

#endif
