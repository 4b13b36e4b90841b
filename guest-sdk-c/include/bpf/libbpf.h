/* A libbpf-compatible subset for wasm-bpf C guests.
 *
 * Names, signatures and return conventions are libbpf 1.x's, so code
 * written against libbpf (libbpf-bootstrap, libbpf-tools) compiles: calls
 * returning int return 0 (or a count) on success and a negative errno on
 * failure, calls returning a pointer return NULL; both set errno, in
 * Linux's numbers (see the SDK's <errno.h>). Behind
 * each call is the wasm-bpf host (wit/), which owns the kernel objects:
 * everything a guest loads or attaches is freed when it exits, however it
 * exits.
 *
 * What differs from libbpf, and why:
 * - Map fds are this SDK's descriptors, not kernel fds (see <bpf/bpf.h>).
 *   bpf_program__fd() and bpf_link__fd() have no fd to give: -EOPNOTSUPP.
 * - The guest cannot open kernel objects by path or ifindex: attaching by
 *   ifindex (bpf_program__attach_xdp/tcx), by perf event fd
 *   (bpf_program__attach_perf_event) and pinning fail with -EOPNOTSUPP;
 *   use the wasm_bpf_program__attach_* calls, which name interfaces.
 *   Uprobe binaries are guest paths, resolved inside `run --dir` grants.
 * - libbpf's messages are printed by the host to the guest's stderr. Once
 *   libbpf_set_print() installs a callback the host keeps them instead,
 *   and the callback receives each at its level (debug included) after
 *   the open, load or attach that caused it; a failed call adds the
 *   host's one-line summary at LIBBPF_WARN. With NULL nothing is printed.
 * - After bpf_object__load(), a skeleton's writable data (skel->bss,
 *   skel->data) holds the kernel's values as of the last
 *   ring_buffer__poll/consume, perf_buffer__poll/consume or
 *   wasm_bpf_skeleton__read_data(); writes after load reach the kernel
 *   with wasm_bpf_skeleton__write_data(). (libbpf maps them into memory;
 *   a guest cannot map kernel memory.)
 */
#ifndef __WASM_BPF_LIBBPF_H
#define __WASM_BPF_LIBBPF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#include "bpf.h"
#include "libbpf_common.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bpf_object;
struct bpf_map;
struct bpf_program;
struct bpf_link;
struct ring_buffer;
struct perf_buffer;

/* ---- messages and errors ---- */

enum libbpf_print_level {
	LIBBPF_WARN,
	LIBBPF_INFO,
	LIBBPF_DEBUG,
};

typedef int (*libbpf_print_fn_t)(enum libbpf_print_level level, const char *format,
				 va_list ap);

/* libbpf's own error numbers, beyond errno's. */
enum libbpf_errno {
	LIBBPF_ERRNO__START = 4000,
	LIBBPF_ERRNO__LIBELF = LIBBPF_ERRNO__START,
	LIBBPF_ERRNO__FORMAT,
	LIBBPF_ERRNO__KVERSION,
	LIBBPF_ERRNO__ENDIAN,
	LIBBPF_ERRNO__INTERNAL,
	LIBBPF_ERRNO__RELOC,
	LIBBPF_ERRNO__LOAD,
	LIBBPF_ERRNO__VERIFY,
	LIBBPF_ERRNO__PROG2BIG,
	LIBBPF_ERRNO__KVER,
	LIBBPF_ERRNO__PROGTYPE,
	LIBBPF_ERRNO__WRNGPID,
	LIBBPF_ERRNO__INVSEQ,
	LIBBPF_ERRNO__NLPARSE,
	LIBBPF_ERRNO__END,
};

/* Installs `fn` and returns the previous one (see above for what it
 * receives). */
libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn);
/* -errno when `ptr` is NULL (errno as the failed call left it), else 0. */
long libbpf_get_error(const void *ptr);
/* The text of a (positive or negative) errno into `buf`. */
int libbpf_strerror(int err, char *buf, size_t size);

/* ---- feature probes ---- */

/* Whether the running kernel supports maps of `map_type`: 1 or 0, or
 * -errno when the probe cannot answer. The host probes as libbpf does;
 * `opts` must be NULL. */
int libbpf_probe_bpf_map_type(enum bpf_map_type map_type, const void *opts);
/* Whether the kernel loads programs of `prog_type`. */
int libbpf_probe_bpf_prog_type(enum bpf_prog_type prog_type, const void *opts);
/* Whether programs of `prog_type` may call `helper_id` (BPF_FUNC_*). */
int libbpf_probe_bpf_helper(enum bpf_prog_type prog_type, enum bpf_func_id helper_id,
			    const void *opts);

/* The type id in the kernel's BTF of what a program with `attach_type`
 * attaches to by `name` (a function for fentry/fexit, a tracepoint for
 * tp_btf, an LSM hook), as libbpf finds it: the id, or -errno. */
int libbpf_find_vmlinux_btf_id(const char *name, enum bpf_attach_type attach_type);

/* ---- objects ---- */

struct bpf_object_open_opts {
	size_t sz;
	/* Names the object (and its internal maps, `<name>.rodata`). */
	const char *object_name;
	/* The fields below are libbpf's; setting one to non-zero makes
	 * the open fail with -EOPNOTSUPP, rather than silently differ. */
	bool relaxed_maps;
	const char *pin_root_path;
	const char *kconfig;
	const char *btf_custom_path;
	char *kernel_log_buf;
	size_t kernel_log_size;
	__u32 kernel_log_level;
};

/* Opens an object from the ELF bytes of a .bpf.o (compiled with -g, so
 * it carries BTF). The bytes are copied. */
struct bpf_object *bpf_object__open_mem(const void *obj_buf, size_t obj_buf_sz,
					const struct bpf_object_open_opts *opts);
/* Opens an object from a file the guest can read (`run --dir`). */
struct bpf_object *bpf_object__open_file(const char *path,
					 const struct bpf_object_open_opts *opts);
struct bpf_object *bpf_object__open(const char *path);
/* CO-RE relocation, map creation, program verification. On a verifier
 * rejection the error message (see libbpf_set_print) holds the log. */
int bpf_object__load(struct bpf_object *obj);
/* Detaches what is still attached and frees everything of `obj`; the
 * maps, programs and links found through it become invalid. */
void bpf_object__close(struct bpf_object *obj);
const char *bpf_object__name(const struct bpf_object *obj);

struct bpf_map *bpf_object__find_map_by_name(const struct bpf_object *obj, const char *name);
int bpf_object__find_map_fd_by_name(const struct bpf_object *obj, const char *name);
struct bpf_program *bpf_object__find_program_by_name(const struct bpf_object *obj,
						     const char *name);
struct bpf_map *bpf_object__next_map(const struct bpf_object *obj, const struct bpf_map *map);
struct bpf_program *bpf_object__next_program(const struct bpf_object *obj,
					     struct bpf_program *prog);

#define bpf_object__for_each_map(pos, obj)                                    \
	for ((pos) = bpf_object__next_map((obj), NULL); (pos) != NULL;        \
	     (pos) = bpf_object__next_map((obj), (pos)))
#define bpf_object__for_each_program(pos, obj)                                \
	for ((pos) = bpf_object__next_program((obj), NULL); (pos) != NULL;    \
	     (pos) = bpf_object__next_program((obj), (pos)))

/* ---- programs ---- */

const char *bpf_program__name(const struct bpf_program *prog);
const char *bpf_program__section_name(const struct bpf_program *prog);
bool bpf_program__autoload(const struct bpf_program *prog);
/* Before load: whether bpf_object__load() loads the program. */
int bpf_program__set_autoload(struct bpf_program *prog, bool autoload);
/* -EOPNOTSUPP: the host keeps program fds. */
int bpf_program__fd(const struct bpf_program *prog);

/* Before load, as libbpf (the types are the kernel's numbers, e.g.
 * BPF_PROG_TYPE_LSM). A changed program is checked by the host's policy
 * as it will be loaded. attach_prog_fd must be 0 (the SDK has no program
 * fds): wasm_bpf_program__set_attach_target() names a loaded program of
 * another object as the target instead. */
int bpf_program__set_attach_target(struct bpf_program *prog, int attach_prog_fd,
				   const char *attach_func_name);
int wasm_bpf_program__set_attach_target(struct bpf_program *prog,
					const struct bpf_program *target,
					const char *attach_func_name);
int bpf_program__set_type(struct bpf_program *prog, __u32 type);
int bpf_program__set_expected_attach_type(struct bpf_program *prog, __u32 type);
int bpf_program__set_flags(struct bpf_program *prog, __u32 flags);
__u32 bpf_program__flags(const struct bpf_program *prog);
/* The verifier's log of a successful load goes into the buffer given with
 * bpf_program__set_log_buf() (cut to its size) when a log level is set;
 * a failed load's log reaches the print callback, as with libbpf. */
int bpf_program__set_log_level(struct bpf_program *prog, __u32 log_level);
__u32 bpf_program__log_level(const struct bpf_program *prog);
int bpf_program__set_log_buf(struct bpf_program *prog, char *log_buf, size_t log_size);
const char *bpf_program__log_buf(const struct bpf_program *prog, size_t *log_size);

/* Attaches where the program's section says (tp/, tp_btf/, raw_tp/,
 * uprobe/PATH:FUNC, usdt/, iter/, ...). */
struct bpf_link *bpf_program__attach(const struct bpf_program *prog);
struct bpf_link *bpf_program__attach_tracepoint(const struct bpf_program *prog,
						const char *tp_category, const char *tp_name);
struct bpf_link *bpf_program__attach_raw_tracepoint(const struct bpf_program *prog,
						    const char *tp_name);
struct bpf_link *bpf_program__attach_kprobe(const struct bpf_program *prog, bool retprobe,
					    const char *func_name);
/* `binary_path` is a guest path inside a `--dir` grant; `func_offset`
 * is an offset in the binary (use bpf_program__attach_uprobe_opts with a
 * func_name to attach by symbol). pid -1 probes every process. */
struct bpf_link *bpf_program__attach_uprobe(const struct bpf_program *prog, bool retprobe,
					    pid_t pid, const char *binary_path,
					    size_t func_offset);

struct bpf_uprobe_opts {
	size_t sz;
	size_t ref_ctr_offset;
	__u64 bpf_cookie;
	bool retprobe;
	const char *func_name;
	int attach_mode;
};
struct bpf_link *bpf_program__attach_uprobe_opts(const struct bpf_program *prog, pid_t pid,
						 const char *binary_path, size_t func_offset,
						 const struct bpf_uprobe_opts *opts);
/* -EOPNOTSUPP: attach by interface name instead
 * (wasm_bpf_program__attach_xdp / _tc). */
struct bpf_link *bpf_program__attach_xdp(const struct bpf_program *prog, int ifindex);
/* -EOPNOTSUPP: a guest cannot open perf events; use
 * wasm_bpf_program__attach_perf_event. */
struct bpf_link *bpf_program__attach_perf_event(const struct bpf_program *prog, int pfd);

/* wasm-bpf's own attach calls, for hooks libbpf names by fd or ifindex. */
enum wasm_bpf_xdp_mode {
	WASM_BPF_XDP_DEFAULT,
	WASM_BPF_XDP_GENERIC,
	WASM_BPF_XDP_NATIVE,
	WASM_BPF_XDP_OFFLOAD,
};
struct bpf_link *wasm_bpf_program__attach_xdp(const struct bpf_program *prog,
					      const char *ifname, enum wasm_bpf_xdp_mode mode);
/* A tcx link on `ifname`, at ingress or egress. */
struct bpf_link *wasm_bpf_program__attach_tc(const struct bpf_program *prog,
					     const char *ifname, bool egress);
/* A software cpu-clock sampling event at `freq` Hz on every CPU (cpu
 * -1) or one, for every process (pid -1) or one. */
struct bpf_link *wasm_bpf_program__attach_perf_event(const struct bpf_program *prog,
						     __u64 freq, int cpu, pid_t pid);

/* ---- links ---- */

/* Detaches and frees the link; NULL is fine. */
int bpf_link__destroy(struct bpf_link *link);
/* Detaches, keeping the link object until bpf_link__destroy(). */
int bpf_link__detach(struct bpf_link *link);

/* ---- maps ---- */

const char *bpf_map__name(const struct bpf_map *map);
/* The map's descriptor for <bpf/bpf.h> calls and buffers (not a kernel
 * fd). Valid before and after load. */
int bpf_map__fd(const struct bpf_map *map);
__u32 bpf_map__key_size(const struct bpf_map *map);
__u32 bpf_map__value_size(const struct bpf_map *map);
__u32 bpf_map__max_entries(const struct bpf_map *map);
/* Before load only, as libbpf; what they make is checked at load by the
 * host's policy and limits like the object's own declarations. Types are
 * the kernel's numbers (BPF_MAP_TYPE_*). bpf_map__set_pin_path() pins (or
 * reuses a pin) only inside the run's --allow-pin directory. */
int bpf_map__set_max_entries(struct bpf_map *map, __u32 max_entries);
int bpf_map__set_value_size(struct bpf_map *map, __u32 size);
int bpf_map__set_key_size(struct bpf_map *map, __u32 size);
int bpf_map__set_type(struct bpf_map *map, __u32 type);
int bpf_map__set_map_flags(struct bpf_map *map, __u32 flags);
int bpf_map__set_map_extra(struct bpf_map *map, __u64 map_extra);
int bpf_map__set_numa_node(struct bpf_map *map, __u32 numa_node);
int bpf_map__set_initial_value(struct bpf_map *map, const void *data, size_t size);
int bpf_map__set_autocreate(struct bpf_map *map, bool autocreate);
int bpf_map__set_pin_path(struct bpf_map *map, const char *path);
/* The libbpf 1.x map calls with explicit sizes: -EINVAL when a size is
 * not the map's. */
int bpf_map__lookup_elem(const struct bpf_map *map, const void *key, size_t key_sz,
			 void *value, size_t value_sz, __u64 flags);
int bpf_map__update_elem(const struct bpf_map *map, const void *key, size_t key_sz,
			 const void *value, size_t value_sz, __u64 flags);
int bpf_map__delete_elem(const struct bpf_map *map, const void *key, size_t key_sz,
			 __u64 flags);
int bpf_map__lookup_and_delete_elem(const struct bpf_map *map, const void *key,
				    size_t key_sz, void *value, size_t value_sz, __u64 flags);
int bpf_map__get_next_key(const struct bpf_map *map, const void *cur_key, void *next_key,
			  size_t key_sz);

/* ---- ring buffers ---- */

/* Called once per record, in order. A negative return stops the poll,
 * which returns it; the records after that one stay queued for the next
 * poll (none is dropped). */
typedef int (*ring_buffer_sample_fn)(void *ctx, void *data, size_t size);

struct ring_buffer_opts {
	size_t sz;
};

struct ring_buffer *ring_buffer__new(int map_fd, ring_buffer_sample_fn sample_cb, void *ctx,
				     const struct ring_buffer_opts *opts);
/* Adds another ring; polls then wait on all of them. */
int ring_buffer__add(struct ring_buffer *rb, int map_fd, ring_buffer_sample_fn sample_cb,
		     void *ctx);
/* Waits up to `timeout_ms` (-1: forever) for records and hands each to its
 * callback; returns the number handed over. */
int ring_buffer__poll(struct ring_buffer *rb, int timeout_ms);
/* ring_buffer__poll() without waiting. */
int ring_buffer__consume(struct ring_buffer *rb);
void ring_buffer__free(struct ring_buffer *rb);

/* ---- perf buffers ---- */

typedef void (*perf_buffer_sample_fn)(void *ctx, int cpu, void *data, __u32 size);
/* `cnt` samples were dropped because a CPU's buffer was full. The host
 * reports losses summed over CPUs, so `cpu` is -1. */
typedef void (*perf_buffer_lost_fn)(void *ctx, int cpu, __u64 cnt);

struct perf_buffer_opts {
	size_t sz;
	__u32 sample_period;
};

/* `page_cnt` pages per CPU, a power of two. */
struct perf_buffer *perf_buffer__new(int map_fd, size_t page_cnt,
				     perf_buffer_sample_fn sample_cb, perf_buffer_lost_fn lost_cb,
				     void *ctx, const struct perf_buffer_opts *opts);
int perf_buffer__poll(struct perf_buffer *pb, int timeout_ms);
int perf_buffer__consume(struct perf_buffer *pb);
void perf_buffer__free(struct perf_buffer *pb);

/* ---- skeletons (what `wasm-bpf gen skeleton` emits calls these) ---- */

/* A global variable of a data section: where it lives in the section. */
struct wasm_bpf_var_skeleton {
	const char *name;
	size_t offset;
	size_t size;
};

struct bpf_map_skeleton {
	const char *name;
	struct bpf_map **map;
	/* Data sections (.rodata, .data, .bss): where the section's guest
	 * copy is published, the section's size, the size of the skeleton's
	 * struct for it (which, as bpftool lays it out, may end before or
	 * after the section: static variables are left out, and a section
	 * ending in a bool is not padded) and its variables; NULL/0
	 * otherwise. */
	void **mmaped;
	size_t data_sz;
	size_t struct_sz;
	const struct wasm_bpf_var_skeleton *vars;
	int var_cnt;
	/* Whether the section is writable (.data, .bss): refreshed from the
	 * kernel after load. */
	bool writable;
};

struct bpf_prog_skeleton {
	const char *name;
	struct bpf_program **prog;
	struct bpf_link **link;
};

struct bpf_object_skeleton {
	size_t sz;
	const char *name;
	const void *data;
	size_t data_sz;
	struct bpf_object **obj;
	int map_cnt;
	int map_skel_sz;
	struct bpf_map_skeleton *maps;
	int prog_cnt;
	int prog_skel_sz;
	struct bpf_prog_skeleton *progs;
};

int bpf_object__open_skeleton(struct bpf_object_skeleton *s,
			      const struct bpf_object_open_opts *opts);
/* Writes each data section's variables (as the guest set them) into the
 * object, loads it, and reads the writable sections back. */
int bpf_object__load_skeleton(struct bpf_object_skeleton *s);
/* Auto-attaches every loaded program whose section names its hook. */
int bpf_object__attach_skeleton(struct bpf_object_skeleton *s);
void bpf_object__detach_skeleton(struct bpf_object_skeleton *s);
void bpf_object__destroy_skeleton(struct bpf_object_skeleton *s);
/* After load: reads the writable data sections from the kernel. */
int wasm_bpf_skeleton__read_data(struct bpf_object_skeleton *s);
/* After load: writes the writable data sections to the kernel. */
int wasm_bpf_skeleton__write_data(struct bpf_object_skeleton *s);

#ifdef __cplusplus
}
#endif

#endif
