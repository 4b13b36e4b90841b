// SPDX-License-Identifier: GPL-2.0
/* An arena whose address in the host process the object chooses
 * (tests/sandbox.rs). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4);
	/* Where libbpf would map it in the host, with MAP_FIXED. */
	__ulong(map_extra, 0x7f0000000000ULL);
} arena SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int touch(void *ctx)
{
	return 0;
}
