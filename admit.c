/* SPDX-License-Identifier: ISC */
/*
 * admit.c: who gets in (admit.h): a client accepted is held against
 * --allow/--deny, --max-conns and --max-conns-per-source, with its PROXY
 * header's address under --accept-proxy, and refused at once, with -v
 * saying why, when it may not stay. Out of descriptors, a spare one takes
 * the waiting client and closes it, so that a full server does not spin.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"
#include "end.h"
#include "loop.h"
#include "net.h"
#include "proxyhdr.h"
#include "admit.h"
#include "sources.h"
#include "way.h"

#define EMFILE_PAUSE_US	100000		/* out of descriptors: wait, retry */

int
conns_allowed(int fd_limit, bool pairs)
{
	int n = fd_limit - FD_RESERVE - 2 * way_pool_pipes(fd_limit);

	if (pairs)
		n /= 2;
	return n > 1 ? n : 1;
}

void
say_capacity(const struct opts *o)
{
	if (o->verbose > 0)
		warnx("up to %d connections at once (descriptor limit %d)",
		    o->max_conns, o->fd_limit);
}

bool
client_allowed(const struct opts *o, const struct sockaddr *sa,
    const char *name)
{
	if (acl_admits(&o->allow, &o->deny, sa))
		return true;
	if (o->verbose > 0)
		warnx("refused %s: not allowed by --allow/--deny", name);
	return false;
}

/* The descriptor limit in force (lowered from outside, say by prlimit). */
long long
fd_limit_now(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY ? (long long)rl.rlim_cur : -1;
}

/*
 * Out of descriptors: the client waiting on lfd is taken with the spare
 * descriptor given up for it and closed at once, so that the listener
 * does not stay readable and spin the loop (sock(1), "Many
 * connections"). Without a spare, a pause does the same, more slowly.
 */
static void
refuse_for_descriptors(const struct opts *o, int lfd, int *spare)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char from[128];
	int fd;

	if (spare == NULL || *spare == -1) {
		warn("accept");
		usleep(EMFILE_PAUSE_US);
	} else {
		close(*spare);
		if ((fd = accept_conn(lfd, (struct sockaddr *)&ss, &sslen)) !=
		    -1) {
			format_addr((struct sockaddr *)&ss, sslen, from,
			    sizeof(from));
			if (o->verbose > 0)
				warnx("refused %s: out of descriptors "
				    "(descriptor limit %lld)", from, fd_limit_now());
			close(fd);
		}
	}
	if (spare != NULL)
		*spare = open_spare();
}

int
open_spare(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/*
 * --accept-proxy: a client accepted whose PROXY header is still coming.
 */
struct waiting {
	int		 fd;
	struct sockaddr_storage ss;	/* the socket's peer: the proxy */
	socklen_t	 sslen;
	char		 name[128];	/* ... for messages */
	long long	 deadline;	/* the header must be in by then */
	unsigned	 round;		/* the last round it was read in */
	size_t		 have;		/* bytes of the header taken */
	unsigned char	 buf[PROXYHDR_IN_MAX];
	struct proxyhdr_info info;
};

struct proxied {
	struct waiting	**v;
	int		 n;
	int		 room;
	unsigned	 round;		/* proxied_prepare's count */
};

/*
 * Read what has come of w's header off its socket, never a byte past its
 * end: the bytes there are looked at (MSG_PEEK) and only the header's
 * are taken, so what follows stays for the relay, a TLS handshake or a
 * proxy request. Returns 1 once the header is in (w->info), 0 while more
 * is to come, -1 when it is bad or the client left (*why says why).
 */
static int
header_read(struct waiting *w, const char **why)
{
	enum proxyhdr_answer a;
	size_t take;
	ssize_t n;

	for (;;) {
		n = recv(w->fd, w->buf + w->have, sizeof(w->buf) - w->have,
		    MSG_PEEK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			*why = n == -1 ? strerror(errno) : w->have == 0 ?
			    "closed without sending one" :
			    "closed in the middle of it";
			return -1;
		}
		a = proxyhdr_parse(w->buf, w->have + (size_t)n, &w->info);
		if (a == PROXYHDR_BAD) {
			*why = w->info.why;
			return -1;
		}
		/* Short of the end, every byte there is the header's. */
		take = a == PROXYHDR_DONE ? w->info.len - w->have : (size_t)n;
		while (take > 0) {
			if ((n = recv(w->fd, w->buf + w->have, take, 0)) == -1 &&
			    errno == EINTR)
				continue;
			if (n <= 0) {
				*why = n == -1 ? strerror(errno) :
				    "closed in the middle of it";
				return -1;
			}
			w->have += (size_t)n;
			take -= (size_t)n;
		}
		if (a == PROXYHDR_DONE)
			return 1;
	}
}

/*
 * The rest of admission, once the client's address is known: the
 * socket's (ss), or with --accept-proxy the one its header gives (info,
 * unless it is LOCAL or UNKNOWN): --allow/--deny, --max-conns (nclients;
 * -1: checked at accept already), --max-conns-per-source, the -v line,
 * and c filled in. Returns fd, or -1 (refused, fd closed).
 */
static int
admit_from(const struct opts *o, int fd, const struct sockaddr_storage *ss,
    socklen_t sslen, const struct proxyhdr_info *info, int nclients,
    struct sources *held, struct conn *c)
{
	const struct sockaddr_storage *peer = ss;
	socklen_t peerlen = sslen;
	char from[sizeof(c->name)], sock[sizeof(c->name)], to[128];
	bool known = info != NULL && !info->local;

	format_addr((const struct sockaddr *)ss, sslen, sock, sizeof(sock));
	if (known) {
		peer = &info->src;
		peerlen = info->srclen;
	}
	format_addr((const struct sockaddr *)peer, peerlen, from, sizeof(from));
	if (info != NULL && o->verbose > 0) {
		if (known) {
			format_addr((const struct sockaddr *)&info->dst,
			    info->dstlen, to, sizeof(to));
			warnx("PROXY v%d header from %s: %s to %s",
			    info->version, o->unix_domain ? o->path : sock,
			    from, to);
		} else
			warnx("PROXY v%d header from %s: %s (its own addresses "
			    "stand)", info->version, o->unix_domain ? o->path :
			    sock, info->version == 1 ? "UNKNOWN" : "LOCAL");
	}
	if (!client_allowed(o, (const struct sockaddr *)peer, from)) {
		close(fd);
		return -1;
	}
	if (nclients >= 0 && nclients >= o->max_conns) {
		if (o->verbose > 0)
			warnx("refused %s: already %d clients (--max-conns)",
			    from, nclients);
		close(fd);
		return -1;
	}
	if (held != NULL && o->max_per_source > 0 && sources_take(held,
	    (const struct sockaddr *)peer, o->max_per_source) == -1 &&
	    errno != EAFNOSUPPORT) {
		if (o->verbose > 0 && errno == EBUSY)
			warnx("refused %s: already %d connections from its "
			    "address (--max-conns-per-source)", from,
			    o->max_per_source);
		else if (o->verbose > 0)
			warnx("refused %s: %s", from, strerror(errno));
		close(fd);
		return -1;
	}
	if (o->verbose > 0)
		warnx("connection from %s (%s)", from,
		    sock_proto(o->unix_domain, o->udp));
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->connected = true;
	memcpy(&c->peer, peer, peerlen);
	c->peerlen = peerlen;
	if (known) {
		c->proxied = true;
		memcpy(&c->self, &info->dst, info->dstlen);
		c->selflen = info->dstlen;
	}
	/* Messages name the far end; a Unix client is rarely named. */
	snprintf(c->name, sizeof(c->name), "%s", o->unix_domain && !known ?
	    o->path : from);
	return fd;
}

static void
waiting_free(struct waiting *w)
{
	if (w->fd != -1)
		close(w->fd);
	free(w);
}

/*
 * A client with nobody else to serve meanwhile (-l without -k): its
 * header is waited for here, bounded as a TLS handshake is. Returns
 * admit_from's answer, -2 for a bad header or -4 for one not complete in
 * time (said).
 */
static int
header_wait(const struct opts *o, struct waiting *w, struct conn *c)
{
	const char *why = NULL;
	int r, fd;

	while ((r = header_read(w, &why)) == 0)
		if (wait_fd(w->fd, false, w->deadline) == -1) {
			why = strerror(errno);
			r = errno == ETIMEDOUT ? -4 : -2;
			break;
		}
	if (r != 1) {
		warnx("PROXY header from %s: %s", w->name, why);
		waiting_free(w);
		return r == -4 ? -4 : -2;
	}
	fd = admit_from(o, w->fd, &w->ss, w->sslen, &w->info, -1, NULL, c);
	w->fd = -1;
	waiting_free(w);
	return fd;
}

int
admit_client(const struct opts *o, int lfd, int nclients,
    struct sources *held, int *spare, struct proxied *pw, struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct waiting *w, **v;
	const char *why = NULL;
	int fd, r;

	if ((fd = accept_conn(lfd, (struct sockaddr *)&ss, &sslen)) == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			refuse_for_descriptors(o, lfd, spare);
			return -1;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -3;
		if (errno == ECONNABORTED || errno == EINTR || errno == EPROTO)
			return -1;
		warn("accept");
		return -2;
	}
	if (!o->accept_proxy)
		return admit_from(o, fd, &ss, sslen, NULL, nclients, held, c);

	/*
	 * --accept-proxy: the address that counts is the header's, so
	 * --allow/--deny and the rest wait for it; --max-conns counts the
	 * clients whose header is still coming too.
	 */
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		warn("client");
		close(fd);
		return -1;
	}
	w->fd = fd;
	memcpy(&w->ss, &ss, sslen);
	w->sslen = sslen;
	format_addr((struct sockaddr *)&ss, sslen, w->name, sizeof(w->name));
	if (o->unix_domain)
		snprintf(w->name, sizeof(w->name), "%s", o->path);
	w->deadline = now_ms() + preamble_ms(o->timeout_ms);
	if (pw == NULL)
		return header_wait(o, w, c);
	nclients += pw->n;
	if (nclients >= o->max_conns) {
		if (o->verbose > 0)
			warnx("refused %s: already %d clients (--max-conns)",
			    w->name, nclients);
		waiting_free(w);
		return -1;
	}
	/* The header has often come with the connection. */
	if ((r = header_read(w, &why)) == 1) {
		fd = admit_from(o, fd, &w->ss, w->sslen, &w->info, -1, held, c);
		w->fd = -1;
		waiting_free(w);
		return fd;
	}
	if (r == -1) {
		if (o->verbose > 0)
			warnx("refused %s: PROXY header: %s", w->name, why);
		waiting_free(w);
		return -1;
	}
	/* Bounded by --max-conns, so the doubling cannot overflow. */
	if (pw->n == pw->room) {
		if ((v = realloc(pw->v, (pw->room > 0 ? (size_t)pw->room * 2 :
		    16) * sizeof(*v))) == NULL) {
			warn("client %s", w->name);
			waiting_free(w);
			return -1;
		}
		pw->v = v;
		pw->room = pw->room > 0 ? pw->room * 2 : 16;
	}
	w->round = pw->round;
	pw->v[pw->n++] = w;
	return -1;
}

struct proxied *
proxied_new(void)
{
	struct proxied *pw;

	if ((pw = calloc(1, sizeof(*pw))) == NULL)
		warn("malloc");
	return pw;
}

/*
 * Take waiting client i out of the table and close it (the last moves
 * into its slot).
 */
static void
proxied_remove(struct proxied *pw, int i, struct loop *l)
{
	struct waiting *w = pw->v[i];

	loop_forget(l, w->fd);
	waiting_free(w);
	pw->v[i] = pw->v[--pw->n];
}

void
proxied_free(struct proxied *pw, struct loop *l)
{
	if (pw == NULL)
		return;
	while (pw->n > 0)
		proxied_remove(pw, 0, l);
	free(pw->v);
	free(pw);
}

void
proxied_prepare(const struct opts *o, struct proxied *pw, struct loop *l)
{
	long long now = now_ms();
	struct waiting *w;
	int i;

	if (pw == NULL)
		return;
	pw->round++;
	for (i = 0; i < pw->n;) {
		w = pw->v[i];
		if (w->deadline <= now) {
			if (o->verbose > 0)
				warnx("refused %s: PROXY header: %s", w->name,
				    w->have == 0 ? "none in time" :
				    "not complete in time");
			proxied_remove(pw, i, l);
			continue;
		}
		loop_watch(l, w->fd, false);
		loop_until(l, w->deadline);
		i++;
	}
}

int
proxied_next(const struct opts *o, struct proxied *pw, struct loop *l,
    struct sources *held, struct conn *c)
{
	struct waiting *w;
	const char *why = NULL;
	int i, r, fd;

	if (pw == NULL)
		return -1;
	for (i = 0; i < pw->n;) {
		w = pw->v[i];
		if (w->round == pw->round || !loop_ready(l, w->fd, false)) {
			i++;
			continue;
		}
		w->round = pw->round;
		if ((r = header_read(w, &why)) == 0) {
			i++;
			continue;
		}
		if (r == -1) {
			if (o->verbose > 0)
				warnx("refused %s: PROXY header: %s", w->name,
				    why);
			proxied_remove(pw, i, l);
			continue;
		}
		fd = w->fd;
		/* Admitted or not, it leaves the table (and the loop). */
		loop_forget(l, fd);
		w->fd = -1;
		fd = admit_from(o, fd, &w->ss, w->sslen, &w->info, -1, held, c);
		waiting_free(w);
		pw->v[i] = pw->v[--pw->n];
		if (fd >= 0)
			return fd;
		/* Refused: its socket is closed. */
	}
	return -1;
}
