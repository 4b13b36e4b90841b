/* glibc's argp for tools' option parsing (see <argp.h>). Messages and
 * exit statuses follow glibc's, and so does help (argp_help.c), so a
 * tool's --help and usage errors read as they do natively. */
#include <argp.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argp_help.h"

__attribute__((weak)) const char *argp_program_version;
__attribute__((weak)) const char *argp_program_bug_address;
error_t argp_err_exit_status = 64;

/* Keys of the built-in options, outside any character's range. */
#define KEY_HELP '?'
#define KEY_PROGNAME -2
#define KEY_USAGE -3
#define KEY_HANG -4
#define KEY_VERSION 'V'

/* glibc's, in its order (which its messages about ambiguous options
 * follow); the hidden two as glibc has them. */
static const struct argp_option builtin_options[] = {
	{ "help", KEY_HELP, NULL, 0, "Give this help list", -1 },
	{ "usage", KEY_USAGE, NULL, 0, "Give a short usage message", -1 },
	{ "program-name", KEY_PROGNAME, "NAME", OPTION_HIDDEN, "Set the program name", -1 },
	{ "HANG", KEY_HANG, "SECS", OPTION_ARG_OPTIONAL | OPTION_HIDDEN,
	  "Hang for SECS seconds (default 3600)", -1 },
	{ "version", KEY_VERSION, NULL, 0, "Print program version", -1 },
	{ 0 },
};

static bool is_end(const struct argp_option *o)
{
	return !o->name && !o->key && !o->doc;
}

static bool is_header(const struct argp_option *o)
{
	return !o->name && !o->key && o->doc;
}

static const char *short_name(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	return slash ? slash + 1 : argv0 ? argv0 : "";
}

static bool builtin_wanted(const struct argp_state *state, const struct argp_option *o)
{
	if (state->flags & ARGP_NO_HELP)
		return false;
	return o->key != KEY_VERSION || argp_program_version;
}

void argp_help(const struct argp *argp, FILE *stream, unsigned flags, char *name)
{
	wbpf_argp_help(argp, NULL, stream, flags, name);
}

void argp_state_help(const struct argp_state *state, FILE *stream, unsigned flags)
{
	if (state && (state->flags & ARGP_NO_ERRS) && stream == state->err_stream)
		return;
	if (stream)
		wbpf_argp_help(state->root_argp, state, stream, flags, state->name);
	if (state && (state->flags & ARGP_NO_EXIT))
		return;
	if (flags & ARGP_HELP_EXIT_ERR)
		exit(argp_err_exit_status);
	if (flags & ARGP_HELP_EXIT_OK)
		exit(0);
}

void argp_usage(const struct argp_state *state)
{
	argp_state_help(state, state->err_stream, ARGP_HELP_STD_USAGE);
}

void argp_error(const struct argp_state *state, const char *fmt, ...)
{
	va_list ap;

	if (!(state->flags & ARGP_NO_ERRS)) {
		fprintf(state->err_stream, "%s: ", state->name);
		va_start(ap, fmt);
		vfprintf(state->err_stream, fmt, ap);
		va_end(ap);
		fprintf(state->err_stream, "\n");
	}
	argp_state_help(state, state->err_stream, ARGP_HELP_STD_ERR);
}

void argp_failure(const struct argp_state *state, int status, int errnum, const char *fmt, ...)
{
	FILE *err = state ? state->err_stream : stderr;
	va_list ap;

	if (!state || !(state->flags & ARGP_NO_ERRS)) {
		fprintf(err, "%s: ", state ? state->name : "");
		va_start(ap, fmt);
		vfprintf(err, fmt, ap);
		va_end(ap);
		if (errnum)
			fprintf(err, ": %s", strerror(errnum));
		fprintf(err, "\n");
	}
	if (status && (!state || !(state->flags & ARGP_NO_EXIT)))
		exit(status);
}

/* ---- parsing ---- */

static const struct argp_option *find_short(const struct argp_state *state, int c)
{
	const struct argp_option *o;

	for (o = state->root_argp->options; o && !is_end(o); o++)
		if (o->key == c && !is_header(o))
			return o;
	for (o = builtin_options; !is_end(o); o++)
		if (o->key == c && builtin_wanted(state, o))
			return o;
	return NULL;
}

/* The option named `name` (`len` bytes), exactly or by an unambiguous
 * prefix; *ambiguous says why none was found. */
static const struct argp_option *find_long(const struct argp_state *state, const char *name,
					   size_t len, bool *ambiguous)
{
	const struct argp_option *lists[2] = { state->root_argp->options, builtin_options };
	const struct argp_option *found = NULL, *o;
	int i;

	*ambiguous = false;
	for (i = 0; i < 2; i++)
		for (o = lists[i]; o && !is_end(o); o++) {
			if (!o->name || strncmp(o->name, name, len))
				continue;
			if (i == 1 && !builtin_wanted(state, o))
				continue;
			if (strlen(o->name) == len)
				return o;
			if (found && found->key != o->key)
				*ambiguous = true;
			if (!found)
				found = o;
		}
	return *ambiguous ? NULL : found;
}

/* getopt's refusal of an ambiguous prefix: every option it could mean,
 * the first and those that differ from it, in the order getopt lists
 * them (the tool's options, then argp's). */
static error_t ambiguous_option(struct argp_state *state, const char *name, size_t len)
{
	const struct argp_option *lists[2] = { state->root_argp->options, builtin_options };
	const struct argp_option *first = NULL, *o;
	FILE *err = state->err_stream;
	int i;

	if (!(state->flags & ARGP_NO_ERRS)) {
		fprintf(err, "%s: option '%s' is ambiguous; possibilities:",
			state->argc > 0 ? state->argv[0] : state->name, state->argv[state->next - 1]);
		for (i = 0; i < 2; i++)
			for (o = lists[i]; o && !is_end(o); o++) {
				if (!o->name || strncmp(o->name, name, len) ||
				    (i == 1 && !builtin_wanted(state, o)))
					continue;
				if (!first)
					first = o;
				if (o == first || o->key != first->key)
					fprintf(err, " '--%s'", o->name);
			}
		fprintf(err, "\n");
	}
	argp_state_help(state, err, ARGP_HELP_STD_ERR);
	return EINVAL;
}

/* The key an alias stands for: its option's, which comes before it. */
static int key_of(const struct argp_state *state, const struct argp_option *o)
{
	while ((o->flags & OPTION_ALIAS) && o > state->root_argp->options && !o->key)
		o--;
	return o->key;
}

static error_t call(struct argp_state *state, int key, char *arg)
{
	const struct argp *argp = state->root_argp;

	if (!argp->parser)
		return ARGP_ERR_UNKNOWN;
	return argp->parser(key, arg, state);
}

static error_t usage_error(struct argp_state *state, const char *fmt, const char *what)
{
	argp_error(state, fmt, what);
	return EINVAL;
}

/* A usage error getopt reports, as glibc's getopt words it: under the
 * program's name as it was run (argv[0]), where argp's own use the short
 * name. */
static error_t getopt_error(struct argp_state *state, const char *fmt, const char *what)
{
	if (!(state->flags & ARGP_NO_ERRS)) {
		fprintf(state->err_stream, "%s: ",
			state->argc > 0 ? state->argv[0] : state->name);
		fprintf(state->err_stream, fmt, what);
		fprintf(state->err_stream, "\n");
	}
	argp_state_help(state, state->err_stream, ARGP_HELP_STD_ERR);
	return EINVAL;
}

static error_t builtin(struct argp_state *state, int key, char *arg)
{
	switch (key) {
	case KEY_HELP:
		argp_state_help(state, state->out_stream, ARGP_HELP_STD_HELP);
		return 0;
	case KEY_USAGE:
		argp_state_help(state, state->out_stream, ARGP_HELP_USAGE | ARGP_HELP_EXIT_OK);
		return 0;
	case KEY_PROGNAME:
		state->name = (char *)short_name(arg);
		return 0;
	case KEY_HANG:
		sleep(arg ? (unsigned)strtoul(arg, NULL, 10) : 3600);
		return 0;
	default:
		fprintf(state->out_stream, "%s\n", argp_program_version);
		fflush(state->out_stream);
		if (!(state->flags & ARGP_NO_EXIT))
			exit(0);
		return 0;
	}
}

/* Option `o` with `arg`, given as a long option (`as_long`) or a short one. */
static error_t option(struct argp_state *state, const struct argp_option *o, char *arg,
		     bool as_long)
{
	int key = key_of(state, o);
	error_t err;

	if (o >= builtin_options && o < builtin_options + sizeof(builtin_options) /
								    sizeof(builtin_options[0])) {
		err = call(state, key, arg);
		return err == ARGP_ERR_UNKNOWN ? builtin(state, key, arg) : err;
	}
	err = call(state, key, arg);
	/* Declared but refused by the tool's parser: glibc blames the tool. */
	if (err == ARGP_ERR_UNKNOWN) {
		if (as_long)
			argp_error(state, "--%s: (PROGRAM ERROR) Option should have been recognized!?",
				   o->name);
		else
			argp_error(state, "-%c: (PROGRAM ERROR) Option should have been recognized!?",
				   o->key);
		return EINVAL;
	}
	return err;
}

static error_t long_option(struct argp_state *state, char *text)
{
	char *eq = strchr(text, '=');
	size_t len = eq ? (size_t)(eq - text) : strlen(text);
	const struct argp_option *o;
	bool ambiguous;
	char *arg = eq ? eq + 1 : NULL;

	o = find_long(state, text, len, &ambiguous);
	if (ambiguous)
		return ambiguous_option(state, text, len);
	if (!o)
		return getopt_error(state, "unrecognized option '%s'", state->argv[state->next - 1]);
	if (!o->arg && arg)
		return getopt_error(state, "option '--%s' doesn't allow an argument", o->name);
	if (o->arg && !arg && !(o->flags & OPTION_ARG_OPTIONAL)) {
		if (state->next >= state->argc)
			return getopt_error(state, "option '--%s' requires an argument", o->name);
		arg = state->argv[state->next++];
	}
	return option(state, o, arg, true);
}

static error_t short_options(struct argp_state *state, char *text)
{
	for (; *text; text++) {
		const struct argp_option *o = find_short(state, (unsigned char)*text);
		char one[2] = { *text, 0 };
		char *arg = NULL;
		error_t err;

		if (!o)
			return getopt_error(state, "invalid option -- '%s'", one);
		if (o->arg) {
			if (text[1])
				arg = text + 1;
			else if (!(o->flags & OPTION_ARG_OPTIONAL)) {
				if (state->next >= state->argc)
					return getopt_error(
						state, "option requires an argument -- '%s'", one);
				arg = state->argv[state->next++];
			}
		}
		err = option(state, o, arg, false);
		if (err || arg == text + 1)
			return err;
	}
	return 0;
}

static error_t positional(struct argp_state *state, char *arg)
{
	error_t err = call(state, ARGP_KEY_ARG, arg);

	if (!err) {
		state->arg_num++;
		return 0;
	}
	if (err != ARGP_ERR_UNKNOWN)
		return err;
	/* The parser may take all the rest at once. */
	state->next--;
	err = call(state, ARGP_KEY_ARGS, NULL);
	if (err == ARGP_ERR_UNKNOWN)
		return usage_error(state, "%s", "Too many arguments");
	if (!err && state->next < state->argc)
		state->next = state->argc;
	return err;
}

error_t argp_parse(const struct argp *argp, int argc, char **argv, unsigned flags,
		   int *arg_index, void *input)
{
	struct argp_state state = {
		.root_argp = argp,
		.argc = argc,
		.argv = argv,
		.next = (flags & ARGP_PARSE_ARGV0) ? 0 : 1,
		.flags = flags,
		.input = input,
		.name = (char *)short_name(argc > 0 ? argv[0] : NULL),
		.err_stream = stderr,
		.out_stream = stdout,
	};
	bool options_done = false;
	error_t err;

	if (argp->children)
		return EINVAL;
	err = call(&state, ARGP_KEY_INIT, NULL);
	if (err == ARGP_ERR_UNKNOWN)
		err = 0;
	while (!err && state.next < argc) {
		char *arg = argv[state.next++];

		if (!options_done && !strcmp(arg, "--")) {
			options_done = true;
			state.quoted = state.next;
		} else if (!options_done && arg[0] == '-' && arg[1] == '-') {
			err = long_option(&state, arg + 2);
		} else if (!options_done && arg[0] == '-' && arg[1]) {
			err = short_options(&state, arg + 1);
		} else if (flags & ARGP_NO_ARGS) {
			err = usage_error(&state, "%s", "Too many arguments");
		} else {
			err = positional(&state, arg);
		}
	}
	if (!err && state.arg_num == 0) {
		err = call(&state, ARGP_KEY_NO_ARGS, NULL);
		if (err == ARGP_ERR_UNKNOWN)
			err = 0;
	}
	if (!err) {
		err = call(&state, ARGP_KEY_END, NULL);
		if (err == ARGP_ERR_UNKNOWN)
			err = 0;
	}
	if (!err) {
		err = call(&state, ARGP_KEY_SUCCESS, NULL);
		if (err == ARGP_ERR_UNKNOWN)
			err = 0;
	} else {
		call(&state, ARGP_KEY_ERROR, NULL);
	}
	call(&state, ARGP_KEY_FINI, NULL);
	if (arg_index)
		*arg_index = state.next;
	return err;
}
