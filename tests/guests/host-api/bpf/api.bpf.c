// SPDX-License-Identifier: GPL-2.0
/* Fixture for the host API tests: a hash map, a ring buffer and a perf
 * buffer fed by writes of a chosen length, globals in all three data
 * sections, and a struct exercising every layout the type generator
 * handles. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* One write of exactly `marker_len` bytes starting with `marker_token`. */
struct marker {
	u32 pid;
	u32 seq;
	u64 len;
};

enum color { RED = 1, GREEN = 2, BLUE = -1 };

struct inner {
	u16 a;
	u64 b;
};

/* Every kind of member the generator lays out. */
struct layout_probe {
	char tag[3];
	struct inner in;
	struct inner pair[2];
	union {
		u32 word;
		u8 bytes[4];
	} u;
	unsigned int lo : 3;
	int neg : 5;
	unsigned int hi : 9;
	enum color color;
	void *ptr;
	bool flag;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

/* Big enough for batches that span many system calls. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 20000);
	__type(key, u32);
	__type(value, u32);
} big SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf SEC(".maps");

/* Markers are writes of this length starting with this token, so that
 * test guests running at once do not see each other's markers. */
const volatile u64 marker_len = 0;
const volatile u64 marker_token = 0;
u64 seen = 0;
struct layout_probe probe = {
	.tag = "ab",
	.in = { .a = 7, .b = 0x1122334455667788ULL },
	.pair = { { .a = 1, .b = 2 }, { .a = 3, .b = 4 } },
	.u = { .word = 0x04030201 },
	.lo = 5,
	.neg = -3,
	.hi = 300,
	.color = BLUE,
	.flag = true,
};
struct marker _marker = {};

SEC("tp/syscalls/sys_enter_write")
int on_write(struct trace_event_raw_sys_enter *ctx)
{
	struct marker m = {};
	u64 head;

	if (!marker_len || ctx->args[2] != marker_len)
		return 0;
	if (bpf_probe_read_user(&head, sizeof(head), (void *)ctx->args[1]) || head != marker_token)
		return 0;
	m.pid = bpf_get_current_pid_tgid() >> 32;
	m.seq = seen++;
	m.len = ctx->args[2];
	bpf_ringbuf_output(&ring, &m, sizeof(m), 0);
	bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &m, sizeof(m));
	return 0;
}

/* Never loaded unless asked: its section names no hook to auto-attach. */
SEC("xdp")
int pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
