/* Shared by legacy.bpf.c and legacy.c. */
#ifndef LEGACY_H
#define LEGACY_H

/* One write of exactly `marker_len` bytes starting with `marker_token`,
 * seen by the BPF side. */
struct marker {
	__u32 seq;
	__u32 len;
};

/* Fixed: the legacy ABI cannot set globals before load. */
#define MARKER_LEN 77
#define MARKER_TOKEN 0x52454b52414d4350ULL /* "PCMARKER" */

#endif
