// An iterator gadget (a snapshot), as Inspektor Gadget's snapshot gadgets
// are written: GADGET_ITER (IG's include/gadget/macros.h) names the
// struct each entry is and the bpf_iter program writing them.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "macros.h"

char LICENSE[] SEC("license") = "GPL";

struct process_entry {
	u32 pid;
	u32 ppid;
	char comm[16];
};

GADGET_ITER(processes, process_entry, list_processes);

SEC("iter/task")
int list_processes(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct process_entry e = {};

	if (!task || task->pid != task->tgid)
		return 0;
	e.pid = task->tgid;
	e.ppid = task->real_parent->tgid;
	__builtin_memcpy(e.comm, task->comm, sizeof(e.comm));
	bpf_seq_write(ctx->meta->seq, &e, sizeof(e));
	return 0;
}
