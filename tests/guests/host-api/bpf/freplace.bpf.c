// SPDX-License-Identifier: GPL-2.0
/* Fixture for a program that replaces a function of another loaded
 * program (freplace): opened twice, once as the target (`caller`, which
 * records what `pick` returns) and once as the replacer (`replacement`,
 * whose target user space names at run time). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

int picked = 0;

/* Global, so the verifier checks it on its own and freplace can swap it. */
__noinline int pick(int x)
{
	return x + 1;
}

SEC("tp/raw_syscalls/sys_enter")
int caller(void *ctx)
{
	picked = pick(1);
	return 0;
}

/* No target in the section: user space sets it (set-attach-target). */
SEC("freplace")
int replacement(int x)
{
	return x + 41;
}
