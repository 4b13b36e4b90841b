// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bootstrap: prints every process start (EXEC) and exit (EXIT) on the
 * machine. libbpf-bootstrap's bootstrap.c as a wasm-bpf C guest: the same
 * skeleton calls and ring buffer loop; argp became getopt_long (wasi-libc
 * has no argp) and the signal handler went: the host's stop request (Ctrl-C,
 * --timeout) reaches the loop as poll's -EINTR, as SIGINT does natively.
 *
 *     wasm-bpf run bootstrap-c.wasm [-d MIN-DURATION-MS] [-v]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "bootstrap.h"
#include "bootstrap.skel.h"

static struct env {
	bool verbose;
	long min_duration_ms;
} env;

static const char usage[] =
	"Usage: bootstrap [-v] [-d MIN-DURATION-MS]\n"
	"\n"
	"BPF bootstrap demo application.\n"
	"\n"
	"It traces process start and exits and shows associated\n"
	"information (filename, process duration, PID and PPID, etc).\n"
	"\n"
	"  -d, --duration=DURATION-MS   Minimum process duration (ms) to report\n"
	"  -v, --verbose                Verbose debug output\n"
	"  -h, --help                   Give this help list\n";

static const struct option opts[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ "duration", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{},
};

static int parse_args(int argc, char **argv)
{
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "vd:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			env.verbose = true;
			break;
		case 'd':
			env.min_duration_ms = strtol(optarg, &end, 10);
			if (*end || env.min_duration_ms < 0) {
				fprintf(stderr, "Invalid duration: %s\n", optarg);
				return -1;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -1;
		}
	}
	return 0;
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

static int handle_event(void *ctx, void *data, size_t data_sz)
{
	const struct event *e = data;
	struct tm tm;
	char ts[32];
	time_t t;

	time(&t);
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);

	if (e->exit_event) {
		printf("%-8s %-5s %-16s %-7d %-7d [%u]", ts, "EXIT", e->comm, e->pid, e->ppid,
		       e->exit_code);
		if (e->duration_ns)
			printf(" (%llums)", e->duration_ns / 1000000);
		printf("\n");
	} else {
		printf("%-8s %-5s %-16s %-7d %-7d %s\n", ts, "EXEC", e->comm, e->pid, e->ppid,
		       e->filename);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct bootstrap_bpf *skel;
	int err;

	err = parse_args(argc, argv);
	if (err)
		return 2;

	/* Set up libbpf errors and debug info callback */
	libbpf_set_print(libbpf_print_fn);

	/* Load and verify BPF application */
	skel = bootstrap_bpf__open();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton\n");
		return 1;
	}

	/* Parameterize BPF code with minimum duration parameter */
	skel->rodata->min_duration_ns = env.min_duration_ms * 1000000ULL;

	/* Load & verify BPF programs */
	err = bootstrap_bpf__load(skel);
	if (err) {
		fprintf(stderr, "Failed to load and verify BPF skeleton\n");
		goto cleanup;
	}

	/* Attach tracepoints */
	err = bootstrap_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach BPF skeleton\n");
		goto cleanup;
	}

	/* Set up ring buffer polling */
	rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), handle_event, NULL, NULL);
	if (!rb) {
		err = -1;
		fprintf(stderr, "Failed to create ring buffer\n");
		goto cleanup;
	}

	/* Process events */
	printf("%-8s %-5s %-16s %-7s %-7s %s\n", "TIME", "EVENT", "COMM", "PID", "PPID",
	       "FILENAME/EXIT CODE");
	fflush(stdout);
	for (;;) {
		err = ring_buffer__poll(rb, 100 /* timeout, ms */);
		/* Ctrl-C will cause -EINTR */
		if (err == -EINTR) {
			err = 0;
			break;
		}
		if (err < 0) {
			printf("Error polling ring buffer: %d\n", err);
			break;
		}
		fflush(stdout);
	}

cleanup:
	/* Clean up */
	ring_buffer__free(rb);
	bootstrap_bpf__destroy(skel);

	return err < 0 ? -err : 0;
}
