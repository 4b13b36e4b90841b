/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The BPF half of compat.c: one `events` map that user space makes a ring
 * buffer or a perf buffer before load, and the calls that reserve and
 * submit a record in either. */
#ifndef __COMPAT_BPF_H
#define __COMPAT_BPF_H

#include <bpf/bpf_helpers.h>

#define MAX_EVENT_SIZE 10240
#define RINGBUF_SIZE (256 * 1024)

/* Set by bpf_buffer__new(): which kind `events` became. */
const volatile bool use_ringbuf = true;

/* Where a record is built when `events` is a perf buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_EVENT_SIZE);
} heap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RINGBUF_SIZE);
} events SEC(".maps");

static __always_inline void *reserve_buf(__u64 size)
{
	/* A function-local static: the skeleton leaves it out, as
	 * bpftool's does. */
	static const int zero = 0;

	if (use_ringbuf)
		return bpf_ringbuf_reserve(&events, size, 0);
	return bpf_map_lookup_elem(&heap, &zero);
}

static __always_inline long submit_buf(void *ctx, void *buf, __u64 size)
{
	if (use_ringbuf) {
		bpf_ringbuf_submit(buf, 0);
		return 0;
	}
	return bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, buf, size);
}

#endif
