/* SPDX-License-Identifier: ISC */
/*
 * The proxy server's request parser (proxyd.c), fed any bytes cut at any
 * points. The first byte picks whether a user and password are required
 * and, with the second, where the input is cut. Contracts: the parser
 * never takes more than proxyd_room, says MORE, DONE or FAIL and nothing
 * after the end; a request parsed in pieces is the one parsed whole (the
 * same answer, the same replies in the same order, the same target and
 * the same bytes for the origin, of which the pieces may have brought
 * less of what follows the request); a target is a host of 1-255 bytes and a
 * port 1-65535 (0 too for a SOCKS5 UDP ASSOCIATE, the only kind of request
 * that may be one); a rewritten HTTP head is origin-form and ends with
 * Connection: close, with no Proxy-* header left.
 */
#include <strings.h>

#include <errno.h>

#include "fuzz.h"
#include "../proxyd.h"

struct outcome {
	int		 r;
	char		*replies;
	size_t		 rlen;
	struct proxyd_target t;
	char		*fwd;
	size_t		 flen;
};

/* Feed data in pieces of at most step bytes (0: all at once). */
static void
run(const uint8_t *data, size_t size, bool auth, size_t step,
    struct outcome *out)
{
	struct proxyd *p;
	char *reply;
	size_t len, off = 0, n;

	memset(out, 0, sizeof(*out));
	if ((p = proxyd_new(auth ? "user" : NULL, "pass")) == NULL)
		abort();
	out->r = PROXYD_MORE;
	if ((out->replies = malloc(1)) == NULL)
		abort();
	while (off < size && out->r == PROXYD_MORE) {
		n = step == 0 ? size - off : step;
		if (n > size - off)
			n = size - off;
		if (n > proxyd_room(p))
			n = proxyd_room(p);
		CHECK(n > 0 || proxyd_room(p) == 0);
		if (n == 0) {
			/* Full and still incomplete: the parser must have failed. */
			CHECK(0);
		}
		out->r = proxyd_input(p, data + off, n, &reply, &len);
		CHECK(out->r == PROXYD_MORE || out->r == PROXYD_DONE ||
		    out->r == PROXYD_FAIL);
		CHECK(reply != NULL || len == 0);
		if (reply != NULL) {
			CHECK(len <= 1024);
			if ((out->replies = realloc(out->replies,
			    out->rlen + len + 1)) == NULL)
				abort();
			memcpy(out->replies + out->rlen, reply, len);
			out->rlen += len;
			free(reply);
		}
		off += n;
	}
	if (out->r != PROXYD_MORE)
		CHECK(proxyd_room(p) == 0);
	if (out->r == PROXYD_FAIL)
		CHECK(strlen(proxyd_error(p)) > 0);
	if (out->r == PROXYD_DONE) {
		proxyd_target(p, &out->t);
		CHECK(out->t.host[0] != '\0');
		CHECK(strlen(out->t.host) <= 255);
		CHECK(out->t.port >= (out->t.udp ? 0 : 1) &&
		    out->t.port <= 65535);
		CHECK(!out->t.udp || out->t.kind == PROXYD_SOCKS5);
		CHECK(atoi(out->t.portstr) == out->t.port);
		if (proxyd_forward(p, &out->fwd, &out->flen) == -1)
			abort();
		CHECK(out->flen <= 2 * PROXYD_HEAD_MAX + 512);
	}
	/* Any answer can be given, and is small. */
	if (proxyd_failure(p, ECONNREFUSED, &reply, &len) == -1)
		abort();
	CHECK(len <= 512);
	free(reply);
	proxyd_free(p);
}

/* The rewritten head of a plain HTTP request. */
static void
check_http_head(const struct outcome *o, const uint8_t *data)
{
	const char *h = o->fwd, *end, *sp, *line;

	end = memmem(h, o->flen, "\r\n\r\n", 4);
	CHECK(end != NULL);
	/* The method, as it came, then an origin-form target. */
	sp = memchr(h, ' ', (size_t)(end - h));
	CHECK(sp != NULL && memcmp(h, data, (size_t)(sp - h)) == 0);
	CHECK(sp[1] == '/');
	CHECK(end - h >= 17 &&
	    memcmp(end - 17, "Connection: close", 17) == 0);
	for (line = memchr(h, '\n', (size_t)(end - h)); line != NULL &&
	    line < end; line = memchr(line + 1, '\n', (size_t)(end - line)))
		CHECK(strncasecmp(line + 1, "proxy-", 6) != 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, cut;
	bool auth;
	size_t step;

	if (size < 2)
		return 0;
	auth = data[0] & 1;
	step = 1 + (data[1] % 64);
	data += 2;
	size -= 2;
	run(data, size, auth, 0, &whole);
	run(data, size, auth, step, &cut);
	CHECK(whole.r == cut.r);
	CHECK(whole.rlen == cut.rlen &&
	    memcmp(whole.replies, cut.replies, whole.rlen) == 0);
	if (whole.r == PROXYD_DONE) {
		CHECK(strcmp(whole.t.host, cut.t.host) == 0);
		CHECK(whole.t.port == cut.t.port && whole.t.kind == cut.t.kind);
		CHECK(whole.t.udp == cut.t.udp);
		/*
		 * Fed in pieces, the parser has seen less of what follows
		 * the request: the same head, and a prefix of the rest.
		 */
		CHECK(cut.flen <= whole.flen &&
		    memcmp(whole.fwd, cut.fwd, cut.flen) == 0);
		if (whole.t.kind == PROXYD_HTTP)
			check_http_head(&whole, data);
	}
	free(whole.replies);
	free(cut.replies);
	free(whole.fwd);
	free(cut.fwd);
	return 0;
}
