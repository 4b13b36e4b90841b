/* Maps: this SDK's map descriptors and the element calls of <bpf/bpf.h>
 * and <bpf/libbpf.h>. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Descriptors start high so that a mix-up with a real fd is obvious. */
#define FD_BASE 0x10000

struct fd_slot {
	struct bpf_map *map;
	wasm_bpf_bpf_bpf_map_own_bpf_map_t handle;
};

static struct fd_slot *slots;
static size_t slot_cnt;

static int fd_alloc(struct bpf_map *map)
{
	size_t i;
	struct fd_slot *grown;

	for (i = 0; i < slot_cnt; i++)
		if (!slots[i].map)
			break;
	if (i == slot_cnt) {
		grown = realloc(slots, (slot_cnt + 16) * sizeof(*slots));
		if (!grown)
			return -ENOMEM;
		memset(grown + slot_cnt, 0, 16 * sizeof(*slots));
		slots = grown;
		slot_cnt += 16;
	}
	slots[i].map = map;
	return FD_BASE + (int)i;
}

static struct fd_slot *slot_of(int fd)
{
	size_t i = (size_t)(fd - FD_BASE);

	if (fd < FD_BASE || i >= slot_cnt || !slots[i].map)
		return NULL;
	return &slots[i];
}

struct bpf_map *wbpf_map_of_fd(int fd)
{
	struct fd_slot *slot = slot_of(fd);

	return slot ? slot->map : NULL;
}

int wbpf_map_handle(struct bpf_map *map, wasm_bpf_bpf_bpf_map_borrow_bpf_map_t *out)
{
	struct fd_slot *slot;
	bpf_app_string_t name;
	wbpf_error_t e;
	int fd = bpf_map__fd(map);

	if (fd < 0)
		return fd;
	slot = slot_of(fd);
	if (!slot->handle.__handle) {
		name = wbpf_str(map->name);
		if (!wasm_bpf_bpf_object_method_bpf_object_find_map(
			    wasm_bpf_bpf_object_borrow_bpf_object(map->obj->handle), &name,
			    &slot->handle, &e))
			return wbpf_fail(&e);
	}
	*out = wasm_bpf_bpf_bpf_map_borrow_bpf_map(slot->handle);
	return 0;
}

void wbpf_maps_release(struct bpf_object *obj)
{
	size_t i;

	for (i = 0; i < slot_cnt; i++) {
		if (!slots[i].map || slots[i].map->obj != obj)
			continue;
		wbpf_batch_release(slots[i].map);
		if (slots[i].handle.__handle)
			wasm_bpf_bpf_bpf_map_bpf_map_drop_own(slots[i].handle);
		memset(&slots[i], 0, sizeof(slots[i]));
	}
}

size_t wbpf_value_bytes(const struct bpf_map *map)
{
	if (map->per_cpu_slots)
		return (size_t)((map->value_size + 7) & ~7u) * map->per_cpu_slots;
	return map->value_size;
}

const char *bpf_map__name(const struct bpf_map *map)
{
	return map ? map->name : NULL;
}

int bpf_map__fd(const struct bpf_map *map)
{
	struct bpf_map *m = (struct bpf_map *)map;

	if (!map)
		return wbpf_err(-EINVAL);
	if (m->fd < 0)
		m->fd = fd_alloc(m);
	return wbpf_err(m->fd);
}

__u32 bpf_map__key_size(const struct bpf_map *map)
{
	return map ? map->key_size : 0;
}

__u32 bpf_map__value_size(const struct bpf_map *map)
{
	return map ? map->value_size : 0;
}

__u32 bpf_map__max_entries(const struct bpf_map *map)
{
	return map ? map->max_entries : 0;
}

/* A setter of one number, such as the WIT's `set-value-size`. */
typedef bool (*map_setter_t)(wasm_bpf_bpf_bpf_map_borrow_bpf_map_t map, uint32_t value,
			     wbpf_error_t *err);

static int map_set(struct bpf_map *map, map_setter_t set, uint32_t value)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	wbpf_error_t e;
	int err = map ? wbpf_map_handle(map, &handle) : wbpf_err(-EINVAL);

	if (err)
		return err;
	if (!set(handle, value, &e))
		return wbpf_fail(&e);
	return 0;
}

int bpf_map__set_max_entries(struct bpf_map *map, __u32 max_entries)
{
	int err = map_set(map, wasm_bpf_bpf_bpf_map_method_bpf_map_set_max_entries, max_entries);

	if (!err)
		map->max_entries = max_entries;
	return err;
}

int bpf_map__set_value_size(struct bpf_map *map, __u32 size)
{
	int err = map_set(map, wasm_bpf_bpf_bpf_map_method_bpf_map_set_value_size, size);

	if (!err)
		map->value_size = size;
	return err;
}

int bpf_map__set_key_size(struct bpf_map *map, __u32 size)
{
	int err = map_set(map, wasm_bpf_bpf_bpf_map_method_bpf_map_set_key_size, size);

	if (!err)
		map->key_size = size;
	return err;
}

int bpf_map__set_map_flags(struct bpf_map *map, __u32 flags)
{
	return map_set(map, wasm_bpf_bpf_bpf_map_method_bpf_map_set_map_flags, flags);
}

int bpf_map__set_numa_node(struct bpf_map *map, __u32 numa_node)
{
	return map_set(map, wasm_bpf_bpf_bpf_map_method_bpf_map_set_numa_node, numa_node);
}

/* The map's host resource, or -errno. */
#define MAP_HANDLE(map, handle)                                                \
	do {                                                                   \
		int err_ = (map) ? wbpf_map_handle((map), &(handle)) : wbpf_err(-EINVAL); \
		if (err_)                                                      \
			return err_;                                           \
	} while (0)

int bpf_map__set_type(struct bpf_map *map, __u32 type)
{
	/* The host takes any kernel number as `other`. */
	wasm_bpf_bpf_bpf_map_map_type_t wit = { .tag = WASM_BPF_BPF_TYPES_MAP_TYPE_OTHER,
						 .val.other = type };
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	wbpf_error_t e;

	MAP_HANDLE(map, handle);
	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_set_map_type(handle, &wit, &e))
		return wbpf_fail(&e);
	return 0;
}

int bpf_map__set_map_extra(struct bpf_map *map, __u64 map_extra)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	wbpf_error_t e;

	MAP_HANDLE(map, handle);
	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_set_map_extra(handle, map_extra, &e))
		return wbpf_fail(&e);
	return 0;
}

int bpf_map__set_initial_value(struct bpf_map *map, const void *data, size_t size)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	bpf_app_list_u8_t value = wbpf_bytes(data, size);
	wbpf_error_t e;

	MAP_HANDLE(map, handle);
	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_set_initial_value(handle, &value, &e))
		return wbpf_fail(&e);
	wbpf_skeleton_set_section(map->obj, map, data, size);
	return 0;
}

int bpf_map__set_autocreate(struct bpf_map *map, bool autocreate)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	wbpf_error_t e;

	MAP_HANDLE(map, handle);
	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_set_autocreate(handle, autocreate, &e))
		return wbpf_fail(&e);
	return 0;
}

int bpf_map__set_pin_path(struct bpf_map *map, const char *path)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	bpf_app_string_t wit;
	wbpf_error_t e;

	if (!path)
		return wbpf_err(-EINVAL);
	MAP_HANDLE(map, handle);
	wit = wbpf_str(path);
	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_set_pin_path(handle, &wit, &e))
		return wbpf_fail(&e);
	return 0;
}

/* Copies an optional host value into `out` (exactly `size` bytes
 * expected); -ENOENT when absent. */
static int take_value(bpf_app_option_list_u8_t *value, void *out, size_t size)
{
	int err = 0;

	if (!value->is_some)
		return wbpf_err(-ENOENT);
	if (value->val.len != size)
		err = -EINVAL;
	else
		memcpy(out, value->val.ptr, size);
	bpf_app_list_u8_free(&value->val);
	return wbpf_err(err);
}

int wbpf_fd_map(int fd, wasm_bpf_bpf_bpf_map_borrow_bpf_map_t *handle,
		  struct bpf_map **map)
{
	*map = wbpf_map_of_fd(fd);
	if (!*map)
		return wbpf_err(-EBADF);
	return wbpf_map_handle(*map, handle);
}

wasm_bpf_bpf_bpf_map_update_flags_t wbpf_update_flags(__u64 flags)
{
	wasm_bpf_bpf_bpf_map_update_flags_t out = 0;

	if ((flags & 3) == BPF_NOEXIST)
		out |= WASM_BPF_BPF_BPF_MAP_UPDATE_FLAGS_NO_EXIST;
	if ((flags & 3) == BPF_EXIST)
		out |= WASM_BPF_BPF_BPF_MAP_UPDATE_FLAGS_EXIST;
	if (flags & BPF_F_LOCK)
		out |= WASM_BPF_BPF_BPF_MAP_UPDATE_FLAGS_LOCK;
	return out;
}

/* Keys and values of at most SMALL bytes go to the host in words (the
 * `*-small` calls of wit/map.wit), which allocates nothing on either side. */
#define SMALL 32

static wasm_bpf_bpf_bpf_map_small_bytes_t small(const void *bytes, size_t len)
{
	__u64 words[4] = { 0 };

	memcpy(words, bytes, len);
	return (wasm_bpf_bpf_bpf_map_small_bytes_t){
		.len = (uint8_t)len,
		.w0 = words[0],
		.w1 = words[1],
		.w2 = words[2],
		.w3 = words[3],
	};
}

/* lookup-small: as take_value, for a value the host returned in words. */
static int lookup_small(wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle, const void *key,
			size_t key_size, void *value, size_t value_size, bool lock)
{
	wasm_bpf_bpf_bpf_map_small_bytes_t k = small(key, key_size);
	wasm_bpf_bpf_bpf_map_option_small_bytes_t found;
	wbpf_error_t e;
	__u64 words[4];

	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_lookup_small(
		    handle, &k, lock ? WASM_BPF_BPF_BPF_MAP_LOOKUP_FLAGS_LOCK : 0, &found, &e))
		return wbpf_fail(&e);
	if (!found.is_some)
		return wbpf_err(-ENOENT);
	if (found.val.len != value_size)
		return wbpf_err(-EINVAL);
	words[0] = found.val.w0;
	words[1] = found.val.w1;
	words[2] = found.val.w2;
	words[3] = found.val.w3;
	memcpy(value, words, value_size);
	return 0;
}

int bpf_map_lookup_elem_flags(int fd, const void *key, void *value, __u64 flags)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	bpf_app_option_list_u8_t found;
	struct bpf_map *map;
	bpf_app_list_u8_t k;
	wbpf_error_t e;
	int err = wbpf_fd_map(fd, &handle, &map);

	if (err)
		return err;
	if (flags & ~(__u64)BPF_F_LOCK)
		return wbpf_err(-EINVAL);
	if (map->key_size <= SMALL && wbpf_value_bytes(map) <= SMALL)
		return lookup_small(handle, key, map->key_size, value, wbpf_value_bytes(map),
				    flags != 0);
	k = wbpf_bytes(key, map->key_size);
	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_lookup(
		    handle, &k, flags ? WASM_BPF_BPF_BPF_MAP_LOOKUP_FLAGS_LOCK : 0, &found, &e))
		return wbpf_fail(&e);
	return take_value(&found, value, wbpf_value_bytes(map));
}

int bpf_map_lookup_elem(int fd, const void *key, void *value)
{
	return bpf_map_lookup_elem_flags(fd, key, value, 0);
}

int bpf_map_update_elem(int fd, const void *key, const void *value, __u64 flags)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	struct bpf_map *map;
	bpf_app_list_u8_t k, v;
	wbpf_error_t e;
	int err = wbpf_fd_map(fd, &handle, &map);

	if (err)
		return err;
	if (map->key_size <= SMALL && wbpf_value_bytes(map) <= SMALL) {
		wasm_bpf_bpf_bpf_map_small_bytes_t sk = small(key, map->key_size),
						    sv = small(value, wbpf_value_bytes(map));

		if (!wasm_bpf_bpf_bpf_map_method_bpf_map_update_small(handle, &sk, &sv,
								       wbpf_update_flags(flags), &e))
			return wbpf_fail(&e);
		return 0;
	}
	k = wbpf_bytes(key, map->key_size);
	v = wbpf_bytes(value, wbpf_value_bytes(map));
	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_update(handle, &k, &v, wbpf_update_flags(flags), &e))
		return wbpf_fail(&e);
	return 0;
}

int wasm_bpf_map_update_cgroup(int fd, const void *key, const char *cgroup_path, __u64 flags)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	struct bpf_map *map;
	bpf_app_string_t path = wbpf_str(cgroup_path);
	bpf_app_list_u8_t k;
	wbpf_error_t e;
	int err = wbpf_fd_map(fd, &handle, &map);

	if (err)
		return err;
	if (!cgroup_path)
		return wbpf_err(-EINVAL);
	k = wbpf_bytes(key, map->key_size);
	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_update_cgroup(handle, &k, &path,
								wbpf_update_flags(flags), &e))
		return wbpf_fail(&e);
	return 0;
}

int bpf_map_delete_elem(int fd, const void *key)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	struct bpf_map *map;
	bpf_app_list_u8_t k;
	wbpf_error_t e;
	int err = wbpf_fd_map(fd, &handle, &map);

	if (err)
		return err;
	if (map->key_size <= SMALL) {
		wasm_bpf_bpf_bpf_map_small_bytes_t sk = small(key, map->key_size);

		if (!wasm_bpf_bpf_bpf_map_method_bpf_map_delete_small(handle, &sk, &e))
			return wbpf_fail(&e);
		return 0;
	}
	k = wbpf_bytes(key, map->key_size);
	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_delete(handle, &k, &e))
		return wbpf_fail(&e);
	return 0;
}

int bpf_map_lookup_and_delete_elem(int fd, const void *key, void *value)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	bpf_app_option_list_u8_t found;
	struct bpf_map *map;
	bpf_app_list_u8_t k;
	wbpf_error_t e;
	bool ok;
	int err = wbpf_fd_map(fd, &handle, &map);

	if (err)
		return err;
	if (map->key_size) {
		k = wbpf_bytes(key, map->key_size);
		ok = wasm_bpf_bpf_bpf_map_method_bpf_map_lookup_and_delete(handle, &k, &found, &e);
	} else {
		ok = wasm_bpf_bpf_bpf_map_method_bpf_map_pop(handle, &found, &e);
	}
	if (!ok)
		return wbpf_fail(&e);
	return take_value(&found, value, wbpf_value_bytes(map));
}

int bpf_map_get_next_key(int fd, const void *key, void *next_key)
{
	wasm_bpf_bpf_bpf_map_borrow_bpf_map_t handle;
	bpf_app_option_list_u8_t next;
	struct bpf_map *map;
	bpf_app_list_u8_t k;
	wbpf_error_t e;
	int err = wbpf_fd_map(fd, &handle, &map);

	if (err)
		return err;
	k = wbpf_bytes(key, map->key_size);
	if (!wasm_bpf_bpf_bpf_map_method_bpf_map_next_key(handle, key ? &k : NULL, &next, &e))
		return wbpf_fail(&e);
	return take_value(&next, next_key, map->key_size);
}

/* The sized calls check the sizes, then take the fd path. */
static int check_sizes(const struct bpf_map *map, size_t key_sz, size_t value_sz,
		       bool has_value)
{
	if (!map)
		return wbpf_err(-EINVAL);
	if (key_sz != map->key_size || (has_value && value_sz != wbpf_value_bytes(map)))
		return wbpf_err(-EINVAL);
	return bpf_map__fd(map);
}

int bpf_map__lookup_elem(const struct bpf_map *map, const void *key, size_t key_sz,
			 void *value, size_t value_sz, __u64 flags)
{
	int fd = check_sizes(map, key_sz, value_sz, true);

	return fd < 0 ? fd : bpf_map_lookup_elem_flags(fd, key, value, flags);
}

int bpf_map__update_elem(const struct bpf_map *map, const void *key, size_t key_sz,
			 const void *value, size_t value_sz, __u64 flags)
{
	int fd = check_sizes(map, key_sz, value_sz, true);

	return fd < 0 ? fd : bpf_map_update_elem(fd, key, value, flags);
}

int bpf_map__delete_elem(const struct bpf_map *map, const void *key, size_t key_sz,
			 __u64 flags)
{
	int fd = check_sizes(map, key_sz, 0, false);

	if (fd >= 0 && flags)
		return wbpf_err(-EINVAL);
	return fd < 0 ? fd : bpf_map_delete_elem(fd, key);
}

int bpf_map__lookup_and_delete_elem(const struct bpf_map *map, const void *key,
				    size_t key_sz, void *value, size_t value_sz, __u64 flags)
{
	int fd = check_sizes(map, key_sz, value_sz, true);

	if (fd >= 0 && flags)
		return wbpf_err(-EINVAL);
	return fd < 0 ? fd : bpf_map_lookup_and_delete_elem(fd, key, value);
}

int bpf_map__get_next_key(const struct bpf_map *map, const void *cur_key, void *next_key,
			  size_t key_sz)
{
	int fd = check_sizes(map, key_sz, 0, false);

	return fd < 0 ? fd : bpf_map_get_next_key(fd, cur_key, next_key);
}
