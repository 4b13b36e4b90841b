// SPDX-License-Identifier: GPL-2.0
/* Sections whose attach fails for a reason the error must name rightly:
 * no `binary:function`, a binary through a symbolic link, no hook at all. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("uretprobe/readline")
int no_colon(void *ctx)
{
	return 0;
}

/* The host's own binary, through /proc's link. */
SEC("uprobe//proc/self/exe:main")
int self_exe(void *ctx)
{
	return 0;
}

SEC("perf_event")
int no_hook(void *ctx)
{
	return 0;
}

long mallocs = 0;

/* A library by soname, found where libbpf would look for it. */
SEC("uprobe/libc.so.6:malloc")
int libc_malloc(void *ctx)
{
	__sync_fetch_and_add(&mallocs, 1);
	return 0;
}

/* libbpf attaches multi-uprobes itself, looking the library up again:
 * only a binary named by its real path can be checked as attached. */
SEC("uprobe.multi/libc.so.6:mallo*")
int libc_multi(void *ctx)
{
	return 0;
}
