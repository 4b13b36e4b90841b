// SPDX-License-Identifier: GPL-2.0
/* Programs the run's policy must stop unless granted: one calls a helper
 * that acts on other processes, one names a host binary in its section. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Never set: the helper call is there for the policy to find. */
const volatile bool really_signal = false;

SEC("tp/syscalls/sys_enter_kill")
int signaller(void *ctx)
{
	if (really_signal)
		bpf_send_signal(9);
	return 0;
}

SEC("uprobe//usr/bin/true:main")
int probe_true(void *ctx)
{
	return 0;
}
