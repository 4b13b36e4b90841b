/* glibc's argp for tools' option parsing (see <argp.h>). Messages, help
 * layout and exit statuses follow glibc's, so a tool's --help and usage
 * errors read as they do natively. */
#include <argp.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

__attribute__((weak)) const char *argp_program_version;
__attribute__((weak)) const char *argp_program_bug_address;
error_t argp_err_exit_status = 64;

/* Keys of the built-in options, outside any character's range. */
#define KEY_HELP '?'
#define KEY_USAGE -3
#define KEY_VERSION 'V'

/* Where help puts an option's text, and where it wraps. */
#define DOC_COLUMN 29
#define RIGHT_MARGIN 79

static const struct argp_option builtin_options[] = {
	{ "help", KEY_HELP, NULL, 0, "Give this help list", -1 },
	{ "usage", KEY_USAGE, NULL, 0, "Give a short usage message", -1 },
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

static bool is_short(int key)
{
	return key > 0 && key < 256 && isprint(key);
}

static bool builtin_wanted(const struct argp_state *state, const struct argp_option *o)
{
	if (state->flags & ARGP_NO_HELP)
		return false;
	return o->key != KEY_VERSION || argp_program_version;
}

/* ---- help ---- */

/* One printed entry: an option and its aliases, in a group. */
struct entry {
	const struct argp_option *first;
	int count;
	int group;
	int order;
};

/* Writes `text` wrapped at the right margin, each line indented to
 * `indent`; the first line starts at column `col`. */
static void wrap(FILE *out, const char *text, int col, int indent)
{
	while (*text) {
		const char *end = text, *brk = NULL;
		int width = RIGHT_MARGIN - col;

		while (*end && *end != '\n' && end - text < width) {
			if (*end == ' ')
				brk = end;
			end++;
		}
		if (*end && *end != '\n' && brk)
			end = brk;
		fprintf(out, "%.*s\n", (int)(end - text), text);
		text = end;
		while (*text == ' ')
			text++;
		if (*text == '\n')
			text++;
		if (*text)
			fprintf(out, "%*s", indent, "");
		col = indent;
	}
}

static int group_rank(int group)
{
	/* Groups 0, 1, 2 ... come first, then the negative ones (-1, the
	 * built-in options, last). */
	return group >= 0 ? group : 1000000 - group;
}

static const char *sort_name(const struct entry *e)
{
	static char one[2];
	int i;

	for (i = 0; i < e->count; i++)
		if (is_short(e->first[i].key)) {
			one[0] = (char)e->first[i].key;
			return one;
		}
	return e->first->name ? e->first->name : "";
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	char nx[64], ny[64];
	int r;

	if (group_rank(x->group) != group_rank(y->group))
		return group_rank(x->group) - group_rank(y->group);
	/* A group header stays at its group's head. */
	if (is_header(x->first) != is_header(y->first))
		return is_header(x->first) ? -1 : 1;
	snprintf(nx, sizeof(nx), "%s", sort_name(x));
	snprintf(ny, sizeof(ny), "%s", sort_name(y));
	r = strcasecmp(nx, ny);
	return r ? r : x->order - y->order;
}

/* The entries of `options` (aliases folded into their option) appended
 * to `out` from `n`; returns the new count. */
static int collect(const struct argp_option *options, struct entry *out, int n, int *group)
{
	const struct argp_option *o;

	for (o = options; o && !is_end(o); o++) {
		if (is_header(o))
			*group = o->group ? o->group : *group + 1;
		else if (o->group)
			*group = o->group;
		if ((o->flags & OPTION_ALIAS) && n > 0 && !is_header(o)) {
			out[n - 1].count++;
			continue;
		}
		out[n] = (struct entry){ .first = o, .count = 1, .group = *group, .order = n };
		n++;
	}
	return n;
}

static int count_options(const struct argp_option *options)
{
	int n = 0;

	while (options && !is_end(&options[n]))
		n++;
	return n;
}

static void print_entry(FILE *out, const struct entry *e)
{
	const struct argp_option *o = e->first;
	const char *arg = NULL;
	bool optional = false, any = false;
	int i, col = 2;

	if (o->flags & OPTION_HIDDEN)
		return;
	if (is_header(o)) {
		fprintf(out, "\n %s\n", o->doc);
		return;
	}
	fprintf(out, "  ");
	for (i = 0; i < e->count; i++) {
		if (o[i].arg) {
			arg = o[i].arg;
			optional = o[i].flags & OPTION_ARG_OPTIONAL;
		}
	}
	for (i = 0; i < e->count; i++) {
		if (!is_short(o[i].key) || (o[i].flags & OPTION_HIDDEN))
			continue;
		col += fprintf(out, "%s-%c", any ? ", " : "", o[i].key);
		any = true;
		if (arg && !o[i].name && e->count == 1)
			col += fprintf(out, optional ? "[%s]" : " %s", arg);
	}
	for (i = 0; i < e->count; i++) {
		if (!o[i].name || (o[i].flags & OPTION_HIDDEN))
			continue;
		if (!any)
			col += fprintf(out, "    ");
		col += fprintf(out, "%s--%s", any ? ", " : "", o[i].name);
		any = true;
		if (arg)
			col += fprintf(out, optional ? "[=%s]" : "=%s", arg);
	}
	if (!o->doc || !*o->doc) {
		fprintf(out, "\n");
		return;
	}
	if (col >= DOC_COLUMN - 1) {
		fprintf(out, "\n");
		col = 0;
	}
	fprintf(out, "%*s", DOC_COLUMN - col, "");
	wrap(out, o->doc, DOC_COLUMN, DOC_COLUMN);
}

static void print_options(FILE *out, const struct argp *argp, unsigned state_flags)
{
	int n = count_options(argp->options) + 3, group = 0, count, i;
	struct entry *entries = calloc((size_t)n, sizeof(*entries));
	bool optional = false;

	if (!entries)
		return;
	count = collect(argp->options, entries, 0, &group);
	for (i = 0; i < 3 && !(state_flags & ARGP_NO_HELP); i++) {
		if (builtin_options[i].key == KEY_VERSION && !argp_program_version)
			continue;
		entries[count] = (struct entry){
			.first = &builtin_options[i], .count = 1, .group = -1, .order = count
		};
		count++;
	}
	qsort(entries, (size_t)count, sizeof(*entries), entry_cmp);
	for (i = 0; i < count; i++) {
		if (i > 0 && entries[i].group != entries[i - 1].group && !is_header(entries[i].first))
			fprintf(out, "\n");
		print_entry(out, &entries[i]);
	}
	for (i = 0; argp->options && !is_end(&argp->options[i]); i++)
		if (argp->options[i].arg && argp->options[i].name)
			optional = true;
	if (optional)
		fprintf(out, "\nMandatory or optional arguments to long options are also mandatory or "
			     "optional\nfor any corresponding short options.\n");
	free(entries);
}

/* The doc before ('\v') or after the options. */
static void print_doc(FILE *out, const char *doc, bool post)
{
	const char *split;

	if (!doc)
		return;
	split = strchr(doc, '\v');
	if (post) {
		if (split && split[1]) {
			fprintf(out, "\n");
			wrap(out, split + 1, 0, 0);
		}
		return;
	}
	if (split != doc)
		wrap(out, doc, 0, 0);
}

static void print_usage(FILE *out, const struct argp *argp, const char *name, bool full)
{
	const struct argp_option *o;
	int col;

	if (!full) {
		fprintf(out, "Usage: %s [OPTION...]%s%s\n", name, argp->args_doc ? " " : "",
			argp->args_doc ? argp->args_doc : "");
		return;
	}
	col = fprintf(out, "Usage: %s", name);
	for (o = argp->options; o && !is_end(o); o++) {
		char item[128];

		if (is_header(o) || (o->flags & (OPTION_HIDDEN | OPTION_NO_USAGE | OPTION_DOC)))
			continue;
		if (is_short(o->key) && o->arg)
			snprintf(item, sizeof(item), "[-%c %s]", o->key, o->arg);
		else if (is_short(o->key))
			snprintf(item, sizeof(item), "[-%c]", o->key);
		else
			item[0] = '\0';
		if (item[0]) {
			if (col + 1 + (int)strlen(item) > RIGHT_MARGIN)
				col = fprintf(out, "\n%*s", 12, "") - 1;
			col += fprintf(out, " %s", item);
		}
		if (o->name) {
			if (o->arg)
				snprintf(item, sizeof(item), (o->flags & OPTION_ARG_OPTIONAL) ?
								     "[--%s[=%s]]" : "[--%s=%s]",
					 o->name, o->arg);
			else
				snprintf(item, sizeof(item), "[--%s]", o->name);
			if (col + 1 + (int)strlen(item) > RIGHT_MARGIN)
				col = fprintf(out, "\n%*s", 12, "") - 1;
			col += fprintf(out, " %s", item);
		}
	}
	if (argp->args_doc)
		fprintf(out, " %s", argp->args_doc);
	fprintf(out, "\n");
}

static void help(const struct argp *argp, FILE *out, unsigned flags, const char *name,
		 unsigned state_flags)
{
	if (flags & ARGP_HELP_SHORT_USAGE)
		print_usage(out, argp, name, false);
	if (flags & ARGP_HELP_USAGE)
		print_usage(out, argp, name, true);
	if (flags & ARGP_HELP_PRE_DOC)
		print_doc(out, argp->doc, false);
	if (flags & ARGP_HELP_SEE)
		fprintf(out, "Try `%s --help' or `%s --usage' for more information.\n", name,
			name);
	if (flags & ARGP_HELP_LONG) {
		if (flags & ARGP_HELP_PRE_DOC)
			fprintf(out, "\n");
		print_options(out, argp, state_flags);
	}
	if (flags & ARGP_HELP_POST_DOC)
		print_doc(out, argp->doc, true);
	if ((flags & ARGP_HELP_BUG_ADDR) && argp_program_bug_address)
		fprintf(out, "\nReport bugs to %s.\n", argp_program_bug_address);
	fflush(out);
}

void argp_help(const struct argp *argp, FILE *stream, unsigned flags, char *name)
{
	help(argp, stream, flags, name, 0);
}

void argp_state_help(const struct argp_state *state, FILE *stream, unsigned flags)
{
	if (state && (state->flags & ARGP_NO_ERRS) && stream == state->err_stream)
		return;
	if (stream)
		help(state->root_argp, stream, flags, state->name, state->flags);
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
			found = o;
		}
	return *ambiguous ? NULL : found;
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

static error_t builtin(struct argp_state *state, int key)
{
	switch (key) {
	case KEY_HELP:
		argp_state_help(state, state->out_stream, ARGP_HELP_STD_HELP);
		return 0;
	case KEY_USAGE:
		argp_state_help(state, state->out_stream, ARGP_HELP_USAGE | ARGP_HELP_EXIT_OK);
		return 0;
	default:
		fprintf(state->out_stream, "%s\n", argp_program_version);
		fflush(state->out_stream);
		if (!(state->flags & ARGP_NO_EXIT))
			exit(0);
		return 0;
	}
}

static error_t option(struct argp_state *state, const struct argp_option *o, char *arg)
{
	int key = key_of(state, o);
	error_t err;

	if (o == &builtin_options[0] || o == &builtin_options[1] || o == &builtin_options[2]) {
		err = call(state, key, arg);
		return err == ARGP_ERR_UNKNOWN ? builtin(state, key) : err;
	}
	err = call(state, key, arg);
	if (err == ARGP_ERR_UNKNOWN)
		return usage_error(state, "unrecognized option '%s'", state->argv[state->next - 1]);
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
	if (!o)
		return usage_error(state,
				   ambiguous ? "option '%s' is ambiguous" : "unrecognized option '%s'",
				   state->argv[state->next - 1]);
	if (!o->arg && arg)
		return usage_error(state, "option '--%s' doesn't allow an argument", o->name);
	if (o->arg && !arg && !(o->flags & OPTION_ARG_OPTIONAL)) {
		if (state->next >= state->argc)
			return usage_error(state, "option '--%s' requires an argument", o->name);
		arg = state->argv[state->next++];
	}
	return option(state, o, arg);
}

static error_t short_options(struct argp_state *state, char *text)
{
	for (; *text; text++) {
		const struct argp_option *o = find_short(state, (unsigned char)*text);
		char one[2] = { *text, 0 };
		char *arg = NULL;
		error_t err;

		if (!o)
			return usage_error(state, "invalid option -- '%s'", one);
		if (o->arg) {
			if (text[1])
				arg = text + 1;
			else if (!(o->flags & OPTION_ARG_OPTIONAL)) {
				if (state->next >= state->argc)
					return usage_error(
						state, "option requires an argument -- '%s'", one);
				arg = state->argv[state->next++];
			}
		}
		err = option(state, o, arg);
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

static const char *short_name(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	return slash ? slash + 1 : argv0 ? argv0 : "";
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
