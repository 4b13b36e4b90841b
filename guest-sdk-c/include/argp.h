/* glibc's argp, for wasm-bpf C guests: wasi-libc has none, and tools
 * written like libbpf-tools parse their options with it.
 *
 * The subset those tools use, with glibc's names, numbers and output:
 * short options (grouped, `-p1` or `-p 1`), long options (`--pid=1`,
 * `--pid 1`, unambiguous prefixes), OPTION_ARG_OPTIONAL, hidden options,
 * aliases, group headers, `--` and positional arguments in any order
 * (delivered as ARGP_KEY_ARG, in order), the built-in --help, --usage
 * and --version, and `doc` split by '\v' into text before and after the
 * options. Not supported: children (`argp.children` must be NULL), help
 * filters and ARGP_IN_ORDER/ARGP_NO_ARGS-style flags beyond
 * ARGP_NO_EXIT, ARGP_NO_HELP and ARGP_SILENT.
 */
#ifndef __WASM_BPF_ARGP_H
#define __WASM_BPF_ARGP_H

#include <errno.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int error_t;

struct argp_state;

struct argp_option {
	/* The long name, or NULL for a short-only option or a group header
	 * (name NULL, key 0, doc the header). */
	const char *name;
	/* The short option character, or a number above 255 for a long-only
	 * option; the parser receives it. */
	int key;
	/* The argument's name in help (`PID`), or NULL for none. */
	const char *arg;
	int flags;
	const char *doc;
	int group;
};

#define OPTION_ARG_OPTIONAL 0x1
#define OPTION_HIDDEN 0x2
#define OPTION_ALIAS 0x4
#define OPTION_DOC 0x8
#define OPTION_NO_USAGE 0x10

typedef error_t (*argp_parser_t)(int key, char *arg, struct argp_state *state);

struct argp_child;

struct argp {
	const struct argp_option *options;
	argp_parser_t parser;
	/* What follows `[OPTION...]` in the usage line. */
	const char *args_doc;
	/* Help text; the part after a '\v' is printed after the options. */
	const char *doc;
	const struct argp_child *children;
	char *(*help_filter)(int key, const char *text, void *input);
	const char *argp_domain;
};

struct argp_state {
	const struct argp *root_argp;
	int argc;
	char **argv;
	/* The index of the next argument to look at. */
	int next;
	unsigned flags;
	/* How many ARGP_KEY_ARG the parser has accepted so far. */
	unsigned arg_num;
	int quoted;
	/* argp_parse's `input`, for the parser. */
	void *input;
	void **child_inputs;
	void *hook;
	char *name;
	FILE *err_stream;
	FILE *out_stream;
	void *pstate;
};

/* Keys the parser receives besides its options'. */
#define ARGP_KEY_ARG 0
#define ARGP_KEY_ARGS 0x1000006
#define ARGP_KEY_END 0x1000001
#define ARGP_KEY_NO_ARGS 0x1000002
#define ARGP_KEY_INIT 0x1000003
#define ARGP_KEY_FINI 0x1000007
#define ARGP_KEY_SUCCESS 0x1000004
#define ARGP_KEY_ERROR 0x1000005

/* What a parser returns for a key it does not handle. */
/* The keys a help_filter receives, with the text it may change. */
#define ARGP_KEY_HELP_PRE_DOC 0x2000001
#define ARGP_KEY_HELP_POST_DOC 0x2000002
#define ARGP_KEY_HELP_HEADER 0x2000003
#define ARGP_KEY_HELP_EXTRA 0x2000004
#define ARGP_KEY_HELP_DUP_ARGS_NOTE 0x2000005
#define ARGP_KEY_HELP_ARGS_DOC 0x2000006

#define ARGP_ERR_UNKNOWN E2BIG

/* argp_parse flags. */
#define ARGP_PARSE_ARGV0 0x01
#define ARGP_NO_ERRS 0x02
#define ARGP_NO_ARGS 0x04
#define ARGP_IN_ORDER 0x08
#define ARGP_NO_HELP 0x10
#define ARGP_NO_EXIT 0x20
#define ARGP_LONG_ONLY 0x40
#define ARGP_SILENT (ARGP_NO_EXIT | ARGP_NO_ERRS | ARGP_NO_HELP)

/* argp_help / argp_state_help flags. */
#define ARGP_HELP_USAGE 0x01
#define ARGP_HELP_SHORT_USAGE 0x02
#define ARGP_HELP_SEE 0x04
#define ARGP_HELP_LONG 0x08
#define ARGP_HELP_PRE_DOC 0x10
#define ARGP_HELP_POST_DOC 0x20
#define ARGP_HELP_DOC (ARGP_HELP_PRE_DOC | ARGP_HELP_POST_DOC)
#define ARGP_HELP_BUG_ADDR 0x40
#define ARGP_HELP_LONG_ONLY 0x80
#define ARGP_HELP_EXIT_ERR 0x100
#define ARGP_HELP_EXIT_OK 0x200
#define ARGP_HELP_STD_ERR (ARGP_HELP_SEE | ARGP_HELP_EXIT_ERR)
#define ARGP_HELP_STD_USAGE (ARGP_HELP_SHORT_USAGE | ARGP_HELP_SEE | ARGP_HELP_EXIT_ERR)
#define ARGP_HELP_STD_HELP                                                    \
	(ARGP_HELP_SHORT_USAGE | ARGP_HELP_LONG | ARGP_HELP_EXIT_OK |         \
	 ARGP_HELP_DOC | ARGP_HELP_BUG_ADDR)

/* Set by the program to enable --version and the bug address line. */
extern const char *argp_program_version;
extern const char *argp_program_bug_address;
/* The exit status of a usage error (EX_USAGE, as glibc's). */
extern error_t argp_err_exit_status;

/* Parses argv[1..argc) with `argp`; returns 0 or the error a parser
 * returned. On a usage error (or --help) it exits unless ARGP_NO_EXIT. */
error_t argp_parse(const struct argp *argp, int argc, char **argv, unsigned flags,
		   int *arg_index, void *input);
void argp_help(const struct argp *argp, FILE *stream, unsigned flags, char *name);
void argp_state_help(const struct argp_state *state, FILE *stream, unsigned flags);
/* The short usage and "Try --help", then exit(argp_err_exit_status). */
void argp_usage(const struct argp_state *state);
/* "PROGRAM: MESSAGE", "Try --help", then exit(argp_err_exit_status). */
void argp_error(const struct argp_state *state, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "PROGRAM: MESSAGE[: strerror(errnum)]", then exit(status) if non-zero. */
void argp_failure(const struct argp_state *state, int status, int errnum, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));

#ifdef __cplusplus
}
#endif

#endif
