// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The program the uprobe example traces: it calls two functions with
 * known arguments, ten times a second, `argv[1]` times (default 50), and
 * passes a USDT probe (`uprobe_target:tick`) each round. */
#include <stdio.h>
#include <sys/sdt.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) int uprobed_add(int a, int b)
{
	asm volatile("" ::: "memory");
	return a + b;
}

__attribute__((noinline)) int uprobed_sub(int a, int b)
{
	asm volatile("" ::: "memory");
	return a - b;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 50;

	for (int i = 0; i < rounds; i++) {
		int sum = uprobed_add(i, i + 1);

		printf("add(%d, %d) = %d, sub(%d, %d) = %d\n", i, i + 1, sum, i * i, i,
		       uprobed_sub(i * i, i));
		DTRACE_PROBE2(uprobe_target, tick, i, sum);
		fflush(stdout);
		usleep(100000);
	}
	return 0;
}
