// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* {{name}}: prints every exec(2) on the machine, with the PID, the parent
 * and the file run. The kernel half is {{ident}}.bpf.c.
 *
 *     wasm-bpf run {{ident}}.wasm [-p PPID] [-t SECONDS] [-v]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "{{ident}}.h"
#include "{{ident}}.skel.h"

static struct env {
	bool verbose;
	long ppid;
	double seconds;
} env;

static const char usage[] =
	"Usage: {{name}} [-v] [-p PPID] [-t SECONDS]\n"
	"\n"
	"Prints every exec(2): the process, its parent and the file it runs.\n"
	"\n"
	"  -p, --ppid=PPID      Only the children of process PPID\n"
	"  -t, --time=SECONDS   Stop after this long (default: never)\n"
	"  -v, --verbose        libbpf's debug output\n"
	"  -h, --help           Give this help list\n";

static const struct option opts[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ "ppid", required_argument, NULL, 'p' },
	{ "time", required_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{},
};

static int parse_args(int argc, char **argv)
{
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "vp:t:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			env.verbose = true;
			break;
		case 'p':
			env.ppid = strtol(optarg, &end, 10);
			if (*end || env.ppid < 0) {
				fprintf(stderr, "Invalid PPID: %s\n", optarg);
				return -1;
			}
			break;
		case 't':
			env.seconds = strtod(optarg, &end);
			if (*end || env.seconds <= 0) {
				fprintf(stderr, "Invalid time: %s\n", optarg);
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

	printf("%-7d %-7d %-16s %s\n", e->pid, e->ppid, e->comm, e->filename);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb = NULL;
	struct {{ident}}_bpf *skel;
	double end;
	int err;

	err = parse_args(argc, argv);
	if (err)
		return 2;

	libbpf_set_print(libbpf_print_fn);

	/* Open the object and configure it before it reaches the kernel. */
	skel = {{ident}}_bpf__open();
	if (!skel) {
		fprintf(stderr, "Failed to open BPF skeleton\n");
		return 1;
	}
	skel->rodata->target_ppid = env.ppid;

	/* Load (CO-RE relocation and verification) and attach. */
	err = {{ident}}_bpf__load(skel);
	if (err) {
		fprintf(stderr, "Failed to load and verify BPF skeleton\n");
		goto cleanup;
	}
	err = {{ident}}_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach BPF skeleton\n");
		goto cleanup;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), handle_event, NULL, NULL);
	if (!rb) {
		err = -1;
		fprintf(stderr, "Failed to create ring buffer\n");
		goto cleanup;
	}

	printf("%-7s %-7s %-16s %s\n", "PID", "PPID", "COMM", "FILENAME");
	end = env.seconds ? now() + env.seconds : 0;
	while (!end || now() < end) {
		err = ring_buffer__poll(rb, 100 /* timeout, ms */);
		/* Ctrl-C (the host's request to stop) ends the loop. */
		if (err == -EINTR) {
			err = 0;
			break;
		}
		if (err < 0) {
			fprintf(stderr, "Error polling ring buffer: %d\n", err);
			break;
		}
		/* Each poll's lines out at once, also when stdout is a file. */
		fflush(stdout);
	}

cleanup:
	ring_buffer__free(rb);
	{{ident}}_bpf__destroy(skel);
	return err < 0 ? -err : 0;
}
