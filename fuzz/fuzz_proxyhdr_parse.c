/* SPDX-License-Identifier: ISC */
/*
 * proxyhdr_parse (--accept-proxy): the input is the first bytes of a
 * connection. Checked: each prefix, fed as a buffer of exactly its size
 * (so AddressSanitizer sees a read past it), gets an answer consistent
 * with the shorter ones (MORE asks for more than it was given and stays
 * MORE until DONE or BAD; DONE and BAD never change, nor their length,
 * addresses or reason), so feeding byte by byte ends as feeding all at
 * once does; a DONE header rebuilt by proxyhdr_make parses to the same
 * addresses (and, for a v1 TCP4 line or a v2 IPv4 header without TLVs, is
 * the same bytes); and headers proxyhdr_make builds from addresses taken
 * from the input parse back to them, whatever follows them.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include "fuzz.h"
#include "../proxyhdr.h"

#define INPUT_MAX	(PROXYHDR_IN_MAX + 64)

/* An address as IPv6 (IPv4 mapped) and a port, for comparing. */
static void
norm(const struct sockaddr_storage *ss, unsigned char a[18])
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	memset(a, 0, 18);
	if (ss->ss_family == AF_INET) {
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &sin->sin_addr, 4);
		memcpy(a + 16, &sin->sin_port, 2);
	} else {
		CHECK(ss->ss_family == AF_INET6);
		memcpy(a, &sin6->sin6_addr, 16);
		memcpy(a + 16, &sin6->sin6_port, 2);
	}
}

static bool
same_addrs(const struct proxyhdr_info *x, const struct proxyhdr_info *y)
{
	unsigned char a[18], b[18];

	if (x->local || y->local)
		return x->local == y->local;
	norm(&x->src, a);
	norm(&y->src, b);
	if (memcmp(a, b, sizeof(a)) != 0)
		return false;
	norm(&x->dst, a);
	norm(&y->dst, b);
	return memcmp(a, b, sizeof(a)) == 0;
}

/* Parse a copy of exactly len bytes. */
static enum proxyhdr_answer
parse_copy(const uint8_t *data, size_t len, struct proxyhdr_info *info)
{
	enum proxyhdr_answer a;
	unsigned char *buf;

	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(buf, data, len);
	a = proxyhdr_parse(buf, len, info);
	free(buf);
	return a;
}

/* Every prefix's answer against the one before; returns the last. */
static enum proxyhdr_answer
prefixes(const uint8_t *data, size_t size, struct proxyhdr_info *last)
{
	struct proxyhdr_info prev, cur;
	enum proxyhdr_answer pa, a;
	size_t k;

	pa = parse_copy(data, 0, &prev);
	CHECK(pa == PROXYHDR_MORE && prev.len >= 1);
	for (k = 1; k <= size; k++) {
		a = parse_copy(data, k, &cur);
		switch (a) {
		case PROXYHDR_MORE:
			CHECK(pa == PROXYHDR_MORE);
			CHECK(cur.len > k && cur.len <= PROXYHDR_IN_MAX);
			CHECK(cur.len >= prev.len);
			break;
		case PROXYHDR_DONE:
			CHECK(pa != PROXYHDR_BAD);
			CHECK(cur.len <= k && cur.len <= PROXYHDR_IN_MAX);
			CHECK(cur.version == 1 ? cur.len <= 107 :
			    cur.version == 2);
			if (pa == PROXYHDR_DONE)
				CHECK(cur.len == prev.len &&
				    cur.version == prev.version &&
				    same_addrs(&cur, &prev));
			else
				CHECK(cur.len == k && prev.len <= k);
			break;
		case PROXYHDR_BAD:
			CHECK(pa != PROXYHDR_DONE);
			CHECK(cur.why != NULL);
			if (pa == PROXYHDR_BAD)
				CHECK(strcmp(cur.why, prev.why) == 0);
			break;
		default:
			CHECK(!"an answer proxyhdr.h does not list");
		}
		pa = a;
		prev = cur;
	}
	*last = prev;
	return pa;
}

/* Make a header for src and dst, then parse it with tail after it. */
static void
round_trip(int version, const struct sockaddr *src, const struct sockaddr *dst,
    const uint8_t *tail, size_t tlen, const struct proxyhdr_info *want)
{
	unsigned char buf[PROXYHDR_MAX + INPUT_MAX];
	struct proxyhdr_info got;
	size_t n;

	n = proxyhdr_make(version, src, dst, buf);
	CHECK(n > 0 && n <= PROXYHDR_MAX);
	if (tlen > INPUT_MAX)
		tlen = INPUT_MAX;
	memcpy(buf + n, tail, tlen);
	CHECK(parse_copy(buf, n + tlen, &got) == PROXYHDR_DONE);
	CHECK(got.len == n && got.version == version);
	if (want != NULL)
		CHECK(same_addrs(&got, want));
}

/* Addresses from the input's first bytes, both IPv4 or both IPv6. */
static void
made_from(const uint8_t *data, size_t size)
{
	struct sockaddr_storage s, d;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&s, *d4 =
	    (struct sockaddr_in *)&d;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&s, *d6 =
	    (struct sockaddr_in6 *)&d;
	struct proxyhdr_info want;
	uint8_t b[37];

	memset(b, 0, sizeof(b));
	memcpy(b, data, size < sizeof(b) ? size : sizeof(b));
	memset(&s, 0, sizeof(s));
	memset(&d, 0, sizeof(d));
	if (b[0] & 1) {
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, b + 1, 16);
		memcpy(&d6->sin6_addr, b + 17, 16);
		memcpy(&s6->sin6_port, b + 33, 2);
		memcpy(&d6->sin6_port, b + 35, 2);
	} else {
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, b + 1, 4);
		memcpy(&d4->sin_addr, b + 5, 4);
		memcpy(&s4->sin_port, b + 9, 2);
		memcpy(&d4->sin_port, b + 11, 2);
	}
	memset(&want, 0, sizeof(want));
	want.src = s;
	want.dst = d;
	round_trip(1, (struct sockaddr *)&s, (struct sockaddr *)&d, data, size,
	    &want);
	round_trip(2, (struct sockaddr *)&s, (struct sockaddr *)&d, data, size,
	    &want);
	/* No addresses: UNKNOWN and LOCAL. */
	want.local = true;
	round_trip(1, NULL, NULL, data, size, &want);
	round_trip(2, NULL, NULL, data, size, &want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyhdr_info info, whole;
	unsigned char buf[PROXYHDR_MAX];
	enum proxyhdr_answer a;
	size_t n;

	if (size > INPUT_MAX)
		return 0;
	a = prefixes(data, size, &info);
	CHECK(parse_copy(data, size, &whole) == a);
	if (a == PROXYHDR_DONE) {
		CHECK(whole.len == info.len && same_addrs(&whole, &info));
		if (!info.local) {
			n = proxyhdr_make(info.version,
			    (struct sockaddr *)&info.src,
			    (struct sockaddr *)&info.dst, buf);
			round_trip(info.version, (struct sockaddr *)&info.src,
			    (struct sockaddr *)&info.dst, data, 0, &info);
			/* The forms proxyhdr_make writes come back unchanged. */
			if ((info.version == 1 && memcmp(data, "PROXY TCP4 ",
			    11) == 0) || (info.version == 2 && data[13] ==
			    0x11 && info.len == 28 && data[12] == 0x21))
				CHECK(n == info.len &&
				    memcmp(buf, data, n) == 0);
		}
	}
	made_from(data, size);
	return 0;
}
