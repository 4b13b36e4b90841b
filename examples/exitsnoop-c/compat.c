// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "compat.h"

#define PERF_BUFFER_PAGES 64

struct bpf_buffer {
	struct bpf_map *events;
	void *inner;
	bpf_buffer_sample_fn sample_cb;
	bpf_buffer_lost_fn lost_cb;
	void *ctx;
	bool ring;
};

struct bpf_buffer *bpf_buffer__new(struct bpf_map *events, struct bpf_map *heap,
				   bool force_perf)
{
	struct bpf_buffer *buffer;
	bool ring = !force_perf && libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) > 0;
	int err;

	if (ring) {
		err = bpf_map__set_autocreate(heap, false);
	} else {
		err = bpf_map__set_type(events, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
		if (!err)
			err = bpf_map__set_key_size(events, sizeof(int));
		if (!err)
			err = bpf_map__set_value_size(events, sizeof(int));
		/* A ring buffer's size means nothing to a perf buffer's map,
		 * which holds one slot per CPU. */
		if (!err)
			err = bpf_map__set_max_entries(events, 0);
	}
	if (err) {
		errno = -err;
		return NULL;
	}
	buffer = calloc(1, sizeof(*buffer));
	if (!buffer) {
		errno = ENOMEM;
		return NULL;
	}
	buffer->events = events;
	buffer->ring = ring;
	return buffer;
}

bool bpf_buffer__is_ring(const struct bpf_buffer *buffer)
{
	return buffer->ring;
}

static void perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
	struct bpf_buffer *buffer = ctx;

	buffer->sample_cb(buffer->ctx, data, size);
}

static void perf_lost(void *ctx, int cpu, __u64 cnt)
{
	struct bpf_buffer *buffer = ctx;

	if (buffer->lost_cb)
		buffer->lost_cb(buffer->ctx, cpu, cnt);
}

int bpf_buffer__open(struct bpf_buffer *buffer, bpf_buffer_sample_fn sample_cb,
		     bpf_buffer_lost_fn lost_cb, void *ctx)
{
	int fd = bpf_map__fd(buffer->events);

	buffer->sample_cb = sample_cb;
	buffer->lost_cb = lost_cb;
	buffer->ctx = ctx;
	if (buffer->ring)
		buffer->inner = ring_buffer__new(fd, sample_cb, ctx, NULL);
	else
		buffer->inner = perf_buffer__new(fd, PERF_BUFFER_PAGES, perf_sample, perf_lost,
						 buffer, NULL);
	return buffer->inner ? 0 : -errno;
}

int bpf_buffer__poll(struct bpf_buffer *buffer, int timeout_ms)
{
	if (buffer->ring)
		return ring_buffer__poll(buffer->inner, timeout_ms);
	return perf_buffer__poll(buffer->inner, timeout_ms);
}

void bpf_buffer__free(struct bpf_buffer *buffer)
{
	if (!buffer)
		return;
	if (buffer->ring)
		ring_buffer__free(buffer->inner);
	else
		perf_buffer__free(buffer->inner);
	free(buffer);
}

bool tp_btf_exists(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	char type_name[128];
	bool found;

	if (!btf)
		return false;
	snprintf(type_name, sizeof(type_name), "btf_trace_%s", name);
	found = btf__find_by_name_kind(btf, type_name, BTF_KIND_TYPEDEF) > 0;
	btf__free(btf);
	return found;
}
