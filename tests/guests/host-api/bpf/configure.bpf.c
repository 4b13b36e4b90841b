// SPDX-License-Identifier: GPL-2.0
/* Fixture for configuring an opened object before load, as libbpf tools
 * do: a stack map whose value size (the stack depth) user space sets, a
 * program whose attach target user space names, a map whose type and
 * flags user space changes, a map user space does not create, and a
 * program user space turns into another kind, a bloom filter user space
 * gives its number of hash functions. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* No value size: user space sets it to depth × 8, as libbpf-tools' offcpu
 * and profile do with bpf_map__set_value_size. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(u32));
	__uint(max_entries, 64);
} stacks SEC(".maps");

/* A hash map user space turns into an LRU hash. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} table SEC(".maps");

/* Its number of hash functions (map_extra) comes from user space; the
 * kernel takes 1 to 15. */
struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 16);
	__type(value, u32);
} bloom SEC(".maps");

/* Used by no program; user space decides it is not created. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} spare SEC(".maps");

long last_stack = -1;
/* In .data after last_stack (initialised, so not in .bss): user space
 * starts it at 1000 with set-initial-value. */
u64 hits = 1;

/* No target in the section: user space sets it (set-attach-target). */
SEC("tp_btf")
int BPF_PROG(on_enter, struct pt_regs *regs, long id)
{
	u32 key = 0;
	u64 *count;

	last_stack = bpf_get_stackid(ctx, &stacks, 0);
	hits++;
	count = bpf_map_lookup_elem(&table, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&table, &key, &(u64){ 1 }, BPF_ANY);
	return 0;
}

/* A tracepoint program in its section; user space makes it an LSM
 * program, which needs a grant. */
SEC("tp/syscalls/sys_enter_getpid")
int turned(void *ctx)
{
	return 0;
}
