// SPDX-License-Identifier: GPL-2.0
/* What the third attack review got through the sandbox
 * (tests/sandbox.rs): an iterator that changes sockets it does not own,
 * and a global section a guest would grow over the host's memory. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define SOL_SOCKET 1
#define SO_MARK 36

/* The local port of the sockets to mark: the test's own. */
const volatile __u16 victim_port = 0;
const volatile int mark = 0x1337;

/* Sockets marked, in .bss: a section libbpf maps into the host. */
__u64 marked = 0;

SEC("iter/tcp")
int mark_sockets(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;
	int value = mark;

	if (!skc || skc->skc_num != victim_port)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	if (!bpf_setsockopt(tp, SOL_SOCKET, SO_MARK, &value, sizeof(value)))
		marked++;
	return 0;
}

/* A cgroup stored by the guest (update-cgroup), a path it names. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} cgroups SEC(".maps");

/* A uprobe whose binary the guest names. */
SEC("uprobe")
int probe_binary(void *ctx)
{
	return 0;
}

/* One value of 3 MiB: more than one call may return to a guest of
 * --max-memory 8MiB (2 MiB). */
struct big_value {
	__u8 bytes[3 << 20];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct big_value);
} big_values SEC(".maps");

/* A program type that steers the machine's connections with no grant to
 * name it: it loads, and is never attached. */
SEC("sk_lookup")
int steer(struct bpf_sk_lookup *ctx)
{
	return SK_PASS;
}
