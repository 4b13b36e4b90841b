// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The calls libbpf-tools' uprobe_helpers.c (libelf), btf_helpers.c (zlib,
 * mkstemp) make, on real files, printing what they found. The same source
 * builds for the guest and natively (-DCHECKS_MAIN, -lelf -lz). */
#define _GNU_SOURCE
#include <errno.h>
#include <argp.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "checks.h"

#define warn(...) fprintf(stderr, __VA_ARGS__)

/* A function's file offset, as uprobe_helpers.c's get_elf_func_offset()
 * finds it: its symbol's value, moved from the address of its executable
 * segment to that segment's file offset. */
static int elf_check(const char *path, const char *func)
{
	size_t shstrndx, nhdrs, nsyms = 0, nscns = 0;
	long long offset = -1;
	GElf_Ehdr ehdr;
	Elf_Scn *scn = NULL;
	Elf_Data *data;
	GElf_Shdr shdr;
	GElf_Phdr phdr;
	GElf_Sym sym;
	const char *name;
	Elf *e;
	int fd, i;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		warn("elf init failed\n");
		return 1;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		warn("Could not open %s: %s\n", path, strerror(errno));
		return 1;
	}
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &ehdr) ||
	    elf_getshdrstrndx(e, &shstrndx) != 0) {
		warn("%s is not a readable ELF file: %s\n", path, elf_errmsg(-1));
		close(fd);
		return 1;
	}
	while ((scn = elf_nextscn(e, scn))) {
		nscns++;
		if (!gelf_getshdr(scn, &shdr))
			continue;
		if (shdr.sh_type != SHT_SYMTAB && shdr.sh_type != SHT_DYNSYM)
			continue;
		data = NULL;
		while ((data = elf_getdata(scn, data))) {
			for (i = 0; gelf_getsym(data, i, &sym); i++) {
				nsyms++;
				name = elf_strptr(e, shdr.sh_link, sym.st_name);
				if (offset < 0 && name && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
				    !strcmp(name, func))
					offset = (long long)sym.st_value;
			}
		}
	}
	name = elf_strptr(e, shstrndx, 1);
	printf("sections %zu, symbols %zu, first section name \"%s\"\n", nscns, nsyms,
	       name ? name : "(none)");
	if (offset >= 0 && (ehdr.e_type == ET_EXEC || ehdr.e_type == ET_DYN) &&
	    elf_getphdrnum(e, &nhdrs) == 0) {
		for (i = 0; i < (int)nhdrs; i++) {
			if (!gelf_getphdr(e, i, &phdr) || phdr.p_type != PT_LOAD ||
			    !(phdr.p_flags & PF_X))
				continue;
			if (phdr.p_vaddr <= (unsigned long long)offset &&
			    (unsigned long long)offset < phdr.p_vaddr + phdr.p_memsz) {
				printf("%s at file offset 0x%llx\n", func,
				       offset - (long long)phdr.p_vaddr + (long long)phdr.p_offset);
				break;
			}
		}
	} else {
		printf("%s not found\n", func);
	}
	/* Out of range, as a caller's loop would go. */
	printf("program header past the end: %s\n", gelf_getphdr(e, 1 << 20, &phdr) ? "found" : "none");
	elf_end(e);
	close(fd);
	return 0;
}

/* Reads all of `path`. */
static unsigned char *slurp(const char *path, size_t *size)
{
	unsigned char *buf = NULL;
	struct stat st;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	if (!fstat(fileno(f), &st) && (buf = malloc(st.st_size + 1)))
		*size = fread(buf, 1, st.st_size, f);
	fclose(f);
	return buf;
}

/* Gunzips `path` as btf_helpers.c inflates its tarball of BTF files, then
 * compresses and uncompresses the result. */
static int zlib_check(const char *path)
{
	unsigned char *src, *dst, *packed, *back;
	uLongf packed_len, back_len;
	size_t src_len = 0, cap = 1 << 20;
	z_stream strm = { 0 };
	int ret;

	src = slurp(path, &src_len);
	if (!src) {
		warn("Could not read %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("crc32 of the file: %08lx\n", crc32(0, src, src_len));
	if (inflateInit2(&strm, 16 + MAX_WBITS) != Z_OK)
		return 1;
	dst = malloc(cap);
	strm.next_in = src;
	strm.avail_in = src_len;
	do {
		strm.next_out = dst + strm.total_out;
		strm.avail_out = cap - strm.total_out;
		ret = inflate(&strm, Z_NO_FLUSH);
		if (ret != Z_OK && ret != Z_STREAM_END) {
			warn("inflate: %d\n", ret);
			return 1;
		}
		if (strm.avail_out == 0) {
			cap *= 2;
			dst = realloc(dst, cap);
		}
	} while (ret != Z_STREAM_END);
	printf("inflated %lu bytes, crc32 %08lx\n", strm.total_out,
	       crc32(0, dst, strm.total_out));
	packed_len = compressBound(strm.total_out);
	packed = malloc(packed_len);
	back_len = strm.total_out;
	back = malloc(back_len + 1);
	if (compress(packed, &packed_len, dst, strm.total_out) != Z_OK ||
	    uncompress(back, &back_len, packed, packed_len) != Z_OK) {
		warn("compress/uncompress failed\n");
		return 1;
	}
	printf("round trip: %s\n",
	       back_len == strm.total_out && !memcmp(back, dst, back_len) ? "same" : "differs");
	inflateEnd(&strm);
	free(src);
	free(dst);
	free(packed);
	free(back);
	return 0;
}

/* A temporary file as btf_helpers.c makes one. */
static int tmp_check(const char *dir)
{
	char path[256], buf[16] = { 0 };
	size_t len;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/helpers.XXXXXX", dir);
	len = strlen(path);
	fd = mkstemp(path);
	if (fd < 0) {
		warn("mkstemp: %s\n", strerror(errno));
		return 1;
	}
	printf("mkstemp: suffix replaced: %s\n",
	       strcmp(path + len - 6, "XXXXXX") && strlen(path) == len ? "yes" : "no");
	f = fdopen(fd, "w+");
	fputs("hello", f);
	rewind(f);
	printf("read back: %s\n", fgets(buf, sizeof(buf), f) ? buf : "(nothing)");
	fclose(f);
	printf("unlink: %d\n", unlink(path));
	strcpy(path + len - 6, "XXXXX");
	printf("bad template: %d\n", mkstemp(path));
	return 0;
}

/* errno and O_* as a tool sees them: the constants' values, what failed
 * calls leave in errno, and strerror()'s texts. */
static int errno_check(const char *dir)
{
	char path[256];
	int fd, again;
	long big;

	printf("E: %d %d %d %d %d %d %d %d %d %d\n", EPERM, ENOENT, EINTR, EAGAIN, EACCES, EEXIST,
	       EOPNOTSUPP, ENOTSUP, ENODATA, ETIMEDOUT);
	printf("O: %o %o %o %o %o %o %o %o %o %o %o %o\n", O_WRONLY, O_RDWR, O_CREAT, O_EXCL,
	       O_TRUNC, O_APPEND, O_NONBLOCK, O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC, O_SYNC, O_TMPFILE);

	snprintf(path, sizeof(path), "%s/missing", dir);
	fd = open(path, O_RDONLY);
	printf("open missing: %d errno %d %s\n", fd, errno, strerror(errno));
	perror("perror");
	snprintf(path, sizeof(path), "%s/made", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, 0600);
	printf("create: %s, F_GETFL %o\n", fd >= 0 ? "ok" : strerror(errno),
	       fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	again = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	printf("create again: %d errno %d %s\n", again, errno, strerror(errno));
	printf("not a directory: %d errno %d\n", open(path, O_RDONLY | O_DIRECTORY), errno);
	close(fd);
	unlink(path);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	printf("directory: %s\n", fd >= 0 ? "ok" : strerror(errno));
	close(fd);

	errno = 0;
	big = strtol("99999999999999999999", NULL, 10);
	printf("strtol: %s errno %d\n", big == LONG_MAX ? "LONG_MAX" : "?", errno);
	errno = 0;
	big = strtol("12", NULL, 10);
	printf("strtol again: %ld errno %d\n", big, errno);
	errno = EINVAL;
	printf("set: %d\n", errno);
	printf("texts: %s | %s | %s\n", strerror(ENODATA), strerror(EOPNOTSUPP), strerror(9999));
	return 0;
}

/* Local time as trace_helpers.c's str_timestamp() makes it, at moments in
 * winter and summer (of the northern hemisphere). */
static int time_check(void)
{
	static const time_t moments[] = { 1704067200, 1720493204, 1743296400 };
	char text[64];
	struct tm *tm, tm_r;
	size_t i;

	tzset();
	for (i = 0; i < sizeof(moments) / sizeof(moments[0]); i++) {
		tm = localtime(&moments[i]);
		strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S %Z %z", tm);
		printf("%lld: %s, dst %d\n", (long long)moments[i], text, tm->tm_isdst);
		localtime_r(&moments[i], &tm_r);
		printf("  localtime_r: %02d:%02d yday %d\n", tm_r.tm_hour, tm_r.tm_min, tm_r.tm_yday);
	}
	return 0;
}

/* argp as libbpf-tools use it, for `options ARGS...`: the test compares
 * --help, --usage and the errors with glibc's, byte for byte. */
const char *argp_program_version = "helpers 0.1";
const char *argp_program_bug_address = "https://github.com/iovisor/bcc/tree/master/libbpf-tools";

static const char options_doc[] =
	"Trace what libbpf-tools trace, with their options.\n"
	"\n"
	"USAGE: options [-h] [-T] [-t] [-x] [-p PID] [-P PORTS] [-c CG] [--max-args MAX_ARGS]\n"
	"\n"
	"EXAMPLES:\n"
	"    ./options -p 181      # only trace PID 181\n"
	"    ./options -P 80,81    # only trace ports 80 and 81\n"
	"\vWhat follows the options, long enough for the help stream to wrap it at the "
	"seventy-ninth column, as glibc does.";

static const struct argp_option options_opts[] = {
	{ "timestamp", 't', NULL, 0, "Include timestamp on output", 0 },
	{ "time", 'T', NULL, 0, "Include time column on output (HH:MM:SS)", 0 },
	{ "pid", 'p', "PID", 0, "Process ID to trace", 0 },
	{ "port", 'P', "PORTS", 0, "Comma-separated list of destination ports to trace", 0 },
	{ "cgroup", 'c', "/sys/fs/cgroup/unified", 0, "Trace process in cgroup path", 0 },
	{ "max-args", 300, "MAX_ARGS", 0,
	  "maximum number of arguments parsed and displayed, defaults to 20", 0 },
	{ "interval", 'i', "SECS", OPTION_ARG_OPTIONAL, "Print every SECS seconds", 0 },
	{ "failed", 'x', NULL, 0, "Failed opens only", 0 },
	{ "fails", 0, NULL, OPTION_ALIAS, NULL, 0 },
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show the full help", 0 },
	{ NULL, 0, NULL, 0, "Output:", 0 },
	{ "verbose", 'v', NULL, 0, "Verbose debug output", 0 },
	{ "columns", 'C', "LIST", 0, "Columns to print", 0 },
	{},
};

static error_t options_parse(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'h':
		argp_state_help(state, stderr, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num > 0)
			argp_usage(state);
		printf("argument %s\n", arg);
		break;
	case 't': case 'T': case 'x': case 'v':
		printf("flag -%c\n", key);
		break;
	case 'p': case 'P': case 'c': case 'C': case 300:
		printf("option %d = %s\n", key, arg);
		break;
	case 'i':
		printf("interval %s\n", arg ? arg : "(default)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static int options_check(int argc, char **argv)
{
	static const struct argp argp = {
		.options = options_opts,
		.parser = options_parse,
		.args_doc = "[TARGET]\n--list",
		.doc = options_doc,
	};
	int err = argp_parse(&argp, argc, argv, 0, NULL, NULL);

	printf("argp_parse: %d\n", err);
	return err ? 1 : 0;
}

int run_check(int argc, char **argv)
{
	if (argc >= 1 && !strcmp(argv[0], "options"))
		return options_check(argc, argv);
	if (argc == 1 && !strcmp(argv[0], "time"))
		return time_check();
	if (argc == 2 && !strcmp(argv[0], "errno"))
		return errno_check(argv[1]);
	if (argc == 3 && !strcmp(argv[0], "elf"))
		return elf_check(argv[1], argv[2]);
	if (argc == 2 && !strcmp(argv[0], "zlib"))
		return zlib_check(argv[1]);
	if (argc == 2 && !strcmp(argv[0], "tmp"))
		return tmp_check(argv[1]);
	return -1;
}

#ifdef CHECKS_MAIN
int main(int argc, char **argv)
{
	return run_check(argc - 1, argv + 1);
}
#endif
