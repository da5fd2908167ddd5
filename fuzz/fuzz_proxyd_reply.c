/* SPDX-License-Identifier: ISC */
/*
 * The proxy server's replies (proxyd.c) after any request, complete or
 * not: the success reply for any bound address and the failure reply for
 * any errno must be well formed for the protocol the client spoke (SOCKS4:
 * 8 bytes, VN 0 and 90 or 91; SOCKS5: VER 5 and a reply code 0-8; HTTP: a
 * status line and an empty line) and small.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>

#include "fuzz.h"
#include "../proxyd.h"

static void
check_reply(enum proxyd_kind kind, const char *r, size_t len, bool ok)
{
	switch (kind) {
	case PROXYD_SOCKS4:
		CHECK(len == 8 && r[0] == 0 &&
		    (unsigned char)r[1] == (ok ? 0x5a : 0x5b));
		break;
	case PROXYD_SOCKS5:
		CHECK(len == 0 || len == 10 || len == 22);
		if (len > 0) {
			CHECK(r[0] == 5 && r[2] == 0);
			CHECK(ok ? r[1] == 0 : (r[1] >= 1 && r[1] <= 8));
		}
		break;
	case PROXYD_HTTP_CONNECT:
		CHECK(len > 12 && memcmp(r, "HTTP/1.1 ", 9) == 0);
		CHECK(memcmp(r + len - 4, "\r\n\r\n", 4) == 0);
		break;
	case PROXYD_HTTP:
		CHECK(ok ? len == 0 : (len > 12 &&
		    memcmp(r, "HTTP/1.1 ", 9) == 0));
		break;
	case PROXYD_UNKNOWN:
		CHECK(len == 0);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int errors[] = { ECONNREFUSED, ENETUNREACH,
	    EHOSTUNREACH, ETIMEDOUT, EACCES, 0 };
	struct sockaddr_storage ss;
	struct proxyd_target t;
	struct proxyd *p;
	char *reply;
	size_t len, n;
	int r, e;

	if (size < 4)
		return 0;
	if ((p = proxyd_new(data[0] & 1 ? "u" : NULL, "p")) == NULL)
		abort();
	e = errors[data[1] % (sizeof(errors) / sizeof(errors[0]))];
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = data[2] & 1 ? AF_INET6 : AF_INET;
	memcpy((char *)&ss + 2, data + 3, size - 3 < sizeof(ss) - 2 ?
	    size - 3 : sizeof(ss) - 2);
	data += 3;
	size -= 3;
	n = size < proxyd_room(p) ? size : proxyd_room(p);
	r = proxyd_input(p, data, n, &reply, &len);
	free(reply);
	proxyd_target(p, &t);
	if (r == PROXYD_DONE) {
		if (proxyd_success(p, (struct sockaddr *)&ss, ss.ss_family ==
		    AF_INET6 ? sizeof(struct sockaddr_in6) :
		    sizeof(struct sockaddr_in), &reply, &len) == -1)
			abort();
		check_reply(t.kind, reply, len, true);
		free(reply);
	}
	if (proxyd_failure(p, e, &reply, &len) == -1)
		abort();
	CHECK(len <= 512);
	if (r == PROXYD_DONE)
		check_reply(t.kind, reply, len, false);
	free(reply);
	proxyd_free(p);
	return 0;
}
