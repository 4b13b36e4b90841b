// SPDX-License-Identifier: GPL-2.0
/* Fixture for the C SDK test: a hash map, a ring buffer and a perf buffer
 * fed by marker writes, and a counter in .bss. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "api.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ring2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf SEC(".maps");

const volatile u64 marker_len = 0;
const volatile u64 marker_token = 0;
u32 seen = 0;

SEC("tp/syscalls/sys_enter_write")
int on_write(struct trace_event_raw_sys_enter *ctx)
{
	struct marker m = {};
	u64 head;

	if (!marker_len || ctx->args[2] != marker_len)
		return 0;
	if (bpf_probe_read_user(&head, sizeof(head), (void *)ctx->args[1]) || head != marker_token)
		return 0;
	m.seq = seen++;
	m.len = ctx->args[2];
	bpf_ringbuf_output(&ring, &m, sizeof(m), 0);
	bpf_ringbuf_output(&ring2, &m, sizeof(m), 0);
	bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &m, sizeof(m));
	return 0;
}

/* Its section names no hook: the skeleton's attach leaves it alone. */
SEC("xdp")
int pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
