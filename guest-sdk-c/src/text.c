/* UTF-8 validation with replacement, after the Unicode standard's
 * "maximal subpart" practice (section 3.9, table 3-7): an ill-formed
 * sequence's longest valid prefix becomes one U+FFFD, and decoding resumes
 * at the first byte that did not fit. */
#include <string.h>

#include <wasm_bpf/text.h>

static const char replacement[] = "\xef\xbf\xbd";

/* The length of a well-formed sequence starting with `lead`, and the range
 * its second byte must be in; 0 when `lead` starts none. */
static size_t sequence(unsigned char lead, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (lead >= 0xc2 && lead <= 0xdf)
		return 2;
	if (lead >= 0xe0 && lead <= 0xef) {
		if (lead == 0xe0)
			*lo = 0xa0; /* no overlong forms */
		if (lead == 0xed)
			*hi = 0x9f; /* no surrogates */
		return 3;
	}
	if (lead >= 0xf0 && lead <= 0xf4) {
		if (lead == 0xf0)
			*lo = 0x90;
		if (lead == 0xf4)
			*hi = 0x8f; /* nothing past U+10FFFF */
		return 4;
	}
	return 0;
}

size_t wasm_bpf_text(const char *buf, size_t len, char *out)
{
	const unsigned char *in = (const unsigned char *)buf;
	size_t end = strnlen(buf, len), i = 0, n = 0;

	while (i < end) {
		unsigned char lo, hi;
		size_t need, got = 1;

		if (in[i] < 0x80) {
			out[n++] = (char)in[i++];
			continue;
		}
		need = sequence(in[i], &lo, &hi);
		while (got < need && i + got < end && in[i + got] >= lo && in[i + got] <= hi) {
			got++;
			lo = 0x80;
			hi = 0xbf;
		}
		if (need && got == need) {
			memcpy(out + n, in + i, need);
			n += need;
		} else {
			memcpy(out + n, replacement, 3);
			n += 3;
		}
		i += got;
	}
	return n;
}
