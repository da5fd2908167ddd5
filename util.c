/* SPDX-License-Identifier: ISC */
/*
 * util.c: the mechanism under everything else (net.h, parse.h): time,
 * descriptors, resolving, connecting with Happy Eyeballs, listening,
 * accepting, addresses and address blocks, descriptor passing, and the
 * parsers and formatters of option values and protocol bytes. It touches
 * descriptors and memory the caller hands it, and nothing else: no
 * messages, no exits, no options.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#ifdef HAVE_LINUX_CALLS
#include <sys/syscall.h>
#endif

#include "opts.h"
#include "loop.h"
#include "net.h"
#include "parse.h"

/*
 * The accept queue asked for: the kernel caps it at its own somaxconn.
 * Not SOMAXCONN, which is 128 in some libcs (musl) and would turn a burst
 * of clients into SYN retries seconds apart.
 */
#define LISTEN_BACKLOG	4096

#if defined(__linux__) && !defined(IPPROTO_MPTCP)
#define IPPROTO_MPTCP	262	/* Linux 5.6; older headers lack the name */
#endif

long long
preamble_ms(long long timeout_ms)
{
	return timeout_ms >= 0 && timeout_ms < PREAMBLE_MS ? timeout_ms :
	    PREAMBLE_MS;
}

int
parse_duration(const char *s, long long *ms)
{
	long long whole = 0, frac = 0, scale = 1000;
	const char *p = s;
	bool digits = false, roundup = false;

	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (*p - '0');
		digits = true;
		if (whole > 1000000)
			goto range;
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			digits = true;
			/* Keep milliseconds; a finer non-zero digit rounds up. */
			if (scale > 1) {
				scale /= 10;
				frac += (*p - '0') * scale;
			} else if (*p != '0')
				roundup = true;
		}
	}
	if (!digits || *p != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (roundup)
		frac++;
	if (frac > 999) {
		whole++;
		frac -= 1000;
	}
	if (whole > 1000000 || (whole == 1000000 && frac > 0))
		goto range;
	*ms = whole * 1000 + frac;
	return 0;
range:
	errno = ERANGE;
	return -1;
}

int
parse_port_number(const char *s, int *port)
{
	long v = 0;
	const char *p;

	if (*s == '\0') {
		errno = EINVAL;
		return -1;
	}
	/* Not a number at all is EINVAL, even if its digits are many. */
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			errno = EINVAL;
			return -1;
		}
	}
	for (p = s; *p != '\0'; p++) {
		v = v * 10 + (*p - '0');
		if (v > 65535) {
			errno = ERANGE;
			return -1;
		}
	}
	*port = (int)v;
	return 0;
}

int
set_nonblock(int fd, bool on)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl);
}

int
set_cloexec(int fd)
{
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int
raise_fd_limit(long long *was)
{
	struct rlimit rl;

	*was = -1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return FD_LIMIT_MAX;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= FD_LIMIT_MAX)
		*was = (long long)rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		/* An unlimited hard limit (macOS) is not one setrlimit takes. */
		rl.rlim_cur = rl.rlim_max > FD_LIMIT_MAX ? FD_LIMIT_MAX :
		    rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > FD_LIMIT_MAX ? FD_LIMIT_MAX : (int)rl.rlim_cur;
}

void
lower_fd_limit(long long was)
{
	struct rlimit rl;

	if (was < 0 || getrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    rl.rlim_cur == (rlim_t)was)
		return;
	rl.rlim_cur = (rlim_t)was;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

void
close_others(int keep)
{
	long top = sysconf(_SC_OPEN_MAX);
	int fd;

#if defined(HAVE_LINUX_CALLS) && defined(SYS_close_range)
	/* One call instead of one per descriptor the limit allows. */
	if ((keep <= 3 || syscall(SYS_close_range, 3, keep - 1, 0) == 0) &&
	    syscall(SYS_close_range, keep < 3 ? 3 : keep + 1, ~0U, 0) == 0)
		return;
#endif
	for (fd = 3; fd < (top > 0 && top < FD_LIMIT_MAX ? top : FD_LIMIT_MAX);
	    fd++)
		if (fd != keep)
			(void)close(fd);
}

int
resolve(const char *host, const char *port, int family, int socktype,
    bool numeric, bool passive, struct addrinfo **res)
{
	struct addrinfo hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = socktype;
	hints.ai_protocol = socktype == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
	if (numeric)
		hints.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
	if (passive)
		hints.ai_flags |= AI_PASSIVE;
	return getaddrinfo(host, port, &hints, res);
}

/* Close fd on a failure path, keeping the errno that explains it: -1. */
static int
fail_close(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
	return -1;
}

int
new_socket(int family, int socktype, int protocol)
{
	int fd;

#if defined(HAVE_LINUX_CALLS) && defined(SOCK_NONBLOCK) && \
    defined(SOCK_CLOEXEC)
	/* One call instead of four: a scan makes one per probe. */
	if ((fd = socket(family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    protocol)) != -1 || errno != EINVAL)
		return fd;
#endif
	if ((fd = socket(family, socktype, protocol)) == -1)
		return -1;
	if (set_cloexec(fd) == -1 || set_nonblock(fd, true) == -1)
		return fail_close(fd);
	return fd;
}

/*
 * The result of a non-blocking connect that has finished. A peer may
 * accept, send and reset before we look: reading SO_ERROR then would
 * report a failed connect and lose what it sent. So a socket that is
 * connected, or holds data, counts as connected, and its error comes with
 * the first read after the data.
 */
static int
connect_result(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int error;
	char byte;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		return 0;
	/* A failed connect's error comes back here (and is then cleared). */
	if (recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0)
		return 0;
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN)
		return -1;
	len = sizeof(error);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		return -1;
	if (error != 0) {
		errno = error;
		return -1;
	}
	return 0;
}

/*
 * Wait until fd is writable (a non-blocking connect has finished) or
 * timeout_ms passes; then return the connect's result.
 */
static int
wait_connected(int fd, long long timeout_ms)
{
	if (wait_fd(fd, true, timeout_ms < 0 ? -1 : now_ms() + timeout_ms) == -1)
		return -1;
	return connect_result(fd);
}

static int
setint(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

/* IP_MINTTL (level IPPROTO_IP) or IPV6_MINHOPCOUNT (IPPROTO_IPV6). */
static int
set_minttl(int fd, int level, int minttl)
{
#ifdef IP_MINTTL
	if (level == IPPROTO_IP)
		return setint(fd, IPPROTO_IP, IP_MINTTL, minttl);
#endif
#ifdef IPV6_MINHOPCOUNT
	if (level == IPPROTO_IPV6)
		return setint(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, minttl);
#endif
	(void)fd;
	(void)minttl;
	errno = EOPNOTSUPP;
	return -1;
}

int
set_sockopts(int fd, int family, int socktype, const struct sockopts *so,
    const char **what)
{
	if (so->rcvbuf > 0 && setint(fd, SOL_SOCKET, SO_RCVBUF,
	    so->rcvbuf) == -1)
		return *what = "SO_RCVBUF", -1;
	if (so->sndbuf > 0 && setint(fd, SOL_SOCKET, SO_SNDBUF,
	    so->sndbuf) == -1)
		return *what = "SO_SNDBUF", -1;
	if (so->broadcast && setint(fd, SOL_SOCKET, SO_BROADCAST, 1) == -1)
		return *what = "SO_BROADCAST", -1;
	if (so->keepalive && setint(fd, SOL_SOCKET, SO_KEEPALIVE, 1) == -1)
		return *what = "SO_KEEPALIVE", -1;
	/* Linux lets only CAP_NET_ADMIN turn it on (EACCES). */
	if (so->debug && setint(fd, SOL_SOCKET, SO_DEBUG, 1) == -1)
		return *what = "SO_DEBUG", -1;
	if (so->nodelay && socktype == SOCK_STREAM &&
	    setint(fd, IPPROTO_TCP, TCP_NODELAY, 1) == -1)
		return *what = "TCP_NODELAY", -1;
	if (so->tos >= 0 && family == AF_INET &&
	    setint(fd, IPPROTO_IP, IP_TOS, so->tos) == -1)
		return *what = "IP_TOS", -1;
	if (so->tos >= 0 && family == AF_INET6) {
		if (setint(fd, IPPROTO_IPV6, IPV6_TCLASS, so->tos) == -1)
			return *what = "IPV6_TCLASS", -1;
		/* A dual-stack socket's IPv4 traffic takes IP_TOS. */
		(void)setint(fd, IPPROTO_IP, IP_TOS, so->tos);
	}
	if (so->ttl > 0 && family == AF_INET &&
	    setint(fd, IPPROTO_IP, IP_TTL, so->ttl) == -1)
		return *what = "IP_TTL", -1;
	if (so->ttl > 0 && family == AF_INET6) {
		if (setint(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, so->ttl) == -1)
			return *what = "IPV6_UNICAST_HOPS", -1;
		(void)setint(fd, IPPROTO_IP, IP_TTL, so->ttl);
	}
	/*
	 * -m: the kernel drops arriving packets whose TTL (hop limit) is
	 * below minttl (RFC 5082, GTSM); where the system lacks the option,
	 * EOPNOTSUPP.
	 */
	if (so->minttl > 0 && family == AF_INET &&
	    set_minttl(fd, IPPROTO_IP, so->minttl) == -1)
		return *what = "IP_MINTTL", -1;
	if (so->minttl > 0 && family == AF_INET6) {
		if (set_minttl(fd, IPPROTO_IPV6, so->minttl) == -1)
			return *what = "IPV6_MINHOPCOUNT", -1;
		/* A dual-stack socket's IPv4 traffic is checked by IP_MINTTL. */
		(void)set_minttl(fd, IPPROTO_IP, so->minttl);
	}
	return 0;
}

int
socket_protocol(const struct addrinfo *ai, const struct sockopts *so)
{
#ifdef IPPROTO_MPTCP
	if (so != NULL && so->mptcp && ai->ai_socktype == SOCK_STREAM &&
	    (ai->ai_family == AF_INET || ai->ai_family == AF_INET6))
		return IPPROTO_MPTCP;
#endif
	return ai->ai_protocol;
}

int
mptcp_available(void)
{
#ifdef IPPROTO_MPTCP
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
	/* A system without IPv4 may still have MPTCP over IPv6. */
	if (fd == -1 && errno == EAFNOSUPPORT)
		fd = socket(AF_INET6, SOCK_STREAM, IPPROTO_MPTCP);
	if (fd == -1)
		return -1;
	close(fd);
	return 0;
#else
	errno = EPROTONOSUPPORT;
	return -1;
#endif
}

/*
 * A new socket for ai with the options so, bound to src (may be NULL),
 * its connect started. Returns the socket with *done telling whether the
 * connect has already finished, or -1 with errno.
 */
static int
start_connect(const struct addrinfo *ai, const struct addrinfo *src,
    const struct sockopts *so, bool *done)
{
	const char *what;
	int fd, on = 1;

	if ((fd = new_socket(ai->ai_family, ai->ai_socktype,
	    socket_protocol(ai, so))) == -1)
		return -1;
	if (so != NULL && set_sockopts(fd, ai->ai_family, ai->ai_socktype, so,
	    &what) == -1)
		return fail_close(fd);
	if (src != NULL) {
		/* A source port may still be in TIME_WAIT from the last run. */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, src->ai_addr, src->ai_addrlen) == -1)
			return fail_close(fd);
	}
	*done = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
	if (!*done && errno != EINPROGRESS && errno != EINTR)
		return fail_close(fd);
	return fd;
}

int
connect_addr(const struct addrinfo *ai, const struct addrinfo *src,
    long long timeout_ms, const struct sockopts *so)
{
	bool done;
	int fd;

	if ((fd = start_connect(ai, src, so, &done)) == -1)
		return -1;
	if (!done && wait_connected(fd, timeout_ms) == -1)
		return fail_close(fd);
	return fd;
}

/* The first address of list at or after ai whose family is (not) family. */
static const struct addrinfo *
next_in_family(const struct addrinfo *ai, int family, bool same)
{
	while (ai != NULL && (ai->ai_family == family) != same)
		ai = ai->ai_next;
	return ai;
}

/*
 * RFC 8305 section 4: interleave the address families, the first
 * address's family first, each family in getaddrinfo's order (which has
 * already sorted by RFC 6724). Fills v, room for every address of list;
 * returns how many.
 */
static size_t
interleave_families(const struct addrinfo *list, const struct addrinfo **v)
{
	const struct addrinfo *a, *b;
	size_t n = 0;

	a = next_in_family(list, list->ai_family, true);
	b = next_in_family(list, list->ai_family, false);
	while (a != NULL || b != NULL) {
		if (a != NULL) {
			v[n++] = a;
			a = next_in_family(a->ai_next, list->ai_family, true);
		}
		if (b != NULL) {
			v[n++] = b;
			b = next_in_family(b->ai_next, list->ai_family, false);
		}
	}
	return n;
}

/* The first address of src in family, or NULL. */
static const struct addrinfo *
source_for(const struct addrinfo *src, int family)
{
	for (; src != NULL; src = src->ai_next)
		if (src->ai_family == family)
			return src;
	return NULL;
}

static void
tell(attempt_fn *report, void *arg, int event, const struct addrinfo *ai,
    int error, bool last)
{
	struct attempt at;

	if (report == NULL)
		return;
	memset(&at, 0, sizeof(at));
	at.event = event;
	at.ai = ai;
	at.error = error;
	at.last = last;
	report(arg, &at);
}

/* Record that an attempt failed with error. */
static void
attempt_failed(struct happy *h, const struct addrinfo *ai, int error)
{
	if (error == ETIMEDOUT)
		h->timeout_ai = ai;
	else {
		h->error = error;
		h->error_ai = ai;
	}
}

/* Close and forget the attempt at index i, keeping the rest in order. */
static void
drop_attempt(struct happy *h, size_t i)
{
	loop_forget(h->loop, h->fd[i]);
	close(h->fd[i]);
	h->trying--;
	memmove(&h->fd[i], &h->fd[i + 1], (h->trying - i) * sizeof(h->fd[0]));
	memmove(&h->ai[i], &h->ai[i + 1], (h->trying - i) * sizeof(h->ai[0]));
}

/* Is no address trying, and none left to start? */
static bool
happy_exhausted(const struct happy *h)
{
	return h->trying == 0 && h->next == h->n;
}

/*
 * Start the next address of h. Returns a socket already connected, or -1:
 * the attempt is trying, or it failed (recorded and reported).
 */
static int
start_attempt(struct happy *h)
{
	const struct addrinfo *ai = h->order[h->next++], *from = NULL;
	bool done;
	int fd;

	if (h->src != NULL && (from = source_for(h->src,
	    ai->ai_family)) == NULL) {
		attempt_failed(h, ai, EADDRNOTAVAIL);
		tell(h->report, h->arg, ATTEMPT_NO_SOURCE, ai, EAFNOSUPPORT,
		    happy_exhausted(h));
		return -1;
	}
	tell(h->report, h->arg, ATTEMPT_START, ai, 0, false);
	fd = start_connect(ai, from, h->so, &done);
	if (fd != -1 && done)
		return fd;
	if (fd == -1) {
		attempt_failed(h, ai, errno);
		tell(h->report, h->arg, ATTEMPT_FAILED, ai, errno,
		    happy_exhausted(h));
		return -1;
	}
	h->fd[h->trying] = fd;
	h->ai[h->trying++] = ai;
	return -1;
}

int
happy_start(struct happy *h, const struct addrinfo *list,
    const struct addrinfo *src, const struct sockopts *so, attempt_fn *report,
    void *arg)
{
	const struct addrinfo *ai;
	size_t n = 0;

	memset(h, 0, sizeof(*h));
	for (ai = list; ai != NULL; ai = ai->ai_next)
		n++;
	h->list = list;
	h->src = src;
	h->so = so;
	h->report = report;
	h->arg = arg;
	if (n == 0)
		return 0;
	h->order = calloc(n, sizeof(*h->order));
	h->ai = calloc(n, sizeof(*h->ai));
	h->fd = calloc(n, sizeof(*h->fd));
	if (h->order == NULL || h->ai == NULL || h->fd == NULL) {
		happy_free(h);
		errno = ENOMEM;
		return -1;
	}
	h->n = interleave_families(list, h->order);
	h->start_next = now_ms();
	return 0;
}

/* The attempt at index i has connected: keep it, close the others. */
static int
happy_won(struct happy *h, size_t i)
{
	int fd = h->fd[i];

	h->fd[i] = -1;
	h->winner = h->ai[i];
	for (i = 0; i < h->trying; i++)
		if (h->fd[i] != -1) {
			loop_forget(h->loop, h->fd[i]);
			close(h->fd[i]);
		}
	h->trying = 0;
	return fd;
}

int
happy_step(struct happy *h, const struct loop *l)
{
	const struct addrinfo *ai;
	long long now;
	size_t i;
	int fd, e;

	for (i = 0; l != NULL && i < h->trying;) {
		if (!loop_ready(l, h->fd[i], true)) {
			i++;
			continue;
		}
		if (connect_result(h->fd[i]) == 0)
			return happy_won(h, i);
		e = errno;
		ai = h->ai[i];
		drop_attempt(h, i);
		attempt_failed(h, ai, e);
		tell(h->report, h->arg, ATTEMPT_FAILED, ai, e,
		    happy_exhausted(h));
		h->start_next = now_ms();	/* one failed: go on at once */
	}
	/*
	 * The next address starts when the attempt delay has passed since
	 * the last start, or at once when nothing is trying (the first, or
	 * the others have failed); one that fails at once is followed at
	 * once.
	 */
	while (h->next < h->n && (h->trying == 0 ||
	    now_ms() >= h->start_next)) {
		i = h->trying;
		if ((fd = start_attempt(h)) >= 0) {
			h->winner = h->order[h->next - 1];
			return fd;
		}
		now = now_ms();
		h->start_next = h->trying > i ? now + ATTEMPT_DELAY_MS : now;
	}
	return h->trying == 0 ? -2 : -1;
}

void
happy_prepare(struct happy *h, struct loop *l)
{
	size_t i;

	h->loop = l;
	for (i = 0; i < h->trying; i++)
		loop_watch(l, h->fd[i], true);
	if (h->next < h->n)
		loop_until(l, h->start_next);
}

int
happy_error(const struct happy *h, bool expired, const struct addrinfo **which)
{
	if (h->n == 0) {
		*which = h->list;
		return EADDRNOTAVAIL;
	}
	if (expired && (h->trying > 0 || h->next < h->n)) {
		/* The oldest attempt still trying, or the last started. */
		*which = h->trying > 0 ? h->ai[0] : h->order[h->next > 0 ?
		    h->next - 1 : 0];
		return ETIMEDOUT;
	}
	if (h->error_ai == NULL) {
		/* Each timed out on its own. */
		*which = h->timeout_ai != NULL ? h->timeout_ai : h->order[0];
		return ETIMEDOUT;
	}
	*which = h->error_ai;
	return h->error;
}

void
happy_free(struct happy *h)
{
	size_t i;

	for (i = 0; i < h->trying; i++) {
		loop_forget(h->loop, h->fd[i]);
		close(h->fd[i]);
	}
	h->trying = 0;
	free(h->order);
	free(h->ai);
	free(h->fd);
	h->order = h->ai = NULL;
	h->fd = NULL;
}

int
connect_happy(const struct addrinfo *list, const struct addrinfo *src,
    long long timeout_ms, const struct sockopts *so, attempt_fn *report,
    void *arg, const struct addrinfo **which)
{
	struct happy h;
	struct loop l;
	long long deadline;
	bool waited = false, expired = false;
	int fd, e;

	*which = list;
	if (loop_open(&l, LOOP_BRIEF) == -1)
		return -1;
	if (happy_start(&h, list, src, so, report, arg) == -1) {
		loop_close(&l);
		return -1;
	}
	deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	for (;;) {
		if (deadline >= 0 && now_ms() >= deadline) {
			expired = true;
			fd = -2;
			break;
		}
		if ((fd = happy_step(&h, waited ? &l : NULL)) != -1)
			break;
		loop_begin(&l);
		loop_until(&l, deadline);
		happy_prepare(&h, &l);
		if (loop_wait(&l) == -1) {
			if (errno != EINTR) {
				e = errno;
				*which = h.trying > 0 ? h.ai[0] : list;
				happy_free(&h);
				loop_close(&l);
				errno = e;
				return -1;
			}
			waited = false;
			continue;
		}
		waited = true;
	}
	e = fd >= 0 ? 0 : happy_error(&h, expired, which);
	if (fd >= 0)
		*which = h.winner;
	happy_free(&h);
	loop_close(&l);
	if (fd >= 0)
		return fd;
	errno = e;
	return -1;
}

int
listen_addr(const struct addrinfo *ai, bool v6only, const struct sockopts *so)
{
	const char *what;
	int fd, on = 1, v6 = v6only;

	if ((fd = new_socket(ai->ai_family, ai->ai_socktype,
	    socket_protocol(ai, so))) == -1)
		return -1;
	if (so != NULL && set_sockopts(fd, ai->ai_family, ai->ai_socktype, so,
	    &what) == -1)
		goto fail;
	if (ai->ai_family != AF_UNIX &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (ai->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)) == -1)
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
		goto fail;
	if (ai->ai_socktype == SOCK_STREAM && listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	return fd;
fail:
	return fail_close(fd);
}

int
accept_conn(int lfd, struct sockaddr *sa, socklen_t *salen)
{
	int fd;

	for (;;) {
#if defined(HAVE_LINUX_CALLS) && defined(SOCK_NONBLOCK) && \
    defined(SOCK_CLOEXEC)
		/* One call instead of three: it counts in connections/s. */
		fd = accept4(lfd, sa, salen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1)
			return fd;
		if (errno == ENOSYS)
			fd = accept(lfd, sa, salen);
#else
		fd = accept(lfd, sa, salen);
#endif
		if (fd != -1)
			break;
		if (errno != EINTR)
			return -1;
	}
	if (set_cloexec(fd) == -1 || set_nonblock(fd, true) == -1)
		return fail_close(fd);
	return fd;
}

/*
 * Add "%scope" to the numeric IPv6 address in host: the interface's name
 * where it has one (fe80::1%lo), as the user typed it and as getaddrinfo
 * reads it back; a bare number otherwise. -1 with ENOSPC if host is full.
 */
static int
append_scope(char *host, size_t hostlen, uint32_t scope)
{
	char ifname[IF_NAMESIZE];
	size_t used = strlen(host);
	int n;

	if (if_indextoname(scope, ifname) != NULL)
		n = snprintf(host + used, hostlen - used, "%%%s", ifname);
	else
		n = snprintf(host + used, hostlen - used, "%%%lu",
		    (unsigned long)scope);
	if (n < 0 || (size_t)n >= hostlen - used) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

int
addr_port(const struct sockaddr *sa, socklen_t salen, char *host,
    size_t hostlen, int *port)
{
	const struct sockaddr_in6 *sin6;
	struct sockaddr_in sin;

	(void)salen;
	switch (sa->sa_family) {
	case AF_INET:
		memcpy(&sin, sa, sizeof(sin));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			/* A dual-stack listener sees IPv4 clients this way. */
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_port = sin6->sin6_port;
			memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
			break;
		}
		if (inet_ntop(AF_INET6, &sin6->sin6_addr, host,
		    (socklen_t)hostlen) == NULL)
			return -1;
		if (sin6->sin6_scope_id != 0 && append_scope(host, hostlen,
		    sin6->sin6_scope_id) == -1)
			return -1;
		*port = ntohs(sin6->sin6_port);
		return 0;
	default:
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (inet_ntop(AF_INET, &sin.sin_addr, host, (socklen_t)hostlen) == NULL)
		return -1;
	*port = ntohs(sin.sin_port);
	return 0;
}

void
format_addr(const struct sockaddr *sa, socklen_t salen, char *buf,
    size_t len)
{
	const struct sockaddr_un *sun;
	char host[ADDR_STRLEN];
	size_t plen;
	int port;

	if (sa->sa_family == AF_UNIX) {
		sun = (const struct sockaddr_un *)sa;
		plen = salen > offsetof(struct sockaddr_un, sun_path) ?
		    salen - offsetof(struct sockaddr_un, sun_path) : 0;
		if (plen == 0 || sun->sun_path[0] == '\0')
			snprintf(buf, len, "(unnamed)");
		else
			snprintf(buf, len, "%.*s", (int)strnlen(sun->sun_path,
			    plen), sun->sun_path);
		return;
	}
	if (addr_port(sa, salen, host, sizeof(host), &port) == -1)
		snprintf(buf, len, "(unknown address)");
	else
		snprintf(buf, len, "%s port %d", host, port);
}

bool
try_again(void)
{
	return errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK;
}

ssize_t
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* A non-blocking descriptor: wait until it drains. */
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    wait_fd(fd, true, -1) == 0)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return (ssize_t)done;
}

void
format_seconds(long long ms, char *buf, size_t len)
{
	char *p;

	snprintf(buf, len, "%lld.%03lld", ms / 1000, ms % 1000);
	p = buf + strlen(buf) - 1;
	while (*p == '0')
		*p-- = '\0';
	if (*p == '.')
		*p = '\0';
}

void
base64_encode(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	unsigned long v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 |
		    in[i + 2];
		*out++ = tab[v >> 18 & 63];
		*out++ = tab[v >> 12 & 63];
		*out++ = tab[v >> 6 & 63];
		*out++ = tab[v & 63];
	}
	if (i < n) {
		v = (unsigned long)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)in[i + 1] << 8;
		*out++ = tab[v >> 18 & 63];
		*out++ = tab[v >> 12 & 63];
		*out++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

bool
http_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

int
parse_cidr(const char *s, struct cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	int bits, max;

	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	memset(c, 0, sizeof(*c));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		goto bad;
	c->prefix = max;
	if (slash != NULL) {
		if (parse_port_number(slash, &bits) == -1 || bits > max ||
		    strlen(slash) > 3)
			goto bad;
		c->prefix = bits;
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* Do the first bits of a and b agree? */
static bool
prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int i;
	unsigned char mask;

	for (i = 0; bits >= 8; i++, bits -= 8)
		if (a[i] != b[i])
			return false;
	if (bits == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - bits));
	return (a[i] & mask) == (b[i] & mask);
}

bool
acl_match(const struct acl *acl, const struct sockaddr *sa)
{
	const struct sockaddr_in6 *sin6;
	unsigned char addr[16];
	int family;
	size_t i;

	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			family = AF_INET;
			memcpy(addr, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			family = AF_INET6;
			memcpy(addr, &sin6->sin6_addr, 16);
		}
	} else
		return false;
	for (i = 0; i < acl->n; i++)
		if (acl->v[i].family == family &&
		    prefix_equal(acl->v[i].addr, addr, acl->v[i].prefix))
			return true;
	return false;
}

int
acl_add(struct acl *acl, const struct cidr *c)
{
	struct cidr *v;

	if ((v = realloc(acl->v, (acl->n + 1) * sizeof(*v))) == NULL)
		return -1;
	acl->v = v;
	acl->v[acl->n++] = *c;
	return 0;
}

int
parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	/* Base 10, or 16 with 0x; never octal: "010" is ten. */
	v = strtol(s, &end, s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ?
	    16 : 10);
	if (*end != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* IP TOS names (RFC 1349) and DSCP code points (RFC 2474, 2597, 3246). */
static const struct {
	const char	*name;
	int		 tos;
} tos_names[] = {
	{ .name = "lowdelay", .tos = 0x10 },
	{ .name = "throughput", .tos = 0x08 },
	{ .name = "reliability", .tos = 0x04 },
	{ .name = "mincost", .tos = 0x02 },
	{ .name = "af11", .tos = 0x28 },
	{ .name = "af12", .tos = 0x30 },
	{ .name = "af13", .tos = 0x38 },
	{ .name = "af21", .tos = 0x48 },
	{ .name = "af22", .tos = 0x50 },
	{ .name = "af23", .tos = 0x58 },
	{ .name = "af31", .tos = 0x68 },
	{ .name = "af32", .tos = 0x70 },
	{ .name = "af33", .tos = 0x78 },
	{ .name = "af41", .tos = 0x88 },
	{ .name = "af42", .tos = 0x90 },
	{ .name = "af43", .tos = 0x98 },
	{ .name = "cs0", .tos = 0x00 },
	{ .name = "cs1", .tos = 0x20 },
	{ .name = "cs2", .tos = 0x40 },
	{ .name = "cs3", .tos = 0x60 },
	{ .name = "cs4", .tos = 0x80 },
	{ .name = "cs5", .tos = 0xa0 },
	{ .name = "cs6", .tos = 0xc0 },
	{ .name = "cs7", .tos = 0xe0 },
	{ .name = "ef", .tos = 0xb8 },
	{ .name = "va", .tos = 0xb0 },
	{ .name = "le", .tos = 0x04 },
};

int
parse_tos(const char *s, int *tos)
{
	size_t i;

	for (i = 0; i < sizeof(tos_names) / sizeof(tos_names[0]); i++) {
		if (strcasecmp(s, tos_names[i].name) == 0) {
			*tos = tos_names[i].tos;
			return 0;
		}
	}
	return parse_int(s, 0, 255, tos);
}

size_t
format_hex_line(char *out, char marker, unsigned long long off,
    const unsigned char *b, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	size_t i;

	if (n > 16)
		n = 16;
	p += snprintf(p, HEXLINE_MAX, "%c %08llx  ", marker, off);
	for (i = 0; i < 16; i++) {
		if (i < n) {
			*p++ = hex[b[i] >> 4];
			*p++ = hex[b[i] & 0xf];
		} else {
			*p++ = ' ';
			*p++ = ' ';
		}
		*p++ = ' ';
		if (i == 7)
			*p++ = ' ';
	}
	*p++ = ' ';
	*p++ = '|';
	for (i = 0; i < n; i++)
		*p++ = b[i] >= 0x20 && b[i] < 0x7f ? (char)b[i] : '.';
	*p++ = '|';
	*p++ = '\n';
	*p = '\0';
	return (size_t)(p - out);
}

void
linger_close(int fd, long long ms)
{
	long long deadline = now_ms() + ms;
	char scrap[4096];
	ssize_t n;

	(void)shutdown(fd, SHUT_WR);
	while (wait_fd(fd, false, deadline) == 0) {
		n = read(fd, scrap, sizeof(scrap));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			break;
	}
	close(fd);
}

bool
acl_admits(const struct acl *allow, const struct acl *deny,
    const struct sockaddr *sa)
{
	if (allow->n > 0 && !acl_match(allow, sa))
		return false;
	return !acl_match(deny, sa);
}

const char *
sock_proto(bool unix_domain, bool dgram)
{
	if (unix_domain)
		return dgram ? "unixgram" : "unix";
	return dgram ? "udp" : "tcp";
}

/* --forward: host:port, [v6addr]:port or unix:path (man page, Forwarding). */
int
parse_forward_target(const char *s, struct fwd_target *t)
{
	const char *colon, *host, *end;
	size_t hostlen;

	memset(t, 0, sizeof(*t));
	if (strncmp(s, "unix:", 5) == 0) {
		t->is_unix = true;
		t->path = s + 5;
		if (*t->path == '\0' ||
		    strlen(t->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return -1;
		return 0;
	}
	if (*s == '[') {
		host = s + 1;
		if ((end = strchr(host, ']')) == NULL || end[1] != ':')
			return -1;
		colon = end + 1;
	} else {
		host = s;
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		end = colon;
		/* An IPv6 address needs its brackets: the port is ambiguous. */
		if (memchr(host, ':', (size_t)(end - host)) != NULL)
			return -1;
	}
	hostlen = (size_t)(end - host);
	if (hostlen == 0 || hostlen >= sizeof(t->host) || colon[1] == '\0' ||
	    strlen(colon + 1) >= sizeof(t->port) ||
	    strchr(colon + 1, ':') != NULL)
		return -1;
	memcpy(t->host, host, hostlen);
	memcpy(t->port, colon + 1, strlen(colon + 1));
	return 0;
}

int
parse_rate(const char *s, double *bytes_per_sec)
{
	double v = 0, scale = 1, frac = 0.1;
	bool digits = false, point = false;
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9') {
			digits = true;
			if (point) {
				v += (*p - '0') * frac;
				frac /= 10;
			} else
				v = v * 10 + (*p - '0');
			if (v > 1e18)
				goto range;
		} else if (*p == '.' && !point)
			point = true;
		else
			break;
	}
	if (*p == 'K' || *p == 'k')
		scale = 1024.0;
	else if (*p == 'M' || *p == 'm')
		scale = 1024.0 * 1024;
	else if (*p == 'G' || *p == 'g')
		scale = 1024.0 * 1024 * 1024;
	if (scale > 1)
		p++;
	if (!digits || *p != '\0') {
		errno = EINVAL;
		return -1;
	}
	v *= scale;
	/* Less than a byte a second would never let a byte through. */
	if (v < 1 || v > 1125899906842624.0)
		goto range;
	*bytes_per_sec = v;
	return 0;
range:
	errno = ERANGE;
	return -1;
}

int
fd_send(int sock, int fd, const void *data, size_t len)
{
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd >= 0) {
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	for (;;) {
		if ((n = sendmsg(sock, &msg, 0)) == (ssize_t)len)
			return 0;
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    wait_fd(sock, true, -1) == 0)
			continue;
		/* A part sent would leave the receiver a broken message. */
		if (n != -1)
			errno = EIO;
		return -1;
	}
}

ssize_t
fd_recv(int sock, int *fd, void *data, size_t len)
{
	union {
		struct cmsghdr	 align;
		char		 buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct cmsghdr *cmsg;
	struct msghdr msg;
	struct iovec iov;
	ssize_t n;

	*fd = -1;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = data;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	do
		n = recvmsg(sock, &msg, MSG_WAITALL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg))
		if (cmsg->cmsg_level == SOL_SOCKET &&
		    cmsg->cmsg_type == SCM_RIGHTS &&
		    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
	return n;
}

size_t
telnet_filter(struct telnet *t, char *p, size_t n, telnet_refuse_fn *refuse,
    void *arg)
{
	unsigned char b;
	size_t i, out = 0;

	for (i = 0; i < n; i++) {
		b = (unsigned char)p[i];
		switch (t->state) {
		case TN_DATA:
			if (b == TELNET_IAC)
				t->state = TN_IAC;
			else
				p[out++] = (char)b;
			break;
		case TN_IAC:
			t->state = TN_DATA;
			if (b == TELNET_IAC)
				p[out++] = (char)b;	/* an escaped 255 */
			else if (b >= TELNET_WILL && b <= TELNET_DONT) {
				t->cmd = b;
				t->state = TN_OPTION;
			} else if (b == TELNET_SB)
				t->state = TN_SB;
			break;
		case TN_OPTION:
			/* WONT and DONT need no answer. */
			if (t->cmd == TELNET_DO)
				refuse(arg, TELNET_WONT, b);
			else if (t->cmd == TELNET_WILL)
				refuse(arg, TELNET_DONT, b);
			t->state = TN_DATA;
			break;
		case TN_SB:
			if (b == TELNET_IAC)
				t->state = TN_SB_IAC;
			break;
		case TN_SB_IAC:
			t->state = b == TELNET_SE ? TN_DATA : TN_SB;
			break;
		}
	}
	return out;
}
