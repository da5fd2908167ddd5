/* SPDX-License-Identifier: ISC */
/*
 * The SOCKS5 reply parsers (-x, the default type): the first byte picks
 * which one gets the rest, so that one corpus covers the method reply,
 * the RFC 1929 status and the reply to CONNECT. Checked for the reply to
 * CONNECT: PROXY_MORE asks for more than it was given and never more than
 * the longest reply (262 bytes); PROXY_OK holds exactly when the header
 * says success and r->need bytes are there, and the bytes after those
 * change nothing; every shorter prefix of a complete reply is PROXY_MORE
 * or the same early verdict; the bound address is a NUL-terminated string.
 * For the method reply: success only with a method that was offered.
 */
#include "fuzz.h"
#include "../proxy.h"

#define SOCKS5_REPLY_MAX (4 + 1 + 255 + 2)

static void
check_connect_reply(const unsigned char *b, size_t n)
{
	struct socks5_reply r, r2;
	char why[PROXY_WHY_MAX], why2[PROXY_WHY_MAX];
	size_t k;
	int rv, rv2;

	why[0] = '\0';
	rv = socks5_reply_parse(b, n, &r, why, sizeof(why));
	CHECK(rv == PROXY_OK || rv == PROXY_MORE || rv == PROXY_BAD ||
	    rv == PROXY_REFUSED);
	CHECK(r.need >= 4 && r.need <= SOCKS5_REPLY_MAX);
	if (rv == PROXY_MORE)
		CHECK(r.need > n);
	if (rv == PROXY_OK) {
		CHECK(r.need <= n && b[0] == 5 && b[1] == 0 && b[2] == 0);
		CHECK(memchr(r.bound, '\0', sizeof(r.bound)) != NULL);
		CHECK(r.port >= 0 && r.port <= 65535);
		/* What follows the reply is not the parser's. */
		rv2 = socks5_reply_parse(b, r.need, &r2, why2, sizeof(why2));
		CHECK(rv2 == PROXY_OK && r2.need == r.need &&
		    r2.port == r.port && strcmp(r2.bound, r.bound) == 0);
	}
	if (rv == PROXY_REFUSED)
		CHECK(n >= 4 && b[0] == 5 && b[1] >= 1 && b[1] <= 8 &&
		    r.rep == b[1]);
	if (rv == PROXY_BAD || rv == PROXY_REFUSED)
		CHECK(why[0] != '\0' && memchr(why, '\0', sizeof(why)) != NULL);
	/* A prefix is incomplete, or already judged the same way. */
	for (k = 0; k < n && k < r.need; k++) {
		rv2 = socks5_reply_parse(b, k, &r2, why2, sizeof(why2));
		CHECK(rv2 == PROXY_MORE || rv2 == rv);
		if (rv == PROXY_OK)
			CHECK(rv2 == PROXY_MORE);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *b;
	char why[PROXY_WHY_MAX];
	int method = -1, rv;

	if (size < 1)
		return 0;
	if ((b = malloc(size - 1 > 0 ? size - 1 : 1)) == NULL)
		abort();
	memcpy(b, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		check_connect_reply(b, size - 1);
		break;
	case 1:
		rv = socks5_method_parse(b, size - 1, data[0] & 4, &method, why,
		    sizeof(why));
		CHECK(rv == PROXY_OK || rv == PROXY_BAD || rv == PROXY_REFUSED);
		if (rv == PROXY_OK)
			CHECK(size - 1 >= 2 && b[0] == 5 && b[1] == method &&
			    (method == SOCKS5_NO_AUTH || ((data[0] & 4) &&
			    method == SOCKS5_USERPASS)));
		else
			CHECK(method == -1);
		break;
	default:
		rv = socks5_auth_parse(b, size - 1, why, sizeof(why));
		CHECK(rv == PROXY_OK || rv == PROXY_BAD || rv == PROXY_REFUSED);
		CHECK((rv == PROXY_OK) == (size - 1 >= 2 && b[0] == 1 &&
		    b[1] == 0));
		break;
	}
	free(b);
	return 0;
}
