/* SPDX-License-Identifier: ISC */
/*
 * proxyhdr.c: the PROXY protocol header (proxyhdr.h), as haproxy's
 * send-proxy and send-proxy-v2 write it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proxyhdr.h"

/* v2's signature, command and families (proxy-protocol.txt, 2.2). */
static const unsigned char v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
#define V2_LOCAL	0x20
#define V2_PROXY	0x21
#define V2_UNSPEC	0x00
#define V2_TCP4		0x11
#define V2_TCP6		0x21

/* One address and port, as IPv6 (IPv4 mapped) or IPv4 when it is one. */
struct ep {
	bool		 v4;
	unsigned char	 a6[16];
	unsigned char	 a4[4];
	unsigned short	 port;		/* host order */
};

static bool
endpoint(const struct sockaddr *sa, struct ep *e)
{
	static const unsigned char mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	memset(e, 0, sizeof(*e));
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		e->v4 = true;
		memcpy(e->a4, &sin->sin_addr, 4);
		memcpy(e->a6, mapped, 12);
		memcpy(e->a6 + 12, e->a4, 4);
		e->port = ntohs(sin->sin_port);
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	memcpy(e->a6, &sin6->sin6_addr, 16);
	if (memcmp(e->a6, mapped, 12) == 0) {
		e->v4 = true;
		memcpy(e->a4, e->a6 + 12, 4);
	}
	e->port = ntohs(sin6->sin6_port);
	return true;
}

static size_t
make_v1(const struct ep *s, const struct ep *d, bool known, char *buf)
{
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	bool v4 = s->v4 && d->v4;
	int n;

	if (!known)
		return (size_t)snprintf(buf, PROXYHDR_MAX, "PROXY UNKNOWN\r\n");
	inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? s->a4 : s->a6, sa, sizeof(sa));
	inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? d->a4 : d->a6, da, sizeof(da));
	n = snprintf(buf, PROXYHDR_MAX, "PROXY %s %s %s %u %u\r\n",
	    v4 ? "TCP4" : "TCP6", sa, da, s->port, d->port);
	/* Two IPv6 addresses of 39 characters still fit in 107 bytes. */
	return n > 0 && n < PROXYHDR_MAX ? (size_t)n : 0;
}

static size_t
make_v2(const struct ep *s, const struct ep *d, bool known,
    unsigned char *buf)
{
	bool v4 = s->v4 && d->v4;
	size_t alen = !known ? 0 : v4 ? 12 : 36, at = 16;

	memcpy(buf, v2_sig, sizeof(v2_sig));
	buf[12] = known ? V2_PROXY : V2_LOCAL;
	buf[13] = !known ? V2_UNSPEC : v4 ? V2_TCP4 : V2_TCP6;
	buf[14] = (unsigned char)(alen >> 8);
	buf[15] = (unsigned char)alen;
	if (!known)
		return at;
	memcpy(buf + at, v4 ? s->a4 : s->a6, v4 ? 4 : 16);
	at += v4 ? 4 : 16;
	memcpy(buf + at, v4 ? d->a4 : d->a6, v4 ? 4 : 16);
	at += v4 ? 4 : 16;
	buf[at++] = (unsigned char)(s->port >> 8);
	buf[at++] = (unsigned char)s->port;
	buf[at++] = (unsigned char)(d->port >> 8);
	buf[at++] = (unsigned char)d->port;
	return at;
}

size_t
proxyhdr_make(int version, const struct sockaddr *src,
    const struct sockaddr *dst, unsigned char *buf)
{
	struct ep s, d;
	bool known;

	known = endpoint(src, &s);
	known = endpoint(dst, &d) && known;
	return version == 2 ? make_v2(&s, &d, known, buf) :
	    make_v1(&s, &d, known, (char *)buf);
}
