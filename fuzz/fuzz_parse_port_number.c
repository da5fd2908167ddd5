/* SPDX-License-Identifier: ISC */
/*
 * parse_port_number (port operands, -p): decimal digits only, 0-65535.
 * Checked against a reference: the same inputs are accepted with the same
 * value, EINVAL for a non-number, ERANGE for a number that is too big.
 */
#include <errno.h>

#include "fuzz.h"
#include "../parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	const char *p;
	int port = -12345, rv;
	bool digits = *s != '\0';
	long want = 0;

	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			digits = false;
			break;
		}
		if (want <= 65535)
			want = want * 10 + (*p - '0');
	}
	/* want: the value of the leading digits, saturated past 65535. */
	errno = 0;
	rv = parse_port_number(s, &port);
	if (rv == 0) {
		CHECK(port >= 0 && port <= 65535);
		CHECK(digits && port == want);
	} else {
		CHECK(rv == -1 && port == -12345);
		/*
		 * ERANGE only for a number too big; it may be reported before
		 * a later non-digit is seen ("70000x").
		 */
		if (digits)
			CHECK(errno == ERANGE && want > 65535);
		else
			CHECK(errno == EINVAL ||
			    (errno == ERANGE && want > 65535));
	}
	free(s);
	return 0;
}
