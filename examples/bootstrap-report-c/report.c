// SPDX-License-Identifier: Apache-2.0
/*
 * bootstrap-report-c: bootstrap-report in C. A typed consumer of bootstrap's
 * events: it exports the `sink` of wasm-bpf:bootstrap
 * (examples/bootstrap-typed/wit/bootstrap.wit), whose C bindings
 * `wasm-bpf gen c-bindings --wit ... --world consumer` writes, and prints
 * what bootstrap-report prints:
 *
 *     wasm-bpf compose bootstrap-typed.wasm bootstrap-report-c.wasm -o app.wasm
 *     wasm-bpf run app.wasm -t 10
 */
#include <stdio.h>
#include <string.h>

#include "consumer.h"

/* How many of the longest-running processes `finish` lists. */
#define LONGEST 5

typedef wasm_bpf_bootstrap_records_event_t event_t;

struct exited {
	char comm[16];
	int32_t pid;
	uint64_t duration_ns;
};

static uint64_t execs, exits;
/* The exits with the longest durations, longest first. */
static struct exited longest[LONGEST];
static size_t n_longest;

static void remember(const event_t *e)
{
	size_t at = 0, len;

	while (at < n_longest && longest[at].duration_ns >= e->duration_ns)
		at++;
	if (at == LONGEST)
		return;
	if (n_longest < LONGEST)
		n_longest++;
	memmove(&longest[at + 1], &longest[at], (n_longest - 1 - at) * sizeof(longest[0]));
	len = e->comm.len < sizeof(longest[at].comm) - 1 ? e->comm.len
							 : sizeof(longest[at].comm) - 1;
	memcpy(longest[at].comm, e->comm.ptr, len);
	longest[at].comm[len] = '\0';
	longest[at].pid = e->pid;
	longest[at].duration_ns = e->duration_ns;
}

bool exports_wasm_bpf_bootstrap_sink_start(consumer_string_t *err)
{
	printf("%-5s %-16s %-7s %-7s FILENAME/EXIT CODE\n", "EVENT", "COMM", "PID", "PPID");
	fflush(stdout);
	return true;
}

/* The batch is ours to free, as with every argument of an export. */
void exports_wasm_bpf_bootstrap_sink_push_event(exports_wasm_bpf_bootstrap_sink_list_event_t *batch)
{
	for (size_t i = 0; i < batch->len; i++) {
		const event_t *e = &batch->ptr[i];

		/* WIT strings are not NUL-terminated: print them with a length. */
		if (e->exit_event) {
			exits++;
			printf("%-5s %-16.*s %-7d %-7d [%u] (%llums)\n", "EXIT", (int)e->comm.len,
			       (const char *)e->comm.ptr, e->pid, e->ppid, e->exit_code,
			       (unsigned long long)(e->duration_ns / 1000000));
			remember(e);
		} else {
			execs++;
			printf("%-5s %-16.*s %-7d %-7d %.*s\n", "EXEC", (int)e->comm.len,
			       (const char *)e->comm.ptr, e->pid, e->ppid, (int)e->filename.len,
			       (const char *)e->filename.ptr);
		}
	}
	fflush(stdout);
	exports_wasm_bpf_bootstrap_sink_list_event_free(batch);
}

void exports_wasm_bpf_bootstrap_sink_finish(void)
{
	printf("\n%llu processes started, %llu exited; longest running:\n",
	       (unsigned long long)execs, (unsigned long long)exits);
	for (size_t i = 0; i < n_longest; i++)
		printf("  %-16s %-7d %llums\n", longest[i].comm, longest[i].pid,
		       (unsigned long long)(longest[i].duration_ns / 1000000));
	fflush(stdout);
}
