// A histogram gadget, as Inspektor Gadget's profile gadgets are written: a
// map iterator whose values are log2 slots typed gadget_histogram_slot__u32
// (IG's include/gadget/types.h), here of the sizes read() returns, by
// command.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "macros.h"

#define SLOTS 20

char LICENSE[] SEC("license") = "GPL";

struct read_key {
	char comm[16];
};

struct read_hist {
	gadget_histogram_slot__u32 bytes[SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct read_key);
	__type(value, struct read_hist);
} hists SEC(".maps");

GADGET_MAPITER(reads, hists);

static const struct read_hist zero;

SEC("tp/syscalls/sys_exit_read")
int read_size(struct trace_event_raw_sys_exit *ctx)
{
	struct read_key key = {};
	struct read_hist *hist;
	u64 size = ctx->ret;
	u32 slot = 0;

	if (ctx->ret <= 0)
		return 0;
	for (int i = 0; i < SLOTS - 1 && size > 1; i++) {
		size >>= 1;
		slot++;
	}
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	hist = bpf_map_lookup_elem(&hists, &key);
	if (!hist) {
		bpf_map_update_elem(&hists, &key, &zero, BPF_NOEXIST);
		hist = bpf_map_lookup_elem(&hists, &key);
		if (!hist)
			return 0;
	}
	if (slot < SLOTS)
		__sync_fetch_and_add(&hist->bytes[slot], 1);
	return 0;
}
