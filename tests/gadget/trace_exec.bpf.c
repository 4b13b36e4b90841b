// A tracer gadget as Inspektor Gadget's are written: its records' struct,
// its ring buffer and its parameter are named by marker variables
// (GADGET_TRACER, GADGET_PARAM of macros.h, after IG's),
// and it filters by mount namespace as IG's include/gadget/mntns_filter.h
// has gadgets do.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "macros.h"

char LICENSE[] SEC("license") = "GPL";

struct event {
	u32 pid;
	u32 uid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

GADGET_TRACER(exec, events, event);

const volatile u32 targ_uid = 0;
GADGET_PARAM(targ_uid);

const volatile char targ_comm[16] = {};
GADGET_PARAM(targ_comm);

const volatile bool gadget_filter_by_mntns = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u64);
	__type(value, u32);
	__uint(max_entries, 1024);
} gadget_mntns_filter_map SEC(".maps");

/* Read through the volatile array: a plain memcmp lets clang fold the
 * zeros it was initialized with. */
static __always_inline bool other_comm(const char *comm)
{
	if (!targ_comm[0])
		return false;
	for (int i = 0; i < 16; i++)
		if (comm[i] != targ_comm[i])
			return true;
	return false;
}

SEC("tp/sched/sched_process_exec")
int trace_exec(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u64 mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	u32 uid = (u32)bpf_get_current_uid_gid();
	char comm[16] = {};
	struct event *e;

	if (gadget_filter_by_mntns && !bpf_map_lookup_elem(&gadget_mntns_filter_map, &mntns))
		return 0;
	if (targ_uid != (u32)-1 && uid != targ_uid)
		return 0;
	bpf_get_current_comm(comm, sizeof(comm));
	if (other_comm(comm))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = uid;
	__builtin_memcpy(e->comm, comm, sizeof(comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
