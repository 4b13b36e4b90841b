// SPDX-License-Identifier: GPL-2.0
/* A record-layout bomb (tests/sandbox.rs): a struct of 3000 members, each
 * a struct of 3000 integers, flattens into 9 million fields. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define INTS10(p) int p##0; int p##1; int p##2; int p##3; int p##4; \
	int p##5; int p##6; int p##7; int p##8; int p##9;
#define INTS100(p) INTS10(p##0) INTS10(p##1) INTS10(p##2) INTS10(p##3) \
	INTS10(p##4) INTS10(p##5) INTS10(p##6) INTS10(p##7) INTS10(p##8) INTS10(p##9)
#define INTS1000(p) INTS100(p##0) INTS100(p##1) INTS100(p##2) INTS100(p##3) \
	INTS100(p##4) INTS100(p##5) INTS100(p##6) INTS100(p##7) INTS100(p##8) INTS100(p##9)

struct inner {
	INTS1000(a) INTS1000(b) INTS1000(c)
};

#define INNER10(p) struct inner p##0; struct inner p##1; struct inner p##2; \
	struct inner p##3; struct inner p##4; struct inner p##5; struct inner p##6; \
	struct inner p##7; struct inner p##8; struct inner p##9;
#define INNER100(p) INNER10(p##0) INNER10(p##1) INNER10(p##2) INNER10(p##3) \
	INNER10(p##4) INNER10(p##5) INNER10(p##6) INNER10(p##7) INNER10(p##8) INNER10(p##9)
#define INNER1000(p) INNER100(p##0) INNER100(p##1) INNER100(p##2) INNER100(p##3) \
	INNER100(p##4) INNER100(p##5) INNER100(p##6) INNER100(p##7) INNER100(p##8) INNER100(p##9)

struct outer {
	INNER1000(x) INNER1000(y) INNER1000(z)
};

/* Keeps `struct outer` in the object's BTF. */
struct outer *bomb = 0;

/* 256 MiB of globals: no bytes in the file, all of them in a copy. */
char big_global[256 << 20];

SEC("tp/syscalls/sys_enter_getppid")
int idle(void *ctx)
{
	return 0;
}
