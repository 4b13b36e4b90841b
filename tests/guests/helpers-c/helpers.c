// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A tool written as libbpf-tools are, calling what their shared helpers
 * call: trace_helpers.c's feature probes (bpf_prog_load,
 * bpf_raw_tracepoint_open, bpf_map_create, libbpf_find_vmlinux_btf_id),
 * map_helpers.c's batch dump, pause() until Ctrl-C, and (checks.c)
 * uprobe_helpers.c's libelf, btf_helpers.c's zlib and mkstemp.
 *
 * Each command prints `case NAME => OUTCOME` lines and `done COMMAND`.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <wasm_bpf/metrics.h>

#include "checks.h"
#include "helpers.h"
#include "helpers.skel.h"

static char *command_args[8];
static int command_argc;

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	if (key != ARGP_KEY_ARG)
		return ARGP_ERR_UNKNOWN;
	if (command_argc == 8)
		argp_usage(state);
	command_args[command_argc++] = arg;
	return 0;
}

static const struct argp argp = {
	.parser = parse_arg,
	.args_doc = "probe | batch | pause | metrics | cgroup DIR | read PATH... | elf FILE FUNC | zlib FILE.gz | tmp DIR | errno DIR | time | options ARGS...",
	.doc = "Calls what libbpf-tools' shared helpers call.",
};

#define RETURN_0                                                                     \
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },        \
	{                                                                            \
		.code = BPF_JMP | BPF_EXIT                                           \
	}

/* A load's outcome as a case line: the new fd is closed. */
static void report(const char *name, int fd)
{
	if (fd >= 0) {
		printf("case %s => ok\n", name);
		close(fd);
	} else {
		printf("case %s => err %d %s\n", name, fd, strerror(-fd));
	}
}

/* trace_helpers.c's probe_tp_btf(). */
static int load_tp_btf(const char *tp)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);
	struct bpf_insn insns[] = { RETURN_0 };

	opts.attach_btf_id = libbpf_find_vmlinux_btf_id(tp, BPF_TRACE_RAW_TP);
	return bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
}

/* trace_helpers.c's fentry_try_attach(), keeping the attached link open
 * until `*link` is closed. */
static int fentry_attach(const char *func, int *link)
{
	struct bpf_insn insns[] = { RETURN_0 };
	char log[4096];
	struct btf *vmlinux = btf__load_vmlinux_btf();
	int id = vmlinux ? btf__find_by_name_kind(vmlinux, func, BTF_KIND_FUNC) : -errno;
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = id, .log_buf = log, .log_size = sizeof(log));
	int prog;

	btf__free(vmlinux);
	if (id < 0)
		return id;
	prog = bpf_prog_load(BPF_PROG_TYPE_TRACING, "test", "GPL", insns, 2, &opts);
	if (prog < 0)
		return prog;
	*link = bpf_raw_tracepoint_open(NULL, prog);
	close(prog);
	return *link < 0 ? *link : 0;
}

static int probe(void)
{
	struct bpf_insn ns_pid[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = 3, .src_reg = BPF_REG_10 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = 3, .imm = -8 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 1, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 2, .imm = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 4, .imm = 8 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_ns_current_pid_tgid },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bpf_insn send_signal[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 1, .imm = 9 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_send_signal },
		RETURN_0,
	};
	/* r0 is read before it is set: the verifier refuses it. */
	struct bpf_insn unset_r0[] = { { .code = BPF_JMP | BPF_EXIT } };
	/* r1 = the map with fd 3: an fd the guest does not have. */
	struct bpf_insn map_fd[] = {
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = 1, .src_reg = BPF_PSEUDO_MAP_FD,
		  .imm = 3 },
		{ 0 },
		RETURN_0,
	};
	struct bpf_insn raw_tp[] = { RETURN_0 };
	char log[4096] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log));
	int fd, link = -1, err;

	report("ringbuf", bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, getpagesize(), NULL));
	report("tp_btf sched_switch", load_tp_btf("sched_switch"));
	report("tp_btf no_such_tracepoint", load_tp_btf("no_such_tracepoint"));
	report("ns_current_pid_tgid",
	       bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", ns_pid, 7, NULL));
	report("send_signal", bpf_prog_load(BPF_PROG_TYPE_TRACEPOINT, NULL, "GPL", send_signal,
					    4, NULL));
	report("map fd", bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", map_fd, 4, NULL));

	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "unset_r0", "GPL", unset_r0, 1, &opts);
	printf("case verifier => %s, log: %s\n", fd < 0 ? strerror(-fd) : "loaded",
	       strstr(log, "R0 !read_ok") ? "R0 !read_ok" : log);

	fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "helpers_raw_tp", "GPL", raw_tp, 2, NULL);
	link = fd < 0 ? fd : bpf_raw_tracepoint_open("sched_switch", fd);
	report("raw_tp sched_switch", link);
	if (fd >= 0)
		close(fd);

	err = fentry_attach("do_nanosleep", &link);
	report("fentry do_nanosleep", err ? err : link);
	return 0;
}

/* Every entry of map `fd`, read as map_helpers.c's dump_hash_batch() reads
 * them: `chunk` entries per call until ENOENT. */
static int dump(int fd, bool delete, __u32 chunk, __u32 *keys, __u64 *values, __u32 *count)
{
	void *in = NULL, *out;
	__u32 n, n_read = 0;
	int err = 0, calls = 0;

	while (n_read < *count && !err) {
		n = chunk < *count - n_read ? chunk : *count - n_read;
		if (delete)
			err = bpf_map_lookup_and_delete_batch(fd, &in, &out, keys + n_read,
							      values + n_read, &n, NULL);
		else
			err = bpf_map_lookup_batch(fd, &in, &out, keys + n_read, values + n_read,
						   &n, NULL);
		if (err && errno != ENOENT)
			return -errno;
		n_read += n;
		in = out;
		calls++;
	}
	*count = n_read;
	return calls;
}

static int batch(void)
{
	static __u32 keys[MAX_ENTRIES];
	static __u64 values[MAX_ENTRIES];
	struct helpers_bpf *skel = helpers_bpf__open_and_load();
	__u32 i, count, absent = 1000000, next;
	__u64 sum;
	int fd, calls;

	if (!skel) {
		fprintf(stderr, "failed to load the object: %s\n", strerror(errno));
		return 1;
	}
	fd = bpf_map__fd(skel->maps.counts);
	for (i = 0; i < 100; i++) {
		keys[i] = i + 1;
		values[i] = (i + 1) * 10;
	}
	count = 100;
	printf("case update_batch => %d\n", bpf_map_update_batch(fd, keys, values, &count, NULL));
	memset(keys, 0, sizeof(keys));
	memset(values, 0, sizeof(values));

	count = MAX_ENTRIES;
	calls = dump(fd, false, 7, keys, values, &count);
	for (i = 0, sum = 0; i < count; i++)
		sum += values[i] - keys[i] * 10;
	printf("case lookup_batch => %u entries in %d calls, %llu off\n", count, calls,
	       (unsigned long long)sum);

	count = 10;
	for (i = 0; i < 10; i++)
		keys[i] = i + 1;
	printf("case delete_batch => %d\n", bpf_map_delete_batch(fd, keys, &count, NULL));
	count = 1;
	printf("case delete_batch absent => %s\n",
	       bpf_map_delete_batch(fd, &absent, &count, NULL) == -ENOENT ? "ENOENT" : "?");

	count = MAX_ENTRIES;
	calls = dump(fd, true, 30, keys, values, &count);
	printf("case lookup_and_delete_batch => %u entries, %d calls\n", count, calls);
	printf("case empty after => %s\n",
	       bpf_map_get_next_key(fd, NULL, &next) == -ENOENT ? "yes" : "no");
	helpers_bpf__destroy(skel);
	return 0;
}

/* libbpf-tools' -c CGROUP, unchanged: the fd goes into the map. Then the
 * wasm-bpf way, by path. */
static int cgroup_filter(const char *path)
{
	struct helpers_bpf *skel = helpers_bpf__open_and_load();
	int map_fd, cgfd, zero = 0, err;

	if (!skel)
		return 1;
	map_fd = bpf_map__fd(skel->maps.cgroup_map);
	cgfd = open(path, O_RDONLY);
	printf("case open cgroup => %s\n", cgfd < 0 ? strerror(errno) : "ok");
	err = bpf_map_update_elem(map_fd, &zero, &cgfd, BPF_ANY);
	printf("case update with fd => %d %s\n", err, err ? strerror(-err) : "");
	err = wasm_bpf_map_update_cgroup(map_fd, &zero, path, BPF_ANY);
	printf("case update by path => %d\n", err);
	close(cgfd);
	helpers_bpf__destroy(skel);
	return 0;
}

/* Reads each path, as a tool reads /proc/partitions. */
static int read_paths(int argc, char **argv)
{
	char line[256];
	FILE *f;
	int i;

	for (i = 0; i < argc; i++) {
		f = fopen(argv[i], "r");
		printf("case read %d %s => %s\n", i, argv[i],
		       f && fgets(line, sizeof(line), f) ? "ok" : strerror(errno));
		if (f)
			fclose(f);
	}
	return 0;
}

/* The app's own metrics, for a scrape while it waits. */
static int metrics(void)
{
	static const char *const kind[] = { "kind", NULL };
	static const __u32 slots[] = { 0, 2, 0, 5 };
	double bounds[4];
	struct wasm_bpf_counter *events = wasm_bpf_counter__new(
		"helpers_events_total", "Events the helpers saw.", kind);
	struct wasm_bpf_gauge *queued =
		wasm_bpf_gauge__new("helpers_queued", "Events queued.", NULL);
	struct wasm_bpf_histogram *latency;

	wasm_bpf_log2_bounds(bounds, 4);
	latency = wasm_bpf_histogram__new("helpers_latency_usecs", "Latency.", NULL, bounds, 4);
	if (!events || !queued || !latency)
		return 1;
	printf("case inc => %d\n",
	       wasm_bpf_counter__inc(events, (const char *[]){ "exec", NULL }, 3));
	wasm_bpf_counter__inc(events, (const char *[]){ "exit", NULL }, 1);
	printf("case wrong label count => %s\n",
	       wasm_bpf_counter__inc(events, (const char *[]){ "a", "b", NULL }, 1) ? "refused"
										 : "?");
	wasm_bpf_gauge__set(queued, NULL, 7);
	wasm_bpf_gauge__add(queued, NULL, -2);
	wasm_bpf_histogram__observe_log2(latency, NULL, slots, 4);
	printf("case bad name => %s\n",
	       !wasm_bpf_counter__new("9 bad", "x", NULL) && errno ? "NULL" : "?");
	printf("metrics ready\n");
	fflush(stdout);
	pause();
	wasm_bpf_counter__free(events);
	wasm_bpf_gauge__free(queued);
	wasm_bpf_histogram__free(latency);
	return 0;
}

static volatile sig_atomic_t interrupted;

static void sig_int(int signo)
{
	interrupted = signo;
}

static int wait_for_stop(void)
{
	int ret;

	if (signal(SIGINT, sig_int) == SIG_ERR)
		return 1;
	printf("pausing\n");
	fflush(stdout);
	ret = pause();
	printf("case pause => %d %s, handler %s\n", ret, errno == EINTR ? "EINTR" : "?",
	       interrupted == SIGINT ? "ran" : "did not run");
	return 0;
}

int main(int argc, char **argv)
{
	const char *command;
	int err;

	/* Its own argp, parsed as natively (checks.c). */
	if (argc > 1 && !strcmp(argv[1], "options"))
		return run_check(argc - 1, argv + 1);
	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return err;
	if (!command_argc) {
		fprintf(stderr, "a command is needed (--help lists them)\n");
		return 1;
	}
	command = command_args[0];
	if (!strcmp(command, "probe"))
		err = probe();
	else if (!strcmp(command, "batch"))
		err = batch();
	else if (!strcmp(command, "pause"))
		err = wait_for_stop();
	else if (!strcmp(command, "cgroup") && command_argc == 2)
		err = cgroup_filter(command_args[1]);
	else if (!strcmp(command, "metrics"))
		err = metrics();
	else if (!strcmp(command, "read"))
		err = read_paths(command_argc - 1, command_args + 1);
	else
		err = run_check(command_argc, command_args);
	if (err < 0) {
		fprintf(stderr, "unknown command %s\n", command);
		return 1;
	}
	if (!err)
		printf("done %s\n", command);
	return err;
}
