// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* {{name}}: the kernel half. Reports every exec(2) on the machine through
 * a ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "{{ident}}.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Set by user space before load: report only the children of this
 * process (0: every process). */
const volatile pid_t target_ppid = 0;

/* Events are only reserved in the ring buffer, which BTF does not record;
 * this global puts struct event in the object's BTF for user space. */
struct event _event = {};

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	pid_t ppid = BPF_CORE_READ(task, real_parent, tgid);
	unsigned int filename_off;
	struct event *e;

	if (target_ppid && ppid != target_ppid)
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->ppid = ppid;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	/* The low 16 bits of __data_loc are the string's offset in ctx. */
	filename_off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_str(&e->filename, sizeof(e->filename), (void *)ctx + filename_off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
