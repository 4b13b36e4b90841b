/* bpf_object: open, load, close, and finding maps and programs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Option fields this SDK cannot honour; set ones fail the open. */
static bool unsupported_opts(const struct bpf_object_open_opts *opts)
{
	return opts->relaxed_maps || opts->pin_root_path || opts->kconfig ||
	       opts->kernel_log_buf || opts->kernel_log_level;
}

static int fill_maps(struct bpf_object *obj)
{
	wasm_bpf_bpf_object_list_map_info_t infos;
	size_t i;

	wasm_bpf_bpf_object_method_bpf_object_maps(
		wasm_bpf_bpf_object_borrow_bpf_object(obj->handle), &infos);
	obj->maps = calloc(infos.len ? infos.len : 1, sizeof(*obj->maps));
	if (!obj->maps) {
		wasm_bpf_bpf_object_list_map_info_free(&infos);
		return -ENOMEM;
	}
	for (i = 0; i < infos.len; i++) {
		struct bpf_map *map = &obj->maps[i];
		wasm_bpf_bpf_bpf_map_map_info_t *info = &infos.ptr[i];

		map->obj = obj;
		map->fd = -1;
		map->name = strndup((const char *)info->name.ptr, info->name.len);
		map->key_size = info->key_size;
		map->value_size = info->value_size;
		map->max_entries = info->max_entries;
		map->per_cpu_slots = info->per_cpu_slots;
		obj->map_cnt++;
	}
	wasm_bpf_bpf_object_list_map_info_free(&infos);
	return 0;
}

static int fill_programs(struct bpf_object *obj)
{
	wasm_bpf_bpf_object_list_program_info_t infos;
	size_t i;

	wasm_bpf_bpf_object_method_bpf_object_programs(
		wasm_bpf_bpf_object_borrow_bpf_object(obj->handle), &infos);
	obj->progs = calloc(infos.len ? infos.len : 1, sizeof(*obj->progs));
	if (!obj->progs) {
		wasm_bpf_bpf_object_list_program_info_free(&infos);
		return -ENOMEM;
	}
	for (i = 0; i < infos.len; i++) {
		struct bpf_program *prog = &obj->progs[i];
		wasm_bpf_bpf_program_program_info_t *info = &infos.ptr[i];

		prog->obj = obj;
		prog->name = strndup((const char *)info->name.ptr, info->name.len);
		prog->section = strndup((const char *)info->section.ptr, info->section.len);
		prog->autoload = info->autoload;
		prog->handle.__handle = 0;
		obj->prog_cnt++;
	}
	wasm_bpf_bpf_object_list_program_info_free(&infos);
	return 0;
}

struct bpf_object *bpf_object__open_mem(const void *obj_buf, size_t obj_buf_sz,
					const struct bpf_object_open_opts *opts)
{
	wasm_bpf_bpf_object_own_bpf_object_t handle;
	bpf_app_list_u8_t elf = wbpf_bytes(obj_buf, obj_buf_sz);
	bpf_app_string_t name;
	wbpf_error_t e;
	struct bpf_object *obj;
	int err;

	if (!obj_buf || !obj_buf_sz)
		return wbpf_err_ptr(-EINVAL);
	if (opts && unsupported_opts(opts))
		return wbpf_err_ptr(-EOPNOTSUPP);
	/* btf_custom_path is a guest path, inside the run's --dir grants. */
	wasm_bpf_bpf_object_open_options_t options = {
		.name = { .is_some = opts && opts->object_name,
			  .val = wbpf_str(opts ? opts->object_name : NULL) },
		.kernel_btf = { .is_some = opts && opts->btf_custom_path,
				.val = wbpf_str(opts ? opts->btf_custom_path : NULL) },
	};
	if (!wasm_bpf_bpf_object_static_bpf_object_open_with(&elf, &options, &handle, &e))
		return wbpf_err_ptr(wbpf_fail(&e));
	wbpf_log_deliver();
	obj = calloc(1, sizeof(*obj));
	if (!obj) {
		wasm_bpf_bpf_object_bpf_object_drop_own(handle);
		return wbpf_err_ptr(-ENOMEM);
	}
	obj->handle = handle;
	wasm_bpf_bpf_object_method_bpf_object_name(wasm_bpf_bpf_object_borrow_bpf_object(handle),
						   &name);
	obj->name = wbpf_take_str(&name);
	err = fill_maps(obj);
	if (!err)
		err = fill_programs(obj);
	if (err) {
		bpf_object__close(obj);
		return wbpf_err_ptr(err);
	}
	return obj;
}

struct bpf_object *bpf_object__open_file(const char *path,
					 const struct bpf_object_open_opts *opts)
{
	struct bpf_object *obj;
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;
	int err;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) ||
	    !(buf = malloc(size)) || fread(buf, 1, size, f) != (size_t)size) {
		err = errno ? -errno : -EIO;
		fclose(f);
		free(buf);
		return wbpf_err_ptr(err);
	}
	fclose(f);
	obj = bpf_object__open_mem(buf, size, opts);
	free(buf);
	return obj;
}

struct bpf_object *bpf_object__open(const char *path)
{
	return bpf_object__open_file(path, NULL);
}

int bpf_object__load(struct bpf_object *obj)
{
	wbpf_error_t e;
	size_t i;

	if (!obj)
		return wbpf_err(-EINVAL);
	if (!wasm_bpf_bpf_object_method_bpf_object_load(
		    wasm_bpf_bpf_object_borrow_bpf_object(obj->handle), &e))
		return wbpf_fail(&e);
	wbpf_log_deliver();
	/* Sizes can change at load (ring buffers rounded, max-entries set). */
	wasm_bpf_bpf_object_list_map_info_t infos;
	wasm_bpf_bpf_object_method_bpf_object_maps(
		wasm_bpf_bpf_object_borrow_bpf_object(obj->handle), &infos);
	for (i = 0; i < infos.len && i < obj->map_cnt; i++)
		obj->maps[i].max_entries = infos.ptr[i].max_entries;
	wasm_bpf_bpf_object_list_map_info_free(&infos);
	for (i = 0; i < obj->prog_cnt; i++)
		wbpf_program_fill_log(&obj->progs[i]);
	return 0;
}

void bpf_object__close(struct bpf_object *obj)
{
	size_t i;

	if (!obj)
		return;
	wbpf_maps_release(obj);
	for (i = 0; i < obj->map_cnt; i++)
		free(obj->maps[i].name);
	for (i = 0; i < obj->prog_cnt; i++) {
		if (obj->progs[i].handle.__handle)
			wasm_bpf_bpf_program_program_drop_own(obj->progs[i].handle);
		free(obj->progs[i].name);
		free(obj->progs[i].section);
	}
	free(obj->maps);
	free(obj->progs);
	free(obj->name);
	wasm_bpf_bpf_object_bpf_object_drop_own(obj->handle);
	free(obj);
}

const char *bpf_object__name(const struct bpf_object *obj)
{
	return obj ? obj->name : NULL;
}

struct bpf_map *bpf_object__find_map_by_name(const struct bpf_object *obj, const char *name)
{
	size_t i;

	if (!obj || !name)
		return wbpf_err_ptr(-EINVAL);
	for (i = 0; i < obj->map_cnt; i++)
		if (!strcmp(obj->maps[i].name, name))
			return &obj->maps[i];
	/* libbpf also finds internal maps by section name (".rodata"). */
	if (name[0] == '.')
		for (i = 0; i < obj->map_cnt; i++) {
			const char *dot = strchr(obj->maps[i].name, '.');

			if (dot && !strcmp(dot, name))
				return &obj->maps[i];
		}
	return wbpf_err_ptr(-ENOENT);
}

int bpf_object__find_map_fd_by_name(const struct bpf_object *obj, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);

	return map ? bpf_map__fd(map) : -errno;
}

struct bpf_program *bpf_object__find_program_by_name(const struct bpf_object *obj,
						     const char *name)
{
	size_t i;

	if (!obj || !name)
		return wbpf_err_ptr(-EINVAL);
	for (i = 0; i < obj->prog_cnt; i++)
		if (!strcmp(obj->progs[i].name, name))
			return &obj->progs[i];
	return wbpf_err_ptr(-ENOENT);
}

struct bpf_map *bpf_object__next_map(const struct bpf_object *obj, const struct bpf_map *map)
{
	size_t next = map ? (size_t)(map - obj->maps) + 1 : 0;

	return obj && next < obj->map_cnt ? &obj->maps[next] : NULL;
}

struct bpf_program *bpf_object__next_program(const struct bpf_object *obj,
					     struct bpf_program *prog)
{
	size_t next = prog ? (size_t)(prog - obj->progs) + 1 : 0;

	return obj && next < obj->prog_cnt ? &obj->progs[next] : NULL;
}
