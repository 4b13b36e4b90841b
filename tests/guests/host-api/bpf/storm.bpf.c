// SPDX-License-Identifier: GPL-2.0
/* Fixture for the event storm test (tests/storm.rs): every getppid(2) of
 * one process offers a burst of records to a ring buffer or a perf buffer,
 * and counts what it offered and what the ring buffer refused. Every
 * fourth reserved ring record is discarded, as a filter in BPF does after
 * reserving: it takes ring space until consumed, and must never arrive. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define BURST 16

struct storm_record {
	u64 seq;
	u64 cpu;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf SEC(".maps");

/* The load generator's process, and whether to use the perf buffer. */
const volatile u32 targ_tgid = 0;
const volatile bool use_perf = false;

u64 offered = 0;
/* Ring buffer reserves that failed because the ring was full. */
u64 dropped = 0;
/* Perf outputs that failed (the kernel also counts them as lost). */
u64 perf_failed = 0;
/* Ring records reserved and then discarded (sequence numbers 3 mod 4). */
u64 discarded = 0;

SEC("tp/syscalls/sys_enter_getppid")
int storm(void *ctx)
{
	struct storm_record *r, rec = {};
	int i;

	if ((bpf_get_current_pid_tgid() >> 32) != targ_tgid)
		return 0;
	rec.cpu = bpf_get_smp_processor_id();
	for (i = 0; i < BURST; i++) {
		rec.seq = __sync_fetch_and_add(&offered, 1);
		if (use_perf) {
			if (bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &rec, sizeof(rec)))
				__sync_fetch_and_add(&perf_failed, 1);
			continue;
		}
		r = bpf_ringbuf_reserve(&ring, sizeof(*r), 0);
		if (!r) {
			__sync_fetch_and_add(&dropped, 1);
			continue;
		}
		if (rec.seq % 4 == 3) {
			bpf_ringbuf_discard(r, 0);
			__sync_fetch_and_add(&discarded, 1);
			continue;
		}
		*r = rec;
		bpf_ringbuf_submit(r, 0);
	}
	return 0;
}
