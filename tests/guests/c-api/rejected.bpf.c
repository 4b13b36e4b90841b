// SPDX-License-Identifier: GPL-2.0
/* Fixture: a program the verifier must reject (a hash map value used
 * without the NULL check). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} slots SEC(".maps");

SEC("tp/syscalls/sys_enter_getpid")
int unchecked(void *ctx)
{
	u32 key = 0;
	u64 *value = bpf_map_lookup_elem(&slots, &key);

	*value += 1;
	return 0;
}
