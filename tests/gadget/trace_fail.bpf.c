// A tracer gadget with Inspektor Gadget's typed fields: `error_raw`
// (gadget_errno) and `sig_raw` (gadget_signal), which user space shows as
// `error` and `sig` by name (the typedefs of macros.h, after IG's types.h).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "macros.h"

char LICENSE[] SEC("license") = "GPL";

struct event {
	u32 pid;
	char comm[16];
	gadget_errno error_raw;
	gadget_signal sig_raw;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} events SEC(".maps");

GADGET_TRACER(failures, events, event);

static __always_inline void submit(u32 pid, u32 error, u32 sig)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return;
	e->pid = pid;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->error_raw = error;
	e->sig_raw = sig;
	bpf_ringbuf_submit(e, 0);
}

SEC("tp/syscalls/sys_exit_openat")
int failed_open(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		submit(bpf_get_current_pid_tgid() >> 32, -ctx->ret, 0);
	return 0;
}

SEC("tp/signal/signal_generate")
int signalled(struct trace_event_raw_signal_generate *ctx)
{
	submit(ctx->pid, 0, ctx->sig);
	return 0;
}
