// What a generic libbpf loader trips on in real gadget objects, which IG
// loads with cilium/ebpf: programs in sections libbpf does not know
// (`socket1`, `classifier/ingress`: their type comes from the prefix), and
// a map declared with no size, sized before load from its
// `<map>_max_entries` variable (a parameter, defaulting to its initial
// value).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "macros.h"

char LICENSE[] SEC("license") = "GPL";

struct event {
	u32 pid;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

GADGET_TRACER(exec, events, event);

const volatile u32 seen_max_entries = 128;
GADGET_PARAM(seen_max_entries);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 0);
	__type(key, u32);
	__type(value, u32);
} seen SEC(".maps");

SEC("tp/sched/sched_process_exec")
int on_exec(void *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32, one = 1;
	struct event *e;

	bpf_map_update_elem(&seen, &pid, &one, BPF_ANY);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = pid;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("socket1")
int count_packets(struct __sk_buff *skb)
{
	return 0;
}

SEC("classifier/ingress")
int pass_ingress(struct __sk_buff *skb)
{
	return 0;
}
