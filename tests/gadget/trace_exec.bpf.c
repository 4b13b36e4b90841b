// A tracer gadget as Inspektor Gadget's are written: its records' struct,
// its ring buffer and its parameter are named by marker variables
// (GADGET_TRACER, GADGET_PARAM below follow IG's include/gadget/macros.h).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define GADGET_TRACER(name, map, record) \
	const void *gadget_tracer_##name##___##map##___##record __attribute__((unused)); \
	const struct record *__gadget_tracer_type_##name __attribute__((unused));
#define GADGET_PARAM(name) const void *gadget_param_##name __attribute__((unused));

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

SEC("tp/sched/sched_process_exec")
int trace_exec(void *ctx)
{
	struct event *e;
	u32 uid = (u32)bpf_get_current_uid_gid();

	if (targ_uid != (u32)-1 && uid != targ_uid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = uid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
