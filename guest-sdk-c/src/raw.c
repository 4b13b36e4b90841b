/* Programs, maps and links outside objects (wit/raw.wit): bpf_prog_load,
 * bpf_map_create, bpf_raw_tracepoint_open and libbpf_find_vmlinux_btf_id,
 * their descriptors, and close() of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>

#include "internal.h"

/* Above the map descriptors (map.c), far from any WASI fd. */
#define RAW_FD_BASE 0x20000

enum raw_kind { RAW_FREE, RAW_PROGRAM, RAW_MAP, RAW_LINK };

struct raw_slot {
	enum raw_kind kind;
	union {
		wasm_bpf_bpf_raw_own_raw_program_t program;
		wasm_bpf_bpf_raw_own_raw_map_t map;
		wasm_bpf_bpf_link_own_link_t link;
	} handle;
};

static struct raw_slot *slots;
static size_t slot_cnt;

/* A descriptor for a new slot of `kind`; the caller fills its handle. */
static int slot_alloc(enum raw_kind kind, struct raw_slot **out)
{
	struct raw_slot *grown;
	size_t i;

	for (i = 0; i < slot_cnt; i++)
		if (slots[i].kind == RAW_FREE)
			break;
	if (i == slot_cnt) {
		grown = realloc(slots, (slot_cnt + 16) * sizeof(*slots));
		if (!grown)
			return -ENOMEM;
		memset(grown + slot_cnt, 0, 16 * sizeof(*slots));
		slots = grown;
		slot_cnt += 16;
	}
	slots[i].kind = kind;
	*out = &slots[i];
	return RAW_FD_BASE + (int)i;
}

static struct raw_slot *slot_of(int fd, enum raw_kind kind)
{
	size_t i = (size_t)(fd - RAW_FD_BASE);

	if (fd < RAW_FD_BASE || i >= slot_cnt || slots[i].kind != kind)
		return NULL;
	return &slots[i];
}

int bpf_prog_load(enum bpf_prog_type prog_type, const char *prog_name, const char *license,
		  const struct bpf_insn *insns, size_t insn_cnt, struct bpf_prog_load_opts *opts)
{
	wasm_bpf_bpf_raw_program_attrs_t attrs = {
		.prog_type = { .tag = WASM_BPF_BPF_TYPES_PROG_TYPE_OTHER, .val.other = prog_type },
		.license = wbpf_str(license ? license : ""),
		.insns = wbpf_bytes(insns, insn_cnt * sizeof(*insns)),
	};
	wasm_bpf_bpf_raw_tuple2_own_raw_program_string_t loaded;
	struct raw_slot *slot;
	wbpf_error_t e;
	size_t len;
	int fd;

	if (!insns || !insn_cnt)
		return wbpf_err(-EINVAL);
	if (opts) {
		/* What the kernel would read as fds, or hardware offload. */
		if (opts->prog_btf_fd || opts->attach_prog_fd || opts->attach_btf_obj_fd ||
		    opts->fd_array || opts->fd_array_cnt || opts->token_fd ||
		    opts->prog_ifindex || opts->func_info || opts->line_info)
			return wbpf_err(-EOPNOTSUPP);
		if (opts->expected_attach_type) {
			attrs.expected_attach_type.is_some = true;
			attrs.expected_attach_type.val.tag = WASM_BPF_BPF_TYPES_ATTACH_TYPE_OTHER;
			attrs.expected_attach_type.val.val.other = opts->expected_attach_type;
		}
		attrs.attach_btf_id = opts->attach_btf_id;
		attrs.prog_flags = opts->prog_flags;
		if (opts->log_buf && opts->log_size) {
			attrs.log_level = opts->log_level;
			attrs.log_size = opts->log_size;
			opts->log_buf[0] = '\0';
		}
	}
	if (prog_name) {
		attrs.name.is_some = true;
		attrs.name.val = wbpf_str(prog_name);
	}
	if (!wasm_bpf_bpf_raw_load_program(&attrs, &loaded, &e)) {
		/* The verifier's log is in the message, as libbpf leaves it in
		 * the buffer. */
		if (opts && opts->log_buf && opts->log_size) {
			len = e.message.len < opts->log_size ? e.message.len : opts->log_size - 1;
			memcpy(opts->log_buf, e.message.ptr, len);
			opts->log_buf[len] = '\0';
		}
		return wbpf_fail(&e);
	}
	if (opts && opts->log_buf && opts->log_size && opts->log_level) {
		len = loaded.f1.len < opts->log_size ? loaded.f1.len : opts->log_size - 1;
		memcpy(opts->log_buf, loaded.f1.ptr, len);
		opts->log_buf[len] = '\0';
	}
	bpf_app_string_free(&loaded.f1);
	fd = slot_alloc(RAW_PROGRAM, &slot);
	if (fd < 0) {
		wasm_bpf_bpf_raw_raw_program_drop_own(loaded.f0);
		return wbpf_err(fd);
	}
	slot->handle.program = loaded.f0;
	return fd;
}

int bpf_map_create(enum bpf_map_type map_type, const char *map_name, __u32 key_size,
		   __u32 value_size, __u32 max_entries, const struct bpf_map_create_opts *opts)
{
	wasm_bpf_bpf_raw_map_attrs_t attrs = {
		.map_type = { .tag = WASM_BPF_BPF_TYPES_MAP_TYPE_OTHER, .val.other = map_type },
		.key_size = key_size,
		.value_size = value_size,
		.max_entries = max_entries,
	};
	wasm_bpf_bpf_raw_own_raw_map_t map;
	struct raw_slot *slot;
	wbpf_error_t e;
	int fd;

	if (opts) {
		if (opts->btf_fd || opts->btf_vmlinux_value_type_id || opts->inner_map_fd ||
		    opts->map_ifindex || opts->value_type_btf_obj_fd || opts->token_fd)
			return wbpf_err(-EOPNOTSUPP);
		attrs.map_flags = opts->map_flags & ~(__u32)BPF_F_NUMA_NODE;
		attrs.map_extra = opts->map_extra;
		if (opts->map_flags & BPF_F_NUMA_NODE) {
			attrs.numa_node.is_some = true;
			attrs.numa_node.val = opts->numa_node;
		}
	}
	if (map_name) {
		attrs.name.is_some = true;
		attrs.name.val = wbpf_str(map_name);
	}
	if (!wasm_bpf_bpf_raw_create_map(&attrs, &map, &e))
		return wbpf_fail(&e);
	fd = slot_alloc(RAW_MAP, &slot);
	if (fd < 0) {
		wasm_bpf_bpf_raw_raw_map_drop_own(map);
		return wbpf_err(fd);
	}
	slot->handle.map = map;
	return fd;
}

int bpf_raw_tracepoint_open(const char *name, int prog_fd)
{
	struct raw_slot *prog = slot_of(prog_fd, RAW_PROGRAM), *slot;
	wasm_bpf_bpf_link_own_link_t link;
	bpf_app_string_t tp;
	wbpf_error_t e;
	int fd;

	if (!prog)
		return wbpf_err(-EBADF);
	if (name)
		tp = wbpf_str(name);
	if (!wasm_bpf_bpf_raw_method_raw_program_attach_raw_tracepoint(
		    wasm_bpf_bpf_raw_borrow_raw_program(prog->handle.program), name ? &tp : NULL,
		    &link, &e))
		return wbpf_fail(&e);
	fd = slot_alloc(RAW_LINK, &slot);
	if (fd < 0) {
		wasm_bpf_bpf_link_link_drop_own(link);
		return wbpf_err(fd);
	}
	slot->handle.link = link;
	return fd;
}

int libbpf_find_vmlinux_btf_id(const char *name, enum bpf_attach_type attach_type)
{
	/* Loaded once: tools probe several names in a row. */
	static struct btf *vmlinux;
	const char *prefix = "";
	__u32 kind = BTF_KIND_FUNC;
	char full[256];
	int id;

	switch (attach_type) {
	case BPF_TRACE_RAW_TP:
		prefix = "btf_trace_";
		kind = BTF_KIND_TYPEDEF;
		break;
	case BPF_LSM_MAC:
	case BPF_LSM_CGROUP:
		prefix = "bpf_lsm_";
		break;
	case BPF_TRACE_ITER:
		prefix = "bpf_iter_";
		break;
	default:
		break;
	}
	if (!name || (size_t)snprintf(full, sizeof(full), "%s%s", prefix, name) >= sizeof(full))
		return wbpf_err(-EINVAL);
	if (!vmlinux) {
		vmlinux = btf__load_vmlinux_btf();
		if (!vmlinux)
			return -errno;
	}
	id = btf__find_by_name_kind(vmlinux, full, kind);
	return id < 0 ? wbpf_err(id) : id;
}

/* guest.mk links with --wrap=close: close() of the descriptors above frees
 * what they hold; a map descriptor of an object is the object's to free,
 * as libbpf's own fd is; anything else is a WASI fd. */
int __real_close(int fd);

int __wrap_close(int fd)
{
	size_t i = (size_t)(fd - RAW_FD_BASE);

	if (fd >= RAW_FD_BASE && i < slot_cnt && slots[i].kind != RAW_FREE) {
		switch (slots[i].kind) {
		case RAW_PROGRAM:
			wasm_bpf_bpf_raw_raw_program_drop_own(slots[i].handle.program);
			break;
		case RAW_MAP:
			wasm_bpf_bpf_raw_raw_map_drop_own(slots[i].handle.map);
			break;
		case RAW_LINK:
			wasm_bpf_bpf_link_link_drop_own(slots[i].handle.link);
			break;
		case RAW_FREE:
			break;
		}
		slots[i].kind = RAW_FREE;
		return 0;
	}
	if (wbpf_map_of_fd(fd))
		return 0;
	return __real_close(fd);
}
