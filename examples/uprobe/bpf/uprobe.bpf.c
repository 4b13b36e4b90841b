// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* uprobe: entry and return probes on two user-space functions and a USDT
 * probe, reporting arguments and return values through a ring buffer. Where they attach is
 * chosen at run time (`attach-to`), so the sections name no binary. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

enum probe_kind {
	ADD_ENTRY = 0,
	ADD_EXIT = 1,
	SUB_ENTRY = 2,
	SUB_EXIT = 3,
	USDT_TICK = 4,
};

struct event {
	u32 pid;
	u32 kind;
	s64 a;
	s64 b;
	s64 ret;
};

/* Keeps `struct event` in the BTF for the user-space type generator. */
struct event _event = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

static int report(u32 kind, s64 a, s64 b, s64 ret)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->kind = kind;
	e->a = a;
	e->b = b;
	e->ret = ret;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uprobe")
int BPF_UPROBE(uprobe_add, int a, int b)
{
	return report(ADD_ENTRY, a, b, 0);
}

SEC("uretprobe")
int BPF_URETPROBE(uretprobe_add, int ret)
{
	return report(ADD_EXIT, 0, 0, ret);
}

SEC("uprobe")
int BPF_UPROBE(uprobe_sub, int a, int b)
{
	return report(SUB_ENTRY, a, b, 0);
}

SEC("uretprobe")
int BPF_URETPROBE(uretprobe_sub, int ret)
{
	return report(SUB_EXIT, 0, 0, ret);
}

SEC("usdt")
int BPF_USDT(usdt_tick, int round, int sum)
{
	return report(USDT_TICK, round, sum, 0);
}
