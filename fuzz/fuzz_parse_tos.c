/* SPDX-License-Identifier: ISC */
/*
 * parse_tos (-T): a TOS or DSCP name, case-insensitive, or a number 0-255.
 * The result is always a byte; a number means what parse_int says it means;
 * and since names ignore case and hex takes either case, the input in upper
 * case must give the same answer.
 */
#include <ctype.h>
#include <errno.h>

#include "fuzz.h"
#include "../parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *up;
	int tos = -12345, tos_up = -12345, num = -12345, rv, rv_up;
	size_t i;

	errno = 0;
	rv = parse_tos(s, &tos);
	if (rv == 0)
		CHECK(tos >= 0 && tos <= 255);
	else
		CHECK(rv == -1 && tos == -12345 &&
		    (errno == EINVAL || errno == ERANGE));

	/* A number is parsed as parse_int does (no name begins with a digit). */
	if (*s >= '0' && *s <= '9') {
		CHECK((parse_int(s, 0, 255, &num) == 0) == (rv == 0));
		if (rv == 0)
			CHECK(num == tos);
	}

	if ((up = strdup(s)) == NULL)
		abort();
	for (i = 0; up[i] != '\0'; i++)
		up[i] = (char)toupper((unsigned char)up[i]);
	rv_up = parse_tos(up, &tos_up);
	CHECK(rv_up == rv);
	if (rv == 0)
		CHECK(tos_up == tos);
	free(up);
	free(s);
	return 0;
}
