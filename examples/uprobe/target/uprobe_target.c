// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The program the uprobe example traces: it calls two functions with
 * known arguments, ten times a second, `argv[1]` times (default 50). */
#include <stdio.h>
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
		printf("add(%d, %d) = %d, sub(%d, %d) = %d\n", i, i + 1,
		       uprobed_add(i, i + 1), i * i, i, uprobed_sub(i * i, i));
		fflush(stdout);
		usleep(100000);
	}
	return 0;
}
