/* SPDX-License-Identifier: ISC */
/*
 * socks4_reply_parse (-X 4, -X 4a): the 8-byte reply. Checked: success is
 * exactly version 0 with code 90; a shorter reply is never success; any
 * other verdict is PROXY_BAD or PROXY_REFUSED with a reason; the bytes
 * after the first 8 change nothing.
 */
#include "fuzz.h"
#include "../proxy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *b;
	char why[PROXY_WHY_MAX], why2[PROXY_WHY_MAX];
	int rv, rv8;

	/* An exact-size copy, so that ASan sees a read past the end. */
	if ((b = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(b, data, size);
	why[0] = '\0';
	rv = socks4_reply_parse(b, size, why, sizeof(why));
	CHECK(rv == PROXY_OK || rv == PROXY_BAD || rv == PROXY_REFUSED);
	if (size < SOCKS4_REPLY_LEN)
		CHECK(rv == PROXY_BAD);
	else
		CHECK((rv == PROXY_OK) == (b[0] == 0 && b[1] == 90));
	if (rv != PROXY_OK)
		CHECK(why[0] != '\0' && memchr(why, '\0', sizeof(why)) != NULL);
	if (size > SOCKS4_REPLY_LEN) {
		rv8 = socks4_reply_parse(b, SOCKS4_REPLY_LEN, why2,
		    sizeof(why2));
		CHECK(rv8 == rv);
	}
	free(b);
	return 0;
}
