// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* xdp: drops the UDP packets to one port as they arrive on an interface,
 * before the network stack sees them, and counts what it dropped and what
 * it let through. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP 0x0800

/* The UDP port whose packets are dropped. */
const volatile u16 drop_port = 0;

enum verdict { PASSED = 0, DROPPED = 1 };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} verdicts SEC(".maps");

static int count(u32 verdict, int action)
{
	u64 *n = bpf_map_lookup_elem(&verdicts, &verdict);

	if (n)
		(*n)++;
	return action;
}

SEC("xdp")
int drop_udp_port(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_UDP)
		return count(PASSED, XDP_PASS);
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > data_end)
		return count(PASSED, XDP_PASS);
	if (udp->dest == bpf_htons(drop_port))
		return count(DROPPED, XDP_DROP);
	return count(PASSED, XDP_PASS);
}
