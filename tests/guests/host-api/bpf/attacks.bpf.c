// SPDX-License-Identifier: GPL-2.0
/* What a hostile guest author tried against the policy (tests/host_api.rs
 * `attacks`): each program kills the victim process from a place the
 * policy must still see. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* The process to kill. */
const volatile u32 victim_tgid = 0;

extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type,
				u64 value) __ksym;

static bool is_victim(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == victim_tgid;
}

/* A subprogram lives in .text: libbpf appends it to its caller only
 * inside load, after the caller's own instructions were read. */
static __noinline int signal_from_subprogram(int sig)
{
	return bpf_send_signal(sig);
}

SEC("tp/raw_syscalls/sys_enter")
int hidden_helper(void *ctx)
{
	if (is_victim())
		signal_from_subprogram(9);
	return 0;
}

/* A kfunc call: resolved by libbpf to the kernel's BTF id of the function. */
SEC("tp_btf/sys_enter")
int kfunc_signal(void *ctx)
{
	if (is_victim())
		bpf_send_signal_task(bpf_get_current_task_btf(), 9, PIDTYPE_TGID, 0);
	return 0;
}

/* Tail call targets and a map of programs, whose values are fds. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
} jumps SEC(".maps");

/* A map of 40 MiB: 10240 values of 4 KiB. */
struct big_value {
	u8 bytes[4096];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct big_value);
} big SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int touches_big(void *ctx)
{
	u32 zero = 0;
	struct big_value *v = bpf_map_lookup_elem(&big, &zero);

	if (v)
		v->bytes[0]++;
	bpf_tail_call(ctx, &jumps, 0);
	return 0;
}
