/* libbpf's batch map calls over the host's (wit/map.wit), which return a
 * whole map, or a drained part of it, per call: the entries a call does
 * not hand out wait here for the next one, and the batch token the caller
 * passes back is the position among them. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct wbpf_batch {
	wasm_bpf_bpf_bpf_map_entries_t entries;
	/* The next entry to hand out. */
	__u32 next;
	/* Whether the entries are already removed from the map. */
	bool deleting;
};

void wbpf_batch_release(struct bpf_map *map)
{
	if (!map->batch)
		return;
	wasm_bpf_bpf_bpf_map_entries_free(&map->batch->entries);
	free(map->batch);
	map->batch = NULL;
}

/* Replaces what `map` kept with a fresh host batch. */
static int fetch(struct bpf_map *map, wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle,
		 bool deleting)
{
	struct wbpf_batch *batch = calloc(1, sizeof(*batch));
	wbpf_error_t e;
	bool ok;

	if (!batch)
		return wbpf_err(-ENOMEM);
	ok = deleting ? wasm_bpf_bpf_bpf_map_method_bpf_map_lookup_and_delete_batch(
				handle, &batch->entries, &e)
		      : wasm_bpf_bpf_bpf_map_method_bpf_map_lookup_batch(handle, &batch->entries, &e);
	if (!ok) {
		free(batch);
		return wbpf_fail(&e);
	}
	if (batch->entries.keys.len != (size_t)batch->entries.count * map->key_size ||
	    batch->entries.values.len != (size_t)batch->entries.count * wbpf_value_bytes(map)) {
		wasm_bpf_bpf_bpf_map_entries_free(&batch->entries);
		free(batch);
		return wbpf_err(-EPROTO);
	}
	batch->deleting = deleting;
	wbpf_batch_release(map);
	map->batch = batch;
	return 0;
}

/* Copies up to `*count` entries from `batch`, from its position on. */
static void hand_out(struct bpf_map *map, void *keys, void *values, __u32 *count)
{
	struct wbpf_batch *batch = map->batch;
	size_t value_size = wbpf_value_bytes(map);
	__u32 n = batch->entries.count - batch->next;

	if (n > *count)
		n = *count;
	memcpy(keys, batch->entries.keys.ptr + (size_t)batch->next * map->key_size,
	       (size_t)n * map->key_size);
	memcpy(values, batch->entries.values.ptr + (size_t)batch->next * value_size,
	       (size_t)n * value_size);
	batch->next += n;
	*count = n;
}

static int check_batch(int fd, wasm_bpf_bpf_bpf_map_borrow_bpf_map_t *handle,
		       struct bpf_map **map, const void *keys, const void *values, __u32 *count,
		       const struct bpf_map_batch_opts *opts)
{
	int err = wbpf_fd_map(fd, handle, map);

	if (err)
		return err;
	if (!count || (*count && (!keys || !values)))
		return wbpf_err(-EINVAL);
	/* BPF_F_LOCK is not taken by the host's whole-map reads. */
	if (opts && (opts->elem_flags || opts->flags))
		return wbpf_err(-EINVAL);
	return 0;
}

int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values,
			 __u32 *count, const struct bpf_map_batch_opts *opts)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	struct bpf_map *map;
	__u32 at;
	int err = check_batch(fd, &handle, &map, keys, values, count, opts);

	if (err)
		return err;
	if (!out_batch)
		return wbpf_err(-EINVAL);
	/* A token of 0 starts over, as the kernel's bucket 0 does (tools
	 * pass a zeroed token rather than NULL). */
	at = 0;
	if (in_batch)
		memcpy(&at, in_batch, sizeof(at));
	if (!at) {
		err = fetch(map, handle, false);
		if (err)
			return err;
	} else {
		if (!map->batch || map->batch->deleting || at > map->batch->entries.count)
			return wbpf_err(-EINVAL);
		map->batch->next = at;
	}
	hand_out(map, keys, values, count);
	at = map->batch->next;
	memcpy(out_batch, &at, sizeof(at));
	if (at < map->batch->entries.count)
		return 0;
	wbpf_batch_release(map);
	return wbpf_err(-ENOENT);
}

int bpf_map_lookup_and_delete_batch(int fd, void *in_batch, void *out_batch, void *keys,
				    void *values, __u32 *count,
				    const struct bpf_map_batch_opts *opts)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	struct bpf_map *map;
	__u32 token = 0;
	int err = check_batch(fd, &handle, &map, keys, values, count, opts);

	(void)in_batch;
	if (err)
		return err;
	if (!out_batch)
		return wbpf_err(-EINVAL);
	/* Entries removed by an earlier call and not yet handed out come
	 * first: they are no longer in the map. */
	if (!map->batch || !map->batch->deleting ||
	    map->batch->next == map->batch->entries.count) {
		err = fetch(map, handle, true);
		if (err)
			return err;
	}
	hand_out(map, keys, values, count);
	memcpy(out_batch, &token, sizeof(token));
	if (*count)
		return 0;
	wbpf_batch_release(map);
	return wbpf_err(-ENOENT);
}

int bpf_map_update_batch(int fd, const void *keys, const void *values, __u32 *count,
			 const struct bpf_map_batch_opts *opts)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	struct bpf_map *map;
	bpf_app_list_u8_t k, v;
	wbpf_error_t e;
	int err = wbpf_fd_map(fd, &handle, &map);

	if (err)
		return err;
	if (!count || (*count && (!keys || !values)) || (opts && opts->flags))
		return wbpf_err(-EINVAL);
	k = wbpf_bytes(keys, (size_t)*count * map->key_size);
	v = wbpf_bytes(values, (size_t)*count * wbpf_value_bytes(map));
	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_update_batch(
		    handle, *count, &k, &v, wbpf_update_flags(opts ? opts->elem_flags : 0), &e))
		return wbpf_fail(&e);
	return 0;
}

int bpf_map_delete_batch(int fd, const void *keys, __u32 *count,
			 const struct bpf_map_batch_opts *opts)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	struct bpf_map *map;
	bpf_app_list_u8_t k;
	wbpf_error_t e;
	int err = wbpf_fd_map(fd, &handle, &map);

	if (err)
		return err;
	if (!count || (*count && !keys) || (opts && (opts->elem_flags || opts->flags)))
		return wbpf_err(-EINVAL);
	k = wbpf_bytes(keys, (size_t)*count * map->key_size);
	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_delete_batch(handle, *count, &k, &e))
		return wbpf_fail(&e);
	return 0;
}
