// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* minimal: a tracepoint program that writes to the kernel's trace pipe. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Which writers to report: a process id, or (when 0) a command name. A
 * component cannot learn its host's process id, so by default the filter
 * is the runtime's command name. */
const volatile int target_pid = 0;
const volatile char target_comm[16] = "wasm-bpf";

static bool comm_matches(void)
{
	char comm[16];

	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < sizeof(comm); i++) {
		if (comm[i] != target_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

SEC("tp/syscalls/sys_enter_write")
int handle_tp(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (target_pid ? pid != target_pid : !comm_matches())
		return 0;
	bpf_printk("BPF triggered from PID %d.\n", pid);
	return 0;
}
