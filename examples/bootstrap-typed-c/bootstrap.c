// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* bootstrap-typed-c: bootstrap-typed in C. It traces process starts and
 * exits like bootstrap-c and sends each event, as an `event` record of
 * wasm-bpf:bootstrap (examples/bootstrap-typed/wit/bootstrap.wit), to the
 * sink it is composed with:
 *
 *     wasm-bpf compose bootstrap-typed-c.wasm bootstrap_report.wasm -o app.wasm
 *     wasm-bpf run app.wasm [-d MIN-DURATION-MS] [-t SECONDS] [-v]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/libbpf.h>
#include <wasm_bpf/text.h>
#include "bootstrap.h"
#include "bootstrap.skel.h"
#include "probe.h"

typedef wasm_bpf_bootstrap_records_event_t record_t;

static struct env {
	bool verbose;
	long min_duration_ms;
	double seconds;
} env;

static const char usage[] =
	"Usage: bootstrap-typed-c [-v] [-d MIN-DURATION-MS] [-t SECONDS]\n"
	"\n"
	"Sends every process start and exit to the composed consumer as an\n"
	"`event` record of wasm-bpf:bootstrap (bootstrap-typed/wit/bootstrap.wit).\n"
	"\n"
	"  -d, --duration=DURATION-MS   Minimum process duration (ms) to report\n"
	"  -t, --time=SECONDS           Stop after this long (default: never)\n"
	"  -v, --verbose                Verbose debug output\n"
	"  -h, --help                   Give this help list\n";

static const struct option opts[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ "duration", required_argument, NULL, 'd' },
	{ "time", required_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{},
};

static int parse_args(int argc, char **argv)
{
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "vd:t:h", opts, NULL)) != -1) {
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

/* One poll's events, sent as one batch. A record's strings point into
 * `text`, so both live until the batch is sent. */
#define BATCH 64
static record_t batch[BATCH];
static char text[BATCH][WASM_BPF_TEXT_SIZE(sizeof(((struct event *)0)->comm) +
					    sizeof(((struct event *)0)->filename))];
static size_t pending;

static void send_batch(void)
{
	wasm_bpf_bootstrap_sink_list_event_t list = { batch, pending };

	if (pending)
		wasm_bpf_bootstrap_sink_push_event(&list);
	pending = 0;
}

static int handle_event(void *ctx, void *data, size_t data_sz)
{
	const struct event *e = data;
	record_t *r = &batch[pending];
	char *comm = text[pending];
	char *filename = comm + WASM_BPF_TEXT_SIZE(sizeof(e->comm));

	/* WIT strings must be UTF-8; the kernel's bytes need not be. */
	*r = (record_t){
		.pid = e->pid,
		.ppid = e->ppid,
		.exit_code = e->exit_code,
		.duration_ns = e->duration_ns,
		.comm = { (uint8_t *)comm, wasm_bpf_text(e->comm, sizeof(e->comm), comm) },
		.filename = { (uint8_t *)filename,
			      wasm_bpf_text(e->filename, sizeof(e->filename), filename) },
		.exit_event = e->exit_event,
	};
	if (++pending == BATCH)
		send_batch();
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
	struct bootstrap_bpf *skel;
	probe_string_t refusal;
	double end;
	int err;

	err = parse_args(argc, argv);
	if (err)
		return 2;

	libbpf_set_print(libbpf_print_fn);

	/* The consumer may refuse to start (its settings are wrong). */
	if (!wasm_bpf_bootstrap_sink_start(&refusal)) {
		fprintf(stderr, "%.*s\n", (int)refusal.len, (const char *)refusal.ptr);
		probe_string_free(&refusal);
		return 1;
	}

	skel = bootstrap_bpf__open();
	if (!skel) {
		fprintf(stderr, "Failed to open BPF skeleton\n");
		return 1;
	}
	skel->rodata->min_duration_ns = env.min_duration_ms * 1000000ULL;
	err = bootstrap_bpf__load(skel);
	if (err) {
		fprintf(stderr, "Failed to load and verify BPF skeleton\n");
		goto cleanup;
	}
	err = bootstrap_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach BPF skeleton\n");
		goto cleanup;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), handle_event, NULL, NULL);
	if (!rb) {
		err = -1;
		fprintf(stderr, "Failed to create ring buffer\n");
		goto cleanup;
	}

	/* Each poll's events go to the consumer as one typed call. */
	end = env.seconds ? now() + env.seconds : 0;
	while (!end || now() < end) {
		err = ring_buffer__poll(rb, 100 /* timeout, ms */);
		if (err < 0) {
			fprintf(stderr, "Error polling ring buffer: %d\n", err);
			break;
		}
		send_batch();
	}
	if (err >= 0) {
		err = 0;
		wasm_bpf_bootstrap_sink_finish();
	}

cleanup:
	ring_buffer__free(rb);
	bootstrap_bpf__destroy(skel);
	return err < 0 ? -err : 0;
}
