// SPDX-License-Identifier: GPL-2.0
/* Benchmark fixture: one record per getpid() of the producer process, to a
 * ring buffer or a perf buffer, and a hash map to time map operations on. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define MAX_RECORD 256

/* What consumers read of every record. */
struct head {
	u64 seq;
	u64 tgid;
};

/* A record; only its first `record_size` bytes are sent. */
struct record {
	struct head head;
	u8 payload[MAX_RECORD - sizeof(struct head)];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, u64);
} table SEC(".maps");

const volatile u32 producer_tgid = 0;
const volatile u32 record_size = 16;
const volatile bool use_perf = false;

/* Records offered, and records the ring buffer had no room for. */
u64 offered = 0;
u64 ring_full = 0;
struct record _record = {};

SEC("tp/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	struct record r;
	u32 size = record_size;

	if ((bpf_get_current_pid_tgid() >> 32) != producer_tgid)
		return 0;
	__builtin_memset(&r, 0, sizeof(r));
	/* Atomic: producers may run on several CPUs at once. */
	r.head.seq = __sync_fetch_and_add(&offered, 1);
	r.head.tgid = producer_tgid;
	if (size > sizeof(r))
		size = sizeof(r);
	if (use_perf)
		bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &r, size);
	else if (bpf_ringbuf_output(&ring, &r, size, 0))
		__sync_fetch_and_add(&ring_full, 1);
	return 0;
}
