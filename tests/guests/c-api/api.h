/* Shared by api.bpf.c and api.c. */
#ifndef API_H
#define API_H

/* One write of exactly `marker_len` bytes starting with `marker_token`,
 * seen by the BPF side. */
struct marker {
	__u32 seq;
	__u32 len;
};

#endif
