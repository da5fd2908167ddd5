/* SPDX-License-Identifier: ISC */
/*
 * parse_int (-I, -O, -M, --max-conns, -T numbers): a whole number in
 * decimal, or hex after 0x, never octal, from min to max. Every input is
 * tried with the min/max pairs sock uses (and a few edge pairs) and checked
 * against a reference: the value, and EINVAL for a non-number versus ERANGE
 * for a number outside the bounds.
 */
#include <sys/select.h>

#include <errno.h>
#include <limits.h>

#include "fuzz.h"
#include "../parse.h"

static const struct {
	long	min, max;
} bounds[] = {
	{ 1, INT_MAX / 2 },		/* -I, -O */
	{ 1, 255 },			/* -M */
	{ 0, 255 },			/* -T */
	{ 1, FD_SETSIZE - 24 },		/* --max-conns */
	{ 0, INT_MAX },
	{ 0, 0 },
	{ 7, 7 },
	{ 10, 5 }			/* empty: nothing is in range */
};

enum ref { REF_OK, REF_INVALID, REF_BIG };

/* [0-9]+ in decimal or 0[xX][0-9a-fA-F]+ in hex; *v saturates. */
static enum ref
reference(const char *s, unsigned long long *v)
{
	const char *p = s;
	unsigned base = 10, d;
	bool big = false;

	*v = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (*p == '\0')
		return REF_INVALID;
	for (; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return REF_INVALID;
		if (big || *v > ((unsigned long long)LONG_MAX - d) / base)
			big = true;
		else
			*v = *v * base + d;
	}
	return big ? REF_BIG : REF_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	unsigned long long want;
	enum ref r = reference(s, &want);
	size_t i;
	int out, rv;
	bool in;

	for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		out = -12345;
		errno = 0;
		rv = parse_int(s, bounds[i].min, bounds[i].max, &out);
		in = r == REF_OK && (long long)want >= bounds[i].min &&
		    (long long)want <= bounds[i].max;
		if (rv == 0) {
			CHECK(in);
			CHECK(out >= bounds[i].min && out <= bounds[i].max);
			CHECK((unsigned long long)out == want);
		} else {
			CHECK(rv == -1 && out == -12345 && !in);
			CHECK(errno == (r == REF_INVALID ? EINVAL : ERANGE));
		}
	}
	free(s);
	return 0;
}
