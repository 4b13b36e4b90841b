// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* sockfilter: a socket filter on a raw packet socket that counts the IPv4
 * packets it sees by IP protocol. It keeps none of them, so the socket's
 * queue never fills. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define PACKET_HOST 0

/* Packets per IP protocol number. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

SEC("socket")
int count_packets(struct __sk_buff *skb)
{
	u16 proto;
	u8 ip_proto;
	u32 key;
	u64 *count;

	/* Loopback shows each packet twice, leaving and arriving: count the
	 * arrival only. */
	if (skb->pkt_type != PACKET_HOST)
		return 0;
	if (bpf_skb_load_bytes(skb, 12, &proto, sizeof(proto)) || proto != bpf_htons(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, protocol), &ip_proto,
			       sizeof(ip_proto)))
		return 0;
	key = ip_proto;
	count = bpf_map_lookup_elem(&counts, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}
