// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* opensnoop: reports openat(2) calls with their result, through a ring
 * buffer. The entry tracepoint remembers the arguments; the exit one
 * reports them with the return value. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PATH_MAX_LEN 255

/* Filters, set before load. */
const volatile pid_t targ_tgid = 0;
const volatile uid_t targ_uid = (uid_t)-1;
const volatile bool targ_failed = false;

struct args {
	const char *fname;
	int flags;
};

struct event {
	u64 ts_ns;
	pid_t pid;
	uid_t uid;
	int ret;
	int flags;
	char comm[16];
	char fname[PATH_MAX_LEN + 1];
};

/* Keeps `struct event` in the BTF for the user-space type generator. */
struct event _event = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct args);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static bool wanted(u32 tgid, u32 uid)
{
	if (targ_tgid && targ_tgid != tgid)
		return false;
	if (targ_uid != (uid_t)-1 && targ_uid != uid)
		return false;
	return true;
}

SEC("tp/syscalls/sys_enter_openat")
int trace_openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id, uid = bpf_get_current_uid_gid();
	struct args args = {};

	if (!wanted(id >> 32, uid))
		return 0;
	args.fname = (const char *)ctx->args[1];
	args.flags = (int)ctx->args[2];
	bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int trace_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;
	struct args *args = bpf_map_lookup_elem(&start, &tid);
	struct event *e;
	int ret = ctx->ret;

	if (!args)
		return 0;
	if (targ_failed && ret >= 0)
		goto cleanup;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		goto cleanup;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->uid = bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = args->flags;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->fname, sizeof(e->fname), args->fname);
	bpf_ringbuf_submit(e, 0);
cleanup:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}
