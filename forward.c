/*
 * --forward and --proxy-server: many pairs of sockets relayed in one
 * select loop (sock(1), "Forwarding" and "Proxy server"). A pair is the
 * client (accepted, or for a reverse tunnel the connection sock made) and
 * its target connection, each a socket endpoint, relayed by a relay
 * session (relay.c) that this loop steps with the others, so every relay
 * rule holds for each pair and the bytes move by splice(2) where the
 * relay chooses it. A pair is first CONNECTING (a non-blocking connect
 * walking the target's addresses in order, each try bounded by -w, again
 * and again for --wait), then RELAYING; a proxy client is first in its
 * REQUEST (proxyd.c parses it), and gets its reply in REPLYING.
 *
 * The --forward target is resolved once, at the start (so a name costs
 * one lookup, and -n forbids names); a proxy's targets are resolved per
 * request, in the loop.
 */
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"
#include "proxyd.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL	0	/* SIGPIPE is ignored anyway; see main */
#endif

#define WAIT_PAUSE_MIN	50	/* --wait: the first pause between tries */
#define WAIT_PAUSE_MAX	500	/* and the longest */
#define REQUEST_MS	10000	/* a proxy request must be complete by then
				   (or by -w, if sooner) */
#define REPLY_MAX	PROXYD_HEAD_MAX	/* bytes held for one side before relaying */

enum pair_state {
	PAIR_REQUEST,		/* a proxy client's request is being read */
	PAIR_CONNECTING,	/* the target connect is in progress */
	PAIR_PAUSED,		/* --wait: between two walks */
	PAIR_REPLYING,		/* the handshake's last bytes go out */
	PAIR_RELAYING		/* the relay session runs */
};

/* Bytes to write to one side before the relay starts. */
struct outbuf {
	char		*buf;
	size_t		 len;
	size_t		 off;
};

struct pair {
	enum pair_state	 state;
	struct conn	 client;
	struct conn	 target;
	struct end	 ec;
	struct end	 et;
	struct relay_session *s;
	struct addrinfo	*res;		/* a proxy's target, this pair's own */
	const struct addrinfo *next;	/* the next address to try */
	long long	 deadline;	/* this try (or request) must end by then */
	long long	 wait_until;	/* --wait: no new walk after this */
	long long	 pause;		/* --wait: the next pause */
	int		 why;		/* the last connect failure */
	bool		 all_timed_out;	/* every try of the walk timed out */
	char		 tname[300];	/* the target, for messages */
	struct proxyd	*req;		/* a proxy client's request, or NULL */
	struct outbuf	 to_client;	/* the reply */
	struct outbuf	 to_target;	/* an HTTP request head and what followed */
};

struct fwd {
	const struct opts *o;
	struct opts	 po;		/* the relay's rules for a pair */
	struct relay_io	 io;
	struct addrinfo	*res;		/* the --forward target */
	struct sockaddr_un sun;		/* a Unix target */
	struct addrinfo	 unix_ai;
	struct pair	**pairs;
	int		 n;
	int		*lfds;
	int		 nl;
	int		 status;	/* of the last pair to end */
};

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
	    strlen(colon + 1) >= sizeof(t->port))
		return -1;
	memcpy(t->host, host, hostlen);
	memcpy(t->port, colon + 1, strlen(colon + 1));
	return 0;
}

/*
 * Start a non-blocking connect to ai with the options of the target side.
 * Returns the socket (its connect done or in progress, as *pending says),
 * or -1 with errno.
 */
static int
start_connect(const struct opts *o, const struct addrinfo *ai, bool *pending)
{
	struct sockopts so = o->sockopts;
	struct addrinfo *src = NULL;
	const char *what;
	int fd, e;

	if (ai->ai_family == AF_UNIX) {
		/* Only the buffer sizes mean anything on a Unix socket. */
		so.tos = so.ttl = -1;
		so.nodelay = so.keepalive = so.broadcast = false;
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (set_cloexec(fd) == -1 || set_nonblock(fd, true) == -1 ||
	    set_sockopts(fd, ai->ai_family, SOCK_STREAM, &so, &what) == -1)
		goto fail;
	if (o->source_addr != NULL && ai->ai_family != AF_UNIX) {
		if (resolve(o->source_addr, "0", ai->ai_family, SOCK_STREAM,
		    o->numeric, true, &src) != 0) {
			errno = EADDRNOTAVAIL;
			goto fail;
		}
		if (bind(fd, src->ai_addr, src->ai_addrlen) == -1) {
			freeaddrinfo(src);
			goto fail;
		}
		freeaddrinfo(src);
	}
	*pending = false;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno == EINPROGRESS || errno == EINTR) {
		*pending = true;
		return fd;
	}
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

static long long
try_deadline(const struct opts *o)
{
	return o->timeout_ms >= 0 ? now_ms() + o->timeout_ms : -1;
}

static void
outbuf_free(struct outbuf *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

/*
 * Close a proxy client that was refused, after its reply: the FIN first,
 * then what it already sent is read off (a bounded amount, without
 * waiting), so that unread bytes do not turn the close into a reset that
 * could destroy the reply on its way.
 */
static void
refused_close(struct pair *p)
{
	char scrap[4096];
	int i;

	(void)shutdown(p->client.fd, SHUT_WR);
	for (i = 0; i < 16; i++)
		if (read(p->client.fd, scrap, sizeof(scrap)) <= 0)
			break;
	close(p->client.fd);
	p->client.fd = -1;
}

/* Take the pair out of the loop and free it; its sockets are closed. */
static void
pair_free(struct fwd *f, int i)
{
	struct pair *p = f->pairs[i];

	relay_close(p->s);
	if (p->client.fd >= 0)
		close(p->client.fd);
	if (p->target.fd >= 0)
		close(p->target.fd);
	if (p->res != NULL)
		freeaddrinfo(p->res);
	proxyd_free(p->req);
	outbuf_free(&p->to_client);
	outbuf_free(&p->to_target);
	free(p);
	f->pairs[i] = f->pairs[--f->n];
}

/* The -v line for a tunnel that has ended (sock(1), DIAGNOSTICS). */
static void
say_tunnel(const struct fwd *f, const struct pair *p)
{
	unsigned long long up = 0, down = 0;

	if (f->o->verbose == 0)
		return;
	if (p->s != NULL)
		relay_counts(p->s, &up, &down);
	/* An HTTP request's head, and what came with it, went on first. */
	up += p->to_target.off;
	warnx("tunnel %s to %s: %llu bytes up, %llu bytes down",
	    p->client.name, p->tname, up, down);
}

/*
 * The pair has ended with status. A failure of one side (a reset, a write
 * that the peer refused) is passed on to the other as a reset, so that it
 * learns it as it would have without sock in between; a failure that is
 * neither side's resets both.
 */
static void
pair_end(struct fwd *f, int i, int status)
{
	struct pair *p = f->pairs[i];
	const struct end *failed = NULL;
	int error;

	say_tunnel(f, p);
	if (p->s != NULL)
		failed = relay_failed(p->s, &error);
	if (status == EXIT_NET) {
		if (failed != &p->ec)
			(void)end_abort(&p->ec);
		if (p->target.fd >= 0 && failed != &p->et)
			(void)end_abort(&p->et);
	}
	f->status = status;
	pair_free(f, i);
}

/*
 * The target could not be reached: the client is closed with a reset and,
 * with -v (or when this was the one connection), told why.
 */
static void
pair_unreachable(struct fwd *f, int i, int status, const char *why)
{
	struct pair *p = f->pairs[i];

	if (f->o->verbose > 0 || !f->o->keep_open)
		warnx("forward %s to %s: %s", p->client.name, p->tname, why);
	(void)end_abort(&p->ec);
	f->status = status;
	pair_free(f, i);
}

/* Start the relay of a connected pair. Returns 0, or -1 (said why). */
static int
start_relay(struct fwd *f, struct pair *p)
{
	end_socket(&p->ec, &p->client);
	end_socket(&p->et, &p->target);
	if ((p->s = relay_open(&f->po, &p->ec, &p->ec, &p->et, &p->target,
	    &f->io)) == NULL)
		return -1;
	p->state = PAIR_RELAYING;
	return 0;
}

/* The target has connected: reply to a proxy client, or relay. */
static int
target_up(struct fwd *f, int i)
{
	struct pair *p = f->pairs[i];

	p->target.connected = true;
	if (f->o->verbose > 1)
		warnx("connected to %s for %s", p->tname, p->client.name);
	if (p->req != NULL) {
		struct sockaddr_storage ss;
		socklen_t sslen = sizeof(ss);

		if (getsockname(p->target.fd, (struct sockaddr *)&ss,
		    &sslen) == -1) {
			memset(&ss, 0, sizeof(ss));
			sslen = sizeof(ss);
		}
		if (proxyd_success(p->req, (struct sockaddr *)&ss, sslen,
		    &p->to_client.buf, &p->to_client.len) == -1) {
			warn("proxy reply");
			pair_end(f, i, EXIT_LOCAL);
			return -1;
		}
		p->state = PAIR_REPLYING;
		return 0;
	}
	if (start_relay(f, p) == -1) {
		pair_end(f, i, EXIT_LOCAL);
		return -1;
	}
	return 0;
}

/* A proxy client hears why its target failed (a SOCKS code, a 502/504). */
static void
proxy_refuse(struct fwd *f, int i, int why)
{
	struct pair *p = f->pairs[i];
	char *reply;
	size_t len;

	if (proxyd_failure(p->req, why, &reply, &len) == 0) {
		/* Small, to a socket that has taken nothing yet: best effort. */
		(void)send(p->client.fd, reply, len, MSG_NOSIGNAL);
		free(reply);
	}
}

/*
 * Walk the target's addresses from p->next on: start the next connect.
 * When none is left, begin again after a pause (--wait, while it lasts)
 * or give up. Returns -1 if the pair is gone.
 */
static int
target_walk(struct fwd *f, int i)
{
	struct pair *p = f->pairs[i];
	const struct addrinfo *ai;
	bool pending;
	int fd;

	while ((ai = p->next) != NULL) {
		p->next = ai->ai_next;
		if (ai->ai_family != AF_UNIX)
			format_addr(ai->ai_addr, ai->ai_addrlen, p->target.name,
			    sizeof(p->target.name));
		if (f->o->verbose > 1)
			warnx("trying %s for %s", p->target.name, p->client.name);
		if ((fd = start_connect(f->o, ai, &pending)) == -1) {
			p->why = errno;
			p->all_timed_out = false;
			continue;
		}
		if (fd >= FD_SETSIZE) {
			close(fd);
			p->why = EMFILE;
			p->all_timed_out = false;
			continue;
		}
		p->target.fd = fd;
		end_socket(&p->et, &p->target);
		p->deadline = try_deadline(f->o);
		if (!pending)
			return target_up(f, i);
		p->state = PAIR_CONNECTING;
		return 0;
	}
	if (p->wait_until >= 0 && now_ms() + p->pause < p->wait_until) {
		if (f->o->verbose > 1)
			warnx("connect to %s for %s: %s; trying again",
			    p->tname, p->client.name, strerror(p->why));
		p->state = PAIR_PAUSED;
		p->deadline = now_ms() + p->pause;
		p->pause = p->pause * 2 < WAIT_PAUSE_MAX ? p->pause * 2 :
		    WAIT_PAUSE_MAX;
		return 0;
	}
	if (p->req != NULL)
		proxy_refuse(f, i, p->why);
	pair_unreachable(f, i, p->all_timed_out || p->wait_until >= 0 ?
	    EXIT_TIMEOUT : EXIT_NET, strerror(p->why));
	return -1;
}

/* Begin connecting p to the addresses res lists. Returns -1 if it is gone. */
static int
target_start(struct fwd *f, int i, const struct addrinfo *res)
{
	struct pair *p = f->pairs[i];

	p->next = res;
	p->all_timed_out = true;
	p->why = EHOSTUNREACH;
	p->pause = WAIT_PAUSE_MIN;
	p->wait_until = f->o->wait_ms >= 0 ? now_ms() + f->o->wait_ms : -1;
	return target_walk(f, i);
}

/* The connect in progress has an answer. Returns -1 if the pair is gone. */
static int
target_answered(struct fwd *f, int i, bool timed_out)
{
	struct pair *p = f->pairs[i];
	socklen_t len = sizeof(p->why);
	int e = 0;

	if (timed_out)
		e = ETIMEDOUT;
	else if (getsockopt(p->target.fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e == 0)
		return target_up(f, i);
	p->why = e;
	if (e != ETIMEDOUT)
		p->all_timed_out = false;
	if (f->o->verbose > 1)
		warnx("connect to %s for %s: %s", p->target.name,
		    p->client.name, strerror(e));
	close(p->target.fd);
	p->target.fd = -1;
	return target_walk(f, i);
}

/*
 * Write what waits in b to fd. Returns 1 when it is all out, 0 while some
 * is left, -1 with errno on failure.
 */
static int
outbuf_send(struct outbuf *b, int fd)
{
	ssize_t n;

	while (b->off < b->len) {
		n = send(fd, b->buf + b->off, b->len - b->off, MSG_NOSIGNAL);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		b->off += (size_t)n;
	}
	return 1;
}

/* REPLYING: the reply to the client, the head to the target, then relay. */
static int
reply_step(struct fwd *f, int i, const fd_set *wfds)
{
	struct pair *p = f->pairs[i];
	int a = 1, b = 1;

	if (FD_ISSET(p->client.fd, wfds) &&
	    (a = outbuf_send(&p->to_client, p->client.fd)) == -1) {
		pair_end(f, i, EXIT_NET);
		return -1;
	}
	if (FD_ISSET(p->target.fd, wfds) &&
	    (b = outbuf_send(&p->to_target, p->target.fd)) == -1) {
		pair_end(f, i, EXIT_NET);
		return -1;
	}
	if (p->to_client.off < p->to_client.len ||
	    p->to_target.off < p->to_target.len)
		return 0;
	if (start_relay(f, p) == -1) {
		pair_end(f, i, EXIT_LOCAL);
		return -1;
	}
	return 0;
}

/*
 * REQUEST: read what the proxy client sent and feed the parser; answer
 * what it says to answer. Returns -1 if the pair is gone.
 */
static int
request_step(struct fwd *f, int i)
{
	struct pair *p = f->pairs[i];
	struct proxyd_target t;
	char buf[4096], *reply = NULL;
	size_t replylen = 0;
	ssize_t n;
	int r, gai;

	/* No more than the parser holds: what follows stays in the socket. */
	n = read(p->client.fd, buf, proxyd_room(p->req) < sizeof(buf) ?
	    proxyd_room(p->req) : sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		if (f->o->verbose > 1)
			warnx("proxy client %s left before its request",
			    p->client.name);
		pair_free(f, i);
		return -1;
	}
	r = proxyd_input(p->req, buf, (size_t)n, &reply, &replylen);
	if (reply != NULL) {
		/* Small (a method choice, an error): best effort. */
		(void)send(p->client.fd, reply, replylen, MSG_NOSIGNAL);
		free(reply);
	}
	if (r == PROXYD_MORE)
		return 0;
	if (r == PROXYD_FAIL) {
		if (f->o->verbose > 0)
			warnx("proxy client %s: %s", p->client.name,
			    proxyd_error(p->req));
		refused_close(p);
		pair_free(f, i);
		return -1;
	}
	proxyd_target(p->req, &t);
	snprintf(p->tname, sizeof(p->tname), "%s port %d", t.host, t.port);
	if (proxyd_forward(p->req, &p->to_target.buf, &p->to_target.len) == -1) {
		warn("proxy request");
		pair_free(f, i);
		return -1;
	}
	if ((gai = resolve(t.host, t.portstr, f->o->family, SOCK_STREAM,
	    f->o->numeric, false, &p->res)) != 0) {
		p->res = NULL;
		proxy_refuse(f, i, gai == EAI_SYSTEM ? errno : EHOSTUNREACH);
		pair_unreachable(f, i, EXIT_NET, gai_strerror(gai));
		return -1;
	}
	return target_start(f, i, p->res);
}

/*
 * Add a pair for a client: a proxy request to read, or its target to
 * connect to. Returns -1 (said why) if there is no memory.
 */
static int
pair_add(struct fwd *f, const struct conn *c)
{
	struct pair *p;
	int i;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		warn("forward");
		close(c->fd);
		return -1;
	}
	p->client = *c;
	p->target.fd = -1;
	p->target.connected = false;
	end_socket(&p->ec, &p->client);
	i = f->n;
	f->pairs[f->n++] = p;
	if (f->o->proxy_server) {
		if ((p->req = proxyd_new(f->o->proxy_auth_user,
		    f->o->proxy_auth_password)) == NULL) {
			warn("proxy");
			pair_free(f, i);
			return -1;
		}
		p->state = PAIR_REQUEST;
		p->deadline = now_ms() + (f->o->timeout_ms >= 0 &&
		    f->o->timeout_ms < REQUEST_MS ? f->o->timeout_ms :
		    REQUEST_MS);
		snprintf(p->tname, sizeof(p->tname), "(no request)");
		return 0;
	}
	if (f->o->forward_to.is_unix)
		snprintf(p->tname, sizeof(p->tname), "%s", f->o->forward_to.path);
	else
		snprintf(p->tname, sizeof(p->tname), "%s port %s",
		    f->o->forward_to.host, f->o->forward_to.port);
	snprintf(p->target.name, sizeof(p->target.name), "%.*s",
	    (int)sizeof(p->target.name) - 1, p->tname);
	(void)target_start(f, i, f->res);
	return 0;
}

static void
note_max(int fd, int *maxfd)
{
	if (fd > *maxfd)
		*maxfd = fd;
}

static void
note_deadline(long long t, long long *deadline)
{
	if (t >= 0 && (*deadline < 0 || t < *deadline))
		*deadline = t;
}

/*
 * Before select: add what pair i waits on. Returns -1 if it is gone
 * (its session ended, its time ran out).
 */
static int
pair_prepare(struct fwd *f, int i, fd_set *rfds, fd_set *wfds, int *maxfd,
    long long *deadline)
{
	struct pair *p = f->pairs[i];
	long long now = now_ms();
	int status;

	switch (p->state) {
	case PAIR_REQUEST:
		if (now >= p->deadline) {
			if (f->o->verbose > 0)
				warnx("proxy client %s: no complete request "
				    "in time", p->client.name);
			proxy_refuse(f, i, ETIMEDOUT);
			refused_close(p);
			pair_free(f, i);
			return -1;
		}
		FD_SET(p->client.fd, rfds);
		note_max(p->client.fd, maxfd);
		note_deadline(p->deadline, deadline);
		return 0;
	case PAIR_CONNECTING:
		if (p->deadline >= 0 && now >= p->deadline)
			return target_answered(f, i, true);
		FD_SET(p->target.fd, wfds);
		note_max(p->target.fd, maxfd);
		note_deadline(p->deadline, deadline);
		return 0;
	case PAIR_PAUSED:
		if (now >= p->deadline) {
			p->next = p->res != NULL ? p->res : f->res;
			p->all_timed_out = true;
			if (target_walk(f, i) == -1)
				return -1;
			/* Its new state is looked at in the next pass. */
			note_deadline(now, deadline);
			return 0;
		}
		note_deadline(p->deadline, deadline);
		return 0;
	case PAIR_REPLYING:
		if (p->to_client.off < p->to_client.len) {
			FD_SET(p->client.fd, wfds);
			note_max(p->client.fd, maxfd);
		}
		if (p->to_target.off < p->to_target.len) {
			FD_SET(p->target.fd, wfds);
			note_max(p->target.fd, maxfd);
		}
		if (p->to_client.off == p->to_client.len &&
		    p->to_target.off == p->to_target.len)
			note_deadline(now, deadline);
		return 0;
	case PAIR_RELAYING:
		if ((status = relay_prepare(p->s, rfds, wfds, maxfd,
		    deadline)) != -1) {
			pair_end(f, i, status);
			return -1;
		}
		return 0;
	}
	return 0;
}

/* After select: move pair i on. Returns -1 if it is gone. */
static int
pair_step(struct fwd *f, int i, const fd_set *rfds, const fd_set *wfds)
{
	struct pair *p = f->pairs[i];
	int status;

	switch (p->state) {
	case PAIR_REQUEST:
		return FD_ISSET(p->client.fd, rfds) ? request_step(f, i) : 0;
	case PAIR_CONNECTING:
		return FD_ISSET(p->target.fd, wfds) ?
		    target_answered(f, i, false) : 0;
	case PAIR_PAUSED:
		return 0;
	case PAIR_REPLYING:
		return reply_step(f, i, wfds);
	case PAIR_RELAYING:
		if ((status = relay_step(p->s, rfds, wfds)) != -1) {
			pair_end(f, i, status);
			return -1;
		}
		return 0;
	}
	return 0;
}

/*
 * Accept a client of lfd. Without -k the first one is all: the listeners
 * close. Returns -1 if accepting failed for good.
 */
static int
accept_one(struct fwd *f, int lfd)
{
	struct conn c;
	int fd, i;

	if ((fd = admit_client(f->o, lfd, f->n, &c)) == -2)
		return -1;
	if (fd == -1)
		return 0;
	if (!f->o->keep_open) {
		for (i = 0; i < f->nl; i++)
			close(f->lfds[i]);
		f->nl = 0;
	}
	(void)pair_add(f, &c);
	return 0;
}

static int
forward_loop(struct fwd *f)
{
	fd_set rfds, wfds;
	struct timeval tv;
	long long deadline, left;
	int i, maxfd;

	for (;;) {
		FD_ZERO(&rfds);
		FD_ZERO(&wfds);
		maxfd = -1;
		deadline = -1;
		for (i = 0; i < f->nl; i++) {
			FD_SET(f->lfds[i], &rfds);
			note_max(f->lfds[i], &maxfd);
		}
		for (i = 0; i < f->n;)
			if (pair_prepare(f, i, &rfds, &wfds, &maxfd,
			    &deadline) == 0)
				i++;
		if (f->nl == 0 && f->n == 0)
			return f->status;
		if (deadline >= 0) {
			left = deadline - now_ms();
			if (left < 0)
				left = 0;
			tv.tv_sec = left / 1000;
			tv.tv_usec = left % 1000 * 1000;
		}
		if (select(maxfd + 1, &rfds, &wfds, NULL, deadline >= 0 ?
		    &tv : NULL) == -1) {
			if (errno == EINTR)
				continue;
			warn("select");
			return EXIT_LOCAL;
		}
		/* A pair that ends moves the last one into its slot. */
		for (i = 0; i < f->n;)
			if (pair_step(f, i, &rfds, &wfds) == 0)
				i++;
		for (i = 0; i < f->nl; i++)
			if (FD_ISSET(f->lfds[i], &rfds) &&
			    accept_one(f, f->lfds[i]) == -1)
				return EXIT_NET;
	}
}

int
serve_forward(const struct opts *o, int *lfds, int nl, struct conn *first)
{
	const struct fwd_target *t = &o->forward_to;
	struct fwd f;
	int gai, status, i;

	memset(&f, 0, sizeof(f));
	f.o = o;
	f.lfds = lfds;
	f.nl = nl;
	f.status = EXIT_OK;
	/* A pair's two sides are peers: each end is passed on as it comes. */
	f.po = *o;
	f.po.fin = FIN_ALWAYS;
	f.po.keep_open = f.po.recv_only = f.po.send_only = false;
	f.po.quit_ms = f.po.interval_ms = -1;
	f.po.crlf = f.po.telnet = false;
	f.po.hexdump_path = NULL;
	f.po.progress = PROGRESS_OFF;
	f.po.verbose = o->verbose > 1 ? o->verbose : 0;
	if ((f.pairs = calloc((size_t)o->max_conns + 1,
	    sizeof(*f.pairs))) == NULL) {
		warn("forward");
		return EXIT_LOCAL;
	}
	if (o->proxy_server)
		;
	else if (t->is_unix) {
		memset(&f.sun, 0, sizeof(f.sun));
		f.sun.sun_family = AF_UNIX;
		memcpy(f.sun.sun_path, t->path, strlen(t->path));
		f.unix_ai.ai_family = AF_UNIX;
		f.unix_ai.ai_socktype = SOCK_STREAM;
		f.unix_ai.ai_addr = (struct sockaddr *)&f.sun;
		f.unix_ai.ai_addrlen = sizeof(f.sun);
		f.res = &f.unix_ai;
	} else if ((gai = resolve(t->host, t->port, o->family, SOCK_STREAM,
	    o->numeric, false, &f.res)) != 0) {
		warnx("resolve %s: %s", t->host, gai_strerror(gai));
		free(f.pairs);
		if (first != NULL)
			close(first->fd);
		for (i = 0; i < nl; i++)
			close(lfds[i]);
		return EXIT_NET;
	}
	if (first != NULL && pair_add(&f, first) == -1)
		status = EXIT_LOCAL;
	else
		status = forward_loop(&f);
	while (f.n > 0)
		pair_free(&f, 0);
	if (f.res != NULL && f.res != &f.unix_ai)
		freeaddrinfo(f.res);
	free(f.pairs);
	return status;
}
