// A map iterator gadget, as Inspektor Gadget's top gadgets are written:
// the hash map `counts` (its keys and values structs), which user space
// drains every interval, is named by GADGET_MAPITER (IG's
// include/gadget/macros.h).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "macros.h"

char LICENSE[] SEC("license") = "GPL";

struct exec_key {
	char comm[16];
};

struct exec_count {
	u64 count;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct exec_key);
	__type(value, struct exec_count);
} counts SEC(".maps");

GADGET_MAPITER(execs, counts);

SEC("tp/sched/sched_process_exec")
int count_exec(void *ctx)
{
	struct exec_key key = {};
	struct exec_count one = { .count = 1 }, *count;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	count = bpf_map_lookup_elem(&counts, &key);
	if (count)
		__sync_fetch_and_add(&count->count, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	return 0;
}
