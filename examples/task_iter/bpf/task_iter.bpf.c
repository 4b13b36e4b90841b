// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* task_iter: an iterator program that writes one record per task. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define MAX_STACK_DEPTH 32

struct task_info {
	int pid;
	int tgid;
	int ppid;
	unsigned int state;
	char comm[16];
	int kstack_len;
	u64 kstack[MAX_STACK_DEPTH];
};

/* Too big for the BPF stack: built in a per-CPU scratch slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct task_info);
} scratch SEC(".maps");

SEC("iter/task")
int get_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct task_info *t;
	u32 zero = 0;

	if (!task)
		return 0;
	t = bpf_map_lookup_elem(&scratch, &zero);
	if (!t)
		return 0;
	t->pid = task->pid;
	t->tgid = task->tgid;
	t->ppid = BPF_CORE_READ(task, real_parent, tgid);
	t->state = task->__state;
	bpf_probe_read_kernel_str(t->comm, sizeof(t->comm), task->comm);
	t->kstack_len = bpf_get_task_stack(task, t->kstack, sizeof(t->kstack), 0);
	bpf_seq_write(seq, t, sizeof(*t));
	return 0;
}
