// SPDX-License-Identifier: GPL-2.0
/* Program kinds some kernels refuse to load: fentry needs trampolines and
 * LSM programs need the BPF LSM enabled. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("fentry/do_unlinkat")
int BPF_PROG(on_unlinkat_entry)
{
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(on_file_open, struct file *file)
{
	return 0;
}
