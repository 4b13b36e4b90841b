/* The C SDK against the host, one case per line as `case NAME => ...`:
 * libbpf's return conventions (negative errno, errno set, NULL), maps
 * through descriptors and sized calls, a skeleton's globals, ring and
 * perf buffers fed by marker writes, and a verifier rejection reaching
 * the print callback. Checked by tests/c_api.rs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "api.h"
#include "api.skel.h"
#include "rejected.skel.h"
#include "configure.skel.h"

#define MARKER_LEN 77
#define MARKER_TOKEN 0x52454b52414d4350ULL /* "PCMARKER" */

static char printed[65536];

static int capture(enum libbpf_print_level level, const char *format, va_list ap)
{
	size_t used = strlen(printed);

	if (level == LIBBPF_WARN)
		vsnprintf(printed + used, sizeof(printed) - used, format, ap);
	return 0;
}

/* errno by name, so the test reads as C code compares. */
static const char *errno_name(int err)
{
	static char other[16];

	switch (err) {
	case 0: return "0";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case EBADF: return "EBADF";
	case EACCES: return "EACCES";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case LIBBPF_ERRNO__FORMAT: return "LIBBPF_ERRNO__FORMAT";
	}
	snprintf(other, sizeof(other), "%d", err);
	return other;
}

/* An int result: its value, and errno when negative (-errno itself). */
static void result(const char *name, long ret)
{
	if (ret < 0)
		printf("case %s => -%s errno=%s\n", name, errno_name((int)-ret), errno_name(errno));
	else
		printf("case %s => %ld\n", name, ret);
}

static void pointer(const char *name, const void *ptr)
{
	if (ptr)
		printf("case %s => ptr\n", name);
	else
		printf("case %s => NULL errno=%s\n", name, errno_name(errno));
}

/* A write the BPF program counts: MARKER_LEN bytes from the token on. */
static void marker(void)
{
	char line[MARKER_LEN];
	unsigned long long token = MARKER_TOKEN;

	memset(line, '.', sizeof(line));
	memcpy(line, &token, sizeof(token));
	line[sizeof(line) - 1] = '\n';
	fwrite(line, 1, sizeof(line), stderr);
	fflush(stderr);
}

static int ring_records, ring_sum;

static int on_ring(void *ctx, void *data, size_t size)
{
	const struct marker *m = data;

	ring_records++;
	ring_sum += m->seq;
	/* The second record fails: the poll stops, the rest stay queued. */
	return ring_records == 2 ? -42 : 0;
}

static int multi_counts[2];

static int on_multi(void *ctx, void *data, size_t size)
{
	multi_counts[(int)(long)ctx]++;
	return 0;
}

static int perf_records;

static void on_perf(void *ctx, int cpu, void *data, __u32 size)
{
	if (size >= sizeof(struct marker) && ((struct marker *)data)->len == MARKER_LEN)
		perf_records++;
}

static void maps(struct api_bpf *skel)
{
	int fd = bpf_map__fd(skel->maps.counts);
	__u32 key = 1, next;
	__u64 value = 10, out = 0;
	int n = 0;

	pointer("find-map-missing", bpf_object__find_map_by_name(skel->obj, "nope"));
	result("find-map-fd-missing", bpf_object__find_map_fd_by_name(skel->obj, "nope"));
	pointer("find-program-missing", bpf_object__find_program_by_name(skel->obj, "nope"));
	result("find-map-fd", bpf_object__find_map_fd_by_name(skel->obj, "counts") == fd);
	result("lookup-absent", bpf_map_lookup_elem(fd, &key, &out));
	result("update", bpf_map_update_elem(fd, &key, &value, BPF_ANY));
	result("lookup", bpf_map_lookup_elem(fd, &key, &out) ?: (long)out);
	result("update-noexist", bpf_map_update_elem(fd, &key, &value, BPF_NOEXIST));
	key = 2;
	result("update-exist-absent", bpf_map_update_elem(fd, &key, &value, BPF_EXIST));
	result("update-2", bpf_map_update_elem(fd, &key, &value, BPF_ANY));
	while (!bpf_map_get_next_key(fd, n ? &key : NULL, &next)) {
		key = next;
		n++;
	}
	printf("case next-key-walk => keys=%d errno=%s\n", n, errno_name(errno));
	result("sized-lookup-wrong-key", bpf_map__lookup_elem(skel->maps.counts, &key, 2, &out,
							      sizeof(out), 0));
	result("sized-lookup-wrong-value", bpf_map__lookup_elem(skel->maps.counts, &key,
								sizeof(key), &out, 4, 0));
	result("sized-lookup", bpf_map__lookup_elem(skel->maps.counts, &key, sizeof(key), &out,
						    sizeof(out), 0) ?: (long)out);
	result("lookup-and-delete", bpf_map_lookup_and_delete_elem(fd, &key, &out) ?: (long)out);
	result("delete-absent", bpf_map_delete_elem(fd, &key));
	result("bad-fd", bpf_map_lookup_elem(12345, &key, &out));
	result("set-max-entries-after-load", bpf_map__set_max_entries(skel->maps.counts, 4));
	result("attach-xdp-ifindex", (long)(bpf_program__attach_xdp(skel->progs.on_write, 1) ? 0 : -errno));
	result("program-fd", bpf_program__fd(skel->progs.on_write));
}

static void buffers(struct api_bpf *skel)
{
	struct ring_buffer *rb;
	struct perf_buffer *pb;
	int i, ret;

	rb = ring_buffer__new(bpf_map__fd(skel->maps.ring), on_ring, NULL, NULL);
	pointer("ring-new", rb);
	pointer("ring-new-on-hash", ring_buffer__new(bpf_map__fd(skel->maps.counts), on_ring, NULL, NULL));
	pb = perf_buffer__new(bpf_map__fd(skel->maps.perf), 8, on_perf, NULL, NULL, NULL);
	pointer("perf-new", pb);
	pointer("perf-new-pages", perf_buffer__new(bpf_map__fd(skel->maps.perf), 3, on_perf, NULL,
						   NULL, NULL));
	for (i = 0; i < 3; i++)
		marker();
	/* Stops at the second record; the third waits for the next poll. */
	ret = ring_buffer__poll(rb, 1000);
	printf("case ring-poll-stopped => ret=%d records=%d\n", ret, ring_records);
	ret = ring_buffer__poll(rb, 1000);
	printf("case ring-poll-rest => ret=%d records=%d sum=%d\n", ret, ring_records, ring_sum);
	ret = ring_buffer__consume(rb);
	printf("case ring-consume-empty => ret=%d\n", ret);
	for (i = 0; i < 10 && perf_records < 3; i++)
		perf_buffer__poll(pb, 100);
	printf("case perf-records => %d\n", perf_records);
	/* The poll refreshed the skeleton's .bss from the kernel. */
	printf("case bss-seen => %u\n", skel->bss->seen);
	ring_buffer__free(rb);
	perf_buffer__free(pb);

	/* Two rings in one ring_buffer: polls wait on both. */
	rb = ring_buffer__new(bpf_map__fd(skel->maps.ring), on_multi, (void *)0, NULL);
	result("ring-add", ring_buffer__add(rb, bpf_map__fd(skel->maps.ring2), on_multi, (void *)1));
	/* ring2 still holds the first three markers' records. */
	for (i = 0; i < 2; i++)
		marker();
	for (i = 0; i < 20 && (multi_counts[0] < 2 || multi_counts[1] < 5); i++)
		ring_buffer__poll(rb, 100);
	printf("case multi-ring => ring=%d ring2=%d\n", multi_counts[0], multi_counts[1]);
	ring_buffer__free(rb);

	/* Writing .bss after load reaches the kernel. */
	skel->bss->seen = 100;
	result("write-data", wasm_bpf_skeleton__write_data(skel->skeleton));
	marker();
	result("read-data", wasm_bpf_skeleton__read_data(skel->skeleton));
	printf("case bss-after-write => %u\n", skel->bss->seen);
}

static void rejected(void)
{
	struct rejected_bpf *skel = rejected_bpf__open();
	int err;

	pointer("rejected-open", skel);
	err = rejected_bpf__load(skel);
	result("rejected-load", err);
	printf("case rejected-log => %s\n",
	       strstr(printed, "invalid mem access") ? "verifier log" : printed);
	rejected_bpf__destroy(skel);
}

/* Configuring an opened object as libbpf-tools do (the Rust test guest's
 * configure fixture): a stack map sized at run time, an attach target set
 * at run time, a map's type and flags changed, the verifier's log. */
static void configure(void)
{
	static char log[1 << 16];
	struct configure_bpf *skel = configure_bpf__open();
	__u64 data[2] = { (__u64)-1, 1000 }, ips[32] = { 0 };
	__u32 id;

	pointer("cfg-open", skel);
	if (!skel)
		return;
	result("cfg-set-value-size", bpf_map__set_value_size(skel->maps.stacks, sizeof(ips)));
	result("cfg-value-size", bpf_map__value_size(skel->maps.stacks));
	/* BPF_MAP_TYPE_LRU_HASH, BPF_F_NO_COMMON_LRU */
	result("cfg-set-type", bpf_map__set_type(skel->maps.table, 9));
	result("cfg-set-map-flags", bpf_map__set_map_flags(skel->maps.table, 2));
	result("cfg-set-autocreate", bpf_map__set_autocreate(skel->maps.spare, false));
	result("cfg-set-initial-value", bpf_map__set_initial_value(skel->maps.data, data, sizeof(data)));
	result("cfg-hits-copy", (long)skel->data->hits);
	result("cfg-attach-target-fd", bpf_program__set_attach_target(skel->progs.on_enter, 3, "sys_enter"));
	result("cfg-attach-target", bpf_program__set_attach_target(skel->progs.on_enter, 0, "sys_enter"));
	result("cfg-log-level", bpf_program__set_log_level(skel->progs.on_enter, 1));
	result("cfg-log-buf", bpf_program__set_log_buf(skel->progs.on_enter, log, sizeof(log)));
	/* BPF_F_TEST_RND_HI32 */
	result("cfg-set-flags", bpf_program__set_flags(skel->progs.on_enter, 4));
	result("cfg-flags", bpf_program__flags(skel->progs.on_enter));
	result("cfg-autoload-turned", bpf_program__set_autoload(skel->progs.turned, false));
	result("cfg-load", configure_bpf__load(skel));
	result("cfg-set-value-size-loaded", bpf_map__set_value_size(skel->maps.stacks, 8));
	printf("case cfg-log => %s\n", strstr(log, "processed ") ? "verifier log" : log);
	result("cfg-attach", configure_bpf__attach(skel));
	usleep(20000);
	result("cfg-read-data", wasm_bpf_skeleton__read_data(skel->skeleton));
	result("cfg-hits", skel->data->hits > 1000);
	id = (__u32)skel->data->last_stack;
	result("cfg-stack", bpf_map__lookup_elem(skel->maps.stacks, &id, sizeof(id), ips,
						 sizeof(ips), 0) ?: ips[0] >= 0xffff800000000000ULL);
	configure_bpf__destroy(skel);
}

/* Feature probes and the kernel's BTF, which the host answers. */
static void kernel(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	const struct btf_type *t;
	__s32 id;
	__u16 i;

	result("probe-ringbuf", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL));
	result("probe-map-unknown", libbpf_probe_bpf_map_type((enum bpf_map_type)4096, NULL));
	result("probe-prog-tracepoint", libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL));
	result("probe-helper-ringbuf",
	       libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_ringbuf_output, NULL));
	/* An XDP helper is no socket filter's. */
	result("probe-helper-refused", libbpf_probe_bpf_helper(BPF_PROG_TYPE_SOCKET_FILTER,
							       BPF_FUNC_xdp_adjust_head, NULL));

	pointer("btf-vmlinux", vmlinux);
	if (!vmlinux)
		return;
	id = btf__find_by_name_kind(vmlinux, "task_struct", BTF_KIND_STRUCT);
	t = btf__type_by_id(vmlinux, (__u32)id);
	printf("case btf-task => %s %s\n", id > 0 && btf_is_struct(t) ? "struct" : "?",
	       btf__name_by_offset(vmlinux, t->name_off));
	for (i = 0; i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(vmlinux, btf_members(t)[i].name_off), "exit_code"))
			break;
	result("btf-task-exit-code", i < btf_vlen(t));
	result("btf-typedef", btf__find_by_name_kind(vmlinux, "btf_trace_sched_process_exit",
						     BTF_KIND_TYPEDEF) > 0);
	result("btf-missing", btf__find_by_name_kind(vmlinux, "no_such_type_here", BTF_KIND_STRUCT));
	result("btf-wrong-kind", btf__find_by_name_kind(vmlinux, "task_struct", BTF_KIND_UNION));
	pointer("btf-bad-id", btf__type_by_id(vmlinux, btf__type_cnt(vmlinux)));
	pointer("btf-module-missing", btf__load_module_btf("no_such_module", vmlinux));
	pointer("btf-module-path", btf__load_module_btf("../vmlinux", vmlinux));
	btf__free(vmlinux);
}

int main(int argc, char **argv)
{
	static const char garbage[] = "\x7f" "ELF but not really";
	struct api_bpf *skel;

	libbpf_set_print(capture);

	pointer("open-garbage", bpf_object__open_mem(garbage, sizeof(garbage), NULL));
	pointer("open-file-missing", bpf_object__open_file("/nope.bpf.o", NULL));
	{
		/* A guest path, which the host resolves through the run's
		 * --dir grants (none here). */
		LIBBPF_OPTS(bpf_object_open_opts, btf_opts, .btf_custom_path = "/nope/vmlinux");
		size_t size;
		const void *elf = api_bpf__elf_bytes(&size);

		pointer("open-btf-ungranted", bpf_object__open_mem(elf, size, &btf_opts));
	}

	skel = api_bpf__open();
	pointer("open", skel);
	if (!skel)
		return 1;
	printf("case rodata-initial => %llu\n", (unsigned long long)skel->rodata->marker_len);
	skel->rodata->marker_len = MARKER_LEN;
	skel->rodata->marker_token = MARKER_TOKEN;
	result("attach-before-load", (long)(bpf_program__attach(skel->progs.on_write) ? 0 : -errno));
	result("load", api_bpf__load(skel));
	result("load-again", bpf_object__load(skel->obj));
	result("attach", api_bpf__attach(skel));
	pointer("attach-skipped-xdp", skel->links.pass);
	pointer("attach-xdp-auto", bpf_program__attach(skel->progs.pass));
	maps(skel);
	{
		__u32 key = 0;

		/* A cgroup goes into a cgroup-array map only. */
		result("cgroup-wrong-map", wasm_bpf_map_update_cgroup(bpf_map__fd(skel->maps.counts),
									&key, "/cg", BPF_ANY));
	}
	buffers(skel);
	api_bpf__destroy(skel);
	rejected();
	configure();
	kernel();
	printf("done api\n");
	return 0;
}
