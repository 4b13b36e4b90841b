// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* runqlat: run queue latency (time from wakeup to running on a CPU) as a
 * log2 histogram, printed every interval and at Ctrl-C. bcc's libbpf-tools
 * runqlat.c as a wasm-bpf C guest: the same skeleton calls, map walk with
 * bpf_map_get_next_key() and SIGINT handler (the SDK runs it when the host
 * asks the guest to stop, and sleep() returns early); argp became
 * getopt_long.
 *
 *     wasm-bpf run runqlat-c.wasm [-m] [-P] [-p PID] [-T] [INTERVAL [COUNT]]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "runqlat.h"
#include "runqlat.skel.h"

static struct env {
	time_t interval;
	pid_t pid;
	int times;
	bool milliseconds;
	bool per_process;
	bool timestamp;
	bool verbose;
} env = {
	.interval = 99999999,
	.times = 99999999,
};

static volatile bool exiting;

static const char usage[] =
	"Usage: runqlat [-m] [-P] [-p PID] [-T] [INTERVAL [COUNT]]\n"
	"\n"
	"Summarize run queue (scheduler) latency as a histogram, every INTERVAL\n"
	"seconds, COUNT times (default: until stopped), and once more when\n"
	"stopped (without INTERVAL: only then).\n"
	"\n"
	"  -m, --milliseconds   Millisecond histogram\n"
	"  -P, --pids           Print a histogram per process ID\n"
	"  -p, --pid=PID        Trace this PID only\n"
	"  -T, --timestamp      Include a timestamp (HH:MM:SS, UTC) per interval\n"
	"  -v, --verbose        Verbose debug output\n"
	"  -h, --help           Give this help list\n";

static const struct option opts[] = {
	{ "milliseconds", no_argument, NULL, 'm' },
	{ "pids", no_argument, NULL, 'P' },
	{ "pid", required_argument, NULL, 'p' },
	{ "timestamp", no_argument, NULL, 'T' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{},
};

static long number(const char *arg, const char *what)
{
	char *end;
	long value = strtol(arg, &end, 10);

	if (*end || value <= 0) {
		fprintf(stderr, "invalid %s: %s\n", what, arg);
		fputs(usage, stderr);
		exit(2);
	}
	return value;
}

static void sig_handler(int sig)
{
	exiting = true;
}

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt_long(argc, argv, "mPp:Tvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			env.milliseconds = true;
			break;
		case 'P':
			env.per_process = true;
			break;
		case 'p':
			env.pid = number(optarg, "PID");
			break;
		case 'T':
			env.timestamp = true;
			break;
		case 'v':
			env.verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			exit(2);
		}
	}
	if (optind < argc)
		env.interval = number(argv[optind++], "interval");
	if (optind < argc)
		env.times = number(argv[optind++], "count");
	if (optind < argc) {
		fputs(usage, stderr);
		exit(2);
	}
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

/* libbpf-tools' print_log2_hist (trace_helpers.c). */
static void print_stars(unsigned int val, unsigned int val_max, int width)
{
	int num_stars = val_max ? (int)((unsigned long long)val * width / val_max) : 0;
	int i;

	for (i = 0; i < num_stars; i++)
		putchar('*');
	for (; i < width; i++)
		putchar(' ');
}

static void print_log2_hist(const unsigned int *vals, int vals_size, const char *val_type)
{
	int stars_max = 40, idx_max = -1;
	unsigned int val, val_max = 0;
	unsigned long long low, high;
	int stars, width, i;

	for (i = 0; i < vals_size; i++) {
		val = vals[i];
		if (val > 0)
			idx_max = i;
		if (val > val_max)
			val_max = val;
	}
	if (idx_max < 0)
		return;

	printf("%*s%-*s : count    distribution\n", idx_max <= 32 ? 5 : 15, "",
	       idx_max <= 32 ? 19 : 29, val_type);
	stars = idx_max <= 32 ? stars_max : stars_max / 2;
	width = idx_max <= 32 ? 10 : 20;
	for (i = 0; i <= idx_max; i++) {
		low = (1ULL << (i + 1)) >> 1;
		high = (1ULL << (i + 1)) - 1;
		if (low == high)
			low -= 1;
		val = vals[i];
		printf("%*lld -> %-*lld : %-8d |", width, low, width, high, val);
		print_stars(val, val_max, stars);
		printf("|\n");
	}
}

static int print_log2_hists(struct bpf_map *hists)
{
	const char *units = env.milliseconds ? "msecs" : "usecs";
	int err, fd = bpf_map__fd(hists);
	__u32 lookup_key = -2, next_key;
	struct hist hist;

	while (!bpf_map_get_next_key(fd, &lookup_key, &next_key)) {
		err = bpf_map_lookup_elem(fd, &next_key, &hist);
		if (err < 0) {
			fprintf(stderr, "failed to lookup hist: %d\n", err);
			return -1;
		}
		if (env.per_process)
			printf("\npid = %d %s\n", next_key, hist.comm);
		print_log2_hist(hist.slots, MAX_SLOTS, units);
		lookup_key = next_key;
	}

	lookup_key = -2;
	while (!bpf_map_get_next_key(fd, &lookup_key, &next_key)) {
		err = bpf_map_delete_elem(fd, &next_key);
		if (err < 0) {
			fprintf(stderr, "failed to cleanup hist : %d\n", err);
			return -1;
		}
		lookup_key = next_key;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct runqlat_bpf *obj;
	struct tm tm;
	char ts[32];
	time_t t;
	int err;

	parse_args(argc, argv);

	libbpf_set_print(libbpf_print_fn);

	obj = runqlat_bpf__open();
	if (!obj) {
		fprintf(stderr, "failed to open BPF object\n");
		return 1;
	}

	/* initialize global data (filtering options) */
	obj->rodata->targ_per_process = env.per_process;
	obj->rodata->targ_ms = env.milliseconds;
	obj->rodata->targ_tgid = env.pid;

	err = runqlat_bpf__load(obj);
	if (err) {
		fprintf(stderr, "failed to load BPF object: %d\n", err);
		goto cleanup;
	}

	err = runqlat_bpf__attach(obj);
	if (err) {
		fprintf(stderr, "failed to attach BPF programs\n");
		goto cleanup;
	}

	signal(SIGINT, sig_handler);

	printf("Tracing run queue latency... Hit Ctrl-C to end.\n");

	/* main: poll */
	while (1) {
		sleep(env.interval);
		printf("\n");

		if (env.timestamp) {
			time(&t);
			gmtime_r(&t, &tm);
			strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
			printf("%-8s\n", ts);
		}

		err = print_log2_hists(obj->maps.hists);
		fflush(stdout);
		if (err)
			break;

		if (exiting || --env.times == 0)
			break;
	}

cleanup:
	runqlat_bpf__destroy(obj);

	return err != 0;
}
