/* A module written for the original wasm-bpf ABI (eunomia-bpf/wasm-bpf):
 * the six `wasm_bpf` imports, the TinyGo SDK's `callback-wrapper` poll,
 * and WASI preview1 — a plain wasi-libc command, no component adapter.
 * Prints one `case NAME => OUTCOME` line per call; tests/legacy.rs checks
 * them. Results are the original runtime's: 0 or a negative Linux errno. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "legacy.h"

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

IMPORT("wasm_bpf", "wasm_load_bpf_object")
uint64_t wasm_load_bpf_object(const void *obj_buf, int obj_buf_sz);
IMPORT("wasm_bpf", "wasm_close_bpf_object")
int wasm_close_bpf_object(uint64_t obj);
IMPORT("wasm_bpf", "wasm_attach_bpf_program")
int wasm_attach_bpf_program(uint64_t obj, const char *name, const char *attach_target);
IMPORT("wasm_bpf", "wasm_bpf_buffer_poll")
int wasm_bpf_buffer_poll(uint64_t obj, int fd, int32_t sample_func, uint32_t ctx, char *data,
			 int max_size, int timeout_ms);
IMPORT("wasm_bpf", "wasm_bpf_map_fd_by_name")
int wasm_bpf_map_fd_by_name(uint64_t obj, const char *name);
IMPORT("wasm_bpf", "wasm_bpf_map_operate")
int wasm_bpf_map_operate(int fd, int cmd, void *key, void *value, void *next_key,
			 uint64_t flags);
IMPORT("callback-wrapper", "wasm_bpf_buffer_poll")
int go_buffer_poll(uint64_t obj, int fd, uint32_t ctx, char *data, int max_size,
		   int timeout_ms);

enum { LOOKUP = 1, UPDATE = 2, DELETE = 3, NEXT_KEY = 4 };

static const unsigned char object[] = {
#embed "legacy.bpf.o"
};

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

struct seen {
	int records;
	int sizes;
	unsigned seqs;
	int fail_at;
};

static int on_event(void *ctx, void *data, int size)
{
	struct seen *seen = ctx;
	const struct marker *m = data;

	seen->records++;
	seen->sizes += size;
	if (size >= (int)sizeof(*m))
		seen->seqs += m->seq;
	return seen->records == seen->fail_at ? -7 : 0;
}

static struct seen go_seen;

/* The TinyGo SDK's callback, found by export name. */
__attribute__((export_name("go-callback"))) int go_callback(uint32_t ctx, void *data, int size)
{
	go_seen.records++;
	go_seen.sizes += size;
	return (int)ctx == 99 ? 0 : -1;
}

#define CASE(name, fmt, ...) printf("case " name " => " fmt "\n", __VA_ARGS__)

/* `end MODE`: holds an attached object and a polled buffer, says
 * `ready legacy`, then ends by MODE (tests/exit_paths.rs). */
static int end(const char *mode)
{
	static char buf[64];
	struct seen seen = { 0 };
	uint64_t obj = wasm_load_bpf_object(object, sizeof(object));
	int rb;

	if (!obj || wasm_attach_bpf_program(obj, "on_write", NULL))
		return 1;
	rb = wasm_bpf_map_fd_by_name(obj, "ring");
	wasm_bpf_buffer_poll(obj, rb, (int32_t)on_event, (uint32_t)&seen, buf, sizeof(buf), 0);
	printf("ready legacy\n");
	fflush(stdout);
	/* Time for the test to note what the host holds before the end. */
	wasm_bpf_buffer_poll(obj, rb, (int32_t)on_event, (uint32_t)&seen, buf, sizeof(buf), 300);
	if (!strcmp(mode, "trap"))
		__builtin_trap();
	if (!strcmp(mode, "exit"))
		return 3;
	/* As the original tools end on SIGINT: poll's -EINTR once the host
	 * asks the module to stop (the ABI's errnos are the kernel's: 4, not
	 * wasi-libc's), then a final word within the grace period. */
	if (!strcmp(mode, "graceful")) {
		while (wasm_bpf_buffer_poll(obj, rb, (int32_t)on_event, (uint32_t)&seen, buf,
					    sizeof(buf), 100) != -4)
			;
		fprintf(stderr, "stopped legacy\n");
		return 0;
	}
	for (;;)
		wasm_bpf_buffer_poll(obj, rb, (int32_t)on_event, (uint32_t)&seen, buf, sizeof(buf),
				     -1);
}

int main(int argc, char **argv)
{
	static char buf[64];
	struct seen seen = { 0 };
	uint64_t obj, bad;
	uint32_t key = 1, next = 0;
	uint64_t value = 10, out = 0;
	int fd, rb, perf, ret;

	if (argc == 3 && !strcmp(argv[1], "end"))
		return end(argv[2]);
	/* A failing tool's usual exit: an exit status, not a trap. */
	if (argc == 2 && !strcmp(argv[1], "fail"))
		return -1;

	bad = wasm_load_bpf_object("not an ELF", 10);
	CASE("load-garbage", "%llu", (unsigned long long)bad);
	CASE("load-outside-memory", "%llu",
	     (unsigned long long)wasm_load_bpf_object((void *)0x7ffffff0, 4096));
	obj = wasm_load_bpf_object(object, sizeof(object));
	CASE("load", "%s", obj ? "handle" : "0");

	fd = wasm_bpf_map_fd_by_name(obj, "counts");
	CASE("map-fd", "%s", fd >= 0 ? "fd" : "negative");
	CASE("map-fd-again", "%s", wasm_bpf_map_fd_by_name(obj, "counts") == fd ? "same" : "other");
	CASE("map-fd-missing", "%d", wasm_bpf_map_fd_by_name(obj, "nope"));
	CASE("map-fd-bad-object", "%d", wasm_bpf_map_fd_by_name(obj + 100, "counts"));
	CASE("update", "%d", wasm_bpf_map_operate(fd, UPDATE, &key, &value, NULL, 0));
	ret = wasm_bpf_map_operate(fd, LOOKUP, &key, &out, NULL, 0);
	CASE("lookup", "%d %llu", ret, (unsigned long long)out);
	CASE("update-noexist", "%d", wasm_bpf_map_operate(fd, UPDATE, &key, &value, NULL, 1));
	ret = wasm_bpf_map_operate(fd, NEXT_KEY, NULL, NULL, &next, 0);
	CASE("next-key-first", "%d %u", ret, next);
	CASE("next-key-last", "%d", wasm_bpf_map_operate(fd, NEXT_KEY, &key, NULL, &next, 0));
	CASE("delete", "%d", wasm_bpf_map_operate(fd, DELETE, &key, NULL, NULL, 0));
	CASE("lookup-deleted", "%d", wasm_bpf_map_operate(fd, LOOKUP, &key, &out, NULL, 0));
	CASE("bad-fd", "%d", wasm_bpf_map_operate(1234, LOOKUP, &key, &out, NULL, 0));
	CASE("bad-key-pointer", "%d",
	     wasm_bpf_map_operate(fd, LOOKUP, (void *)0xfffffffe, &out, NULL, 0));
	CASE("bad-value-pointer", "%d",
	     wasm_bpf_map_operate(fd, LOOKUP, &key, (void *)0xfffffffc, NULL, 0));
	CASE("bad-cmd", "%d", wasm_bpf_map_operate(fd, 99, &key, &out, NULL, 0));

	CASE("attach-missing", "%d", wasm_attach_bpf_program(obj, "nope", NULL));
	CASE("attach-bad-name", "%d", wasm_attach_bpf_program(obj, (const char *)0xfffffff0, NULL));
	CASE("attach-target-tracepoint", "%d", wasm_attach_bpf_program(obj, "on_write", "eth0"));
	CASE("attach", "%d", wasm_attach_bpf_program(obj, "on_write", NULL));
	CASE("attach-xdp-lo", "%d", wasm_attach_bpf_program(obj, "pass", "lo"));

	rb = wasm_bpf_map_fd_by_name(obj, "ring");
	perf = wasm_bpf_map_fd_by_name(obj, "perf");
	CASE("poll-timeout", "%d",
	     wasm_bpf_buffer_poll(obj, rb, (int32_t)on_event, (uint32_t)&seen, buf, sizeof(buf), 10));
	CASE("poll-bad-buffer", "%d",
	     wasm_bpf_buffer_poll(obj, rb, (int32_t)on_event, (uint32_t)&seen, (char *)0xfffffff0,
				  64, 10));
	CASE("poll-hash-map", "%d",
	     wasm_bpf_buffer_poll(obj, fd, (int32_t)on_event, (uint32_t)&seen, buf, sizeof(buf), 10));
	/* A perf buffer exists from its first poll on; samples before it have
	 * no reader. */
	CASE("go-poll-empty", "%d", go_buffer_poll(obj, perf, 99, buf, sizeof(buf), 0));
	for (int i = 0; i < 4; i++)
		marker();
	/* The callback fails on the second record: the poll stops there. */
	seen.fail_at = 2;
	ret = wasm_bpf_buffer_poll(obj, rb, (int32_t)on_event, (uint32_t)&seen, buf, sizeof(buf),
				   1000);
	CASE("poll-stopped", "%d records=%d", ret, seen.records);
	/* A 4-byte buffer: records are cut (the host warns), none is lost. */
	ret = wasm_bpf_buffer_poll(obj, rb, (int32_t)on_event, (uint32_t)&seen, buf, 4, 1000);
	CASE("poll-rest-truncated", "%d records=%d sizes=%d seqs=%u", ret, seen.records,
	     seen.sizes, seen.seqs);
	for (int i = 0; i < 20 && go_seen.records < 4; i++)
		go_buffer_poll(obj, perf, 99, buf, sizeof(buf), 100);
	CASE("go-poll-perf", "records=%d sizes=%d", go_seen.records, go_seen.sizes);

	CASE("close", "%d", wasm_close_bpf_object(obj));
	CASE("close-again", "%d", wasm_close_bpf_object(obj));
	CASE("map-after-close", "%d", wasm_bpf_map_operate(fd, LOOKUP, &key, &out, NULL, 0));
	printf("done legacy\n");
	return 0;
}
