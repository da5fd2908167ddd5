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

/*
 * Reading
 */

#define V1_MAX		107	/* the longest line, CRLF included */
#define V2_FIXED	16	/* signature, command, family, length */

static enum proxyhdr_answer
bad(struct proxyhdr_info *info, const char *why)
{
	info->why = why;
	return PROXYHDR_BAD;
}

static enum proxyhdr_answer
more(struct proxyhdr_info *info, size_t atleast)
{
	info->len = atleast;
	return PROXYHDR_MORE;
}

/* A v1 port: 0 to 65535 in decimal, no sign, no leading zero. */
static bool
v1_port(const char *s, unsigned short *port)
{
	unsigned long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = (unsigned short)v;
	return true;
}

/*
 * A v1 address of family into ss with port: IPv4 exactly as inet_ntop
 * writes it (dotted quad, no leading zeros), IPv6 as inet_pton takes it,
 * of hex digits, colons and dots only (no scope).
 */
static bool
v1_addr(int family, const char *s, unsigned short port,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char back[INET_ADDRSTRLEN];
	size_t i;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		if (inet_pton(AF_INET, s, &sin->sin_addr) != 1 ||
		    inet_ntop(AF_INET, &sin->sin_addr, back,
		    sizeof(back)) == NULL || strcmp(back, s) != 0)
			return false;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*sslen = sizeof(*sin);
		return true;
	}
	for (i = 0; s[i] != '\0'; i++)
		if (strchr("0123456789abcdefABCDEF:.", s[i]) == NULL)
			return false;
	if (i > INET6_ADDRSTRLEN - 1 ||
	    inet_pton(AF_INET6, s, &sin6->sin6_addr) != 1)
		return false;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	*sslen = sizeof(*sin6);
	return true;
}

/*
 * A whole v1 line of n bytes (CRLF included): "PROXY UNKNOWN" and
 * anything up to the CRLF, or "PROXY TCP4|TCP6 src dst sport dport".
 */
static enum proxyhdr_answer
v1_line(const unsigned char *buf, size_t n, struct proxyhdr_info *info)
{
	char line[V1_MAX + 1], *field[6], *p;
	unsigned short sport, dport;
	int family, k;

	memcpy(line, buf, n - 2);
	line[n - 2] = '\0';
	if (strncmp(line, "PROXY UNKNOWN", 13) == 0 &&
	    (line[13] == '\0' || line[13] == ' ')) {
		info->local = true;
		info->len = n;
		return PROXYHDR_DONE;
	}
	/* Exactly six fields, each between single spaces. */
	for (k = 0, p = line; k < 6; k++) {
		field[k] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
	}
	if (k != 5)
		return bad(info, k < 5 ? "v1 line with too few fields" :
		    "v1 line with too many fields");
	for (k = 0; k < 6; k++)
		if (*field[k] == '\0')
			return bad(info, "v1 line with an empty field");
	if (strcmp(field[1], "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(field[1], "TCP6") == 0)
		family = AF_INET6;
	else
		return bad(info, "v1 protocol not TCP4, TCP6 or UNKNOWN");
	if (!v1_port(field[4], &sport) || !v1_port(field[5], &dport))
		return bad(info, "v1 port not a number from 0 to 65535");
	if (!v1_addr(family, field[2], sport, &info->src, &info->srclen) ||
	    !v1_addr(family, field[3], dport, &info->dst, &info->dstlen))
		return bad(info, family == AF_INET ?
		    "v1 address not an IPv4 address in dotted-quad form" :
		    "v1 address not an IPv6 address");
	info->len = n;
	return PROXYHDR_DONE;
}

static enum proxyhdr_answer
parse_v1(const unsigned char *buf, size_t len, struct proxyhdr_info *info)
{
	static const char start[] = "PROXY ";
	size_t i, n = len < V1_MAX ? len : V1_MAX;

	info->version = 1;
	if (memcmp(buf, start, len < 6 ? len : 6) != 0)
		return bad(info, "not a PROXY header");
	for (i = 0; i < n; i++) {
		if (i > 0 && buf[i - 1] == '\r') {
			if (buf[i] != '\n')
				return bad(info, "v1 line with a CR alone");
			return v1_line(buf, i + 1, info);
		}
		if (buf[i] == '\n')
			return bad(info, "v1 line with an LF alone");
		if (buf[i] != '\r' && (buf[i] < 0x20 || buf[i] > 0x7e))
			return bad(info, "v1 line with a control or non-ASCII "
			    "byte");
	}
	if (n == V1_MAX)
		return bad(info, "v1 line longer than 107 bytes");
	return more(info, len + 1);
}

/* A v2 IPv4 or IPv6 address and port from a (an address block). */
static void
v2_addr(int family, const unsigned char *a, const unsigned char *port,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		memcpy(&sin->sin_port, port, 2);
		*sslen = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		memcpy(&sin6->sin6_port, port, 2);
		*sslen = sizeof(*sin6);
	}
}

static enum proxyhdr_answer
parse_v2(const unsigned char *buf, size_t len, struct proxyhdr_info *info)
{
	size_t alen, need, block = 0, at;
	int cmd, fam, proto;

	info->version = 2;
	if (memcmp(buf, v2_sig, len < 12 ? len : 12) != 0)
		return bad(info, "not a PROXY header");
	if (len < 13)
		return more(info, V2_FIXED);
	if (buf[12] >> 4 != 2)
		return bad(info, "v2 header of another version");
	if ((cmd = buf[12] & 0x0f) > 1)
		return bad(info, "v2 command neither LOCAL nor PROXY");
	if (len < 14)
		return more(info, V2_FIXED);
	fam = buf[13] >> 4;
	proto = buf[13] & 0x0f;
	if (cmd == 1) {
		/* PROXY: a stream, or nothing said of it. */
		if (fam > 3 || proto > 2)
			return bad(info, "v2 address family or protocol unknown");
		if (proto == 2 || (proto == 0 && fam != 0) ||
		    (proto != 0 && fam == 0))
			return bad(info, "v2 header not for a stream");
		block = fam == 1 ? 12 : fam == 2 ? 36 : fam == 3 ? 216 : 0;
	}
	if (len < V2_FIXED)
		return more(info, V2_FIXED);
	alen = (size_t)buf[14] << 8 | buf[15];
	if (alen > PROXYHDR_IN_MAX - V2_FIXED)
		return bad(info, "v2 header longer than 536 bytes");
	if (alen < block)
		return bad(info, "v2 length too short for its addresses");
	need = V2_FIXED + alen;
	if (len < need)
		return more(info, need);
	/* The TLVs after the addresses: type, length, value, to the end. */
	for (at = V2_FIXED + block; at < need;) {
		if (need - at < 3)
			return bad(info, "v2 TLV cut short");
		at += 3 + ((size_t)buf[at + 1] << 8 | buf[at + 2]);
		if (at > need)
			return bad(info, "v2 TLV longer than the header");
	}
	info->len = need;
	if (cmd == 0 || fam == 0 || fam == 3) {
		/* LOCAL, or not IP: the connection's own addresses. */
		info->local = true;
		return PROXYHDR_DONE;
	}
	if (fam == 1) {
		v2_addr(AF_INET, buf + 16, buf + 24, &info->src, &info->srclen);
		v2_addr(AF_INET, buf + 20, buf + 26, &info->dst, &info->dstlen);
	} else {
		v2_addr(AF_INET6, buf + 16, buf + 48, &info->src,
		    &info->srclen);
		v2_addr(AF_INET6, buf + 32, buf + 50, &info->dst,
		    &info->dstlen);
	}
	return PROXYHDR_DONE;
}

enum proxyhdr_answer
proxyhdr_parse(const unsigned char *buf, size_t len,
    struct proxyhdr_info *info)
{
	memset(info, 0, sizeof(*info));
	if (len == 0)
		return more(info, 1);
	if (buf[0] == 'P')
		return parse_v1(buf, len, info);
	if (buf[0] == v2_sig[0])
		return parse_v2(buf, len, info);
	return bad(info, "not a PROXY header");
}
