/* argp's --help and --usage, laid out as glibc's are, byte for byte: the
 * same columns, the same order of options, and the same line wrapping
 * (including its quirks: a line that ends exactly at the margin is
 * followed by one of blanks), so that a tool's help reads as it does
 * natively and scripts that compare it keep working.
 *
 * glibc formats through a line-wrapping stream whose margins change as it
 * goes; `struct lines` below wraps the same way. Options are gathered as
 * glibc's "hol" does (an entry is an option with its aliases, a short
 * option belongs to the first entry that has it), sorted by group and
 * then by name, and printed in columns 2 (short), 6 (long) and 29 (doc). */
#define _GNU_SOURCE
#include <argp.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argp_help.h"

#define SHORT_OPT_COL 2
#define LONG_OPT_COL 6
#define DOC_OPT_COL 2
#define OPT_DOC_COL 29
#define HEADER_COL 1
#define USAGE_INDENT 12
#define RMARGIN 79

/* ---- a line-wrapping stream ---- */

/* glibc's stream buffers 200 bytes, flushes when a write does not fit (a
 * formatted one asks for 150), and wraps a line when its text is flushed
 * or a margin changes. Where a line's text ends exactly at the right
 * margin, it looks at the byte just past the text, left over from what
 * the buffer held before: the wrap depends on it. So the buffer here is
 * handled as glibc handles its own, flushes and leftovers included. */
#define BUF_SIZE 200
#define PRINTF_GUESS 150

struct lines {
	FILE *out;
	/* `cap` bytes (and a NUL past them); text up to `p`, wrapped up to
	 * `scanned`. */
	char *buf;
	long cap, p, scanned;
	/* The column of `scanned`; -1 right after a wrap with no wrap
	 * margin, where the left margin must not be added. */
	long point;
	long lmargin, wmargin, rmargin;
	bool failed;
};

static bool lines_init(struct lines *s, FILE *out)
{
	*s = (struct lines){ .out = out, .cap = BUF_SIZE, .rmargin = RMARGIN };
	s->buf = calloc(BUF_SIZE + 1, 1);
	return s->buf != NULL;
}

static int blank_at(const struct lines *s, long at)
{
	return at >= 0 && at <= s->cap && isblank((unsigned char)s->buf[at]);
}

/* Wraps the text written since the last call, with the margins now in
 * force: each line starts at the left margin, and a line that reaches
 * the right margin is broken before its last word, the rest continuing
 * after the wrap margin. */
static void update(struct lines *s)
{
	char *buf = s->buf, *found;
	long b = s->scanned, len, nl, p, next, i;

	while (b < s->p) {
		if (s->point == 0 && s->lmargin) {
			if (s->p + s->lmargin < s->cap) {
				memmove(buf + b + s->lmargin, buf + b, (size_t)(s->p - b));
				s->p += s->lmargin;
				memset(buf + b, ' ', (size_t)s->lmargin);
				b += s->lmargin;
			} else {
				for (i = 0; i < s->lmargin; i++)
					putc(' ', s->out);
			}
			s->point = s->lmargin;
		}
		len = s->p - b;
		found = memchr(buf + b, '\n', (size_t)len);
		if (s->point < 0)
			s->point = 0;
		if (!found) {
			if (s->point + len < s->rmargin) {
				s->point += len;
				break;
			}
			nl = s->p;
		} else {
			nl = found - buf;
			if (s->point + (nl - b) < s->rmargin) {
				s->point = 0;
				b = nl + 1;
				continue;
			}
		}

		/* Too long: back from the margin to a blank. */
		p = b + (s->rmargin - s->point);
		while (p >= b && !blank_at(s, p))
			p--;
		next = p + 1;
		if (next > b) {
			while (p >= b && blank_at(s, p))
				p--;
			nl = p + 1;
		} else {
			/* One word longer than a line: whole, on its own line. */
			p = b + (s->rmargin - s->point);
			do
				p++;
			while (p < nl && !blank_at(s, p));
			if (p == nl) {
				s->point = 0;
				b = nl + 1;
				continue;
			}
			nl = p;
			do
				p++;
			while (blank_at(s, p));
			next = p;
		}

		/* A newline in place of the blanks, then the wrap margin. */
		if ((next == b + len + 1 ? s->cap - nl < s->wmargin + 1 : next - (nl + 1) < s->wmargin) &&
		    s->p > next) {
			if (s->cap - s->p > s->wmargin + 1) {
				long mv = s->p - next;

				memmove(buf + nl + 1 + s->wmargin, buf + next, (size_t)mv);
				next = nl + 1 + s->wmargin;
				len = next + mv - b;
				buf[nl++] = '\n';
			} else {
				fwrite(buf, 1, (size_t)nl, s->out);
				putc('\n', s->out);
				len += b;
				nl = b = 0;
			}
		} else {
			buf[nl++] = '\n';
		}
		if (next - nl >= s->wmargin || (next == b + len + 1 && s->cap - next >= s->wmargin))
			for (i = 0; i < s->wmargin; i++)
				buf[nl++] = ' ';
		else
			for (i = 0; i < s->wmargin; i++)
				putc(' ', s->out);
		if (nl < next)
			memmove(buf + nl, buf + next, (size_t)(b + len - next));
		len -= next - b;
		b = nl;
		s->p = nl + len;
		s->point = s->wmargin ? s->wmargin : -1;
	}
	s->scanned = s->p;
}

/* Room for `n` more bytes: what is buffered is flushed first, and the
 * buffer grows if it is smaller than `n`. */
static bool ensure(struct lines *s, long n)
{
	char *grown;

	if (s->cap - s->p >= n)
		return true;
	update(s);
	fwrite(s->buf, 1, (size_t)s->p, s->out);
	s->p = s->scanned = 0;
	if (s->cap < n) {
		grown = realloc(s->buf, (size_t)(s->cap + n + 1));
		if (!grown) {
			s->failed = true;
			return false;
		}
		memset(grown + s->cap, 0, (size_t)n + 1);
		s->buf = grown;
		s->cap += n;
	}
	return true;
}

static size_t point(struct lines *s)
{
	if (s->p > s->scanned)
		update(s);
	return s->point >= 0 ? (size_t)s->point : 0;
}

static size_t set_lmargin(struct lines *s, size_t lmargin)
{
	size_t old = (size_t)s->lmargin;

	if (s->p > s->scanned)
		update(s);
	s->lmargin = (long)lmargin;
	return old;
}

static size_t set_wmargin(struct lines *s, size_t wmargin)
{
	size_t old = (size_t)s->wmargin;

	if (s->p > s->scanned)
		update(s);
	s->wmargin = (long)wmargin;
	return old;
}

static void write_text(struct lines *s, const char *text, size_t n)
{
	if (s->p + (long)n <= s->cap || ensure(s, (long)n)) {
		memcpy(s->buf + s->p, text, n);
		s->p += (long)n;
	}
}

static void puts_text(struct lines *s, const char *text)
{
	write_text(s, text, strlen(text));
}

static void putc_text(struct lines *s, char c)
{
	if (s->p < s->cap || ensure(s, 1))
		s->buf[s->p++] = c;
}

/* As glibc formats into its buffer: the terminating NUL is left past the
 * text, where the wrap may look. */
__attribute__((format(printf, 2, 3))) static void printf_text(struct lines *s, const char *fmt,
							       ...)
{
	long guess = PRINTF_GUESS, avail;
	va_list ap;
	int n;

	do {
		if (!ensure(s, guess))
			return;
		avail = s->cap - s->p;
		va_start(ap, fmt);
		n = vsnprintf(s->buf + s->p, (size_t)avail, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (n >= avail)
			guess = n + 1;
	} while (n >= avail);
	s->p += n;
}

static void lines_finish(struct lines *s)
{
	update(s);
	if (!s->failed && s->p)
		fwrite(s->buf, 1, (size_t)s->p, s->out);
	free(s->buf);
}

static void indent_to(struct lines *s, size_t col)
{
	size_t at = point(s);

	while (at++ < col)
		putc_text(s, ' ');
}

/* A blank, or a newline when fewer than `ensure` columns are left. */
static void space(struct lines *s, size_t ensure)
{
	putc_text(s, point(s) + ensure >= (size_t)s->rmargin ? '\n' : ' ');
}

/* ---- the options, as entries ---- */

/* argp_parse's own options: help and usage, version when the program has
 * one; all in group -1, printed last. */
static const struct argp_option default_options[] = {
	{ "help", '?', NULL, 0, "Give this help list", -1 },
	{ "usage", -3, NULL, 0, "Give a short usage message", 0 },
	{ 0 },
};
static const struct argp_option version_options[] = {
	{ "version", 'V', NULL, 0, "Print program version", -1 },
	{ 0 },
};

/* An option and its aliases. */
struct entry {
	const struct argp_option *opt;
	unsigned num;
	/* Where this entry's own short options start in `shorts`. */
	const char *short_options;
	int group;
	/* The order of declaration, so that equal entries keep it, as
	 * glibc's stable sort keeps it. */
	unsigned index;
};

struct hol {
	struct entry *entries;
	unsigned num;
	/* Every short option, each once: the first entry to have it owns it. */
	char *shorts;
};

static bool oend(const struct argp_option *o)
{
	return !o->key && !o->name && !o->doc && !o->group;
}

static bool oshort(const struct argp_option *o)
{
	return !(o->flags & OPTION_DOC) && o->key > 0 && o->key <= 0xff && isprint(o->key);
}

static bool ovisible(const struct argp_option *o)
{
	return !(o->flags & OPTION_HIDDEN);
}

/* Adds the entries of `opts`. */
static void hol_add(struct hol *hol, const struct argp_option *opts, size_t *nshorts)
{
	const struct argp_option *o = opts;
	int group = 0;

	while (o && !oend(o)) {
		struct entry *e = &hol->entries[hol->num];

		e->opt = o;
		e->num = 0;
		e->short_options = hol->shorts + *nshorts;
		e->index = hol->num;
		/* A header (no name, no key) starts a new group. */
		group = o->group ? o->group : (!o->name && !o->key) ? group + 1 : group;
		e->group = group;
		do {
			e->num++;
			if (oshort(o) && !memchr(hol->shorts, o->key, *nshorts))
				hol->shorts[(*nshorts)++] = (char)o->key;
			o++;
		} while (!oend(o) && (o->flags & OPTION_ALIAS));
		hol->num++;
	}
}

static size_t count(const struct argp_option *opts)
{
	size_t n = 0;

	while (opts && !oend(&opts[n]))
		n++;
	return n;
}

static bool hol_make(struct hol *hol, const struct argp *argp, unsigned state_flags)
{
	bool builtins = !(state_flags & ARGP_NO_HELP);
	size_t n = count(argp->options) + 3, nshorts = 0;

	hol->num = 0;
	hol->entries = calloc(n, sizeof(*hol->entries));
	hol->shorts = calloc(n + 1, 1);
	if (!hol->entries || !hol->shorts)
		return false;
	hol_add(hol, argp->options, &nshorts);
	if (builtins) {
		hol_add(hol, default_options, &nshorts);
		if (argp_program_version)
			hol_add(hol, version_options, &nshorts);
	}
	return true;
}

/* The entry's short options still its own, visible ones only. */
static char first_short(const struct entry *e)
{
	const char *so = e->short_options;
	unsigned i;

	for (i = 0; i < e->num; i++) {
		const struct argp_option *o = &e->opt[i];

		if (oshort(o) && *so == o->key) {
			if (ovisible(o))
				return (char)o->key;
			so++;
		}
	}
	return 0;
}

static const char *first_long(const struct entry *e)
{
	unsigned i;

	for (i = 0; i < e->num; i++)
		if (e->opt[i].name && ovisible(&e->opt[i]))
			return e->opt[i].name;
	return NULL;
}

/* Groups 0, 1, 2, ... come before -n, ..., -2, -1. */
static int group_cmp(int a, int b)
{
	if ((a < 0) == (b < 0))
		return a - b;
	return b - a;
}

/* For a documentation option: skips to what it sorts by; whether it
 * looks like no option at all (no leading '-'). */
static bool doc_non_option(const char **name)
{
	bool non_opt;

	while (isspace((unsigned char)**name))
		(*name)++;
	non_opt = **name != '-';
	while (**name && !isalnum((unsigned char)**name))
		(*name)++;
	return non_opt;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *e1 = a, *e2 = b;
	const char *long1 = first_long(e1), *long2 = first_long(e2);
	int doc1, doc2, short1, short2, cmp;
	unsigned char first1, first2;

	cmp = group_cmp(e1->group, e2->group);
	if (cmp)
		return cmp;
	/* Documentation entries that do not look like options come last. */
	doc1 = (e1->opt->flags & OPTION_DOC) && long1 && doc_non_option(&long1);
	doc2 = (e2->opt->flags & OPTION_DOC) && long2 && doc_non_option(&long2);
	if (doc1 != doc2)
		return doc1 - doc2;
	/* By first letter, case aside; lower case first; then short options
	 * before long-only ones, which go by name. */
	short1 = (unsigned char)first_short(e1);
	short2 = (unsigned char)first_short(e2);
	first1 = short1 ? (unsigned char)short1 : long1 ? (unsigned char)*long1 : 0;
	first2 = short2 ? (unsigned char)short2 : long2 ? (unsigned char)*long2 : 0;
	cmp = tolower(first1) - tolower(first2);
	if (cmp)
		return cmp;
	cmp = first2 - first1;
	if (cmp)
		return cmp;
	/* (glibc's comment says entries with a short option come first; its
	 * code, which this follows, puts them after.) */
	cmp = (short1 != 0) - (short2 != 0);
	if (cmp)
		return cmp;
	if (!short1) {
		cmp = (long1 != NULL) - (long2 != NULL);
		if (cmp)
			return cmp;
		if (long1) {
			cmp = strcasecmp(long1, long2);
			if (cmp)
				return cmp;
		}
	}
	return (int)e1->index - (int)e2->index;
}

/* ---- --help ---- */

struct help_state {
	const struct argp *argp;
	const struct argp_state *state;
	struct lines *out;
	const struct entry *prev;
	bool sep_groups;
	bool suppressed_dup_arg;
};

static const char *filtered(const struct help_state *h, int key, const char *doc)
{
	if (!h->argp->help_filter)
		return doc;
	return h->argp->help_filter(key, doc, h->state ? h->state->input : NULL);
}

static void done_with(const char *filtered_doc, const char *doc)
{
	if (filtered_doc != doc)
		free((char *)filtered_doc);
}

static void header(struct help_state *h, const char *text)
{
	const char *doc = filtered(h, ARGP_KEY_HELP_HEADER, text);

	if (doc && *doc) {
		if (h->prev)
			putc_text(h->out, '\n');
		indent_to(h->out, HEADER_COL);
		set_lmargin(h->out, HEADER_COL);
		set_wmargin(h->out, HEADER_COL);
		puts_text(h->out, doc);
		set_lmargin(h->out, 0);
		putc_text(h->out, '\n');
	}
	if (doc)
		h->sep_groups = true;
	done_with(doc, text);
}

/* Before the first name of an entry, a blank line between groups; before
 * the others, a comma. */
static void comma(struct help_state *h, const struct entry *e, bool *first, size_t col)
{
	if (*first) {
		if (h->sep_groups && h->prev && e->group != h->prev->group)
			putc_text(h->out, '\n');
		*first = false;
	} else {
		puts_text(h->out, ", ");
	}
	indent_to(h->out, col);
}

static void arg(struct lines *out, const struct argp_option *real, const char *req,
		const char *opt)
{
	if (real->arg)
		printf_text(out, (real->flags & OPTION_ARG_OPTIONAL) ? opt : req, real->arg);
}

static void entry_help(struct help_state *h, const struct entry *e)
{
	const struct argp_option *real = e->opt, *o;
	const char *so = e->short_options;
	struct lines *out = h->out;
	size_t old_lm = set_lmargin(out, 0), old_wm = out->wmargin, col;
	bool have_long = false, first = true;
	unsigned i;

	if (!(real->flags & OPTION_DOC))
		for (i = 0; i < e->num; i++)
			if (real[i].name && ovisible(&real[i]))
				have_long = true;

	set_wmargin(out, SHORT_OPT_COL);
	for (i = 0, o = real; i < e->num; i++, o++) {
		if (!oshort(o) || o->key != *so)
			continue;
		if (ovisible(o)) {
			comma(h, e, &first, SHORT_OPT_COL);
			putc_text(out, '-');
			putc_text(out, *so);
			/* The argument shows with the long option only. */
			if (!have_long)
				arg(out, real, " %s", "[%s]");
			else if (real->arg)
				h->suppressed_dup_arg = true;
		}
		so++;
	}
	set_wmargin(out, (real->flags & OPTION_DOC) ? DOC_OPT_COL : LONG_OPT_COL);
	for (i = 0, o = real; i < e->num; i++, o++) {
		if (!o->name || !ovisible(o))
			continue;
		if (real->flags & OPTION_DOC) {
			comma(h, e, &first, DOC_OPT_COL);
			puts_text(out, o->name);
		} else {
			comma(h, e, &first, LONG_OPT_COL);
			printf_text(out, "--%s", o->name);
			arg(out, real, "=%s", "[=%s]");
		}
	}
	set_lmargin(out, 0);

	if (first) {
		/* No name printed: a group header, or an option all hidden. */
		if (!oshort(real) && !real->name) {
			header(h, real->doc);
			h->prev = e;
		}
	} else {
		const char *doc = real->doc ? filtered(h, real->key, real->doc) : NULL;

		if (doc && *doc) {
			col = point(out);
			set_lmargin(out, OPT_DOC_COL);
			set_wmargin(out, OPT_DOC_COL);
			if (col > OPT_DOC_COL + 3)
				putc_text(out, '\n');
			else if (col >= OPT_DOC_COL)
				puts_text(out, "   ");
			else
				indent_to(out, OPT_DOC_COL);
			puts_text(out, doc);
		}
		if (doc)
			done_with(doc, real->doc);
		set_lmargin(out, 0);
		putc_text(out, '\n');
		h->prev = e;
	}
	set_lmargin(out, old_lm);
	set_wmargin(out, old_wm);
}

static void options_help(struct help_state *h, const struct hol *hol)
{
	static const char note[] = "Mandatory or optional arguments to long options are also "
				   "mandatory or optional for any corresponding short options.";
	const char *doc;
	unsigned i;

	for (i = 0; i < hol->num; i++)
		entry_help(h, &hol->entries[i]);
	if (h->suppressed_dup_arg) {
		doc = filtered(h, ARGP_KEY_HELP_DUP_ARGS_NOTE, note);
		if (doc && *doc) {
			putc_text(h->out, '\n');
			puts_text(h->out, doc);
			putc_text(h->out, '\n');
		}
		done_with(doc, note);
	}
}

/* ---- --usage ---- */

static void usage_options(struct lines *out, const struct hol *hol)
{
	char *argless = calloc(strlen(hol->shorts) + 1, 1);
	size_t n = 0;
	unsigned i, j;

	if (!argless)
		return;
	/* Short options without an argument, together; then those with one;
	 * then every long option. */
	for (i = 0; i < hol->num; i++) {
		const struct entry *e = &hol->entries[i];
		const struct argp_option *real = e->opt;
		const char *so = e->short_options;

		for (j = 0; j < e->num; j++) {
			const struct argp_option *o = &e->opt[j];

			if (!oshort(o) || o->key != *so)
				continue;
			if (!(o->flags & OPTION_ALIAS))
				real = o;
			if (ovisible(o) && !(o->arg || real->arg) &&
			    !((o->flags | real->flags) & OPTION_NO_USAGE))
				argless[n++] = (char)o->key;
			so++;
		}
	}
	if (n)
		printf_text(out, " [-%s]", argless);
	free(argless);
	for (i = 0; i < hol->num; i++) {
		const struct entry *e = &hol->entries[i];
		const struct argp_option *real = e->opt;
		const char *so = e->short_options;

		for (j = 0; j < e->num; j++) {
			const struct argp_option *o = &e->opt[j];
			const char *a = o->arg ? o->arg : real->arg;
			int flags;

			if (!oshort(o) || o->key != *so)
				continue;
			if (!(o->flags & OPTION_ALIAS))
				real = o;
			a = o->arg ? o->arg : real->arg;
			flags = o->flags | real->flags;
			so++;
			if (!ovisible(o) || !a || (flags & OPTION_NO_USAGE))
				continue;
			if (flags & OPTION_ARG_OPTIONAL) {
				printf_text(out, " [-%c[%s]]", o->key, a);
			} else {
				/* Wrapped here, not at the blank inside. */
				space(out, 6 + strlen(a));
				printf_text(out, "[-%c %s]", o->key, a);
			}
		}
	}
	for (i = 0; i < hol->num; i++) {
		const struct entry *e = &hol->entries[i];
		const struct argp_option *real = e->opt;

		for (j = 0; j < e->num; j++) {
			const struct argp_option *o = &e->opt[j];
			const char *a;
			int flags;

			if (!o->name)
				continue;
			if (!(o->flags & OPTION_ALIAS))
				real = o;
			if (!ovisible(o))
				continue;
			a = o->arg ? o->arg : real->arg;
			flags = o->flags | real->flags;
			if (flags & OPTION_NO_USAGE)
				continue;
			if (!a)
				printf_text(out, " [--%s]", o->name);
			else if (flags & OPTION_ARG_OPTIONAL)
				printf_text(out, " [--%s[=%s]]", o->name, a);
			else
				printf_text(out, " [--%s=%s]", o->name, a);
		}
	}
}

/* The arguments' part of usage line `level` (args_doc may hold one per
 * line); whether there is a line after it. */
static bool usage_args(struct help_state *h, unsigned level)
{
	const char *doc = filtered(h, ARGP_KEY_HELP_ARGS_DOC, h->argp->args_doc), *cp, *nl;
	bool more = false;
	unsigned i;

	if (doc) {
		cp = doc;
		nl = strchrnul(cp, '\n');
		for (i = 0; i < level && *nl; i++) {
			cp = nl + 1;
			nl = strchrnul(cp, '\n');
		}
		more = *nl != '\0';
		space(h->out, 1 + (size_t)(nl - cp));
		write_text(h->out, cp, (size_t)(nl - cp));
	}
	done_with(doc, h->argp->args_doc);
	return more;
}

/* ---- the text before and after the options ---- */

/* The doc before '\v' (or all of it), or after it; whether any. */
static bool doc_text(struct help_state *h, bool post, bool pre_blank)
{
	const char *doc = h->argp->doc, *vt = doc ? strchr(doc, '\v') : NULL;
	const char *text = post ? (vt ? vt + 1 : NULL) : doc;
	size_t limit = (!post && vt) ? (size_t)(vt - doc) : 0;
	const char *shown = text;
	char *copy = NULL;

	if (h->argp->help_filter) {
		if (text && limit)
			text = copy = strndup(text, limit);
		shown = filtered(h, post ? ARGP_KEY_HELP_POST_DOC : ARGP_KEY_HELP_PRE_DOC, text);
	}
	if (!shown) {
		free(copy);
		return false;
	}
	if (pre_blank)
		putc_text(h->out, '\n');
	if (shown == text && limit && !copy)
		write_text(h->out, text, limit);
	else
		puts_text(h->out, shown);
	if (point(h->out) > (size_t)h->out->lmargin)
		putc_text(h->out, '\n');
	done_with(shown, text);
	free(copy);
	return true;
}

void wbpf_argp_help(const struct argp *argp, const struct argp_state *state, FILE *stream,
		    unsigned flags, const char *name)
{
	struct lines out;
	struct help_state h = { .argp = argp, .state = state, .out = &out };
	struct hol hol = { 0 };
	unsigned level = 0;
	bool anything = false, more, made = false;
	size_t old_lm, old_wm;

	if (!stream || !lines_init(&out, stream))
		return;
	if (flags & (ARGP_HELP_USAGE | ARGP_HELP_SHORT_USAGE | ARGP_HELP_LONG)) {
		made = hol_make(&hol, argp, state ? state->flags : 0);
		if (!made)
			goto out;
		qsort(hol.entries, hol.num, sizeof(*hol.entries), entry_cmp);
	}
	if (flags & (ARGP_HELP_USAGE | ARGP_HELP_SHORT_USAGE)) {
		do {
			old_wm = set_wmargin(&out, USAGE_INDENT);
			printf_text(&out, "%s %s", level ? "  or: " : "Usage:", name);
			old_lm = set_lmargin(&out, USAGE_INDENT);
			if (flags & ARGP_HELP_SHORT_USAGE) {
				if (hol.num)
					puts_text(&out, " [OPTION...]");
			} else {
				usage_options(&out, &hol);
				flags |= ARGP_HELP_SHORT_USAGE;
			}
			more = usage_args(&h, level++);
			set_wmargin(&out, old_wm);
			set_lmargin(&out, old_lm);
			putc_text(&out, '\n');
			anything = true;
		} while (more);
	}
	if (flags & ARGP_HELP_PRE_DOC)
		anything |= doc_text(&h, false, false);
	if (flags & ARGP_HELP_SEE) {
		printf_text(&out, "Try `%s --help' or `%s --usage' for more information.\n", name,
			    name);
		anything = true;
	}
	if ((flags & ARGP_HELP_LONG) && hol.num) {
		if (anything)
			putc_text(&out, '\n');
		options_help(&h, &hol);
		anything = true;
	}
	if (flags & ARGP_HELP_POST_DOC)
		anything |= doc_text(&h, true, anything);
	if ((flags & ARGP_HELP_BUG_ADDR) && argp_program_bug_address) {
		if (anything)
			putc_text(&out, '\n');
		printf_text(&out, "Report bugs to %s.\n", argp_program_bug_address);
	}
out:
	lines_finish(&out);
	free(hol.entries);
	free(hol.shorts);
	fflush(stream);
}
