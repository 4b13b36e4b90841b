// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* exitsnoop: prints every process that exits, with its age and exit code.
 * Written the way libbpf-tools' tools are (argp options, a SIGINT handler
 * and a `while (!exiting)` loop, the compat.c helper choosing a ring or a
 * perf buffer before load), and built for wasm-bpf unchanged.
 *
 *     wasm-bpf run [--dir CGROUP::/cg] exitsnoop-c.wasm [-t] [-x] [-p PID]
 *         [-T] [-c /cg] [--perf] [-v]
 *
 * -c takes a cgroup v2 directory the run grants (--dir); the one line that
 * differs from a native tool stores it in the cgroup map by path, where a
 * native tool stores the fd it opened.
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "compat.h"
#include "exitsnoop.h"
#include "exitsnoop.skel.h"

#define POLL_TIMEOUT_MS 100
#define OPT_PERF 1000

static volatile sig_atomic_t exiting;

static struct env {
	pid_t pid;
	const char *cgroupspath;
	bool timestamp;
	bool failed_only;
	bool threads;
	bool perf;
	bool verbose;
} env;

const char *argp_program_version = "exitsnoop 0.1";
static const char argp_program_doc[] =
	"Trace process termination.\n"
	"\n"
	"USAGE: exitsnoop [-h] [-t] [-x] [-p PID] [-T] [-c CG] [--perf] [-v]\n"
	"\n"
	"EXAMPLES:\n"
	"    exitsnoop             # trace process exit events\n"
	"    exitsnoop -t          # include timestamps\n"
	"    exitsnoop -x          # trace error exits only\n"
	"    exitsnoop -p 1216     # only trace PID 1216\n"
	"    exitsnoop -T          # trace by thread\n"
	"    exitsnoop -c /cg      # only trace the cgroup granted as /cg\n"
	"    exitsnoop --perf      # a perf buffer even where a ring buffer exists\n";

static const struct argp_option opts[] = {
	{ "timestamp", 't', NULL, 0, "Include timestamp on output", 0 },
	{ "failed", 'x', NULL, 0, "Trace error exits only", 0 },
	{ "pid", 'p', "PID", 0, "Process ID to trace", 0 },
	{ "threaded", 'T', NULL, 0, "Trace by thread", 0 },
	{ "cgroup", 'c', "/sys/fs/cgroup/unified", 0, "Trace process in cgroup path", 0 },
	{ "perf", OPT_PERF, NULL, 0, "Use a perf buffer, not a ring buffer", 0 },
	{ "verbose", 'v', NULL, 0, "Verbose debug output", 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	char *end;
	long pid;

	switch (key) {
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case 't':
		env.timestamp = true;
		break;
	case 'x':
		env.failed_only = true;
		break;
	case 'p':
		errno = 0;
		pid = strtol(arg, &end, 10);
		if (errno || *end || pid <= 0) {
			fprintf(stderr, "Invalid PID: %s\n", arg);
			argp_usage(state);
		}
		env.pid = (pid_t)pid;
		break;
	case 'T':
		env.threads = true;
		break;
	case 'c':
		env.cgroupspath = arg;
		break;
	case OPT_PERF:
		env.perf = true;
		break;
	case 'v':
		env.verbose = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *format, va_list args)
{
	if (level == LIBBPF_DEBUG && !env.verbose)
		return 0;
	return vfprintf(stderr, format, args);
}

static void sig_int(int signo)
{
	exiting = 1;
}

static int handle_event(void *ctx, void *data, size_t data_sz)
{
	const struct event *e = data;
	double age = (double)(e->exit_time - e->start_time) / 1e9;
	char ts[32];
	time_t t;

	if (data_sz < sizeof(*e))
		return 0;
	if (env.timestamp) {
		time(&t);
		strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
		printf("%-8s ", ts);
	}
	printf("%-16s %-7u %-7u %-7u %-7.2f ", e->comm, e->pid, e->ppid, e->tid, age);
	if (e->sig)
		printf("signal %u\n", e->sig);
	else
		printf("code %d\n", e->exit_code);
	return 0;
}

static void handle_lost_events(void *ctx, int cpu, __u64 lost)
{
	fprintf(stderr, "lost %llu events on CPU #%d\n", (unsigned long long)lost, cpu);
}

int main(int argc, char **argv)
{
	static const struct argp argp = {
		.options = opts,
		.parser = parse_arg,
		.doc = argp_program_doc,
	};
	struct bpf_buffer *buf = NULL;
	struct exitsnoop_bpf *obj;
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return err;

	libbpf_set_print(libbpf_print_fn);

	obj = exitsnoop_bpf__open();
	if (!obj) {
		fprintf(stderr, "failed to open BPF object\n");
		return 1;
	}
	obj->rodata->filter_cg = env.cgroupspath != NULL;
	obj->rodata->target_pid = env.pid;
	obj->rodata->trace_failed_only = env.failed_only;
	obj->rodata->trace_by_process = !env.threads;

	buf = bpf_buffer__new(obj->maps.events, obj->maps.heap, env.perf);
	if (!buf) {
		err = -errno;
		fprintf(stderr, "failed to create ring/perf buffer: %d\n", err);
		goto cleanup;
	}
	obj->rodata->use_ringbuf = bpf_buffer__is_ring(buf);

	if (tp_btf_exists("sched_process_exit"))
		bpf_program__set_autoload(obj->progs.sched_process_exit, false);
	else
		bpf_program__set_autoload(obj->progs.sched_process_exit_btf, false);
	if (env.verbose)
		fprintf(stderr, "exitsnoop: %s, %s\n",
			bpf_program__autoload(obj->progs.sched_process_exit_btf) ?
				"tp_btf/sched_process_exit" : "tracepoint sched/sched_process_exit",
			bpf_buffer__is_ring(buf) ? "ring buffer" : "perf buffer");

	err = exitsnoop_bpf__load(obj);
	if (err) {
		fprintf(stderr, "failed to load BPF object: %d\n", err);
		goto cleanup;
	}
	if (env.cgroupspath) {
		__u32 idx = 0;
		int cg_map_fd = bpf_map__fd(obj->maps.cgroup_map);

		err = wasm_bpf_map_update_cgroup(cg_map_fd, &idx, env.cgroupspath, BPF_ANY);
		if (err) {
			fprintf(stderr, "Failed adding target cgroup to map\n");
			goto cleanup;
		}
	}

	err = exitsnoop_bpf__attach(obj);
	if (err) {
		fprintf(stderr, "failed to attach BPF programs: %d\n", err);
		goto cleanup;
	}
	err = bpf_buffer__open(buf, handle_event, handle_lost_events, NULL);
	if (err) {
		fprintf(stderr, "failed to open ring/perf buffer: %d\n", err);
		goto cleanup;
	}
	if (signal(SIGINT, sig_int) == SIG_ERR) {
		fprintf(stderr, "can't set signal handler: %s\n", strerror(errno));
		err = 1;
		goto cleanup;
	}

	if (env.timestamp)
		printf("%-8s ", "TIME(s)");
	printf("%-16s %-7s %-7s %-7s %-7s %s\n", "PCOMM", "PID", "PPID", "TID", "AGE(s)",
	       "EXIT_CODE");

	while (!exiting) {
		err = bpf_buffer__poll(buf, POLL_TIMEOUT_MS);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "error polling ring/perf buffer: %s\n", strerror(-err));
			goto cleanup;
		}
		/* Reset err to return 0 if exiting */
		err = 0;
	}

cleanup:
	bpf_buffer__free(buf);
	exitsnoop_bpf__destroy(obj);
	return err != 0;
}
