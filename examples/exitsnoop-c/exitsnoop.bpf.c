// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "exitsnoop.h"
#include "compat.bpf.h"

/* With use_ringbuf, an odd-sized .rodata: an int, then bools. */
const volatile bool filter_cg = false;
const volatile pid_t target_pid = 0;
const volatile bool trace_failed_only = false;
const volatile bool trace_by_process = true;

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__type(key, u32);
	__type(value, u32);
	__uint(max_entries, 1);
} cgroup_map SEC(".maps");

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int handle_exit(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid;
	struct task_struct *task;
	struct event *e;
	int exit_code;

	if (filter_cg && !bpf_current_task_under_cgroup(&cgroup_map, 0))
		return 0;
	if (target_pid && target_pid != pid)
		return 0;
	if (trace_by_process && pid != tid)
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	exit_code = BPF_CORE_READ(task, exit_code);
	if (trace_failed_only && exit_code == 0)
		return 0;

	e = reserve_buf(sizeof(*e));
	if (!e)
		return 0;
	e->start_time = BPF_CORE_READ(task, start_time);
	e->exit_time = bpf_ktime_get_ns();
	e->pid = pid;
	e->tid = tid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->sig = exit_code & 0xff;
	e->exit_code = exit_code >> 8;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	submit_buf(ctx, e, sizeof(*e));
	return 0;
}

/* User space loads one of the two: tp_btf where the kernel's BTF has the
 * tracepoint, as on any kernel with BTF, else the tracepoint. */
SEC("tp_btf/sched_process_exit")
int sched_process_exit_btf(u64 *ctx)
{
	return handle_exit(ctx);
}

SEC("tracepoint/sched/sched_process_exit")
int sched_process_exit(void *ctx)
{
	return handle_exit(ctx);
}
