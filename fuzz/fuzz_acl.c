/* SPDX-License-Identifier: ISC */
/*
 * parse_cidr, acl_add and acl_match (--allow, --deny, --allowfile,
 * --denyfile): each input line is parsed as an address block and, if it is
 * one, added to an ACL; then a fixed set of IPv4, IPv6 and IPv4-mapped
 * addresses is matched against it. Checked: a block's family and prefix
 * are sane (prefix <= 32 or 128, unused address bytes zero); acl_match
 * agrees with a bit-by-bit reference; an IPv4 address and its IPv4-mapped
 * IPv6 form always get the same answer; and every block contains its own
 * address.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>

#include "fuzz.h"
#include "../net.h"

#define MAX_LINES	16

static const char *const probes4[] = {
	"127.0.0.1", "10.1.2.3", "0.0.0.0", "255.255.255.255", "192.168.1.77",
	"172.16.0.1"
};

static const char *const probes6[] = {
	"::1", "::", "2001:db8::1", "fe80::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	"::ffff:10.1.2.3", "64:ff9b::10.1.2.3", "::10.1.2.3"
};

#define N4	(sizeof(probes4) / sizeof(probes4[0]))
#define N6	(sizeof(probes6) / sizeof(probes6[0]))

/* The probes as bytes, parsed once. */
static unsigned char addr4[N4][4], addr6[N6][16];
static bool ready;

static struct sockaddr_in
sin4(const unsigned char *a)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4242);
	memcpy(&sin.sin_addr, a, 4);
	return sin;
}

static struct sockaddr_in6
sin6(const unsigned char *a)
{
	struct sockaddr_in6 s6;

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(4242);
	memcpy(&s6.sin6_addr, a, 16);
	return s6;
}

/* ::ffff:a.b.c.d */
static struct sockaddr_in6
mapped(const unsigned char *a)
{
	unsigned char m[16] = { 0 };

	m[10] = m[11] = 0xff;
	memcpy(m + 12, a, 4);
	return sin6(m);
}

static bool
bit(const unsigned char *a, int i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

/* The reference: family equal and the first prefix bits equal. */
static bool
ref_match(const struct acl *acl, int family, const unsigned char *a)
{
	size_t i;
	int b;

	for (i = 0; i < acl->n; i++) {
		if (acl->v[i].family != family)
			continue;
		for (b = 0; b < acl->v[i].prefix; b++)
			if (bit(acl->v[i].addr, b) != bit(a, b))
				break;
		if (b == acl->v[i].prefix)
			return true;
	}
	return false;
}

static bool
is_mapped(const unsigned char *a)
{
	static const unsigned char pre[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, pre, 12) == 0;
}

static void
probe4(const struct acl *acl, const unsigned char *a)
{
	struct sockaddr_in s = sin4(a);
	struct sockaddr_in6 m = mapped(a);
	bool hit = acl_match(acl, (struct sockaddr *)&s);

	CHECK(hit == ref_match(acl, AF_INET, a));
	CHECK(acl_match(acl, (struct sockaddr *)&m) == hit);
}

static void
probe6(const struct acl *acl, const unsigned char *a)
{
	struct sockaddr_in6 s = sin6(a);
	bool hit = acl_match(acl, (struct sockaddr *)&s);

	if (is_mapped(a))
		CHECK(hit == ref_match(acl, AF_INET, a + 12));
	else
		CHECK(hit == ref_match(acl, AF_INET6, a));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acl acl = { NULL, 0 };
	struct cidr c;
	struct sockaddr_un sun;
	unsigned char a[16];
	const uint8_t *p = data, *end = data + size, *nl;
	char *line;
	size_t i, lines = 0;
	int max;

	while (p < end && lines++ < MAX_LINES) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		line = fuzz_cstr(p, (size_t)(nl - p));
		p = nl + 1;
		memset(&c, 0xa5, sizeof(c));
		errno = 0;
		if (parse_cidr(line, &c) == -1) {
			CHECK(errno == EINVAL);
			free(line);
			continue;
		}
		CHECK(c.family == AF_INET || c.family == AF_INET6);
		max = c.family == AF_INET ? 32 : 128;
		CHECK(c.prefix >= 0 && c.prefix <= max);
		if (c.family == AF_INET)
			for (i = 4; i < 16; i++)
				CHECK(c.addr[i] == 0);
		/* The address part is what inet_pton makes of it. */
		line[strcspn(line, "/")] = '\0';
		CHECK(inet_pton(c.family, line, a) == 1);
		CHECK(memcmp(a, c.addr, c.family == AF_INET ? 4 : 16) == 0);
		free(line);
		if (acl_add(&acl, &c) == -1)
			abort();	/* out of memory */
	}

	/* An empty ACL matches nothing; anything else, by the reference. */
	if (!ready) {
		for (i = 0; i < N4; i++)
			CHECK(inet_pton(AF_INET, probes4[i], addr4[i]) == 1);
		for (i = 0; i < N6; i++)
			CHECK(inet_pton(AF_INET6, probes6[i], addr6[i]) == 1);
		ready = true;
	}
	for (i = 0; i < N4; i++)
		probe4(&acl, addr4[i]);
	for (i = 0; i < N6; i++)
		probe6(&acl, addr6[i]);
	/* Every block contains its own address. */
	for (i = 0; i < acl.n; i++) {
		if (acl.v[i].family == AF_INET) {
			struct sockaddr_in s = sin4(acl.v[i].addr);

			CHECK(acl_match(&acl, (struct sockaddr *)&s));
			probe4(&acl, acl.v[i].addr);
		} else if (!is_mapped(acl.v[i].addr)) {
			/*
			 * A block written as ::ffff:a.b.c.d is left out: the
			 * contract matches a mapped address as IPv4 only.
			 */
			struct sockaddr_in6 s = sin6(acl.v[i].addr);

			CHECK(acl_match(&acl, (struct sockaddr *)&s));
		}
		probe6(&acl, acl.v[i].addr);
	}
	/* Other families match nothing. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CHECK(!acl_match(&acl, (struct sockaddr *)&sun));
	free(acl.v);
	return 0;
}
