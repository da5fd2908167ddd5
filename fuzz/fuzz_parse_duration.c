/* SPDX-License-Identifier: ISC */
/*
 * parse_duration (-w, -q, -i, --wait): decimal seconds with an optional
 * fraction, into milliseconds rounded up, at most a million seconds.
 * Checked against a reference that reads the same grammar digit by digit:
 * the same inputs are accepted, with the same value, and a result never
 * exceeds 1e9 ms.
 */
#include <errno.h>

#include "fuzz.h"
#include "../parse.h"

#define MAX_MS	1000000000LL

enum ref { REF_OK, REF_INVALID, REF_RANGE };

/* digits [. digits], at least one digit; ms rounded up. */
static enum ref
reference(const char *s, long long *ms)
{
	const char *p = s, *int_start, *frac_start;
	size_t int_len = 0, frac_len = 0, i;
	long long whole = 0, frac = 0;
	bool finer = false;

	int_start = p;
	while (*p >= '0' && *p <= '9')
		p++;
	int_len = (size_t)(p - int_start);
	frac_start = p;
	if (*p == '.') {
		frac_start = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		frac_len = (size_t)(p - frac_start);
	}
	if (*p != '\0' || int_len + frac_len == 0)
		return REF_INVALID;
	/* Leading zeros do not count; more than 7 digits is too much. */
	while (int_len > 0 && *int_start == '0') {
		int_start++;
		int_len--;
	}
	if (int_len > 7)
		return REF_RANGE;
	for (i = 0; i < int_len; i++)
		whole = whole * 10 + (int_start[i] - '0');
	for (i = 0; i < 3; i++)
		frac = frac * 10 + (i < frac_len ? frac_start[i] - '0' : 0);
	for (i = 3; i < frac_len; i++)
		if (frac_start[i] != '0')
			finer = true;
	*ms = whole * 1000 + frac + (finer ? 1 : 0);
	return *ms > MAX_MS ? REF_RANGE : REF_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	long long ms = -12345, want = -1;
	enum ref r;
	int rv;

	errno = 0;
	rv = parse_duration(s, &ms);
	r = reference(s, &want);
	if (rv == 0) {
		CHECK(ms >= 0 && ms <= MAX_MS);
		CHECK(r == REF_OK);
		CHECK(ms == want);
	} else {
		CHECK(rv == -1);
		CHECK(errno == EINVAL || errno == ERANGE);
		CHECK(ms == -12345);	/* untouched on failure */
		CHECK(r != REF_OK);
		/* A well-formed number is only refused for its size. */
		if (r == REF_RANGE)
			CHECK(errno == ERANGE);
	}
	free(s);
	return 0;
}
