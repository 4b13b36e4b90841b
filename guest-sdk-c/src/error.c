/* libbpf's error and message conventions over the host's typed errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int default_print(enum libbpf_print_level level, const char *format, va_list ap)
{
	(void)level;
	(void)format;
	(void)ap;
	return 0;
}

/* Until a callback is installed the host prints libbpf's messages itself,
 * as libbpf's default callback would; the SDK then stays silent. */
static libbpf_print_fn_t print_fn = default_print;

/* Whether the host keeps libbpf's messages for the callback. */
static bool keeping;

libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn)
{
	wasm_bpf_bpf_libbpf_log_level_t debug = WASM_BPF_BPF_LIBBPF_LOG_LEVEL_DEBUG;
	libbpf_print_fn_t old = print_fn;

	print_fn = fn;
	/* The callback chooses what to print, as natively: it receives all
	 * libbpf says, debug messages included (a tool's -v prints them). */
	wasm_bpf_bpf_libbpf_log_set_level(NULL);
	keeping = fn != NULL;
	wasm_bpf_bpf_libbpf_log_keep(keeping ? &debug : NULL);
	return old == default_print ? NULL : old;
}

static void print(enum libbpf_print_level level, const char *format, ...)
{
	va_list ap;

	if (!print_fn)
		return;
	va_start(ap, format);
	print_fn(level, format, ap);
	va_end(ap);
}

static int errno_of(const wbpf_error_t *e)
{
	/* The host reports Linux's numbers (or libbpf's LIBBPF_ERRNO__*),
	 * which are the guest's too (see the SDK's <errno.h>). */
	if (wbpf_host_errno(e) > 0)
		return wbpf_host_errno(e);
	/* The usual errno of each code, as the host's errno_of_error gives
	 * legacy modules (host/src/error.rs checks that the two agree). */
	switch (e->code) {
	case WASM_BPF_BPF_TYPES_ERROR_CODE_NOT_FOUND:
	case WASM_BPF_BPF_TYPES_ERROR_CODE_TARGET_NOT_FOUND:
		return ENOENT;
	case WASM_BPF_BPF_TYPES_ERROR_CODE_PERMISSION_DENIED:
		return EPERM;
	case WASM_BPF_BPF_TYPES_ERROR_CODE_ALREADY_EXISTS:
		return EEXIST;
	case WASM_BPF_BPF_TYPES_ERROR_CODE_TOO_BIG:
		return E2BIG;
	case WASM_BPF_BPF_TYPES_ERROR_CODE_UNSUPPORTED:
		return EOPNOTSUPP;
	case WASM_BPF_BPF_TYPES_ERROR_CODE_BUSY:
		return EBUSY;
	case WASM_BPF_BPF_TYPES_ERROR_CODE_LIMIT_EXCEEDED:
		return EMFILE;
	case WASM_BPF_BPF_TYPES_ERROR_CODE_VERIFIER_REJECTED:
		return EACCES;
	case WASM_BPF_BPF_TYPES_ERROR_CODE_STOPPING:
		return EINTR;
	case WASM_BPF_BPF_TYPES_ERROR_CODE_OTHER:
		return EIO;
	default:
		return EINVAL;
	}
}

void wbpf_log_deliver(void)
{
	static const enum libbpf_print_level levels[] = {
		[WASM_BPF_BPF_LIBBPF_LOG_LEVEL_WARN] = LIBBPF_WARN,
		[WASM_BPF_BPF_LIBBPF_LOG_LEVEL_INFO] = LIBBPF_INFO,
		[WASM_BPF_BPF_LIBBPF_LOG_LEVEL_DEBUG] = LIBBPF_DEBUG,
	};
	wasm_bpf_bpf_libbpf_log_list_message_t kept;
	size_t i;

	if (!keeping)
		return;
	wasm_bpf_bpf_libbpf_log_take(&kept);
	for (i = 0; i < kept.len; i++) {
		const wasm_bpf_bpf_libbpf_log_message_t *m = &kept.ptr[i];

		print(m->level < 3 ? levels[m->level] : LIBBPF_DEBUG, "%.*s", (int)m->text.len,
		      (const char *)m->text.ptr);
	}
	wasm_bpf_bpf_libbpf_log_list_message_free(&kept);
}

/* The parts of a host error that are not libbpf's own messages, which the
 * callback has received already: the first line (what failed) and the
 * host's hints. */
static void print_summary(const char *msg, size_t len)
{
	const char *end = memchr(msg, '\n', len);
	const char *line;

	print(LIBBPF_WARN, "libbpf: %.*s\n", (int)(end ? end - msg : (long)len), msg);
	for (line = end; line && line < msg + len; line = end) {
		line++;
		end = memchr(line, '\n', (size_t)(msg + len - line));
		if (!strncmp(line, "hint: ", 6) && (size_t)(msg + len - line) > 6)
			print(LIBBPF_WARN, "libbpf: %.*s\n",
			      (int)((end ? end : msg + len) - line), line);
	}
}

int wbpf_fail(wbpf_error_t *e)
{
	int err = errno_of(e);

	/* The host's stop request is no failure to report: the tool's SIGINT
	 * handler runs and a poll returns -EINTR, as natively after SIGINT,
	 * and libbpf says nothing then. */
	if (e->code == WASM_BPF_BPF_TYPES_ERROR_CODE_STOPPING) {
		wbpf_deliver_stop();
	} else if (keeping) {
		wbpf_log_deliver();
		print_summary((const char *)e->message.ptr, e->message.len);
	}
	wasm_bpf_bpf_types_error_free(e);
	errno = err;
	return -err;
}

int wbpf_err(int err)
{
	if (err < 0)
		errno = -err;
	return err;
}

void *wbpf_err_ptr(int err)
{
	errno = err < 0 ? -err : err;
	return NULL;
}

long libbpf_get_error(const void *ptr)
{
	return ptr ? 0 : -errno;
}

int libbpf_strerror(int err, char *buf, size_t size)
{
	static const char *const libbpf_errors[] = {
		"Something wrong in libelf", "BPF object format invalid",
		"'version' section incorrect or lost", "Endian mismatch",
		"Internal error in libbpf", "Relocation failed", "Load program failure",
		"Kernel verifier blocks program loading", "Program too big",
		"Incorrect kernel version", "Kernel doesn't support this program type",
		"Wrong pid in netlink message", "Invalid netlink sequence",
		"Incorrect netlink message parsing",
	};

	if (!buf || !size)
		return wbpf_err(-EINVAL);
	err = err < 0 ? -err : err;
	if (err >= LIBBPF_ERRNO__START && err < LIBBPF_ERRNO__END)
		snprintf(buf, size, "%s", libbpf_errors[err - LIBBPF_ERRNO__START]);
	else
		snprintf(buf, size, "%s", strerror(err));
	return 0;
}

bpf_app_string_t wbpf_str(const char *s)
{
	return (bpf_app_string_t){ .ptr = (uint8_t *)s, .len = s ? strlen(s) : 0 };
}

bpf_app_list_u8_t wbpf_bytes(const void *p, size_t len)
{
	return (bpf_app_list_u8_t){ .ptr = (uint8_t *)p, .len = len };
}

char *wbpf_take_str(bpf_app_string_t *s)
{
	char *copy = malloc(s->len + 1);

	if (copy) {
		memcpy(copy, s->ptr, s->len);
		copy[s->len] = '\0';
	}
	bpf_app_string_free(s);
	return copy;
}
