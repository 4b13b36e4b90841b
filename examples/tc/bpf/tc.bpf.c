// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* tc: a tcx program that counts the IPv4 packets crossing an interface by
 * IP protocol, optionally only those to one TCP/UDP port, and lets every
 * packet through. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP 0x0800
#define TC_ACT_OK 0
#define TCX_NEXT -1

/* Only packets to this TCP/UDP port, when set. */
const volatile u16 targ_port = 0;

/* Packets and bytes per IP protocol number. */
struct counter {
	u64 packets;
	u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, u32);
	__type(value, struct counter);
} counts SEC(".maps");

/* The destination port of a TCP or UDP packet whose IP header is `ip`. */
static int dest_port(struct iphdr *ip, void *data_end)
{
	/* Both headers start with source then destination port. */
	u16 *ports = (void *)ip + ip->ihl * 4;

	if ((void *)(ports + 2) > data_end)
		return -1;
	return bpf_ntohs(ports[1]);
}

SEC("tc")
int count_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct counter *counter;
	u32 key;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TCX_NEXT;
	if (targ_port) {
		if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
			return TCX_NEXT;
		if (dest_port(ip, data_end) != targ_port)
			return TCX_NEXT;
	}
	key = ip->protocol;
	counter = bpf_map_lookup_elem(&counts, &key);
	if (counter) {
		counter->packets++;
		counter->bytes += skb->len;
	}
	return TCX_NEXT;
}
