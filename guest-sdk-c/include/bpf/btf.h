/* Read-only queries of the kernel's BTF, as libbpf's <bpf/btf.h> offers
 * them, for wasm-bpf C guests: whether a type, a member or an enum value
 * exists on the running kernel (a tool picks a tracepoint's layout or a
 * program variant by it).
 *
 * The host hands the guest the kernel's BTF (wit/features.wit,
 * `kernel-btf`), which this SDK parses in the guest; a module's BTF is
 * split BTF on top of vmlinux's, so its type ids continue vmlinux's.
 * Building BTF is not offered, but for a string table: btf__new_empty()
 * and btf__add_str(), which trace_helpers.c keeps symbol names in.
 */
#ifndef __WASM_BPF_BTF_H
#define __WASM_BPF_BTF_H

#include <stdbool.h>
#include <linux/btf.h>
#include <linux/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct btf;

/* The running kernel's BTF (or the run's --kernel-btf); NULL with errno. */
struct btf *btf__load_vmlinux_btf(void);
/* The BTF of the loaded module `module_name`, split on `vmlinux_btf`,
 * which must outlive it; NULL with errno (ENOENT: no such module). */
struct btf *btf__load_module_btf(const char *module_name, struct btf *vmlinux_btf);
void btf__free(struct btf *btf);
/* A BTF with no types, to hold strings. */
struct btf *btf__new_empty(void);
/* Adds `s` to the strings of a btf__new_empty() BTF: its offset for
 * btf__name_by_offset(), or -errno. (Equal strings are not merged.) */
int btf__add_str(struct btf *btf, const char *s);

/* The id of the type named `name` of kind `kind` (BTF_KIND_*), or
 * -ENOENT. Searches the base BTF of a split one too. */
__s32 btf__find_by_name_kind(const struct btf *btf, const char *type_name, __u32 kind);
/* As above, of any kind. */
__s32 btf__find_by_name(const struct btf *btf, const char *type_name);
/* The type with id `id` (the base's for ids below a split BTF's own), or
 * NULL with errno EINVAL. */
const struct btf_type *btf__type_by_id(const struct btf *btf, __u32 id);
/* The string at `offset`, or NULL. */
const char *btf__name_by_offset(const struct btf *btf, __u32 offset);
/* As btf__name_by_offset. */
const char *btf__str_by_offset(const struct btf *btf, __u32 offset);
/* One more than the largest type id (type 0 is void). */
__u32 btf__type_cnt(const struct btf *btf);
/* The BTF a split one is based on, or NULL. */
struct btf *btf__base_btf(const struct btf *btf);

/* ---- reading a struct btf_type, as libbpf's inline helpers do ---- */

static inline __u16 btf_kind(const struct btf_type *t)
{
	return BTF_INFO_KIND(t->info);
}

static inline __u16 btf_vlen(const struct btf_type *t)
{
	return BTF_INFO_VLEN(t->info);
}

static inline bool btf_kflag(const struct btf_type *t)
{
	return BTF_INFO_KFLAG(t->info);
}

static inline bool btf_is_int(const struct btf_type *t) { return btf_kind(t) == BTF_KIND_INT; }
static inline bool btf_is_ptr(const struct btf_type *t) { return btf_kind(t) == BTF_KIND_PTR; }
static inline bool btf_is_array(const struct btf_type *t) { return btf_kind(t) == BTF_KIND_ARRAY; }
static inline bool btf_is_struct(const struct btf_type *t) { return btf_kind(t) == BTF_KIND_STRUCT; }
static inline bool btf_is_union(const struct btf_type *t) { return btf_kind(t) == BTF_KIND_UNION; }
static inline bool btf_is_composite(const struct btf_type *t)
{
	return btf_is_struct(t) || btf_is_union(t);
}
static inline bool btf_is_enum(const struct btf_type *t) { return btf_kind(t) == BTF_KIND_ENUM; }
static inline bool btf_is_enum64(const struct btf_type *t) { return btf_kind(t) == BTF_KIND_ENUM64; }
static inline bool btf_is_fwd(const struct btf_type *t) { return btf_kind(t) == BTF_KIND_FWD; }
static inline bool btf_is_typedef(const struct btf_type *t) { return btf_kind(t) == BTF_KIND_TYPEDEF; }
static inline bool btf_is_func(const struct btf_type *t) { return btf_kind(t) == BTF_KIND_FUNC; }
static inline bool btf_is_func_proto(const struct btf_type *t)
{
	return btf_kind(t) == BTF_KIND_FUNC_PROTO;
}
static inline bool btf_is_var(const struct btf_type *t) { return btf_kind(t) == BTF_KIND_VAR; }
static inline bool btf_is_datasec(const struct btf_type *t) { return btf_kind(t) == BTF_KIND_DATASEC; }

/* What follows a type's header, by kind. */
static inline __u32 btf_int_encoding(const struct btf_type *t)
{
	return BTF_INT_ENCODING(*(const __u32 *)(t + 1));
}
static inline __u32 btf_int_bits(const struct btf_type *t)
{
	return BTF_INT_BITS(*(const __u32 *)(t + 1));
}
static inline const struct btf_array *btf_array(const struct btf_type *t)
{
	return (const struct btf_array *)(t + 1);
}
static inline const struct btf_member *btf_members(const struct btf_type *t)
{
	return (const struct btf_member *)(t + 1);
}
/* A member's offset in bits (bitfield-aware, as libbpf's). */
static inline __u32 btf_member_bit_offset(const struct btf_type *t, __u32 member_idx)
{
	const struct btf_member *m = btf_members(t) + member_idx;

	return btf_kflag(t) ? BTF_MEMBER_BIT_OFFSET(m->offset) : m->offset;
}
static inline const struct btf_enum *btf_enum(const struct btf_type *t)
{
	return (const struct btf_enum *)(t + 1);
}
static inline const struct btf_enum64 *btf_enum64(const struct btf_type *t)
{
	return (const struct btf_enum64 *)(t + 1);
}
static inline const struct btf_param *btf_params(const struct btf_type *t)
{
	return (const struct btf_param *)(t + 1);
}
static inline const struct btf_var *btf_var(const struct btf_type *t)
{
	return (const struct btf_var *)(t + 1);
}
static inline const struct btf_var_secinfo *btf_var_secinfos(const struct btf_type *t)
{
	return (const struct btf_var_secinfo *)(t + 1);
}

#ifdef __cplusplus
}
#endif

#endif
