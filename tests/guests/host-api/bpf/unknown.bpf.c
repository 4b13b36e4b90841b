// SPDX-License-Identifier: GPL-2.0
/* Calls that name no helper wasm-bpf knows (tests/sandbox.rs, tests/cli.rs
 * `inspect`): a number no kernel has, and the one libbpf writes over a
 * call whose CO-RE relocation failed. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

static long (*helper_999)(void) = (void *)999;
static long (*poisoned)(void) = (void *)0xbad2310;

SEC("tp/syscalls/sys_enter_getppid")
int unknown_helper(void *ctx)
{
	return helper_999();
}

SEC("tp/syscalls/sys_enter_getppid")
int poisoned_call(void *ctx)
{
	return poisoned();
}
