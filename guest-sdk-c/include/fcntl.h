/* wasi-libc's <fcntl.h>, with Linux's O_* values.
 *
 * Tools compare the open flags the kernel reports (opensnoop's
 * `e.flags & O_CREAT`), so the O_* constants are Linux's, as natively:
 * those of x86_64 and of the architectures on the kernel's generic
 * numbering (riscv64, loongarch64). arm64 numbers four differently
 * (O_DIRECTORY, O_NOFOLLOW, O_DIRECT, O_LARGEFILE). open(), openat() and
 * fcntl(F_GETFL/F_SETFL) take and give these values and translate them
 * for WASI (src/fcntl.c); flags WASI cannot honour (O_DIRECT, O_ASYNC,
 * O_TMPFILE) fail with EINVAL, those that change nothing for a guest
 * (O_CLOEXEC, O_NOCTTY, O_NOATIME, O_LARGEFILE) are accepted. The F_* and
 * AT_* constants stay wasi-libc's: no kernel reports them. */
#include_next <fcntl.h>

#if !defined(__WASM_BPF_FCNTL_H) && !defined(__WASM_BPF_WASI_NUMBERS)
#define __WASM_BPF_FCNTL_H

#undef O_ACCMODE
#undef O_RDONLY
#undef O_WRONLY
#undef O_RDWR
#undef O_CREAT
#undef O_EXCL
#undef O_NOCTTY
#undef O_TRUNC
#undef O_APPEND
#undef O_NONBLOCK
#undef O_NDELAY
#undef O_DSYNC
#undef O_ASYNC
#undef O_DIRECT
#undef O_LARGEFILE
#undef O_DIRECTORY
#undef O_NOFOLLOW
#undef O_NOATIME
#undef O_CLOEXEC
#undef O_SYNC
#undef O_RSYNC
#undef O_PATH
#undef O_TMPFILE
#undef O_SEARCH
#undef O_EXEC
#undef O_TTY_INIT
#undef FASYNC

#define O_ACCMODE 00000003
#define O_RDONLY 00000000
#define O_WRONLY 00000001
#define O_RDWR 00000002
#define O_CREAT 00000100
#define O_EXCL 00000200
#define O_NOCTTY 00000400
#define O_TRUNC 00001000
#define O_APPEND 00002000
#define O_NONBLOCK 00004000
#define O_NDELAY O_NONBLOCK
#define O_DSYNC 00010000
#define O_ASYNC 00020000
#define FASYNC O_ASYNC
#define O_DIRECT 00040000
/* 0 in glibc's headers on 64-bit machines; the kernel sets 0100000. */
#define O_LARGEFILE 0
#define O_DIRECTORY 00200000
#define O_NOFOLLOW 00400000
#define O_NOATIME 01000000
#define O_CLOEXEC 02000000
#define O_SYNC 04010000
#define O_RSYNC O_SYNC
#define O_PATH 010000000
#define O_TMPFILE (020000000 | O_DIRECTORY)
#define O_SEARCH O_PATH
#define O_EXEC O_PATH

#ifdef __cplusplus
extern "C" {
#endif

int open(const char *path, int flags, ...) __asm__("__wbpf_open");
int openat(int dirfd, const char *path, int flags, ...) __asm__("__wbpf_openat");
int fcntl(int fd, int cmd, ...) __asm__("__wbpf_fcntl");

#ifdef __cplusplus
}
#endif

#endif
