// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* {{name}}: prints every exec(2) on the machine, with the PID, the parent
 * and the file run. The kernel half is {{ident}}.bpf.c. Written as
 * libbpf-tools' tools are: argp options, a SIGINT handler, a skeleton.
 *
 *     wasm-bpf run {{ident}}.wasm [-p PPID] [-t SECONDS] [-v]
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "{{ident}}.h"
#include "{{ident}}.skel.h"

static struct env {
	bool verbose;
	long ppid;
	double seconds;
} env;

const char *argp_program_version = "{{name}} 0.1";
const char argp_program_doc[] =
	"Prints every exec(2): the process, its parent and the file it runs.\n"
	"\n"
	"USAGE: {{name}} [-h] [-v] [-p PPID] [-t SECONDS]\n"
	"\n"
	"EXAMPLES:\n"
	"    {{name}}            # every exec on the machine\n"
	"    {{name}} -p 181     # only the children of process 181\n"
	"    {{name}} -t 10      # for 10 seconds\n";

static const struct argp_option opts[] = {
	{ "ppid", 'p', "PPID", 0, "Only the children of process PPID", 0 },
	{ "time", 't', "SECONDS", 0, "Stop after this long (default: never)", 0 },
	{ "verbose", 'v', NULL, 0, "Verbose debug output", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;

	switch (key) {
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case 'v':
		env.verbose = true;
		break;
	case 'p':
		errno = 0;
		env.ppid = strtol(arg, &end, 10);
		if (errno || *end || env.ppid <= 0) {
			fprintf(stderr, "Invalid PPID: %s\n", arg);
			argp_usage(state);
		}
		break;
	case 't':
		env.seconds = strtod(arg, &end);
		if (*end || env.seconds <= 0) {
			fprintf(stderr, "Invalid time: %s\n", arg);
			argp_usage(state);
		}
		break;
	case ARGP_KEY_ARG:
		argp_usage(state);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Ctrl-C, SIGTERM or --timeout: the host asks the guest to stop as a
 * signal would. */
static volatile sig_atomic_t exiting;

static void sig_handler(int sig)
{
	exiting = 1;
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
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.doc = argp_program_doc,
	};
	struct ring_buffer *rb = NULL;
	struct {{ident}}_bpf *skel;
	double end;
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return err;

	libbpf_set_print(libbpf_print_fn);
	if (signal(SIGINT, sig_handler) == SIG_ERR) {
		fprintf(stderr, "can't set signal handler: %s\n", strerror(errno));
		return 1;
	}

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
	while (!exiting && (!end || now() < end)) {
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
