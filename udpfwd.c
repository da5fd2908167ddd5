/* SPDX-License-Identifier: ISC */
/*
 * udpfwd.c: -u --forward, UDP forwarding (sock(1), "Forwarding
 * datagrams"). A listener has no connections to accept: a session is
 * what the first datagram from a new sender address opens. Each session
 * has a socket of its own connected to the target, so that the target's
 * replies come back on it and only it, and go back to that sender alone
 * (sendto on the socket the sender reached). Sessions are found by the
 * sender's address in a hash table, watched in one loop (loop.c, epoll or
 * poll), and end after -w of silence both ways. A datagram is read whole
 * into a 64 KiB buffer and sent at once, so its boundaries are kept and
 * nothing is merged, split or reordered; one the next socket cannot take
 * is dropped and counted, as a router would. Senders that are refused
 * (--allow/--deny, --max-conns, --max-conns-per-source) are remembered
 * for a while, so that -v says so once per sender, not once a datagram.
 *
 * The reverse tunnel (connect mode) is one session whose sender side is
 * the connected socket sock made.
 *
 * The target is resolved once, at the start, as --forward does for
 * streams. It touches the listening sockets and the sessions' sockets,
 * says what -v asks, and returns an exit status.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"
#include "end.h"
#include "loop.h"
#include "net.h"
#include "parse.h"
#include "admit.h"
#include "sources.h"
#include "udpfwd.h"

#define DGRAM_BUF	65536	/* more than the largest UDP payload: a
				   datagram is never truncated */
#define DGRAM_BURST	64	/* datagrams taken from one socket a round */
#define IDLE_DEFAULT_MS	60000	/* a session's silence without -w */
#define REFUSED_MAX	1024	/* refused senders remembered at once */
#define REFUSED_SAY_MS	1000	/* beyond those, one line a second at most */
#define KEY_MAX		32	/* listener, family, port, address, scope */

/* A sender, admitted (a session) or refused (remembered, to say it once). */
struct usess {
	struct usess	*next;		/* in its hash bucket */
	struct usess	*older, *newer;	/* in its list, the longest silent first */
	bool		 refused;
	int		 lfd;		/* the socket the sender reached */
	int		 fd;		/* connected to the target; -1: refused */
	struct sockaddr_storage peer;	/* the sender */
	socklen_t	 peerlen;
	unsigned char	 key[KEY_MAX];
	size_t		 keylen;
	long long	 last;		/* the last datagram either way */
	bool		 counted;	/* --max-conns-per-source holds it */
	int		 dst_family;	/* the address the sender reached, when
					   the listener's is a wildcard: AF_INET,
					   AF_INET6 (maybe v4-mapped), or 0 */
	unsigned char	 dst[16];	/* ... in network byte order */
	unsigned int	 dst_ifindex;	/* ... and its interface (link-local) */
	bool		 said_refused;	/* -v said the target refused once */
	bool		 said_drop;	/* -v said why one was dropped once */
	unsigned long long dg_up, by_up, dg_down, by_down;
	unsigned long long icmp;	/* errors the target's side reported */
	unsigned long long dropped;	/* datagrams that could not go on */
	char		 name[128];	/* the sender, for messages */
};

/* Sessions (or refused senders) by their last datagram, oldest first. */
struct ulist {
	struct usess	*oldest;
	struct usess	*newest;
	int		 n;
};

struct ufwd {
	const struct opts *o;
	int		*lfds;
	int		 nl;
	bool		*wild;		/* lfds[i] is bound to a wildcard:
					   replies name their source (pktinfo) */
	int		 cfd;		/* the reverse tunnel's socket, or -1 */
	struct addrinfo	*res;		/* the target's addresses */
	struct addrinfo	*src;		/* connect mode: -s, or NULL */
	char		 tname[300];	/* the target, for messages */
	struct sockopts	 so;		/* the target sockets' options */
	long long	 idle_ms;	/* -w, or IDLE_DEFAULT_MS */
	struct ulist	 v;		/* the sessions */
	struct ulist	 r;		/* the refused senders remembered */
	struct usess	**byfd;		/* the sessions by descriptor */
	int		 nbyfd;
	struct usess	**bucket;	/* the hash table of both */
	size_t		 nbucket;	/* a power of two */
	struct sources	 held;		/* sessions per address */
	struct loop	 loop;
	unsigned long long unsaid;	/* refused, not remembered, not said */
	long long	 said_at;	/* when they were last said */
	unsigned char	 buf[DGRAM_BUF];
};

/*
 * The key a sender is found by: the socket it reached, and its address
 * (an IPv4-mapped IPv6 address is the IPv4 address). Returns its length.
 */
static size_t
sender_key(int lfd, const struct sockaddr *sa, unsigned char *key)
{
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;
	size_t len = 0;

	memcpy(key, &lfd, sizeof(lfd));
	len += sizeof(lfd);
	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			key[len++] = 4;
			memcpy(key + len, &s6->sin6_port, 2);
			memcpy(key + len + 2, &s6->sin6_addr.s6_addr[12], 4);
			return len + 6;
		}
		key[len++] = 6;
		memcpy(key + len, &s6->sin6_port, 2);
		memcpy(key + len + 2, &s6->sin6_addr, 16);
		memcpy(key + len + 18, &s6->sin6_scope_id, 4);
		return len + 22;
	}
	s4 = (const struct sockaddr_in *)sa;
	key[len++] = 4;
	memcpy(key + len, &s4->sin_port, 2);
	memcpy(key + len + 2, &s4->sin_addr, 4);
	return len + 6;
}

/*
 * FNV-1a from a secret start (hash_seed), so that senders cannot choose
 * addresses and ports that all fall in one bucket.
 */
static uint32_t hash_seed = 2166136261u;

static size_t
key_hash(const unsigned char *key, size_t len)
{
	uint32_t h = hash_seed;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

/* A start for the hash that senders cannot know: the system's randomness. */
static void
seed_hash(void)
{
	uint32_t r = 0;
	int fd;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) != -1) {
		if (read(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
			r = 0;
		close(fd);
	}
	if (r == 0)
		r = (uint32_t)now_ms() ^ (uint32_t)getpid() << 16;
	hash_seed ^= r;
}

static struct usess *
lookup(const struct ufwd *u, const unsigned char *key, size_t len)
{
	struct usess *s;

	if (u->nbucket == 0)
		return NULL;
	for (s = u->bucket[key_hash(key, len) & (u->nbucket - 1)];
	    s != NULL; s = s->next)
		if (s->keylen == len && memcmp(s->key, key, len) == 0)
			return s;
	return NULL;
}

/* Put s in the table, grown to a bucket per entry: 0, or -1 (ENOMEM). */
static int
hash_add(struct ufwd *u, struct usess *s)
{
	struct usess **nb, *e, *next;
	size_t want, i, h;

	if ((size_t)(u->v.n + u->r.n) >= u->nbucket) {
		want = u->nbucket == 0 ? 64 : u->nbucket * 2;
		if ((nb = calloc(want, sizeof(*nb))) == NULL)
			return -1;
		for (i = 0; i < u->nbucket; i++)
			for (e = u->bucket[i]; e != NULL; e = next) {
				next = e->next;
				h = key_hash(e->key, e->keylen) & (want - 1);
				e->next = nb[h];
				nb[h] = e;
			}
		free(u->bucket);
		u->bucket = nb;
		u->nbucket = want;
	}
	h = key_hash(s->key, s->keylen) & (u->nbucket - 1);
	s->next = u->bucket[h];
	u->bucket[h] = s;
	return 0;
}

static void
hash_del(struct ufwd *u, const struct usess *s)
{
	struct usess **p;

	for (p = &u->bucket[key_hash(s->key, s->keylen) & (u->nbucket - 1)];
	    *p != NULL; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			return;
		}
}

static void
list_unlink(struct ulist *l, struct usess *s)
{
	if (s->older != NULL)
		s->older->newer = s->newer;
	else
		l->oldest = s->newer;
	if (s->newer != NULL)
		s->newer->older = s->older;
	else
		l->newest = s->older;
	s->older = s->newer = NULL;
	l->n--;
}

static void
list_append(struct ulist *l, struct usess *s)
{
	s->newer = NULL;
	s->older = l->newest;
	if (l->newest != NULL)
		l->newest->newer = s;
	else
		l->oldest = s;
	l->newest = s;
	l->n++;
}

/* A datagram went through s now: it is the newest of its list. */
static void
touch(struct ufwd *u, struct usess *s)
{
	struct ulist *l = s->refused ? &u->r : &u->v;

	s->last = now_ms();
	if (l->newest != s) {
		list_unlink(l, s);
		list_append(l, s);
	}
}

/* The -v line for a session that has ended (sock(1), DIAGNOSTICS). */
static void
say_session(const struct ufwd *u, const struct usess *s)
{
	char extra[128] = "";
	size_t len = 0;

	if (u->o->verbose == 0)
		return;
	if (s->icmp > 0)
		len += (size_t)snprintf(extra + len, sizeof(extra) - len,
		    ", %llu refused", s->icmp);
	if (s->dropped > 0 && len < sizeof(extra))
		snprintf(extra + len, sizeof(extra) - len, ", %llu dropped",
		    s->dropped);
	warnx("session %s to %s: %llu datagrams (%llu bytes) up, "
	    "%llu datagrams (%llu bytes) down%s", s->name, u->tname,
	    s->dg_up, s->by_up, s->dg_down, s->by_down, extra);
}

/* Take s out of the table and its list, and free it. */
static void
sess_free(struct ufwd *u, struct usess *s)
{
	hash_del(u, s);
	list_unlink(s->refused ? &u->r : &u->v, s);
	if (s->fd >= 0) {
		loop_forget(&u->loop, s->fd);
		if (s->fd < u->nbyfd)
			u->byfd[s->fd] = NULL;
		close(s->fd);
	}
	if (s->counted)
		sources_give(&u->held, (struct sockaddr *)&s->peer);
	free(s);
}

/* A session has been silent for -w: its -v line, and it is gone. */
static void
sess_end(struct ufwd *u, struct usess *s)
{
	char secs[32];

	if (!s->refused) {
		say_session(u, s);
		if (u->o->verbose > 1) {
			format_seconds(u->idle_ms, secs, sizeof(secs));
			warnx("session %s: idle for %s s", s->name, secs);
		}
	}
	sess_free(u, s);
}

/*
 * A socket connected to the target, non-blocking: the first of its
 * addresses that one can be made for (a UDP connect only picks a route),
 * or -1 with errno.
 */
static int
target_socket(const struct ufwd *u)
{
	const struct addrinfo *ai, *src;
	int fd = -1, err = EADDRNOTAVAIL;

	for (ai = u->res; ai != NULL; ai = ai->ai_next) {
		for (src = u->src; src != NULL &&
		    src->ai_family != ai->ai_family; src = src->ai_next)
			continue;
		if (u->src != NULL && src == NULL)
			continue;	/* no -s address of this family */
		if ((fd = connect_addr(ai, src, 0, &u->so)) != -1)
			return fd;
		err = errno;
		if (err == EMFILE || err == ENFILE || err == ENOMEM ||
		    err == ENOBUFS)
			break;
	}
	errno = err;
	return -1;
}

/*
 * A new session s (its fd open): in the table, in the list, and its
 * socket watched from now on. 0, or -1 with errno (nothing done).
 */
static int
sess_add(struct ufwd *u, struct usess *s)
{
	struct usess **m;
	int want;

	if (s->fd >= u->nbyfd) {
		for (want = u->nbyfd > 0 ? u->nbyfd : 64; want <= s->fd;)
			want *= 2;
		if ((m = realloc(u->byfd, (size_t)want * sizeof(*m))) == NULL)
			return -1;
		memset(m + u->nbyfd, 0, (size_t)(want - u->nbyfd) *
		    sizeof(*m));
		u->byfd = m;
		u->nbyfd = want;
	}
	if (hash_add(u, s) == -1)
		return -1;
	if (loop_hold(&u->loop, s->fd) == -1) {
		hash_del(u, s);
		return -1;
	}
	u->byfd[s->fd] = s;
	list_append(&u->v, s);
	return 0;
}

/*
 * Remember a refused sender (-v only), so that it is said once; past
 * REFUSED_MAX of them, a count said once a second at most.
 */
static void
refuse(struct ufwd *u, int lfd, const struct sockaddr *sa, socklen_t salen,
    const unsigned char *key, size_t keylen, const char *why)
{
	struct usess *s;
	char name[128];
	long long now;

	if (u->o->verbose == 0)
		return;
	if (u->r.n >= REFUSED_MAX || (s = calloc(1, sizeof(*s))) == NULL) {
		u->unsaid++;
		if ((now = now_ms()) - u->said_at >= REFUSED_SAY_MS) {
			warnx("dropped %llu datagrams from other refused "
			    "senders", u->unsaid);
			u->unsaid = 0;
			u->said_at = now;
		}
		return;
	}
	s->refused = true;
	s->fd = -1;
	s->lfd = lfd;
	memcpy(&s->peer, sa, salen);
	s->peerlen = salen;
	memcpy(s->key, key, keylen);
	s->keylen = keylen;
	s->last = now_ms();
	format_addr(sa, salen, name, sizeof(name));
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (hash_add(u, s) == -1) {
		free(s);
		return;
	}
	list_append(&u->r, s);
	warnx("refused %s: %s", s->name, why);
}

/*
 * The first datagram of a sender not seen (or refused) before: a new
 * session if --allow/--deny, --max-conns and --max-conns-per-source let
 * it in, else NULL (the datagram is dropped; -v says so once).
 */
static struct usess *
admit(struct ufwd *u, int lfd, const struct sockaddr *sa, socklen_t salen,
    const unsigned char *key, size_t keylen, struct usess *old)
{
	const struct opts *o = u->o;
	struct usess *s;
	char why[512];
	bool counted = false;
	int fd;

	if (old != NULL) {
		/* Said already; let it in if there is room now. */
		touch(u, old);
		if (!acl_admits(&o->allow, &o->deny, sa) ||
		    u->v.n >= o->max_conns)
			return NULL;
		if (o->max_per_source > 0 && sources_count(&u->held, sa) >=
		    o->max_per_source)
			return NULL;
		sess_free(u, old);
	}
	if (!acl_admits(&o->allow, &o->deny, sa)) {
		refuse(u, lfd, sa, salen, key, keylen,
		    "not allowed by --allow/--deny");
		return NULL;
	}
	if (u->v.n >= o->max_conns) {
		snprintf(why, sizeof(why), "already %d sessions (--max-conns)",
		    u->v.n);
		refuse(u, lfd, sa, salen, key, keylen, why);
		return NULL;
	}
	if (o->max_per_source > 0) {
		if (sources_take(&u->held, sa, o->max_per_source) == 0)
			counted = true;
		else if (errno == EBUSY) {
			snprintf(why, sizeof(why), "already %d sessions from "
			    "its address (--max-conns-per-source)",
			    o->max_per_source);
			refuse(u, lfd, sa, salen, key, keylen, why);
			return NULL;
		}
	}
	if ((fd = target_socket(u)) == -1) {
		if (errno == EMFILE || errno == ENFILE)
			snprintf(why, sizeof(why), "out of descriptors "
			    "(descriptor limit %d)", o->fd_limit);
		else
			snprintf(why, sizeof(why), "connect to %s: %s",
			    u->tname, strerror(errno));
		if (counted)
			sources_give(&u->held, sa);
		refuse(u, lfd, sa, salen, key, keylen, why);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		close(fd);
		if (counted)
			sources_give(&u->held, sa);
		return NULL;
	}
	s->fd = fd;
	s->lfd = lfd;
	s->counted = counted;
	s->last = now_ms();
	memcpy(&s->peer, sa, salen);
	s->peerlen = salen;
	memcpy(s->key, key, keylen);
	s->keylen = keylen;
	format_addr(sa, salen, s->name, sizeof(s->name));
	if (sess_add(u, s) == -1) {
		if (counted)
			sources_give(&u->held, sa);
		close(fd);
		free(s);
		return NULL;
	}
	if (o->verbose > 0)
		warnx("session from %s (udp) to %s", s->name, u->tname);
	return s;
}

/* A datagram could not go on: counted, and the first reason said (-v). */
static void
dropped(const struct ufwd *u, struct usess *s, const char *towards, int err)
{
	s->dropped++;
	if (u->o->verbose > 0 && !s->said_drop) {
		s->said_drop = true;
		warnx("session %s: dropped a datagram to %s: %s", s->name,
		    towards, strerror(err));
	}
}

/*
 * The target's side reported an error for an earlier datagram (an ICMP
 * port unreachable, say): the session goes on, as socat's does, and
 * counts it; -v says so the first time.
 */
static void
target_refused(const struct ufwd *u, struct usess *s, int err)
{
	s->icmp++;
	if (u->o->verbose > 0 && !s->said_refused) {
		s->said_refused = true;
		warnx("session %s: %s: %s (the session goes on)", s->name,
		    u->tname, strerror(err));
	}
}

static bool
is_icmp_error(int err)
{
#ifdef EHOSTDOWN
	if (err == EHOSTDOWN)
		return true;
#endif
	return err == ECONNREFUSED || err == EHOSTUNREACH ||
	    err == ENETUNREACH || err == ECONNRESET;
}

/* Send len bytes of the buffer to the target on s's socket. */
static void
to_target(struct ufwd *u, struct usess *s, size_t len)
{
	ssize_t w;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if ((w = send(s->fd, u->buf, len, 0)) >= 0) {
			s->dg_up++;
			s->by_up += len;
			return;
		}
		if (errno == EINTR)
			continue;
		/*
		 * An error pending from an earlier datagram is reported
		 * instead of sending this one: send it again, once.
		 */
		if (!is_icmp_error(errno))
			break;
		target_refused(u, s, errno);
	}
	dropped(u, s, u->tname, errno);
}

/*
 * A listener bound to a wildcard address (0.0.0.0, ::) would answer from
 * whichever address the route to the sender has, not the one the sender
 * reached, and a sender that connected its socket (socat, a resolver)
 * drops such an answer: ask for each datagram's destination address
 * (IP_PKTINFO, IPV6_RECVPKTINFO), to answer from it. Where the system
 * has neither, the answer goes out as the route chooses. Returns whether
 * the destination will be told.
 */
static bool
want_destination(int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int on = 1;
	bool asked = false;

	if (getsockname(lfd, (struct sockaddr *)&ss, &len) == -1)
		return false;
	if (ss.ss_family == AF_INET &&
	    ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY)) {
#ifdef IP_PKTINFO
		asked = setsockopt(lfd, IPPROTO_IP, IP_PKTINFO, &on,
		    sizeof(on)) == 0;
#endif
	} else if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(
	    &((struct sockaddr_in6 *)&ss)->sin6_addr)) {
#ifdef IPV6_RECVPKTINFO
		asked = setsockopt(lfd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
		    sizeof(on)) == 0;
#endif
	}
	(void)on;
	return asked;
}

/* The destination of a datagram received with mh, into s (if told). */
static void
note_destination(struct usess *s, struct msghdr *mh)
{
	struct cmsghdr *c;

	s->dst_family = 0;
	if (mh->msg_controllen == 0)
		return;
	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
#ifdef IP_PKTINFO
		struct in_pktinfo pi;

		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			if (IN_MULTICAST(ntohl(pi.ipi_addr.s_addr)) ||
			    pi.ipi_addr.s_addr == htonl(INADDR_BROADCAST))
				return;	/* no source to answer from */
			s->dst_family = AF_INET;
			memcpy(s->dst, &pi.ipi_addr, 4);
			s->dst_ifindex = 0;
			return;
		}
#endif
#ifdef IPV6_RECVPKTINFO
		struct in6_pktinfo pi6;

		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			memcpy(&pi6, CMSG_DATA(c), sizeof(pi6));
			if (IN6_IS_ADDR_MULTICAST(&pi6.ipi6_addr))
				return;
			s->dst_family = AF_INET6;
			memcpy(s->dst, &pi6.ipi6_addr, 16);
			s->dst_ifindex = IN6_IS_ADDR_LINKLOCAL(&pi6.ipi6_addr) ?
			    pi6.ipi6_ifindex : 0;
			return;
		}
#endif
	}
}

/*
 * Send len bytes of the buffer back to s's sender, from the address it
 * reached when that is known: sendto(2)'s result.
 */
static ssize_t
to_sender(struct ufwd *u, struct usess *s, size_t len)
{
	union {
		struct cmsghdr	 align;
		unsigned char	 buf[64];
	} ctl;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;
	ssize_t w;

	if (u->cfd >= 0)
		return send(u->cfd, u->buf, len, 0);
	if (s->dst_family == 0)
		return sendto(s->lfd, u->buf, len, 0,
		    (struct sockaddr *)&s->peer, s->peerlen);
	memset(&mh, 0, sizeof(mh));
	memset(&ctl, 0, sizeof(ctl));
	iov.iov_base = u->buf;
	iov.iov_len = len;
	mh.msg_name = &s->peer;
	mh.msg_namelen = s->peerlen;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	c = NULL;
#ifdef IP_PKTINFO
	if (s->dst_family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi_spec_dst, s->dst, 4);
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
#endif
#ifdef IPV6_RECVPKTINFO
	if (s->dst_family == AF_INET6) {
		struct in6_pktinfo pi6;

		memset(&pi6, 0, sizeof(pi6));
		memcpy(&pi6.ipi6_addr, s->dst, 16);
		pi6.ipi6_ifindex = s->dst_ifindex;
		mh.msg_controllen = CMSG_SPACE(sizeof(pi6));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi6));
		memcpy(CMSG_DATA(c), &pi6, sizeof(pi6));
	}
#endif
	if (c == NULL)
		mh.msg_control = NULL;
	w = sendmsg(s->lfd, &mh, 0);
	if (w == -1 && errno != EINTR && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != ENOBUFS) {
		/*
		 * An address it cannot answer from (a subnet's broadcast
		 * address, say): from now on as the route chooses.
		 */
		s->dst_family = 0;
		return sendto(s->lfd, u->buf, len, 0,
		    (struct sockaddr *)&s->peer, s->peerlen);
	}
	return w;
}

/*
 * A readable listening socket: up to DGRAM_BURST datagrams, each to its
 * sender's session. Returns 0, or -1 if the socket failed for good (said).
 */
static int
from_senders(struct ufwd *u, int lfd)
{
	union {
		struct cmsghdr	 align;
		unsigned char	 buf[256];
	} ctl;
	struct sockaddr_storage ss;
	struct usess *s;
	struct msghdr mh;
	struct iovec iov;
	unsigned char key[KEY_MAX];
	size_t keylen;
	ssize_t r;
	int k, i;
	bool wild = false;

	for (i = 0; i < u->nl; i++)
		if (u->lfds[i] == lfd)
			wild = u->wild[i];
	for (k = 0; k < DGRAM_BURST; k++) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = u->buf;
		iov.iov_len = sizeof(u->buf);
		mh.msg_name = &ss;
		mh.msg_namelen = sizeof(ss);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (wild) {
			mh.msg_control = ctl.buf;
			mh.msg_controllen = sizeof(ctl.buf);
		}
		if ((r = recvmsg(lfd, &mh, MSG_DONTWAIT)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR || errno == ENOMEM ||
			    errno == ENOBUFS || is_icmp_error(errno))
				continue;
			warn("receive on the listening socket");
			return -1;
		}
		if ((mh.msg_flags & MSG_TRUNC) != 0 ||
		    mh.msg_namelen == 0 || (ss.ss_family != AF_INET &&
		    ss.ss_family != AF_INET6))
			continue;	/* never sent on in part */
		keylen = sender_key(lfd, (struct sockaddr *)&ss, key);
		s = lookup(u, key, keylen);
		if ((s == NULL || s->refused) && (s = admit(u, lfd,
		    (struct sockaddr *)&ss, mh.msg_namelen, key, keylen,
		    s)) == NULL)
			continue;
		if (wild)
			note_destination(s, &mh);
		touch(u, s);
		to_target(u, s, (size_t)r);
	}
	return 0;
}

/*
 * A readable session socket: up to DGRAM_BURST of the target's datagrams,
 * each back to the sender (on the connected socket, for a reverse tunnel).
 */
static void
from_target(struct ufwd *u, struct usess *s)
{
	ssize_t r, w;
	int k;

	for (k = 0; k < DGRAM_BURST; k++) {
		if ((r = recv(s->fd, u->buf, sizeof(u->buf),
		    MSG_DONTWAIT)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			if (is_icmp_error(errno)) {
				target_refused(u, s, errno);
				continue;
			}
			dropped(u, s, s->name, errno);
			return;
		}
		touch(u, s);
		do {
			w = to_sender(u, s, (size_t)r);
		} while (w == -1 && errno == EINTR);
		if (w == -1) {
			dropped(u, s, s->name, errno);
			continue;
		}
		s->dg_down++;
		s->by_down += (size_t)r;
	}
}

/*
 * The reverse tunnel's socket is readable: its datagrams to the target.
 * Returns 0, or -1 if it failed for good (said).
 */
static int
from_peer(struct ufwd *u, struct usess *s)
{
	ssize_t r;
	int k;

	for (k = 0; k < DGRAM_BURST; k++) {
		if ((r = recv(u->cfd, u->buf, sizeof(u->buf),
		    MSG_DONTWAIT)) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			if (is_icmp_error(errno)) {
				/* Its port is closed now; it may open. */
				s->icmp++;
				continue;
			}
			warn("receive from %s", s->name);
			return -1;
		}
		touch(u, s);
		to_target(u, s, (size_t)r);
	}
	return 0;
}

/*
 * End what has been silent for -w: the refused senders remembered and the
 * sessions, each list the longest silent first, so that a round looks at
 * no more than it ends. Returns when the next one will be due (-1: none).
 */
static long long
expire(struct ufwd *u, long long now)
{
	long long t, first = -1;
	struct ulist *l;
	int k;

	for (k = 0; k < 2; k++) {
		l = k == 0 ? &u->r : &u->v;
		while (l->oldest != NULL &&
		    (t = l->oldest->last + u->idle_ms) <= now)
			sess_end(u, l->oldest);
		if (l->oldest != NULL && (first < 0 || t < first))
			first = t;
	}
	return first;
}

static int
udp_loop(struct ufwd *u)
{
	struct loop *l = &u->loop;
	struct usess *s;
	const int *ready;
	int i, fd, nready;

	for (;;) {
		/* The sessions' sockets are held: watched every round. */
		loop_begin(l);
		loop_until(l, expire(u, now_ms()));
		if (u->cfd >= 0 && u->v.n == 0)
			return EXIT_OK;	/* the reverse tunnel went quiet */
		for (i = 0; i < u->nl; i++)
			loop_watch(l, u->lfds[i], false);
		loop_watch(l, u->cfd, false);
		if (loop_wait(l) == -1) {
			if (errno == EINTR)
				continue;
			warn("poll");
			return EXIT_LOCAL;
		}
		/* No session ends in this pass: none of them is freed. */
		nready = loop_found(l, &ready);
		for (i = 0; i < nready; i++) {
			fd = ready[i];
			if (fd < u->nbyfd && (s = u->byfd[fd]) != NULL &&
			    loop_ready(l, fd, false))
				from_target(u, s);
		}
		if (u->cfd >= 0 && loop_ready(l, u->cfd, false) &&
		    from_peer(u, u->v.oldest) == -1)
			return EXIT_NET;
		for (i = 0; i < u->nl; i++)
			if (loop_ready(l, u->lfds[i], false) &&
			    from_senders(u, u->lfds[i]) == -1)
				return EXIT_NET;
	}
}

/*
 * The target's addresses, once; in connect mode also -s, the target
 * sockets' source. Returns 0, or -1 (said).
 */
static int
resolve_target(struct ufwd *u)
{
	const struct opts *o = u->o;
	const struct fwd_target *t = &o->forward_to;
	int gai;

	snprintf(u->tname, sizeof(u->tname), "%s port %s", t->host, t->port);
	if (!o->listen && o->source_addr != NULL && (gai =
	    resolve(o->source_addr, "0", o->family, SOCK_DGRAM, o->numeric,
	    true, &u->src)) != 0) {
		u->src = NULL;
		warnx("resolve %s: %s", o->source_addr, gai_strerror(gai));
		return -1;
	}
	if ((gai = resolve(t->host, t->port, o->family, SOCK_DGRAM,
	    o->numeric, false, &u->res)) != 0) {
		u->res = NULL;
		warnx("resolve %s: %s", t->host, gai_strerror(gai));
		return -1;
	}
	return 0;
}

/* sa's port, and its IPv4 address (an IPv4-mapped one too) or IPv6 one. */
static int
addr_of(const struct sockaddr *sa, unsigned char *a, int *port)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

	if (sa->sa_family == AF_INET) {
		memcpy(a, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	*port = ntohs(s6->sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(a, &s6->sin6_addr.s6_addr[12], 4);
		return 4;
	}
	memcpy(a, &s6->sin6_addr, 16);
	return 16;
}

/*
 * Would the target be one of the listeners? Its datagrams would come
 * back as a new sender's, again and again: a session each, at full
 * speed, until --max-conns. A listener's own address and port, or its
 * port on a loopback address when it listens on a wildcard, is that.
 */
static bool
target_is_listener(const struct ufwd *u)
{
	const struct addrinfo *ai;
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned char la[16], ta[16], zero[16] = { 0 };
	int i, ln, tn, lport, tport;
	bool wild, loop;

	for (i = 0; i < u->nl; i++) {
		len = sizeof(ss);
		if (getsockname(u->lfds[i], (struct sockaddr *)&ss, &len) == -1 ||
		    (ln = addr_of((struct sockaddr *)&ss, la, &lport)) == 0)
			continue;
		wild = memcmp(la, zero, (size_t)ln) == 0;
		for (ai = u->res; ai != NULL; ai = ai->ai_next) {
			if ((tn = addr_of(ai->ai_addr, ta, &tport)) == 0 ||
			    tport != lport)
				continue;
			loop = tn == 4 ? ta[0] == 127 : memcmp(ta,
			    &in6addr_loopback, 16) == 0;
			if ((wild && loop) || (tn == ln && memcmp(ta, la,
			    (size_t)tn) == 0))
				return true;
		}
	}
	return false;
}

/* The reverse tunnel's one session: first's peer to a target socket. */
static int
reverse_session(struct ufwd *u, const struct conn *first)
{
	struct usess *s;
	int fd;

	if ((fd = target_socket(u)) == -1) {
		warn("connect to %s", u->tname);
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		warn("forward");
		close(fd);
		return -1;
	}
	s->fd = fd;
	s->lfd = -1;
	s->keylen = 0;
	s->last = now_ms();
	snprintf(s->name, sizeof(s->name), "%s", first->name);
	if (sess_add(u, s) == -1) {
		warn("forward");
		close(fd);
		free(s);
		return -1;
	}
	if (u->o->verbose > 0)
		warnx("session from %s (udp) to %s", s->name, u->tname);
	return 0;
}

int
serve_udp_forward(const struct opts *o, int *lfds, int nl, struct conn *first)
{
	struct ufwd *u;
	int status = EXIT_LOCAL, i;

	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->wild = calloc((size_t)nl + 1, sizeof(*u->wild))) == NULL ||
	    loop_open(&u->loop, LOOP_MANY) == -1) {
		warn("forward");
		if (u != NULL)
			free(u->wild);
		free(u);
		for (i = 0; i < nl; i++)
			close(lfds[i]);
		if (first != NULL)
			close(first->fd);
		return EXIT_LOCAL;
	}
	u->o = o;
	u->lfds = lfds;
	u->nl = nl;
	u->cfd = first != NULL ? first->fd : -1;
	u->so = o->sockopts;
	u->idle_ms = o->timeout_ms >= 0 ? o->timeout_ms : IDLE_DEFAULT_MS;
	seed_hash();
	/* No child holds a copy of these sockets. */
	loop_share(&u->loop, false);
	if (resolve_target(u) == -1)
		status = EXIT_NET;
	else if (target_is_listener(u)) {
		warnx("forward to %s: that is where sock listens", u->tname);
		status = EXIT_NET;
	} else if (first != NULL && reverse_session(u, first) == -1)
		status = EXIT_NET;
	else {
		for (i = 0; i < nl; i++) {
			(void)set_nonblock(lfds[i], true);
			u->wild[i] = want_destination(lfds[i]);
		}
		if (u->cfd >= 0)
			(void)set_nonblock(u->cfd, true);
		if (nl > 0)
			say_capacity(o);
		status = udp_loop(u);
	}
	while (u->v.oldest != NULL)
		sess_end(u, u->v.oldest);
	while (u->r.oldest != NULL)
		sess_free(u, u->r.oldest);
	for (i = 0; i < nl; i++)
		close(lfds[i]);
	if (u->cfd >= 0)
		close(u->cfd);
	if (u->res != NULL)
		freeaddrinfo(u->res);
	if (u->src != NULL)
		freeaddrinfo(u->src);
	sources_free(&u->held);
	loop_close(&u->loop);
	free(u->bucket);
	free(u->byfd);
	free(u->wild);
	free(u);
	return status;
}
