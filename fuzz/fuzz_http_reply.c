/* SPDX-License-Identifier: ISC */
/*
 * http_reply_parse (-X connect): the head of one HTTP reply. Checked: a
 * complete head ends with an empty line at head_len <= n, its status line
 * is shorter, the code is 100-599 and the bytes after the head change
 * nothing; PROXY_MORE means no complete line was bad, so every prefix is
 * PROXY_MORE too; PROXY_BAD stays bad whatever follows, and points at a
 * line start within the input.
 */
#include "fuzz.h"
#include "../proxy.h"

static int
parse(const char *b, size_t n, struct http_reply *r)
{
	char why[PROXY_WHY_MAX];
	int rv;

	why[0] = '\0';
	rv = http_reply_parse(b, n, r, why, sizeof(why));
	CHECK(rv == PROXY_OK || rv == PROXY_MORE || rv == PROXY_BAD);
	if (rv == PROXY_BAD)
		CHECK(why[0] != '\0' && memchr(why, '\0', sizeof(why)) != NULL &&
		    r->bad_at <= n);
	return rv;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_reply r, r2;
	char *b, *ext;
	int rv, rv2;

	if (size > PROXY_HTTP_MAX)
		return 0;
	if ((b = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	memcpy(b, data, size);
	rv = parse(b, size, &r);
	if (rv == PROXY_OK) {
		CHECK(r.head_len <= size && r.head_len >= 14);
		CHECK(b[r.head_len - 1] == '\n');
		CHECK(r.line_len < r.head_len);
		CHECK(r.code >= 100 && r.code <= 599);
		CHECK(memcmp(b, "HTTP/", 5) == 0);
		rv2 = parse(b, r.head_len, &r2);
		CHECK(rv2 == PROXY_OK && r2.head_len == r.head_len &&
		    r2.code == r.code && r2.line_len == r.line_len);
		rv2 = parse(b, r.head_len - 1, &r2);
		CHECK(rv2 == PROXY_MORE);
	}
	if (rv == PROXY_MORE && size > 0) {
		rv2 = parse(b, size / 2, &r2);
		CHECK(rv2 == PROXY_MORE);
		rv2 = parse(b, size - 1, &r2);
		CHECK(rv2 == PROXY_MORE);
	}
	if (rv == PROXY_BAD) {
		/* No byte added can repair it. */
		if ((ext = malloc(size + 2)) == NULL)
			abort();
		memcpy(ext, b, size);
		ext[size] = '\r';
		ext[size + 1] = '\n';
		CHECK(parse(ext, size + 2, &r2) == PROXY_BAD);
		CHECK(parse(ext, size + 1, &r2) == PROXY_BAD);
		free(ext);
	}
	free(b);
	return 0;
}
