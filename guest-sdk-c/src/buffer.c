/* ring_buffer and perf_buffer: records from the host's buffers, handed to
 * callbacks one by one. A batch the host returned is kept until every
 * record in it was handed over, so a callback that stops a poll loses
 * nothing. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The batch format of wit/buffer.wit: each record behind a header (its
 * length and CPU, u32s in native byte order), padded so that every header
 * starts at a multiple of BATCH_ALIGN (host/runtime/src/bpf/batch.rs checks
 * these against the WIT and the host). A batch whose records have one
 * length gives their stride: the next record is found without reading this
 * one's header. */
#define BATCH_HEADER 8
#define BATCH_ALIGN 8

static size_t batch_stride(__u32 len)
{
	return BATCH_HEADER + (((size_t)len + BATCH_ALIGN - 1) & ~(size_t)(BATCH_ALIGN - 1));
}

/* One host buffer and what is left of its last batch. */
struct source {
	wasm_bpf_bpf_buffer_own_buffer_t handle;
	/* Subscribed on first multi-ring wait; 0 until then. */
	wasi_io_poll_own_pollable_t pollable;
	struct bpf_object *obj;
	void *ctx;
	ring_buffer_sample_fn ring_cb;
	perf_buffer_sample_fn perf_cb;
	perf_buffer_lost_fn lost_cb;
	wasm_bpf_bpf_buffer_batch_t batch;
	size_t offset;
	__u32 left;
	/* Every record's length, if the batch's stride holds (`same_len`). */
	__u32 len;
	bool same_len;
};

struct ring_buffer {
	struct source *sources;
	size_t cnt;
};

struct perf_buffer {
	struct source source;
};

static int source_open(struct source *src, int map_fd, __u32 perf_pages)
{
	struct bpf_map *map = wbpf_map_of_fd(map_fd);
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	wasm_bpf_bpf_buffer_buffer_options_t options = { 0 };
	wbpf_error_t e;
	int err;

	if (!map)
		return wbpf_err(-EBADF);
	err = wbpf_map_handle(map, &handle);
	if (err)
		return err;
	if (perf_pages) {
		options.perf_pages_per_cpu.is_some = true;
		options.perf_pages_per_cpu.val = perf_pages;
	}
	if (!wasm_bpf_bpf_buffer_static_buffer_open(handle, &options, &src->handle, &e))
		return wbpf_fail(&e);
	src->obj = map->obj;
	return 0;
}

static void source_close(struct source *src)
{
	if (src->batch.data.ptr)
		bpf_app_list_u8_free(&src->batch.data);
	if (src->pollable.__handle)
		wasi_io_poll_pollable_drop_own(src->pollable);
	wasm_bpf_bpf_buffer_buffer_drop_own(src->handle);
}

/* Hands queued records to the callback until the batch is empty or the
 * callback fails (returns < 0), which consumes its record, as in libbpf.
 * Returns 0 or the callback's error. */
static int source_deliver(struct source *src, int *count)
{
	while (src->left) {
		const uint8_t *rec = src->batch.data.ptr + src->offset;
		__u32 len = src->len, cpu;
		int ret = 0;

		if (!src->same_len)
			memcpy(&len, rec, 4);
		memcpy(&cpu, rec + 4, 4);
		src->offset += batch_stride(len);
		src->left--;
		if (src->ring_cb)
			ret = src->ring_cb(src->ctx, (void *)(rec + BATCH_HEADER), len);
		else if (src->perf_cb)
			src->perf_cb(src->ctx, (int)cpu, (void *)(rec + BATCH_HEADER), len);
		if (ret < 0)
			return ret;
		(*count)++;
	}
	if (src->batch.data.ptr) {
		bpf_app_list_u8_free(&src->batch.data);
		src->batch.data.ptr = NULL;
	}
	return 0;
}

/* Fetches a batch, waiting up to `timeout_ms` (-1: forever), and delivers
 * it. */
static int source_poll(struct source *src, int timeout_ms, int *count)
{
	uint32_t timeout = timeout_ms < 0 ? 0 : (uint32_t)timeout_ms;
	wbpf_error_t e;
	int ret;

	if (src->left)
		return source_deliver(src, count);
	if (!wasm_bpf_bpf_buffer_method_buffer_poll(
		    wasm_bpf_bpf_buffer_borrow_buffer(src->handle),
		    timeout_ms < 0 ? NULL : &timeout, 0, &src->batch, &e))
		return wbpf_fail(&e);
	src->offset = 0;
	src->left = src->batch.count;
	/* The stride is believed only if it is the first record's and the
	 * data holds every record of it. */
	src->same_len = false;
	if (src->batch.stride && src->batch.data.len >= BATCH_HEADER) {
		memcpy(&src->len, src->batch.data.ptr, 4);
		src->same_len = batch_stride(src->len) == src->batch.stride &&
				src->batch.data.len / src->batch.stride >= src->left;
	}
	if (src->batch.lost && src->lost_cb)
		src->lost_cb(src->ctx, -1, src->batch.lost);
	ret = source_deliver(src, count);
	wbpf_skeleton_refresh(src->obj);
	return ret;
}

/* libbpf returns the count, or a callback's (negative) error. */
static int result(int ret, int count)
{
	return ret ? wbpf_err(ret) : count;
}

struct ring_buffer *ring_buffer__new(int map_fd, ring_buffer_sample_fn sample_cb, void *ctx,
				     const struct ring_buffer_opts *opts)
{
	struct ring_buffer *rb = calloc(1, sizeof(*rb));
	int err;

	(void)opts;
	if (!rb)
		return wbpf_err_ptr(-ENOMEM);
	err = ring_buffer__add(rb, map_fd, sample_cb, ctx);
	if (err) {
		free(rb);
		return wbpf_err_ptr(err);
	}
	return rb;
}

int ring_buffer__add(struct ring_buffer *rb, int map_fd, ring_buffer_sample_fn sample_cb,
		     void *ctx)
{
	struct source *grown;
	struct source src = { .ctx = ctx, .ring_cb = sample_cb };
	int err;

	if (!rb || !sample_cb)
		return wbpf_err(-EINVAL);
	err = source_open(&src, map_fd, 0);
	if (err)
		return err;
	if (wasm_bpf_bpf_buffer_method_buffer_kind(wasm_bpf_bpf_buffer_borrow_buffer(
		    src.handle)) != WASM_BPF_BPF_BUFFER_BUFFER_KIND_RING_BUFFER) {
		source_close(&src);
		return wbpf_err(-EINVAL);
	}
	grown = realloc(rb->sources, (rb->cnt + 1) * sizeof(*grown));
	if (!grown) {
		source_close(&src);
		return wbpf_err(-ENOMEM);
	}
	rb->sources = grown;
	rb->sources[rb->cnt++] = src;
	return 0;
}

/* Several rings: take what is ready, else wait on all of them (and the
 * timeout) with wasi:io/poll. */
static int poll_many(struct ring_buffer *rb, int timeout_ms, int *count)
{
	wasi_io_poll_borrow_pollable_t *set;
	wasi_io_poll_list_borrow_pollable_t list;
	wasi_clocks_monotonic_clock_own_pollable_t timer = { 0 };
	bpf_app_list_u32_t ready;
	size_t i, n = 0;
	int ret;

	for (i = 0; i < rb->cnt; i++) {
		ret = source_poll(&rb->sources[i], 0, count);
		if (ret)
			return ret;
	}
	if (*count || timeout_ms == 0)
		return 0;
	set = calloc(rb->cnt + 1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	for (i = 0; i < rb->cnt; i++) {
		struct source *src = &rb->sources[i];

		if (!src->pollable.__handle)
			src->pollable = wasm_bpf_bpf_buffer_method_buffer_subscribe(
				wasm_bpf_bpf_buffer_borrow_buffer(src->handle));
		set[n++] = wasi_io_poll_borrow_pollable(src->pollable);
	}
	if (timeout_ms > 0) {
		timer = wasi_clocks_monotonic_clock_subscribe_duration((uint64_t)timeout_ms *
								       1000000);
		set[n++] = wasi_io_poll_borrow_pollable(timer);
	}
	list = (wasi_io_poll_list_borrow_pollable_t){ .ptr = set, .len = n };
	wasi_io_poll_poll(&list, &ready);
	bpf_app_list_u32_free(&ready);
	free(set);
	if (timer.__handle)
		wasi_io_poll_pollable_drop_own(timer);
	for (i = 0; i < rb->cnt; i++) {
		ret = source_poll(&rb->sources[i], 0, count);
		if (ret)
			return ret;
	}
	return 0;
}

int ring_buffer__poll(struct ring_buffer *rb, int timeout_ms)
{
	int count = 0, ret;

	if (!rb)
		return wbpf_err(-EINVAL);
	if (rb->cnt == 1)
		ret = source_poll(&rb->sources[0], timeout_ms, &count);
	else
		ret = poll_many(rb, timeout_ms, &count);
	return result(ret, count);
}

int ring_buffer__consume(struct ring_buffer *rb)
{
	size_t i;
	int count = 0, ret = 0;

	if (!rb)
		return wbpf_err(-EINVAL);
	for (i = 0; i < rb->cnt && !ret; i++)
		ret = source_poll(&rb->sources[i], 0, &count);
	return result(ret, count);
}

void ring_buffer__free(struct ring_buffer *rb)
{
	size_t i;

	if (!rb)
		return;
	for (i = 0; i < rb->cnt; i++)
		source_close(&rb->sources[i]);
	free(rb->sources);
	free(rb);
}

struct perf_buffer *perf_buffer__new(int map_fd, size_t page_cnt,
				     perf_buffer_sample_fn sample_cb, perf_buffer_lost_fn lost_cb,
				     void *ctx, const struct perf_buffer_opts *opts)
{
	struct perf_buffer *pb;
	int err;

	if (!sample_cb || (opts && opts->sample_period))
		return wbpf_err_ptr(opts && opts->sample_period ? -EOPNOTSUPP : -EINVAL);
	if (page_cnt > UINT32_MAX)
		return wbpf_err_ptr(-EINVAL);
	pb = calloc(1, sizeof(*pb));
	if (!pb)
		return wbpf_err_ptr(-ENOMEM);
	pb->source.ctx = ctx;
	pb->source.perf_cb = sample_cb;
	pb->source.lost_cb = lost_cb;
	err = source_open(&pb->source, map_fd, (__u32)page_cnt);
	if (!err && wasm_bpf_bpf_buffer_method_buffer_kind(wasm_bpf_bpf_buffer_borrow_buffer(
			    pb->source.handle)) != WASM_BPF_BPF_BUFFER_BUFFER_KIND_PERF_BUFFER) {
		source_close(&pb->source);
		err = wbpf_err(-EINVAL);
	}
	if (err) {
		free(pb);
		return wbpf_err_ptr(err);
	}
	return pb;
}

int perf_buffer__poll(struct perf_buffer *pb, int timeout_ms)
{
	int count = 0, ret;

	if (!pb)
		return wbpf_err(-EINVAL);
	ret = source_poll(&pb->source, timeout_ms, &count);
	return result(ret, count);
}

int perf_buffer__consume(struct perf_buffer *pb)
{
	return perf_buffer__poll(pb, 0);
}

void perf_buffer__free(struct perf_buffer *pb)
{
	if (!pb)
		return;
	source_close(&pb->source);
	free(pb);
}
