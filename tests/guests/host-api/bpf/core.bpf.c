// SPDX-License-Identifier: GPL-2.0
/* Fixture for a kernel BTF file given at open: one CO-RE read, which
 * libbpf relocates against whatever BTF it was given. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

int parent = 0;

SEC("tp/syscalls/sys_enter_getppid")
int read_parent(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	parent = BPF_CORE_READ(task, real_parent, tgid);
	return 0;
}
