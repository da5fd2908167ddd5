/* SPDX-License-Identifier: ISC */
/*
 * parse_rate (--limit-rate): a decimal rate with an optional K, M or G.
 * An accepted rate is at least a byte a second and at most 2^50; a refusal
 * says EINVAL or ERANGE and leaves the result alone; the suffix's case
 * does not matter; and a plain whole number of up to 15 digits is read
 * exactly.
 */
#include <ctype.h>
#include <errno.h>

#include "fuzz.h"
#include "../parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *up, *end;
	double rate = -1, rate_up = -1;
	unsigned long long whole;
	size_t i, len = strlen(s);
	int rv, rv_up;

	errno = 0;
	rv = parse_rate(s, &rate);
	if (rv == 0)
		CHECK(rate >= 1 && rate <= 1125899906842624.0);
	else
		CHECK(rv == -1 && rate == -1 &&
		    (errno == EINVAL || errno == ERANGE));

	if ((up = strdup(s)) == NULL)
		abort();
	for (i = 0; up[i] != '\0'; i++)
		up[i] = (char)toupper((unsigned char)up[i]);
	rv_up = parse_rate(up, &rate_up);
	CHECK(rv_up == rv);
	if (rv == 0)
		CHECK(rate_up == rate);
	free(up);

	/* Digits only, short enough to be exact in a double. */
	if (len > 0 && len <= 15 && strspn(s, "0123456789") == len) {
		whole = strtoull(s, &end, 10);
		CHECK((rv == 0) == (whole >= 1));
		if (rv == 0)
			CHECK(rate == (double)whole);
	}
	free(s);
	return 0;
}
