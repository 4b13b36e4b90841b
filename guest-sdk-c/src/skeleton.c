/* The calls a generated skeleton (`wasm-bpf gen skeleton`) makes. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static struct bpf_map_skeleton *map_skel(struct bpf_object_skeleton *s, int i)
{
	return (struct bpf_map_skeleton *)((char *)s->maps + (size_t)i * s->map_skel_sz);
}

static struct bpf_prog_skeleton *prog_skel(struct bpf_object_skeleton *s, int i)
{
	return (struct bpf_prog_skeleton *)((char *)s->progs + (size_t)i * s->prog_skel_sz);
}

/* Copies one variable between the guest's section copy and the object:
 * before load its initial value (get) or the guest's value (set). */
static int var_get(struct bpf_object *obj, const struct wasm_bpf_var_skeleton *var,
		   uint8_t *data)
{
	bpf_app_string_t name = wbpf_str(var->name);
	bpf_app_list_u8_t value;
	wbpf_error_t e;

	if (!wasm_bpf_bpf_object_method_bpf_object_get_global(
		    wasm_bpf_bpf_object_borrow_bpf_object(obj->handle), &name, &value, &e))
		return wbpf_fail(&e);
	if (value.len == var->size)
		memcpy(data + var->offset, value.ptr, var->size);
	bpf_app_list_u8_free(&value);
	return value.len == var->size ? 0 : wbpf_err(-EINVAL);
}

static int var_set(struct bpf_object *obj, const struct wasm_bpf_var_skeleton *var,
		   const uint8_t *data)
{
	bpf_app_string_t name = wbpf_str(var->name);
	bpf_app_list_u8_t value = wbpf_bytes(data + var->offset, var->size);
	wbpf_error_t e;

	if (!wasm_bpf_bpf_object_method_bpf_object_set_global(
		    wasm_bpf_bpf_object_borrow_bpf_object(obj->handle), &name, &value, &e))
		return wbpf_fail(&e);
	return 0;
}

int bpf_object__open_skeleton(struct bpf_object_skeleton *s,
			      const struct bpf_object_open_opts *opts)
{
	LIBBPF_OPTS(bpf_object_open_opts, named, .object_name = s->name);
	struct bpf_object *obj;
	int i, j, err;

	if (opts)
		named = *opts, named.object_name = opts->object_name ? opts->object_name : s->name;
	obj = bpf_object__open_mem(s->data, s->data_sz, &named);
	if (!obj)
		return -errno;
	*s->obj = obj;
	obj->skel = s;
	for (i = 0; i < s->map_cnt; i++) {
		struct bpf_map_skeleton *m = map_skel(s, i);
		uint8_t *data;

		*m->map = bpf_object__find_map_by_name(obj, m->name);
		if (!*m->map)
			return -errno;
		if (!m->mmaped)
			continue;
		/* Room for the section and for every member of its struct. */
		data = calloc(1, (m->data_sz > m->struct_sz ? m->data_sz : m->struct_sz) + 1);
		if (!data)
			return wbpf_err(-ENOMEM);
		*m->mmaped = data;
		for (j = 0; j < m->var_cnt; j++) {
			err = var_get(obj, &m->vars[j], data);
			if (err)
				return err;
		}
	}
	for (i = 0; i < s->prog_cnt; i++) {
		struct bpf_prog_skeleton *p = prog_skel(s, i);

		*p->prog = bpf_object__find_program_by_name(obj, p->name);
		if (!*p->prog)
			return -errno;
	}
	return 0;
}

void wbpf_skeleton_set_section(struct bpf_object *obj, const struct bpf_map *map,
			       const void *data, size_t size)
{
	struct bpf_object_skeleton *s = obj->skel;
	int i;

	for (i = 0; s && i < s->map_cnt; i++) {
		struct bpf_map_skeleton *m = map_skel(s, i);

		if (*m->map == map && m->mmaped && *m->mmaped)
			memcpy(*m->mmaped, data, size < m->data_sz ? size : m->data_sz);
	}
}

int bpf_object__load_skeleton(struct bpf_object_skeleton *s)
{
	int i, j, err;

	for (i = 0; i < s->map_cnt; i++) {
		struct bpf_map_skeleton *m = map_skel(s, i);

		for (j = 0; m->mmaped && j < m->var_cnt; j++) {
			err = var_set(*s->obj, &m->vars[j], *m->mmaped);
			if (err)
				return err;
		}
	}
	err = bpf_object__load(*s->obj);
	if (err)
		return err;
	return wasm_bpf_skeleton__read_data(s);
}

/* A writable section's value, the whole section at key 0 of its map. */
static int section_io(struct bpf_map_skeleton *m, bool write)
{
	__u32 zero = 0;
	int fd = bpf_map__fd(*m->map);

	if (fd < 0)
		return fd;
	if (write)
		return bpf_map_update_elem(fd, &zero, *m->mmaped, BPF_ANY);
	return bpf_map_lookup_elem(fd, &zero, *m->mmaped);
}

static int sections_io(struct bpf_object_skeleton *s, bool write)
{
	int i, err;

	for (i = 0; i < s->map_cnt; i++) {
		struct bpf_map_skeleton *m = map_skel(s, i);

		if (!m->mmaped || !m->writable || !m->data_sz)
			continue;
		err = section_io(m, write);
		if (err)
			return err;
	}
	return 0;
}

int wasm_bpf_skeleton__read_data(struct bpf_object_skeleton *s)
{
	return s ? sections_io(s, false) : wbpf_err(-EINVAL);
}

int wasm_bpf_skeleton__write_data(struct bpf_object_skeleton *s)
{
	return s ? sections_io(s, true) : wbpf_err(-EINVAL);
}

void wbpf_skeleton_refresh(struct bpf_object *obj)
{
	if (obj && obj->skel)
		sections_io(obj->skel, false);
}

int bpf_object__attach_skeleton(struct bpf_object_skeleton *s)
{
	int i;

	for (i = 0; i < s->prog_cnt; i++) {
		struct bpf_prog_skeleton *p = prog_skel(s, i);

		if (!p->link || *p->link || !bpf_program__autoload(*p->prog))
			continue;
		*p->link = bpf_program__attach(*p->prog);
		/* As libbpf: a section naming no hook (SEC("xdp")) is attached by
		 * the application, not here. */
		if (!*p->link && errno != EOPNOTSUPP)
			return -errno;
	}
	return 0;
}

void bpf_object__detach_skeleton(struct bpf_object_skeleton *s)
{
	int i;

	for (i = 0; i < s->prog_cnt; i++) {
		struct bpf_prog_skeleton *p = prog_skel(s, i);

		if (p->link) {
			bpf_link__destroy(*p->link);
			*p->link = NULL;
		}
	}
}

void bpf_object__destroy_skeleton(struct bpf_object_skeleton *s)
{
	int i;

	if (!s)
		return;
	bpf_object__detach_skeleton(s);
	for (i = 0; i < s->map_cnt; i++) {
		struct bpf_map_skeleton *m = map_skel(s, i);

		if (m->mmaped) {
			free(*m->mmaped);
			*m->mmaped = NULL;
		}
	}
	bpf_object__close(*s->obj);
	*s->obj = NULL;
	free(s->maps);
	free(s->progs);
	free(s);
}
