// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* profile: on every perf event sample, records which task was on the CPU
 * and where: its kernel and user stacks go into a stack-trace map, their
 * ids into a ring buffer event. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_STACK_DEPTH 127

struct stacktrace_event {
	u32 pid;
	u32 cpu_id;
	char comm[16];
	/* Ids in `stacks`, or a negative errno when a stack was not taken. */
	s32 kstack_id;
	s32 ustack_id;
};

/* Keeps `struct stacktrace_event` in the BTF for the type generator. */
struct stacktrace_event _event = {};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("perf_event")
int profile(void *ctx)
{
	struct stacktrace_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 1;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->cpu_id = bpf_get_smp_processor_id();
	if (bpf_get_current_comm(e->comm, sizeof(e->comm)))
		e->comm[0] = 0;
	e->kstack_id = bpf_get_stackid(ctx, &stacks, 0);
	e->ustack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
