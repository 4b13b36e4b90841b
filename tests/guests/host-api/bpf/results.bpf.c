// SPDX-License-Identifier: GPL-2.0
/* Maps whose whole contents are more than a guest may take in one host
 * call (tests/host_api.rs `results`): the host must refuse, or return
 * them in parts, before building them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct page_of_bytes {
	u8 bytes[4096];
};

/* 16 MiB of values. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct page_of_bytes);
} wide SEC(".maps");

/* A million keys: 12 MiB as a guest's list of keys. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 20);
	__type(key, u32);
	__type(value, u32);
} many SEC(".maps");

/* Filled by the guest, then drained in parts. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct page_of_bytes);
} drain SEC(".maps");
