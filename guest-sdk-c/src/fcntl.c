/* Linux's O_* values (the SDK's <fcntl.h>) translated for wasi-libc, in
 * both directions. */
#define __WASM_BPF_WASI_NUMBERS
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>

/* Linux's values, which callers pass (see <fcntl.h>). */
#define L_ACCMODE 03
#define L_WRONLY 01
#define L_RDWR 02
#define L_CREAT 0100
#define L_EXCL 0200
#define L_NOCTTY 0400
#define L_TRUNC 01000
#define L_APPEND 02000
#define L_NONBLOCK 04000
#define L_DSYNC 010000
#define L_ASYNC 020000
#define L_DIRECT 040000
#define L_LARGEFILE 0100000
#define L_DIRECTORY 0200000
#define L_NOFOLLOW 0400000
#define L_NOATIME 01000000
#define L_CLOEXEC 02000000
#define L_SYNC 04010000
#define L_PATH 010000000
#define L_TMPFILE 020000000

/* Each Linux flag with a WASI equivalent. */
static const struct {
	int linux, wasi;
} same[] = {
	{ L_CREAT, O_CREAT },	  { L_EXCL, O_EXCL },	      { L_TRUNC, O_TRUNC },
	{ L_APPEND, O_APPEND },	  { L_NONBLOCK, O_NONBLOCK }, { L_DIRECTORY, O_DIRECTORY },
	{ L_NOFOLLOW, O_NOFOLLOW },
};

/* Linux flags as wasi-libc's, or -1 for one WASI cannot honour. */
static int to_wasi(int flags)
{
	int out, known = L_ACCMODE | L_NOCTTY | L_NOATIME | L_CLOEXEC | L_LARGEFILE | L_SYNC |
			 L_PATH;
	size_t i;

	if (flags & L_PATH)
		out = O_SEARCH;
	else if ((flags & L_ACCMODE) == L_RDWR)
		out = O_RDWR;
	else if ((flags & L_ACCMODE) == L_WRONLY)
		out = O_WRONLY;
	else if ((flags & L_ACCMODE) == 0)
		out = O_RDONLY;
	else
		return -1;
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		known |= same[i].linux;
		if (flags & same[i].linux)
			out |= same[i].wasi;
	}
	/* O_SYNC holds O_DSYNC's bit. */
	if ((flags & L_SYNC) == L_SYNC)
		out |= O_SYNC;
	else if (flags & L_DSYNC)
		out |= O_DSYNC;
	return flags & ~known ? -1 : out;
}

/* wasi-libc's flags as Linux's. */
static int to_linux(int flags)
{
	int out = 0;
	size_t i;

	if ((flags & O_RDWR) == O_RDWR)
		out = L_RDWR;
	else if (flags & O_WRONLY)
		out = L_WRONLY;
	else if (!(flags & O_RDONLY) && (flags & O_SEARCH))
		out = L_PATH;
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (flags & same[i].wasi)
			out |= same[i].linux;
	if ((flags & O_SYNC) == O_SYNC)
		out |= L_SYNC;
	else if (flags & O_DSYNC)
		out |= L_DSYNC;
	return out;
}

int __wbpf_openat(int dirfd, const char *path, int flags, ...)
{
	int wasi = to_wasi(flags);
	mode_t mode = 0;
	va_list ap;

	if (flags & L_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (wasi < 0) {
		errno = EINVAL;
		return -1;
	}
	return openat(dirfd, path, wasi, mode);
}

int __wbpf_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & L_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return __wbpf_openat(AT_FDCWD, path, flags, mode);
}

int __wbpf_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	int arg, ret;

	va_start(ap, cmd);
	arg = va_arg(ap, int);
	va_end(ap);
	switch (cmd) {
	case F_GETFL:
		ret = fcntl(fd, F_GETFL);
		return ret < 0 ? ret : to_linux(ret);
	case F_SETFL:
		ret = to_wasi(arg);
		if (ret < 0) {
			errno = EINVAL;
			return -1;
		}
		return fcntl(fd, F_SETFL, ret);
	default:
		return fcntl(fd, cmd, arg);
	}
}
