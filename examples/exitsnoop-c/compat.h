/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A ring buffer where the kernel has one, else a perf buffer, behind one
 * set of calls: the shared helper of tools that must run on old kernels
 * too. Its BPF half is compat.bpf.h. */
#ifndef __COMPAT_H
#define __COMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <bpf/libbpf.h>

struct bpf_buffer;

typedef int (*bpf_buffer_sample_fn)(void *ctx, void *data, size_t size);
typedef void (*bpf_buffer_lost_fn)(void *ctx, int cpu, __u64 cnt);

/* Before load: makes `events` a ring buffer when the kernel supports one
 * and `force_perf` is false, else a perf buffer (then `heap` builds the
 * records). NULL with errno set on failure. */
struct bpf_buffer *bpf_buffer__new(struct bpf_map *events, struct bpf_map *heap,
				   bool force_perf);
/* Whether bpf_buffer__new() chose the ring buffer; the BPF side's
 * `use_ringbuf` must be set to it before load. */
bool bpf_buffer__is_ring(const struct bpf_buffer *buffer);
/* After load: starts consuming. */
int bpf_buffer__open(struct bpf_buffer *buffer, bpf_buffer_sample_fn sample_cb,
		     bpf_buffer_lost_fn lost_cb, void *ctx);
/* Waits up to `timeout_ms` and hands each record to the sample callback;
 * the count, or -errno (-EINTR after Ctrl-C). */
int bpf_buffer__poll(struct bpf_buffer *buffer, int timeout_ms);
void bpf_buffer__free(struct bpf_buffer *buffer);

/* Whether the kernel's BTF describes tracepoint `name`, so that a
 * tp_btf program can attach to it. */
bool tp_btf_exists(const char *name);

#endif
