/* localtime() in the guest's or the host's time zone (see the SDK's
 * <time.h>): the host gives the offset at a moment (wit/time.wit), the C
 * library's gmtime_r() does the rest. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* Zone abbreviations handed out in tm_zone, kept for the guest's life as
 * glibc keeps its own; zones have few. */
struct abbreviation {
	struct abbreviation *next;
	char name[];
};

static const char *intern(const uint8_t *name, size_t len)
{
	static struct abbreviation *all;
	struct abbreviation *a;

	for (a = all; a; a = a->next)
		if (strlen(a->name) == len && !memcmp(a->name, name, len))
			return a->name;
	a = malloc(sizeof(*a) + len + 1);
	if (!a)
		return "UTC";
	memcpy(a->name, name, len);
	a->name[len] = '\0';
	a->next = all;
	all = a;
	return a->name;
}

struct tm *__wbpf_localtime_r(const time_t *__restrict t, struct tm *__restrict tm)
{
	const char *env = getenv("TZ");
	bpf_app_string_t tz = wbpf_str(env);
	wasm_bpf_bpf_local_time_zone_offset_t off = { 0 };
	wbpf_error_t e;
	const char *zone = "UTC";
	time_t local;

	if (!t || !tm) {
		errno = EINVAL;
		return NULL;
	}
	/* A TZ the host cannot read is UTC, as glibc takes it. */
	if (wasm_bpf_bpf_local_time_offset(env ? &tz : NULL, (int64_t)*t, &off, &e)) {
		zone = intern(off.abbreviation.ptr, off.abbreviation.len);
		bpf_app_string_free(&off.abbreviation);
	} else {
		wasm_bpf_bpf_types_error_free(&e);
	}
	local = *t + off.utc_offset;
	if (!gmtime_r(&local, tm))
		return NULL;
	tm->tm_isdst = off.dst;
	tm->__tm_gmtoff = off.utc_offset;
	tm->__tm_zone = zone;
	return tm;
}

struct tm *__wbpf_localtime(const time_t *t)
{
	static struct tm tm;

	return __wbpf_localtime_r(t, &tm);
}

void __wbpf_tzset(void)
{
}
