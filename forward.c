/* SPDX-License-Identifier: ISC */
/*
 * forward.c: --forward and --proxy-server, many pairs of sockets relayed in one
 * loop (loop.c; sock(1), "Forwarding" and "Proxy server"). A pair is the
 * client (accepted, or for a reverse tunnel the connection sock made) and
 * its target connection, each an endpoint, relayed by a relay session
 * (relay.c) that this loop steps with the others, so every relay rule
 * holds for each pair and the bytes move by splice(2) where the relay
 * chooses it. With --tls the client is a TLS endpoint whose handshake is
 * stepped here first (HANDSHAKE). A proxy client is then in its REQUEST
 * (proxyd.c parses it). The target is reached in CONNECTING, Happy
 * Eyeballs stepped in the loop (struct happy), or in DIALING, when the
 * way there can block: a name to look up (a proxy client's target) or -x
 * proxies to talk to. A dialer is a child process that runs the blocking
 * code (proxy_connect, getaddrinfo) and hands the connected socket back
 * over a socket pair with SCM_RIGHTS, so that no pair waits for another's
 * DNS or proxies. With --wait a failed walk is PAUSED and begun again. A
 * proxy client gets its reply in REPLYING; then the pair is RELAYING, or,
 * for a SOCKS5 UDP ASSOCIATE, ASSOC: udpassoc.c relays its datagrams until
 * the control connection (the client) closes or -w passes idle.
 *
 * The --forward target is resolved once, at the start (so a name costs
 * one lookup, and -n forbids names). It touches the listening sockets,
 * the pairs' sockets and its dialers, says why a pair failed, and returns
 * an exit status.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"
#include "end.h"
#include "loop.h"
#include "net.h"
#include "connect.h"
#include "tls.h"
#include "proxy.h"
#include "proxyd.h"
#include "proxyhdr.h"
#include "admit.h"
#include "forward.h"
#include "sources.h"
#include "relay.h"
#include "udpassoc.h"
#include "way.h"

#define WAIT_PAUSE_MIN	50	/* --wait: the first pause between tries */
#define WAIT_PAUSE_MAX	500	/* and the longest */
#define DIAL_GRACE_MS	1000	/* a dialer past -w by this much is stopped */
#define REPLY_MAX	PROXYD_HEAD_MAX	/* bytes held for one side before relaying */
#define ACCEPT_BURST	64	/* clients taken from a listener per round */

enum pair_state {
	PAIR_HANDSHAKE,		/* --tls: the client's handshake */
	PAIR_REQUEST,		/* a proxy client's request is being read */
	PAIR_CONNECTING,	/* the target connect is in progress */
	PAIR_DIALING,		/* a dialer process is reaching the target */
	PAIR_PAUSED,		/* --wait: between two walks */
	PAIR_REPLYING,		/* the handshake's last bytes go out */
	PAIR_RELAYING,		/* the relay session runs */
	PAIR_ASSOC		/* a SOCKS5 UDP association runs */
};

/* Bytes to write to one side before the relay starts. */
struct outbuf {
	char		*buf;
	size_t		 len;
	size_t		 off;
};

/* What a dialer sends back, with the socket when it has one. */
struct dial_answer {
	int		 status;	/* EXIT_OK, or why it failed ... */
	int		 err;		/* ... the nearest errno ... */
	char		 msg[512];	/* ... and what to say */
};

struct fwd;

/*
 * What a proxy client asked for, kept apart from the pair so that a
 * forwarded pair (whose target is the forwarder's) does not carry it:
 * an idle pair is small (sock(1), "Many connections").
 */
struct asked {
	char		 host[256];
	char		 port[32];
	char		 name[300];
};

struct pair {
	struct fwd	*f;
	enum pair_state	 state;
	struct conn	 client;
	struct conn	 target;
	struct end	 ec;
	struct end	 et;
	struct relay_session *s;
	struct addrinfo	*res;		/* a proxy's target, this pair's own */
	const struct addrinfo *addrs;	/* the target's addresses */
	struct happy	 happy;		/* CONNECTING: the attempts */
	struct attempt_words words;	/* how -vv names them */
	bool		 dial;		/* reached through a dialer */
	pid_t		 dialer;	/* DIALING: the dialer, and its end of */
	int		 dial_fd;	/* the socket pair (-1: none) */
	long long	 deadline;	/* this walk (or request) must end by then */
	long long	 wait_until;	/* --wait: no new walk after this */
	long long	 pause;		/* --wait: the next pause */
	const char	*thost;		/* the target's host and port, as asked */
	const char	*tport;
	const char	*tname;		/* the target, for messages */
	struct asked	*asked;		/* a proxy client's target, or NULL */
	struct proxyd	*req;		/* a proxy client's request, or NULL */
	struct outbuf	 to_client;	/* the reply */
	struct outbuf	 to_target;	/* a PROXY header, an HTTP request head and
					   what followed */
	size_t		 hdrlen;	/* of to_target: the PROXY header */
	struct udp_assoc *assoc;	/* a UDP ASSOCIATE's, or NULL */
};

struct fwd {
	const struct opts *o;
	struct relay_rules rules;	/* the relay's rules for a pair */
	struct relay_io	 io;
	struct tls_ctx	*tls;		/* --tls: for the client side, or NULL */
	struct sockopts	 so;		/* the target's socket options */
	struct addrinfo	*src;		/* -s, resolved once (NULL: none) */
	struct addrinfo	*res;		/* the --forward target */
	char		 tname[300];	/* ... for messages */
	struct sockaddr_un sun;		/* a Unix target */
	struct addrinfo	 unix_ai;
	struct pair	**pairs;
	int		 n;
	struct loop	 loop;
	int		 spare;		/* a descriptor kept for EMFILE */
	struct sources	 held;		/* clients per address */
	struct proxied	*pw;		/* --accept-proxy -k: headers coming */
	int		*lfds;
	int		 nl;
	int		 status;	/* of the last pair to end */
	int		 assocs;	/* UDP associations: each counts
					   twice against --max-conns (it may
					   hold four descriptors) */
};

static void
outbuf_free(struct outbuf *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

/* A deadline ms from now, but no later than -w from now. */
static long long
bounded_deadline(const struct opts *o, long long ms)
{
	if (o->timeout_ms >= 0 && (ms < 0 || o->timeout_ms < ms))
		ms = o->timeout_ms;
	return ms >= 0 ? now_ms() + ms : -1;
}

/* Tell the client something small (a method choice, an error): best effort. */
static void
client_say(struct pair *p, const char *buf, size_t len)
{
	(void)p->ec.ops->write(&p->ec, buf, len);
}

/*
 * Close a proxy client that was refused, after its reply: the end of the
 * stream first (close_notify too over TLS), then what it already sent is
 * read off (a bounded amount, without waiting), so that unread bytes do
 * not turn the close into a reset that could destroy the reply on its way.
 */
static void
refused_close(struct pair *p)
{
	char scrap[4096];
	int i;

	(void)p->ec.ops->shutdown(&p->ec);
	for (i = 0; i < 16; i++)
		if (p->ec.ops->read(&p->ec, scrap, sizeof(scrap)) <= 0)
			break;
}

/* Stop the dialer, if one is running, and close its socket pair. */
static void
dialer_stop(struct pair *p)
{
	if (p->dial_fd >= 0) {
		loop_forget(&p->f->loop, p->dial_fd);
		close(p->dial_fd);
		p->dial_fd = -1;
	}
	if (p->dialer > 0) {
		(void)kill(p->dialer, SIGKILL);
		while (waitpid(p->dialer, NULL, 0) == -1 && errno == EINTR)
			continue;
		p->dialer = 0;
	}
}

/* Take the pair out of the loop and free it; its sockets are closed. */
static void
pair_free(struct fwd *f, int i)
{
	struct pair *p = f->pairs[i];

	relay_close(p->s);
	if (p->assoc != NULL) {
		udp_assoc_close(p->assoc, &f->loop);
		f->assocs--;
	}
	happy_free(&p->happy);
	dialer_stop(p);
	p->ec.ops->free(&p->ec);
	loop_forget(&f->loop, p->client.fd);
	loop_forget(&f->loop, p->target.fd);
	if (p->client.fd >= 0)
		close(p->client.fd);
	if (p->target.fd >= 0)
		close(p->target.fd);
	if (p->res != NULL)
		freeaddrinfo(p->res);
	proxyd_free(p->req);
	free(p->asked);
	outbuf_free(&p->to_client);
	outbuf_free(&p->to_target);
	sources_give(&f->held, (struct sockaddr *)&p->client.peer);
	free(p);
	f->pairs[i] = f->pairs[--f->n];
}

/* The -v line for a tunnel that has ended (sock(1), DIAGNOSTICS). */
static void
say_tunnel(const struct fwd *f, const struct pair *p)
{
	unsigned long long up = 0, down = 0;
	int error;

	if (f->o->verbose == 0)
		return;
	if (p->s != NULL)
		(void)relay_result(p->s, &up, &down, &error);
	/* An HTTP request's head, and what came with it, went on first. */
	up += p->to_target.off > p->hdrlen ? p->to_target.off - p->hdrlen : 0;
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
	unsigned long long up, down;
	int error;

	say_tunnel(f, p);
	if (p->s != NULL)
		failed = relay_result(p->s, &up, &down, &error);
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
	if ((p->s = relay_open(&f->rules, &p->ec, &p->ec, &p->et, &p->target,
	    &f->io)) == NULL)
		return -1;
	p->state = PAIR_RELAYING;
	/*
	 * The request's parser and the replies are done with: a pair that
	 * relays holds no more than it needs (sock(1), "Many connections").
	 * The counts stay, for the -v line.
	 */
	proxyd_free(p->req);
	p->req = NULL;
	free(p->to_client.buf);
	free(p->to_target.buf);
	p->to_client.buf = p->to_target.buf = NULL;
	return 0;
}

/*
 * --send-proxy, --send-proxy-v2: the PROXY header for the client goes to
 * the target first, ahead of what else waits for it (sock(1), "Service
 * managers"): the client's address, and the one it reached sock on.
 */
static int
queue_header(const struct fwd *f, struct pair *p)
{
	struct sockaddr_storage here;
	socklen_t len = sizeof(here);
	unsigned char hdr[PROXYHDR_MAX];
	char *buf;

	/* A client's own PROXY header says where it came in: chained. */
	if (p->client.selflen > 0)
		memcpy(&here, &p->client.self, p->client.selflen);
	else if (getsockname(p->client.fd, (struct sockaddr *)&here,
	    &len) == -1)
		here.ss_family = AF_UNSPEC;
	p->hdrlen = proxyhdr_make(f->o->send_proxy,
	    (struct sockaddr *)&p->client.peer, (struct sockaddr *)&here, hdr);
	if ((buf = malloc(p->hdrlen + p->to_target.len)) == NULL)
		return -1;
	memcpy(buf, hdr, p->hdrlen);
	if (p->to_target.len > 0)
		memcpy(buf + p->hdrlen, p->to_target.buf, p->to_target.len);
	free(p->to_target.buf);
	p->to_target.buf = buf;
	p->to_target.len += p->hdrlen;
	return 0;
}

/*
 * The target has connected on fd (its address ai, or NULL when a dialer
 * reached it): reply to a proxy client, or relay (after a PROXY header).
 * Returns -1 if the pair is gone.
 */
static int
target_up(struct fwd *f, int i, int fd, const struct addrinfo *ai)
{
	struct pair *p = f->pairs[i];

	p->target.fd = fd;
	p->target.connected = true;
	if (ai != NULL && ai->ai_family != AF_UNIX)
		format_addr(ai->ai_addr, ai->ai_addrlen, p->target.name,
		    sizeof(p->target.name));
	end_socket(&p->et, &p->target);
	if (f->o->verbose > 1)
		warnx("connected to %s for %s", p->tname, p->client.name);
	if (f->o->send_proxy > 0 && queue_header(f, p) == -1) {
		warn("PROXY header");
		pair_end(f, i, EXIT_LOCAL);
		return -1;
	}
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
	if (p->to_target.len > 0) {
		p->state = PAIR_REPLYING;	/* the header goes first */
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
proxy_refuse(struct pair *p, int why)
{
	char *reply;
	size_t len;

	if (p->req != NULL && proxyd_failure(p->req, why, &reply, &len) == 0) {
		/* Small, to a socket that has taken nothing yet. */
		client_say(p, reply, len);
		free(reply);
	}
}

/*
 * A walk to the target failed with err (status EXIT_NET or EXIT_TIMEOUT,
 * msg what to say): begin again after a pause (--wait, while it lasts) or
 * give up. Returns -1 if the pair is gone.
 */
static int
walk_failed(struct fwd *f, int i, int status, int err, const char *msg)
{
	struct pair *p = f->pairs[i];
	char words[64];

	/* Said as the refusal at accept says it, whatever the libc's words. */
	if (err == EMFILE || err == ENFILE) {
		snprintf(words, sizeof(words), "out of descriptors "
		    "(descriptor limit %lld)", fd_limit_now());
		msg = words;
	}

	if (p->wait_until >= 0 && now_ms() + p->pause < p->wait_until) {
		if (f->o->verbose > 1)
			warnx("connect to %s for %s: %s; trying again",
			    p->tname, p->client.name, msg);
		p->state = PAIR_PAUSED;
		p->deadline = now_ms() + p->pause;
		p->pause = p->pause * 2 < WAIT_PAUSE_MAX ? p->pause * 2 :
		    WAIT_PAUSE_MAX;
		return 0;
	}
	proxy_refuse(p, err);
	pair_unreachable(f, i, p->wait_until >= 0 ? EXIT_TIMEOUT : status,
	    msg);
	return -1;
}

/* CONNECTING has an answer, or none by the deadline. */
static int
connect_step(struct fwd *f, int i, const struct loop *l)
{
	struct pair *p = f->pairs[i];
	const struct addrinfo *which;
	bool expired = p->deadline >= 0 && now_ms() >= p->deadline;
	int fd, err;

	if (!expired && (fd = happy_step(&p->happy, l)) != -1) {
		if (fd >= 0) {
			which = p->happy.winner;
			happy_free(&p->happy);
			return target_up(f, i, fd, which);
		}
	} else if (!expired)
		return 0;
	err = happy_error(&p->happy, expired, &which);
	happy_free(&p->happy);
	return walk_failed(f, i, err == ETIMEDOUT ? EXIT_TIMEOUT : EXIT_NET,
	    err, strerror(err));
}

/*
 * The dialer: in a child of its own, reach the target by the blocking
 * code (the -x proxies, or a name to look up, then Happy Eyeballs) and
 * send the socket back over sock. It holds nothing of the parent's but
 * sock and stdio, so that closing a client or a listener means it.
 */
static void __attribute__((noreturn))
dial_child(const struct fwd *f, const struct pair *p, int sock)
{
	struct dial_answer a;
	struct proxy_error pe;
	struct addrinfo *res = NULL;
	const struct addrinfo *which;
	char addr[128];
	int fd = -1, gai, e;

	close_others(sock);
	fd = -1;
	memset(&a, 0, sizeof(a));
	if (f->o->nproxies > 0) {
		if ((fd = proxy_connect(f->o, p->thost, p->tport, p->deadline,
		    &pe)) == -1) {
			a.status = pe.status == EXIT_TIMEOUT ? EXIT_TIMEOUT :
			    EXIT_NET;
			a.err = pe.err != 0 ? pe.err : EHOSTUNREACH;
			snprintf(a.msg, sizeof(a.msg), "%s", pe.msg);
		}
	} else if ((gai = resolve(p->thost, p->tport, f->o->family,
	    SOCK_STREAM, false, false, &res)) != 0) {
		a.status = EXIT_NET;
		a.err = gai == EAI_SYSTEM ? errno : EHOSTUNREACH;
		snprintf(a.msg, sizeof(a.msg), "resolve %s: %s", p->thost,
		    gai_strerror(gai));
	} else if ((fd = connect_happy(res, f->src, p->deadline < 0 ? -1 :
	    p->deadline - now_ms(), &f->so, report_attempt, (void *)&p->words,
	    &which)) == -1) {
		e = errno;
		format_addr(which->ai_addr, which->ai_addrlen, addr,
		    sizeof(addr));
		a.status = e == ETIMEDOUT ? EXIT_TIMEOUT : EXIT_NET;
		a.err = e;
		snprintf(a.msg, sizeof(a.msg), "connect to %s: %s", addr,
		    strerror(e));
	}
	(void)fd_send(sock, fd, &a, sizeof(a));
	_exit(0);
}

/* Begin DIALING: start a dialer. Returns -1 if the pair is gone. */
static int
dial_start(struct fwd *f, int i)
{
	struct pair *p = f->pairs[i];
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return walk_failed(f, i, EXIT_LOCAL, errno, strerror(errno));
	if ((pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		return walk_failed(f, i, EXIT_LOCAL, errno, strerror(errno));
	}
	if (pid == 0) {
		close(sv[0]);
		dial_child(f, p, sv[1]);
	}
	close(sv[1]);
	(void)set_cloexec(sv[0]);
	p->dialer = pid;
	p->dial_fd = sv[0];
	p->state = PAIR_DIALING;
	return 0;
}

/* The dialer has answered (or died). Returns -1 if the pair is gone. */
static int
dial_step(struct fwd *f, int i)
{
	struct pair *p = f->pairs[i];
	struct dial_answer a;
	ssize_t n;
	int fd;

	n = fd_recv(p->dial_fd, &fd, &a, sizeof(a));
	dialer_stop(p);
	if (n != (ssize_t)sizeof(a)) {
		if (fd >= 0)
			close(fd);
		return walk_failed(f, i, EXIT_LOCAL, EIO,
		    "the dialer process ended without an answer");
	}
	a.msg[sizeof(a.msg) - 1] = '\0';
	if (a.status != EXIT_OK || fd < 0) {
		if (fd >= 0)
			close(fd);
		return walk_failed(f, i, a.status != EXIT_OK ? a.status :
		    EXIT_LOCAL, a.err, a.msg);
	}
	return target_up(f, i, fd, NULL);
}

/* Begin one walk to the target. Returns -1 if the pair is gone. */
static int
walk_start(struct fwd *f, int i)
{
	struct pair *p = f->pairs[i];
	int fd;

	p->deadline = bounded_deadline(f->o, -1);
	if (p->dial)
		return dial_start(f, i);
	if (happy_start(&p->happy, p->addrs, f->src, &f->so, report_attempt,
	    &p->words) == -1)
		return walk_failed(f, i, EXIT_LOCAL, errno, strerror(errno));
	p->state = PAIR_CONNECTING;
	if ((fd = happy_step(&p->happy, NULL)) >= 0) {
		const struct addrinfo *which = p->happy.winner;

		happy_free(&p->happy);
		return target_up(f, i, fd, which);
	}
	return fd == -1 ? 0 : connect_step(f, i, NULL);
}

/* Begin reaching the target, once or (--wait) until it is there. */
static int
target_start(struct fwd *f, int i)
{
	struct pair *p = f->pairs[i];

	p->pause = WAIT_PAUSE_MIN;
	p->wait_until = f->o->wait_ms >= 0 ? now_ms() + f->o->wait_ms : -1;
	return walk_start(f, i);
}

/*
 * Write what waits in b to e. Returns 1 when it is all out, 0 while some
 * is left, -1 with errno on failure.
 */
static int
outbuf_send(struct outbuf *b, struct end *e)
{
	ssize_t n;

	while (b->off < b->len) {
		n = e->ops->write(e, b->buf + b->off, b->len - b->off);
		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		b->off += (size_t)n;
	}
	return 1;
}

/* REPLYING: the reply to the client, the head to the target, then relay. */
static int
reply_step(struct fwd *f, int i, const struct loop *l)
{
	struct pair *p = f->pairs[i];

	if (p->to_client.off < p->to_client.len &&
	    end_ready(&p->ec, false, l) &&
	    outbuf_send(&p->to_client, &p->ec) == -1) {
		pair_end(f, i, EXIT_NET);
		return -1;
	}
	if (p->to_target.off < p->to_target.len &&
	    end_ready(&p->et, false, l) &&
	    outbuf_send(&p->to_target, &p->et) == -1) {
		pair_end(f, i, EXIT_NET);
		return -1;
	}
	if (p->to_client.off < p->to_client.len ||
	    p->to_target.off < p->to_target.len)
		return 0;
	if (p->assoc != NULL) {
		p->state = PAIR_ASSOC;
		proxyd_free(p->req);
		p->req = NULL;
		outbuf_free(&p->to_client);
		return 0;
	}
	if (start_relay(f, p) == -1) {
		pair_end(f, i, EXIT_LOCAL);
		return -1;
	}
	return 0;
}

/* -vv: a datagram an association dropped. */
static void
say_assoc_drop(void *arg, const char *why)
{
	const struct pair *p = arg;

	if (p->f->o->verbose > 1)
		warnx("UDP association of %s: %s", p->client.name, why);
}

/* The -v line for an association that has ended (sock(1), DIAGNOSTICS). */
static void
assoc_end(struct fwd *f, int i, const char *why)
{
	struct pair *p = f->pairs[i];
	struct udp_assoc_counts c;

	if (f->o->verbose > 0) {
		udp_assoc_counts(p->assoc, &c);
		warnx("UDP association of %s ended (%s): %llu datagrams (%llu "
		    "bytes) up, %llu datagrams (%llu bytes) down, %llu dropped",
		    p->client.name, why, c.up, c.up_bytes, c.down, c.down_bytes,
		    c.dropped);
	}
	f->status = EXIT_OK;
	pair_free(f, i);
}

/* A UDP ASSOCIATE that cannot be had: the client hears so (err's code). */
static int
assoc_refused(struct fwd *f, int i, int err, const char *why)
{
	struct pair *p = f->pairs[i];

	if (f->o->verbose > 0)
		warnx("proxy client %s: UDP ASSOCIATE refused: %s",
		    p->client.name, why);
	proxy_refuse(p, err);
	refused_close(p);
	pair_free(f, i);
	return -1;
}

/*
 * A SOCKS5 UDP ASSOCIATE (sock(1), "Proxy server"): the relay socket on
 * the address the client reached, and the reply that names it. Returns -1
 * if the pair is gone.
 */
static int
assoc_begin(struct fwd *f, int i, const struct proxyd_target *t)
{
	struct pair *p = f->pairs[i];
	struct sockaddr_storage ss;
	socklen_t len;

	if (f->o->nproxies > 0)
		return assoc_refused(f, i, EOPNOTSUPP, "-x proxies carry no "
		    "datagrams");
	/* This pair counts once already; an association, twice. */
	if (f->n + f->assocs + 1 > f->o->max_conns)
		return assoc_refused(f, i, EMFILE, "--max-conns reached");
	if ((p->assoc = udp_assoc_open(p->client.fd, t->port, f->o->numeric,
	    say_assoc_drop, p)) == NULL)
		return assoc_refused(f, i, errno, strerror(errno));
	f->assocs++;
	udp_assoc_relay(p->assoc, &ss, &len);
	if (proxyd_success(p->req, (struct sockaddr *)&ss, len,
	    &p->to_client.buf, &p->to_client.len) == -1) {
		warn("proxy reply");
		pair_free(f, i);
		return -1;
	}
	if (f->o->verbose > 1) {
		char shown[128];

		format_addr((struct sockaddr *)&ss, len, shown, sizeof(shown));
		warnx("proxy client %s: UDP association, relay %s",
		    p->client.name, shown);
	}
	p->state = PAIR_REPLYING;
	return 0;
}

/*
 * A proxy client's target host and port: looked up here when it is an
 * address (that cannot block), else by a dialer. Returns -1 if the pair
 * is gone.
 */
static int
proxy_target(struct fwd *f, int i, const struct proxyd_target *t)
{
	struct pair *p = f->pairs[i];
	int gai;

	snprintf(p->asked->host, sizeof(p->asked->host), "%s", t->host);
	snprintf(p->asked->port, sizeof(p->asked->port), "%s", t->portstr);
	p->thost = p->asked->host;
	p->tport = p->asked->port;
	if (f->o->nproxies > 0) {
		p->dial = true;
		return target_start(f, i);
	}
	gai = resolve(t->host, t->portstr, f->o->family, SOCK_STREAM, true,
	    false, &p->res);
	if (gai == 0) {
		p->addrs = p->res;
		return target_start(f, i);
	}
	p->res = NULL;
	if (gai == EAI_NONAME && !f->o->numeric) {
		p->dial = true;
		return target_start(f, i);
	}
	proxy_refuse(p, gai == EAI_SYSTEM ? errno : EHOSTUNREACH);
	pair_unreachable(f, i, EXIT_NET, gai_strerror(gai));
	return -1;
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
	int r;

	/* No more than the parser holds: what follows stays unread. */
	n = p->ec.ops->read(&p->ec, buf, proxyd_room(p->req) < sizeof(buf) ?
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
		client_say(p, reply, replylen);
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
	if (t.udp)
		return assoc_begin(f, i, &t);
	if ((p->asked = calloc(1, sizeof(*p->asked))) == NULL) {
		warn("proxy request");
		pair_free(f, i);
		return -1;
	}
	snprintf(p->asked->name, sizeof(p->asked->name), "%s port %d", t.host,
	    t.port);
	p->words.unix_name = p->tname = p->asked->name;
	if (proxyd_forward(p->req, &p->to_target.buf, &p->to_target.len) == -1) {
		warn("proxy request");
		pair_free(f, i);
		return -1;
	}
	return proxy_target(f, i, &t);
}

/* The client is ready for its request, or its target. */
static int
pair_begin(struct fwd *f, int i)
{
	struct pair *p = f->pairs[i];

	if (f->o->proxy_server) {
		p->state = PAIR_REQUEST;
		p->deadline = bounded_deadline(f->o, PREAMBLE_MS);
		/* A TLS client's request may be read already. */
		return p->ec.ops->pending(&p->ec) > 0 ? request_step(f, i) : 0;
	}
	return target_start(f, i);
}

/* --tls: one step of the client's handshake, never blocking. */
static int
handshake_step(struct fwd *f, int i)
{
	struct pair *p = f->pairs[i];
	char line[512];

	if (tls_handshake(&p->ec) == -1) {
		if (errno == EAGAIN)
			return 0;
		warnx("TLS handshake with %s: %s", p->client.name,
		    p->ec.why[0] != '\0' ? p->ec.why : strerror(errno));
		f->status = EXIT_NET;
		pair_free(f, i);
		return -1;
	}
	if (f->o->verbose > 0) {
		tls_describe_session(&p->ec, line, sizeof(line));
		warnx("%s: %s", p->client.name, line);
		if (!f->o->listen) {
			tls_describe_peer(&p->ec, line, sizeof(line));
			warnx("%s: %s", p->client.name, line);
		}
	}
	return pair_begin(f, i);
}

/*
 * Add a pair for a client: a handshake, a proxy request to read, or its
 * target to connect to. Returns -1 (said why) if it could not be added.
 */
static int
pair_add(struct fwd *f, const struct conn *c)
{
	struct pair *p;
	int i;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		warn("forward");
		sources_give(&f->held, (const struct sockaddr *)&c->peer);
		close(c->fd);
		return -1;
	}
	p->f = f;
	p->client = *c;
	p->words = (struct attempt_words){ .o = f->o, .role = "",
	    .client = p->client.name, .unix_name = p->tname, .every = true };
	p->target.fd = -1;
	p->target.connected = false;
	p->dial_fd = -1;
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
		p->words.unix_name = p->tname = "(no request)";
	} else {
		const struct fwd_target *t = &f->o->forward_to;

		p->words.unix_name = p->tname = f->tname;
		snprintf(p->target.name, sizeof(p->target.name), "%.*s",
		    (int)sizeof(p->target.name) - 1, p->tname);
		p->thost = t->host;
		p->tport = t->port;
		p->addrs = f->res;
		p->dial = f->o->nproxies > 0;
	}
	if (f->tls == NULL) {
		(void)pair_begin(f, i);
		return 0;
	}
	/* The client side is a TLS session, its handshake stepped here. */
	if (tls_end_new(f->tls, &p->ec, p->client.fd, p->client.name,
	    f->o->listen ? NULL : f->o->host) == -1) {
		warnx("TLS with %s: %s", p->client.name, p->ec.why);
		end_socket(&p->ec, &p->client);
		f->status = EXIT_NET;
		pair_free(f, i);
		return -1;
	}
	p->state = PAIR_HANDSHAKE;
	p->deadline = bounded_deadline(f->o, f->o->listen ? PREAMBLE_MS : -1);
	(void)handshake_step(f, i);
	return 0;
}

/* Wait for e's read (reading) or write, or at once if its bytes are in. */
static void
note_end(const struct end *e, bool reading, struct loop *l)
{
	if (reading && e->ops->pending(e) > 0)
		loop_until(l, now_ms());
	else
		end_watch(e, reading, l);
}

/*
 * Before the wait: tell the loop what pair i waits on. Returns -1 if it is gone
 * (its session ended, its time ran out).
 */
static int
pair_prepare(struct fwd *f, int i, struct loop *l)
{
	struct pair *p = f->pairs[i];
	long long now = now_ms();
	int status;

	switch (p->state) {
	case PAIR_HANDSHAKE:
		if (p->deadline >= 0 && now >= p->deadline) {
			warnx("TLS handshake with %s: %s", p->client.name,
			    strerror(ETIMEDOUT));
			f->status = EXIT_TIMEOUT;
			pair_free(f, i);
			return -1;
		}
		/* The handshake says in read_wait what it waits for. */
		end_watch(&p->ec, true, l);
		loop_until(l, p->deadline);
		return 0;
	case PAIR_REQUEST:
		if (now >= p->deadline) {
			if (f->o->verbose > 0)
				warnx("proxy client %s: no complete request "
				    "in time", p->client.name);
			proxy_refuse(p, ETIMEDOUT);
			refused_close(p);
			pair_free(f, i);
			return -1;
		}
		note_end(&p->ec, true, l);
		loop_until(l, p->deadline);
		return 0;
	case PAIR_CONNECTING:
		if (p->deadline >= 0 && now >= p->deadline)
			return connect_step(f, i, NULL);
		happy_prepare(&p->happy, l);
		loop_until(l, p->deadline);
		return 0;
	case PAIR_DIALING:
		/*
		 * The dialer keeps the time and says what ran out; this, a
		 * little later, is for a lookup stuck past it.
		 */
		if (p->deadline >= 0 && now >= p->deadline + DIAL_GRACE_MS) {
			dialer_stop(p);
			return walk_failed(f, i, EXIT_TIMEOUT, ETIMEDOUT,
			    strerror(ETIMEDOUT));
		}
		if (p->deadline >= 0)
			loop_until(l, p->deadline + DIAL_GRACE_MS);
		loop_watch(l, p->dial_fd, false);
		return 0;
	case PAIR_PAUSED:
		if (now >= p->deadline) {
			if (walk_start(f, i) == -1)
				return -1;
			/* Its new state is looked at in the next pass. */
			loop_until(l, now);
			return 0;
		}
		loop_until(l, p->deadline);
		return 0;
	case PAIR_REPLYING:
		if (p->to_client.off < p->to_client.len)
			note_end(&p->ec, false, l);
		if (p->to_target.off < p->to_target.len)
			note_end(&p->et, false, l);
		if (p->to_client.off == p->to_client.len &&
		    p->to_target.off == p->to_target.len)
			loop_until(l, now);
		return 0;
	case PAIR_RELAYING:
		if ((status = relay_prepare(p->s, l)) != -1) {
			pair_end(f, i, status);
			return -1;
		}
		return 0;
	case PAIR_ASSOC:
		if (f->o->timeout_ms >= 0) {
			if (now >= udp_assoc_active(p->assoc) +
			    f->o->timeout_ms) {
				assoc_end(f, i, "idle for the -w time");
				return -1;
			}
			loop_until(l, udp_assoc_active(p->assoc) +
			    f->o->timeout_ms);
		}
		udp_assoc_prepare(p->assoc, l);
		return 0;
	}
	return 0;
}

/* After the wait: move pair i on. Returns -1 if it is gone. */
static int
pair_step(struct fwd *f, int i, const struct loop *l)
{
	struct pair *p = f->pairs[i];
	const char *why;
	int status;

	switch (p->state) {
	case PAIR_HANDSHAKE:
		return end_ready(&p->ec, true, l) ? handshake_step(f, i) : 0;
	case PAIR_REQUEST:
		return end_ready(&p->ec, true, l) ||
		    p->ec.ops->pending(&p->ec) > 0 ? request_step(f, i) : 0;
	case PAIR_CONNECTING:
		return connect_step(f, i, l);
	case PAIR_DIALING:
		return loop_ready(l, p->dial_fd, false) ? dial_step(f, i) : 0;
	case PAIR_PAUSED:
		return 0;
	case PAIR_REPLYING:
		return reply_step(f, i, l);
	case PAIR_RELAYING:
		if ((status = relay_step(p->s, l)) != -1) {
			pair_end(f, i, status);
			return -1;
		}
		return 0;
	case PAIR_ASSOC:
		if (udp_assoc_step(p->assoc, l, &why) != 0) {
			assoc_end(f, i, why);
			return -1;
		}
		return 0;
	}
	return 0;
}

/*
 * Accept a client of lfd. Without -k the first one is all: the listeners
 * close (and its PROXY header, with --accept-proxy, is waited for here).
 * Returns 0, 1 if none was waiting, or -1 if accepting failed for good
 * (-4: the header did not come in time).
 */
static int
accept_one(struct fwd *f, int lfd)
{
	struct conn c;
	int fd, i;

	if ((fd = admit_client(f->o, lfd, f->n + f->assocs, &f->held,
	    &f->spare, f->pw, &c)) == -2 || fd == -4)
		return fd == -4 ? -4 : -1;
	if (fd < 0)
		return fd == -3 ? 1 : 0;
	if (!f->o->keep_open) {
		for (i = 0; i < f->nl; i++) {
			loop_forget(&f->loop, f->lfds[i]);
			close(f->lfds[i]);
		}
		f->nl = 0;
	}
	(void)pair_add(f, &c);
	return 0;
}

/*
 * The clients waiting on a ready listener, a bounded number of them, so
 * that a burst takes few rounds and still cannot hold up the pairs.
 * Returns -1 if accepting failed for good.
 */
static int
accept_burst(struct fwd *f, int lfd)
{
	int k, rv = 0;

	for (k = 0; k < ACCEPT_BURST && rv == 0 && f->nl > 0 &&
	    loop_ready(&f->loop, lfd, false); k++)
		rv = accept_one(f, lfd);
	return rv < 0 ? rv : 0;
}

static int
forward_loop(struct fwd *f)
{
	struct loop *l = &f->loop;
	struct conn c;
	int i, rv;

	for (;;) {
		loop_begin(l);
		for (i = 0; i < f->nl; i++)
			loop_watch(l, f->lfds[i], false);
		proxied_prepare(f->o, f->pw, l);
		for (i = 0; i < f->n;)
			if (pair_prepare(f, i, l) == 0)
				i++;
		if (f->nl == 0 && f->n == 0)
			return f->status;
		if (loop_wait(l) == -1) {
			if (errno == EINTR)
				continue;
			warn("poll");
			return EXIT_LOCAL;
		}
		/* A pair that ends moves the last one into its slot. */
		for (i = 0; i < f->n;)
			if (pair_step(f, i, l) == 0)
				i++;
		while (proxied_next(f->o, f->pw, l, &f->held, &c) >= 0)
			(void)pair_add(f, &c);
		for (i = 0; i < f->nl; i++)
			if ((rv = accept_burst(f, f->lfds[i])) < 0)
				return rv == -4 ? EXIT_TIMEOUT : EXIT_NET;
	}
}

/*
 * The -s source address, and the target's addresses (none for a proxy
 * server, whose clients name theirs, nor with -x: the last proxy
 * resolves the name, and proxy_connect binds -s itself).
 */
static int
resolve_target(struct fwd *f)
{
	const struct opts *o = f->o;
	const struct fwd_target *t = &o->forward_to;
	int gai;

	if (o->source_addr != NULL && o->nproxies == 0 &&
	    (o->proxy_server || !t->is_unix) && (gai = resolve(o->source_addr,
	    "0", o->family, SOCK_STREAM, o->numeric, true, &f->src)) != 0) {
		f->src = NULL;
		warnx("resolve %s: %s", o->source_addr, gai_strerror(gai));
		return -1;
	}
	if (t->is_unix)
		snprintf(f->tname, sizeof(f->tname), "%s", t->path);
	else if (!o->proxy_server)
		snprintf(f->tname, sizeof(f->tname), "%s port %s", t->host,
		    t->port);
	if (o->proxy_server || o->nproxies > 0)
		return 0;
	if (t->is_unix) {
		memset(&f->sun, 0, sizeof(f->sun));
		f->sun.sun_family = AF_UNIX;
		memcpy(f->sun.sun_path, t->path, strlen(t->path));
		f->unix_ai.ai_family = AF_UNIX;
		f->unix_ai.ai_socktype = SOCK_STREAM;
		f->unix_ai.ai_addr = (struct sockaddr *)&f->sun;
		f->unix_ai.ai_addrlen = sizeof(f->sun);
		f->res = &f->unix_ai;
		/* Only the buffer sizes mean anything on a Unix socket. */
		f->so.tos = f->so.ttl = f->so.minttl = -1;
		f->so.nodelay = f->so.keepalive = f->so.broadcast = false;
		f->so.mptcp = false;
		return 0;
	}
	if ((gai = resolve(t->host, t->port, o->family, SOCK_STREAM,
	    o->numeric, false, &f->res)) != 0) {
		f->res = NULL;
		warnx("resolve %s: %s", t->host, gai_strerror(gai));
		return -1;
	}
	return 0;
}

int
serve_forward(const struct opts *o, int *lfds, int nl, struct conn *first,
    struct tls_ctx *tls)
{
	struct fwd f;
	int status, i;

	memset(&f, 0, sizeof(f));
	f.o = o;
	f.lfds = lfds;
	f.nl = nl;
	f.tls = tls;
	f.so = o->sockopts;
	f.status = EXIT_OK;
	/* A pair's two sides are peers: each end is passed on as it comes. */
	f.rules.fin = FIN_ALWAYS;
	f.rules.quit_ms = f.rules.interval_ms = -1;
	f.rules.timeout_ms = o->timeout_ms;
	f.rules.rate_limit = o->rate_limit;
	f.rules.progress = PROGRESS_OFF;
	f.rules.verbose = o->verbose > 1 ? o->verbose : 0;
	f.io.pool.max = way_pool_pipes(o->fd_limit);
	f.spare = -1;
	if ((f.pairs = calloc((size_t)o->max_conns + 1,
	    sizeof(*f.pairs))) == NULL || loop_open(&f.loop, LOOP_MANY) == -1) {
		warn("forward");
		status = EXIT_LOCAL;
	} else if (resolve_target(&f) == -1) {
		status = EXIT_NET;
		if (first != NULL)
			close(first->fd);
	}
	else if (first != NULL && pair_add(&f, first) == -1)
		status = f.status != EXIT_OK ? f.status : EXIT_LOCAL;
	else if (o->accept_proxy && o->keep_open && nl > 0 &&
	    (f.pw = proxied_new()) == NULL)
		status = EXIT_LOCAL;
	else {
		/* A dialer closes its copies of the pairs' sockets at once. */
		loop_share(&f.loop, false);
		f.spare = open_spare();
		for (i = 0; i < nl; i++)
			(void)set_nonblock(lfds[i], true);
		if (nl > 0)
			say_capacity(o);
		status = forward_loop(&f);
	}
	proxied_free(f.pw, &f.loop);
	while (f.n > 0)
		pair_free(&f, 0);
	for (i = 0; i < f.nl; i++)
		close(f.lfds[i]);
	if (f.res != NULL && f.res != &f.unix_ai)
		freeaddrinfo(f.res);
	if (f.src != NULL)
		freeaddrinfo(f.src);
	free(f.pairs);
	sources_free(&f.held);
	way_pool_free(&f.io.pool);
	loop_close(&f.loop);
	if (f.spare != -1)
		close(f.spare);
	return status;
}
