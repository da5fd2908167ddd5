/* SPDX-License-Identifier: ISC */
/*
 * The proxy server's SOCKS5 UDP associations (udpassoc.h): the client's
 * datagrams are taken only from its address (and the port it announced,
 * or else the first it sent from), unwrapped and sent to their targets;
 * answers come back only from addresses the client has sent to, wrapped
 * with their source. Fragments, malformed headers and strangers are
 * dropped and counted; so is a datagram for a socket that is full while
 * ASSOC_QUEUE_MAX others wait for it. Mechanism only.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "opts.h"
#include "loop.h"
#include "net.h"
#include "proxy.h"
#include "socks5udp.h"
#include "udpassoc.h"

#define DGRAM_MAX	65536
#define READS_MAX	64	/* datagrams taken from a socket per step */
#define DESTS_MAX	64	/* targets answers are taken from */
#define NAMES_MAX	8	/* names looked up and kept */

struct dgram {
	struct sockaddr_storage to;
	socklen_t	 tolen;
	size_t		 len;
	unsigned char	*data;
};

/* Datagrams waiting for one socket to take them. */
struct queue {
	struct dgram	 v[ASSOC_QUEUE_MAX];
	size_t		 head;
	size_t		 n;
};

struct name {
	char		 name[256];
	struct sockaddr_storage addr;
	socklen_t	 len;
};

struct udp_assoc {
	int		 ctl;
	int		 relay;
	int		 out[2];	/* towards IPv4, IPv6 targets */
	struct sockaddr_storage client;	/* its address; port once known */
	socklen_t	 clientlen;
	bool		 port_known;
	bool		 numeric;
	struct sockaddr_storage dests[DESTS_MAX];
	size_t		 ndests;
	size_t		 next_dest;
	struct name	 names[NAMES_MAX];
	size_t		 nnames;
	struct queue	 up[2];		/* for out[0], out[1] */
	struct queue	 down;		/* for relay, to the client */
	struct udp_assoc_counts counts;
	long long	 active;
	void		(*dropped)(void *, const char *);
	void		*arg;
	unsigned char	 buf[SOCKS5_UDP_HDR_MAX + DGRAM_MAX];
};

static void __attribute__((format(printf, 2, 3)))
drop(struct udp_assoc *a, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	a->counts.dropped++;
	if (a->dropped == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->dropped(a->arg, msg);
}

/* The port of an IPv4 or IPv6 address (0 for anything else). */
static int
port_of(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

static void
set_port_of(struct sockaddr *sa, int port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
}

/* Same IP address (an IPv4-mapped one as IPv4), and port if ports. */
static bool
same_addr(const struct sockaddr *x, const struct sockaddr *y, bool ports)
{
	struct socks5_addr a, b;

	if ((x->sa_family != AF_INET && x->sa_family != AF_INET6) ||
	    (y->sa_family != AF_INET && y->sa_family != AF_INET6))
		return false;
	socks5_addr_from_sockaddr(x, &a);
	socks5_addr_from_sockaddr(y, &b);
	if (!ports)
		a.port = b.port = 0;
	return socks5_addr_equal(&a, &b);
}

static void
queue_free(struct queue *q)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		free(q->v[(q->head + i) % ASSOC_QUEUE_MAX].data);
	q->n = 0;
}

/* Keep a datagram the socket could not take now. Returns -1 if full. */
static int
queue_add(struct queue *q, const struct sockaddr *to, socklen_t tolen,
    const void *data, size_t len)
{
	struct dgram *d;

	if (q->n == ASSOC_QUEUE_MAX)
		return -1;
	d = &q->v[(q->head + q->n) % ASSOC_QUEUE_MAX];
	if ((d->data = malloc(len > 0 ? len : 1)) == NULL)
		return -1;
	memcpy(d->data, data, len);
	memcpy(&d->to, to, tolen);
	d->tolen = tolen;
	d->len = len;
	q->n++;
	return 0;
}

/* Send what waits in q on fd, as far as it takes it. */
static void
queue_flush(struct udp_assoc *a, struct queue *q, int fd)
{
	struct dgram *d;

	while (q->n > 0) {
		d = &q->v[q->head];
		if (sendto(fd, d->data, d->len, 0, (struct sockaddr *)&d->to,
		    d->tolen) == -1 && (errno == EAGAIN ||
		    errno == EWOULDBLOCK || errno == EINTR))
			return;
		/* Sent, or refused for good (said by the count). */
		free(d->data);
		d->data = NULL;
		q->head = (q->head + 1) % ASSOC_QUEUE_MAX;
		q->n--;
		a->active = now_ms();
	}
}

/*
 * Send a datagram on fd, or queue it behind others. Returns 0, or -1
 * (dropped and counted) when it can go neither way.
 */
static int
send_or_queue(struct udp_assoc *a, struct queue *q, int fd,
    const struct sockaddr *to, socklen_t tolen, const void *data, size_t len)
{
	if (q->n == 0) {
		if (sendto(fd, data, len, 0, to, tolen) != -1)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			drop(a, "dropped a datagram: %s", strerror(errno));
			return -1;
		}
	}
	if (queue_add(q, to, tolen, data, len) == -1) {
		drop(a, "dropped a datagram: %d already wait to be sent",
		    ASSOC_QUEUE_MAX);
		return -1;
	}
	return 0;
}

struct udp_assoc *
udp_assoc_open(int ctl, int port, bool numeric,
    void (*dropped)(void *, const char *), void *arg)
{
	struct udp_assoc *a;
	struct sockaddr_storage here;
	socklen_t len = sizeof(here);
	int e;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->ctl = ctl;
	a->relay = a->out[0] = a->out[1] = -1;
	a->numeric = numeric;
	a->dropped = dropped;
	a->arg = arg;
	a->active = now_ms();
	a->clientlen = sizeof(a->client);
	if (getpeername(ctl, (struct sockaddr *)&a->client, &a->clientlen) ==
	    -1 || getsockname(ctl, (struct sockaddr *)&here, &len) == -1)
		goto fail;
	if (here.ss_family != AF_INET && here.ss_family != AF_INET6) {
		errno = EAFNOSUPPORT;
		goto fail;
	}
	set_port_of((struct sockaddr *)&a->client, port);
	a->port_known = port != 0;
	set_port_of((struct sockaddr *)&here, 0);
	if ((a->relay = new_socket(here.ss_family, SOCK_DGRAM, 0)) == -1 ||
	    bind(a->relay, (struct sockaddr *)&here, len) == -1)
		goto fail;
	return a;
fail:
	e = errno;
	if (a->relay != -1)
		close(a->relay);
	free(a);
	errno = e;
	return NULL;
}

void
udp_assoc_relay(const struct udp_assoc *a, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	*len = sizeof(*ss);
	if (getsockname(a->relay, (struct sockaddr *)ss, len) == -1) {
		memset(ss, 0, sizeof(*ss));
		ss->ss_family = AF_INET;
		*len = sizeof(struct sockaddr_in);
	}
	/* An IPv4 client of a dual-stack listener is told an IPv4 address. */
	memcpy(&s6, ss, sizeof(s6));
	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr)) {
		memset(ss, 0, sizeof(*ss));
		s4->sin_family = AF_INET;
		s4->sin_port = s6.sin6_port;
		memcpy(&s4->sin_addr, (unsigned char *)&s6.sin6_addr + 12, 4);
		*len = sizeof(*s4);
	}
}

void
udp_assoc_prepare(struct udp_assoc *a, struct loop *l)
{
	int i;

	loop_watch(l, a->ctl, false);
	loop_watch(l, a->relay, false);
	if (a->down.n > 0)
		loop_watch(l, a->relay, true);
	for (i = 0; i < 2; i++) {
		if (a->out[i] == -1)
			continue;
		loop_watch(l, a->out[i], false);
		if (a->up[i].n > 0)
			loop_watch(l, a->out[i], true);
	}
}

/* A target address for the header's address h. Returns 0, or -1. */
static int
target_of(struct udp_assoc *a, const struct socks5_addr *h,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct addrinfo *res;
	struct name *nm;
	size_t i;

	memset(ss, 0, sizeof(*ss));
	if (h->atyp == SOCKS5_ATYP_IPV4) {
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, h->addr, 4);
		*len = sizeof(*s4);
	} else if (h->atyp == SOCKS5_ATYP_IPV6) {
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, h->addr, 16);
		*len = sizeof(*s6);
	} else {
		for (i = 0; i < a->nnames; i++)
			if (strcasecmp(a->names[i].name, h->name) == 0)
				break;
		if (i == a->nnames) {
			if (a->numeric) {
				drop(a, "dropped a datagram for %s: no names "
				    "are looked up (-n)", h->name);
				return -1;
			}
			if (resolve(h->name, NULL, AF_UNSPEC, SOCK_DGRAM,
			    false, false, &res) != 0) {
				drop(a, "dropped a datagram for %s: the name "
				    "does not resolve", h->name);
				return -1;
			}
			/* The oldest name makes room. */
			i = a->nnames < NAMES_MAX ? a->nnames++ :
			    (size_t)(a->counts.up % NAMES_MAX);
			nm = &a->names[i];
			snprintf(nm->name, sizeof(nm->name), "%s", h->name);
			memcpy(&nm->addr, res->ai_addr, res->ai_addrlen);
			nm->len = res->ai_addrlen;
			freeaddrinfo(res);
		}
		memcpy(ss, &a->names[i].addr, a->names[i].len);
		*len = a->names[i].len;
	}
	set_port_of((struct sockaddr *)ss, h->port);
	return 0;
}

/* Remember a target, so that its answers are taken. */
static void
note_dest(struct udp_assoc *a, const struct sockaddr_storage *ss,
    socklen_t len)
{
	size_t i;

	for (i = 0; i < a->ndests; i++)
		if (same_addr((const struct sockaddr *)&a->dests[i],
		    (const struct sockaddr *)ss, true))
			return;
	memcpy(&a->dests[a->next_dest], ss, len);
	a->next_dest = (a->next_dest + 1) % DESTS_MAX;
	if (a->ndests < DESTS_MAX)
		a->ndests++;
}

/* A datagram from the client, on the relay. */
static void
from_client(struct udp_assoc *a, size_t n, const struct sockaddr *from,
    socklen_t fromlen)
{
	struct sockaddr_storage to;
	struct socks5_addr h;
	char shown[300];
	socklen_t tolen;
	int hlen, frag, k;

	if (!same_addr(from, (struct sockaddr *)&a->client, a->port_known)) {
		format_addr(from, fromlen, shown, sizeof(shown));
		drop(a, "dropped a datagram from %s: not the client", shown);
		return;
	}
	if ((hlen = socks5_udp_parse(a->buf, n, &h, &frag)) < 0) {
		drop(a, "dropped a datagram from the client: %s",
		    socks5_udp_strerror(hlen));
		return;
	}
	if (frag != 0) {
		drop(a, "dropped a datagram from the client: %s",
		    "a fragment (FRAG not 0)");
		return;
	}
	if (h.port == 0) {
		drop(a, "dropped a datagram from the client: %s", "port 0");
		return;
	}
	if (!a->port_known) {
		/* The first datagram's port is the client's from now on. */
		set_port_of((struct sockaddr *)&a->client, port_of(from));
		a->port_known = true;
	}
	if (target_of(a, &h, &to, &tolen) == -1)
		return;
	k = to.ss_family == AF_INET6 ? 1 : 0;
	if (a->out[k] == -1 &&
	    (a->out[k] = new_socket(to.ss_family, SOCK_DGRAM, 0)) == -1) {
		drop(a, "dropped a datagram: %s", strerror(errno));
		return;
	}
	note_dest(a, &to, tolen);
	if (send_or_queue(a, &a->up[k], a->out[k], (struct sockaddr *)&to,
	    tolen, a->buf + hlen, n - (size_t)hlen) == 0) {
		a->counts.up++;
		a->counts.up_bytes += n - (size_t)hlen;
		a->active = now_ms();
	}
}

/* An answer from a target, on out[k]. */
static void
from_target(struct udp_assoc *a, size_t n, const struct sockaddr *from,
    socklen_t fromlen)
{
	struct socks5_addr src;
	unsigned char hdr[SOCKS5_UDP_HDR_MAX];
	char shown[300];
	size_t i, hlen;

	for (i = 0; i < a->ndests; i++)
		if (same_addr(from, (struct sockaddr *)&a->dests[i], true))
			break;
	if (i == a->ndests) {
		format_addr(from, fromlen, shown, sizeof(shown));
		drop(a, "dropped a datagram from %s: the client has sent it "
		    "nothing", shown);
		return;
	}
	socks5_addr_from_sockaddr(from, &src);
	/* The header goes before the data (read with room for it). */
	hlen = socks5_udp_make(&src, hdr);
	memmove(a->buf + hlen, a->buf, n);
	memcpy(a->buf, hdr, hlen);
	if (send_or_queue(a, &a->down, a->relay,
	    (struct sockaddr *)&a->client, a->clientlen, a->buf, hlen + n) ==
	    0) {
		a->counts.down++;
		a->counts.down_bytes += n;
		a->active = now_ms();
	}
}

/* Take what waits on fd (the relay, or a socket towards the targets). */
static void
take(struct udp_assoc *a, int fd, bool relay)
{
	struct sockaddr_storage from;
	socklen_t fromlen;
	ssize_t n;
	int i;

	for (i = 0; i < READS_MAX; i++) {
		fromlen = sizeof(from);
		/* An answer leaves room in front for its header. */
		if ((n = recvfrom(fd, a->buf, relay ? sizeof(a->buf) :
		    DGRAM_MAX, 0, (struct sockaddr *)&from, &fromlen)) == -1)
			return;		/* EAGAIN, or an ICMP error */
		if (relay)
			from_client(a, (size_t)n, (struct sockaddr *)&from,
			    fromlen);
		else
			from_target(a, (size_t)n, (struct sockaddr *)&from,
			    fromlen);
	}
}

int
udp_assoc_step(struct udp_assoc *a, const struct loop *l, const char **why)
{
	char scrap[512];
	ssize_t n;
	int i;

	if (loop_ready(l, a->ctl, false)) {
		while ((n = recv(a->ctl, scrap, sizeof(scrap), MSG_DONTWAIT)) >
		    0)
			continue;	/* nothing more is said on it */
		if (n == 0) {
			*why = "the control connection closed";
			return 1;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			*why = strerror(errno);
			return 1;
		}
	}
	if (a->down.n > 0 && loop_ready(l, a->relay, true))
		queue_flush(a, &a->down, a->relay);
	for (i = 0; i < 2; i++)
		if (a->out[i] != -1 && a->up[i].n > 0 &&
		    loop_ready(l, a->out[i], true))
			queue_flush(a, &a->up[i], a->out[i]);
	if (loop_ready(l, a->relay, false))
		take(a, a->relay, true);
	for (i = 0; i < 2; i++)
		if (a->out[i] != -1 && loop_ready(l, a->out[i], false))
			take(a, a->out[i], false);
	return 0;
}

long long
udp_assoc_active(const struct udp_assoc *a)
{
	return a->active;
}

void
udp_assoc_counts(const struct udp_assoc *a, struct udp_assoc_counts *c)
{
	*c = a->counts;
}

void
udp_assoc_close(struct udp_assoc *a, struct loop *l)
{
	int i;

	if (a == NULL)
		return;
	loop_forget(l, a->relay);
	close(a->relay);
	for (i = 0; i < 2; i++) {
		queue_free(&a->up[i]);
		if (a->out[i] != -1) {
			loop_forget(l, a->out[i]);
			close(a->out[i]);
		}
	}
	queue_free(&a->down);
	free(a);
}
