/* SPDX-License-Identifier: ISC */
/*
 * SOCKS5 UDP ASSOCIATE's datagrams (RFC 1928, section 7): the header each
 * datagram carries between a client and the proxy's relay, made and read
 * here for the client (-u -x) and the proxy server (--proxy-server), and
 * the client's endpoint, which wraps what it writes and unwraps what it
 * reads so that the relay moves plain datagrams. Mechanism only: it never
 * prints or exits.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "opts.h"
#include "end.h"
#include "net.h"
#include "socks.h"
#include "socks5udp.h"

#define DGRAM_MAX	65536	/* the most a datagram can hold */
#define READS_MAX	64	/* datagrams dropped in one read at most */

int
socks5_udp_parse(const unsigned char *b, size_t n, struct socks5_addr *a,
    int *frag)
{
	size_t at, i, len;

	memset(a, 0, sizeof(*a));
	*frag = 0;
	if (n < 4)
		return SOCKS5_UDP_SHORT;
	if (b[0] != 0 || b[1] != 0)
		return SOCKS5_UDP_RSV;
	*frag = b[2];
	a->atyp = b[3];
	switch (b[3]) {
	case SOCKS5_ATYP_IPV4:
		len = 4;
		at = 4;
		break;
	case SOCKS5_ATYP_IPV6:
		len = 16;
		at = 4;
		break;
	case SOCKS5_ATYP_DOMAIN:
		if (n < 5)
			return SOCKS5_UDP_SHORT;
		len = b[4];
		at = 5;
		break;
	default:
		return SOCKS5_UDP_ATYP;
	}
	if (n < at + len + 2)
		return SOCKS5_UDP_SHORT;
	if (a->atyp == SOCKS5_ATYP_DOMAIN) {
		for (i = 0; i < len; i++)
			a->name[i] = b[at + i] > ' ' && b[at + i] < 0x7f ?
			    (char)b[at + i] : '?';
		a->name[len] = '\0';
		a->namelen = len;
	} else
		memcpy(a->addr, b + at, len);
	a->port = (b[at + len] << 8) | b[at + len + 1];
	return (int)(at + len + 2);
}

const char *
socks5_udp_strerror(int code)
{
	switch (code) {
	case SOCKS5_UDP_SHORT:
		return "shorter than its SOCKS5 header";
	case SOCKS5_UDP_RSV:
		return "SOCKS5 header with RSV not zero";
	case SOCKS5_UDP_ATYP:
		return "SOCKS5 header with an unknown address type";
	default:
		return "malformed SOCKS5 header";
	}
}

size_t
socks5_udp_make(const struct socks5_addr *a, unsigned char *out)
{
	size_t n = 0;

	out[n++] = 0;
	out[n++] = 0;
	out[n++] = 0;		/* FRAG: a whole datagram */
	out[n++] = (unsigned char)a->atyp;
	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
		memcpy(out + n, a->addr, 4);
		n += 4;
		break;
	case SOCKS5_ATYP_IPV6:
		memcpy(out + n, a->addr, 16);
		n += 16;
		break;
	default:
		out[n++] = (unsigned char)a->namelen;
		memcpy(out + n, a->name, a->namelen);
		n += a->namelen;
		break;
	}
	out[n++] = (unsigned char)(a->port >> 8);
	out[n++] = (unsigned char)a->port;
	return n;
}

bool
socks5_addr_equal(const struct socks5_addr *a, const struct socks5_addr *b)
{
	if (a->atyp != b->atyp || a->port != b->port)
		return false;
	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
		return memcmp(a->addr, b->addr, 4) == 0;
	case SOCKS5_ATYP_IPV6:
		return memcmp(a->addr, b->addr, 16) == 0;
	default:
		return a->namelen == b->namelen &&
		    strncasecmp(a->name, b->name, a->namelen) == 0;
	}
}

void
socks5_addr_from_sockaddr(const struct sockaddr *sa, struct socks5_addr *a)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		a->atyp = SOCKS5_ATYP_IPV6;
		memcpy(a->addr, &s6->sin6_addr, 16);
		a->port = ntohs(s6->sin6_port);
	} else if (sa->sa_family == AF_INET6) {
		a->atyp = SOCKS5_ATYP_IPV4;
		memcpy(a->addr, (const unsigned char *)&s6->sin6_addr + 12, 4);
		a->port = ntohs(s6->sin6_port);
	} else {
		a->atyp = SOCKS5_ATYP_IPV4;
		memcpy(a->addr, &s4->sin_addr, 4);
		a->port = ntohs(s4->sin_port);
	}
}

void
socks5_addr_format(const struct socks5_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (a->atyp == SOCKS5_ATYP_IPV4)
		inet_ntop(AF_INET, a->addr, host, sizeof(host));
	else if (a->atyp == SOCKS5_ATYP_IPV6)
		inet_ntop(AF_INET6, a->addr, host, sizeof(host));
	snprintf(buf, len, "%s port %d", a->atyp == SOCKS5_ATYP_DOMAIN ?
	    a->name : host, a->port);
}

/*
 * The client's endpoint
 */

struct assoc {
	int		 ctl;
	struct sockaddr_storage relay;
	socklen_t	 relaylen;
	struct socks5_addr target;
	const struct socks5_addr *alt;
	size_t		 nalt;
	char		 proxy[300];
	void		(*dropped)(const char *);
	unsigned long long drops;
	unsigned char	 buf[SOCKS5_UDP_HDR_MAX + DGRAM_MAX];
};

/* Are a and b the same IP address and port (an IPv4-mapped one as IPv4)? */
static bool
same_sockaddr(const struct sockaddr *a, const struct sockaddr *b)
{
	struct socks5_addr x, y;

	if ((a->sa_family != AF_INET && a->sa_family != AF_INET6) ||
	    (b->sa_family != AF_INET && b->sa_family != AF_INET6))
		return false;
	socks5_addr_from_sockaddr(a, &x);
	socks5_addr_from_sockaddr(b, &y);
	return socks5_addr_equal(&x, &y);
}

static void __attribute__((format(printf, 2, 3)))
drop(struct assoc *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	s->drops++;
	if (s->dropped == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->dropped(msg);
}

/* Is the source a reply names the target (or one of its addresses)? */
static bool
from_target(const struct assoc *s, const struct socks5_addr *src)
{
	size_t i;

	if (socks5_addr_equal(src, &s->target))
		return true;
	if (src->port != s->target.port)
		return false;
	if (s->target.atyp == SOCKS5_ATYP_DOMAIN && s->alt == NULL)
		return true;
	for (i = 0; i < s->nalt; i++)
		if (socks5_addr_equal(src, &s->alt[i]))
			return true;
	return false;
}

/*
 * The control connection: its end (or a failure) ends the association.
 * Bytes on it are none of the association's business and are read off.
 * Returns 0 while it holds, or -1 with e->why set.
 */
static int
control_check(struct end *e, struct assoc *s)
{
	char scrap[512];
	ssize_t n;

	while ((n = recv(s->ctl, scrap, sizeof(scrap), MSG_DONTWAIT)) > 0)
		continue;
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return 0;
	snprintf(e->why, sizeof(e->why), "proxy %.200s closed the UDP "
	    "association%s%s", s->proxy, n == 0 ? "" : ": ",
	    n == 0 ? "" : strerror(errno));
	errno = ECONNRESET;
	return -1;
}

static ssize_t
assoc_read(struct end *e, void *buf, size_t len)
{
	struct assoc *s = e->impl;
	struct sockaddr_storage from;
	struct socks5_addr src;
	socklen_t fromlen;
	char shown[300];
	ssize_t n;
	size_t data;
	int i, hlen, frag;

	e->read_wait = END_WAIT_READ;
	for (i = 0; i < READS_MAX; i++) {
		fromlen = sizeof(from);
		if ((n = recvfrom(e->rfd, s->buf, sizeof(s->buf), 0,
		    (struct sockaddr *)&from, &fromlen)) == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (control_check(e, s) == -1)
				return -1;
			errno = EAGAIN;
			return -1;
		}
		if (!same_sockaddr((struct sockaddr *)&from,
		    (struct sockaddr *)&s->relay)) {
			format_addr((struct sockaddr *)&from, fromlen, shown,
			    sizeof(shown));
			drop(s, "dropped a datagram from %s: not the proxy's "
			    "relay", shown);
			continue;
		}
		if ((hlen = socks5_udp_parse(s->buf, (size_t)n, &src,
		    &frag)) < 0) {
			drop(s, "dropped a datagram from the relay: %s",
			    socks5_udp_strerror(hlen));
			continue;
		}
		if (frag != 0) {
			drop(s, "dropped a datagram from the relay: %s",
			    "a fragment (FRAG not 0)");
			continue;
		}
		if (!from_target(s, &src)) {
			socks5_addr_format(&src, shown, sizeof(shown));
			drop(s, "dropped a datagram from %s through the relay: "
			    "not the target", shown);
			continue;
		}
		data = (size_t)n - (size_t)hlen;
		if (data > len)
			data = len;	/* the relay's buffer takes any */
		memcpy(buf, s->buf + hlen, data);
		return (ssize_t)data;
	}
	/* Many dropped: the loop comes back, and others get their turn. */
	if (control_check(e, s) == -1)
		return -1;
	errno = EAGAIN;
	return -1;
}

static ssize_t
assoc_write(struct end *e, const void *buf, size_t len)
{
	struct assoc *s = e->impl;
	size_t hlen;

	e->write_wait = END_WAIT_WRITE;
	if (len > DGRAM_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	hlen = socks5_udp_make(&s->target, s->buf);
	memcpy(s->buf + hlen, buf, len);
	if (sendto(e->wfd, s->buf, hlen + len, 0,
	    (struct sockaddr *)&s->relay, s->relaylen) == -1)
		return -1;
	return (ssize_t)len;
}

static int
assoc_shutdown(struct end *e)
{
	(void)e;
	return 0;
}

static size_t
assoc_pending(const struct end *e)
{
	(void)e;
	return 0;
}

static void
assoc_free(struct end *e)
{
	free(e->impl);
	e->impl = NULL;
}

static const struct end_ops assoc_ops = {
	.read = assoc_read,
	.write = assoc_write,
	.shutdown = assoc_shutdown,
	.pending = assoc_pending,
	.free = assoc_free
};

int
end_socks5_udp(struct end *e, int fd, int ctl, const struct sockaddr *relay,
    socklen_t relaylen, const struct socks5_udp_target *t, const char *name,
    const char *proxy, void (*dropped)(const char *why))
{
	struct assoc *s;

	memset(e, 0, sizeof(*e));
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->ctl = ctl;
	memcpy(&s->relay, relay, relaylen);
	s->relaylen = relaylen;
	s->target = t->target;
	s->alt = t->alt;
	s->nalt = t->nalt;
	snprintf(s->proxy, sizeof(s->proxy), "%s", proxy);
	s->dropped = dropped;
	e->ops = &assoc_ops;
	e->rfd = e->wfd = fd;
	e->also_rfd = ctl;
	e->read_wait = END_WAIT_READ;
	e->write_wait = END_WAIT_WRITE;
	e->raw = false;
	e->socket = true;
	e->fail_status = EXIT_NET;
	e->name = name;
	e->impl = s;
	return 0;
}

unsigned long long
socks5_udp_dropped(const struct end *e)
{
	const struct assoc *s = e->impl;

	return s != NULL ? s->drops : 0;
}
