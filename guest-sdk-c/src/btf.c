/* The kernel's BTF, handed over by the host and indexed here for
 * libbpf's read-only queries (see <bpf/btf.h>). */
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>

#include "internal.h"

struct btf {
	/* The raw bytes, owned. */
	uint8_t *data;
	size_t size;
	const char *strs;
	__u32 strs_len;
	/* types[i] is type start_id + i. */
	const struct btf_type **types;
	__u32 nr_types;
	/* The first id and string offset of this BTF: past the base's for
	 * split BTF. */
	__u32 start_id;
	__u32 start_str;
	struct btf *base;
	/* A BTF of btf__new_empty(): `data` is its string section alone,
	 * `size` bytes allocated, which btf__add_str() grows. */
	bool strings_only;
};

/* Bytes that follow the header of `t`, by kind; -1 for an unknown kind. */
static long extra_bytes(const struct btf_type *t)
{
	__u32 vlen = btf_vlen(t);

	switch (btf_kind(t)) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return (long)vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return (long)vlen * sizeof(struct btf_enum);
	case BTF_KIND_FUNC_PROTO:
		return (long)vlen * sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return (long)vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_ENUM64:
		return (long)vlen * sizeof(struct btf_enum64);
	default:
		return -1;
	}
}

/* Checks the header and indexes the types; -errno on malformed BTF. */
static int parse(struct btf *btf)
{
	const struct btf_header *h = (const struct btf_header *)btf->data;
	size_t types_end, cap = 0, pos;

	if (btf->size < sizeof(*h) || h->magic != BTF_MAGIC || h->hdr_len < sizeof(*h) ||
	    h->hdr_len > btf->size)
		return -EINVAL;
	if ((size_t)h->type_off + h->type_len > btf->size - h->hdr_len ||
	    (size_t)h->str_off + h->str_len > btf->size - h->hdr_len || h->str_len == 0)
		return -EINVAL;
	btf->strs = (const char *)btf->data + h->hdr_len + h->str_off;
	btf->strs_len = h->str_len;
	if (btf->strs[btf->strs_len - 1] != '\0')
		return -EINVAL;
	pos = h->hdr_len + h->type_off;
	types_end = pos + h->type_len;
	while (pos < types_end) {
		const struct btf_type *t = (const struct btf_type *)(btf->data + pos);
		long extra;

		if (pos % 4 || types_end - pos < sizeof(*t))
			return -EINVAL;
		extra = extra_bytes(t);
		if (extra < 0 || (size_t)extra > types_end - pos - sizeof(*t))
			return -EINVAL;
		if (btf->nr_types == cap) {
			const struct btf_type **grown;

			cap = cap ? cap * 2 : 4096;
			grown = realloc(btf->types, cap * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			btf->types = grown;
		}
		btf->types[btf->nr_types++] = t;
		pos += sizeof(*t) + (size_t)extra;
	}
	return 0;
}

static struct btf *load(const char *module, struct btf *base)
{
	bpf_app_string_t name = wbpf_str(module);
	bpf_app_list_u8_t bytes;
	wbpf_error_t e;
	struct btf *btf;
	int err;

	if (!wasm_bpf_bpf_features_kernel_btf(module ? &name : NULL, &bytes, &e))
		return wbpf_err_ptr(wbpf_fail(&e));
	btf = calloc(1, sizeof(*btf));
	if (!btf) {
		bpf_app_list_u8_free(&bytes);
		return wbpf_err_ptr(-ENOMEM);
	}
	/* Taken over from the bindings, which allocate with malloc. */
	btf->data = bytes.ptr;
	btf->size = bytes.len;
	btf->base = base;
	btf->start_id = base ? base->start_id + base->nr_types : 1;
	btf->start_str = base ? base->start_str + base->strs_len : 0;
	err = parse(btf);
	if (err) {
		btf__free(btf);
		return wbpf_err_ptr(err);
	}
	return btf;
}

struct btf *btf__load_vmlinux_btf(void)
{
	return load(NULL, NULL);
}

struct btf *btf__load_module_btf(const char *module_name, struct btf *vmlinux_btf)
{
	if (!module_name || !vmlinux_btf)
		return wbpf_err_ptr(-EINVAL);
	return load(module_name, vmlinux_btf);
}

void btf__free(struct btf *btf)
{
	if (!btf)
		return;
	free(btf->types);
	free(btf->data);
	free(btf);
}

struct btf *btf__new_empty(void)
{
	struct btf *btf = calloc(1, sizeof(*btf));

	if (!btf)
		return wbpf_err_ptr(-ENOMEM);
	btf->size = 4096;
	btf->data = calloc(1, btf->size);
	if (!btf->data) {
		free(btf);
		return wbpf_err_ptr(-ENOMEM);
	}
	btf->strings_only = true;
	btf->strs = (const char *)btf->data;
	btf->strs_len = 1;
	btf->start_id = 1;
	return btf;
}

int btf__add_str(struct btf *btf, const char *s)
{
	size_t len, need;
	__u32 off;

	if (!btf || !s)
		return wbpf_err(-EINVAL);
	if (!btf->strings_only)
		return wbpf_err(-EOPNOTSUPP);
	len = strlen(s) + 1;
	need = (size_t)btf->strs_len + len;
	/* BTF's string offsets are 32-bit, and the kernel takes at most
	 * BTF_MAX_NAME_OFFSET (2^24 - 1) of them. */
	if (need > 0xffffff)
		return wbpf_err(-E2BIG);
	if (need > btf->size) {
		size_t cap = btf->size * 2 > need ? btf->size * 2 : need;
		uint8_t *grown = realloc(btf->data, cap);

		if (!grown)
			return wbpf_err(-ENOMEM);
		btf->data = grown;
		btf->size = cap;
		btf->strs = (const char *)grown;
	}
	off = btf->strs_len;
	memcpy(btf->data + off, s, len);
	btf->strs_len += (__u32)len;
	return (int)off;
}

__u32 btf__type_cnt(const struct btf *btf)
{
	return btf->start_id + btf->nr_types;
}

struct btf *btf__base_btf(const struct btf *btf)
{
	return btf->base;
}

const struct btf_type *btf__type_by_id(const struct btf *btf, __u32 id)
{
	static const struct btf_type void_type;

	if (id == 0)
		return &void_type;
	if (id < btf->start_id)
		return btf->base ? btf__type_by_id(btf->base, id) : wbpf_err_ptr(-EINVAL);
	if (id - btf->start_id >= btf->nr_types)
		return wbpf_err_ptr(-EINVAL);
	return btf->types[id - btf->start_id];
}

const char *btf__str_by_offset(const struct btf *btf, __u32 offset)
{
	if (offset < btf->start_str)
		return btf->base ? btf__str_by_offset(btf->base, offset) : wbpf_err_ptr(-EINVAL);
	if (offset - btf->start_str >= btf->strs_len)
		return wbpf_err_ptr(-EINVAL);
	return btf->strs + (offset - btf->start_str);
}

const char *btf__name_by_offset(const struct btf *btf, __u32 offset)
{
	return btf__str_by_offset(btf, offset);
}

static __s32 find(const struct btf *btf, const char *type_name, __u32 kind, bool any_kind)
{
	__u32 i;

	if (!type_name)
		return wbpf_err(-EINVAL);
	if (!strcmp(type_name, "void"))
		return 0;
	for (i = 0; i < btf->nr_types; i++) {
		const struct btf_type *t = btf->types[i];
		const char *name;

		if (!any_kind && btf_kind(t) != kind)
			continue;
		name = btf__name_by_offset(btf, t->name_off);
		if (name && !strcmp(name, type_name))
			return (__s32)(btf->start_id + i);
	}
	if (btf->base)
		return find(btf->base, type_name, kind, any_kind);
	return wbpf_err(-ENOENT);
}

__s32 btf__find_by_name_kind(const struct btf *btf, const char *type_name, __u32 kind)
{
	return find(btf, type_name, kind, false);
}

__s32 btf__find_by_name(const struct btf *btf, const char *type_name)
{
	return find(btf, type_name, 0, true);
}
