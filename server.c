/* SPDX-License-Identifier: ISC */
/*
 * server.c: listen mode as a small server: many clients at once (-k), a
 * broker or a chat room between them (--broker, --chat), and a program
 * per connection (-k with -e/-c); who gets in is admit.c's. One loop
 * (loop.c), no threads. A file of its own because one client and one
 * stdin (relay.c) is a different problem from many clients sharing one
 * stdin and one stdout. It touches the listening sockets,
 * its clients and stdin/stdout, says why when something fails, and
 * returns an exit status.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"
#include "end.h"
#include "loop.h"
#include "net.h"
#include "tls.h"
#include "exec.h"
#include "admit.h"
#include "server.h"
#include "sources.h"
#include "relay.h"
#include "way.h"

#define CLIENT_QUEUE	(256 * 1024)	/* bytes waiting for one client */
#define OUT_QUEUE	(256 * 1024)	/* bytes waiting for stdout */
#define READ_CHUNK	(64 * 1024)	/* one read from a client or stdin */
#define CHAT_CHUNK	4096		/* --chat reads less: prefixes grow it */
#define CHAT_PREFIX_MAX	24		/* "<user4294967295> " and then some */
#define CHAT_LINE_MAX	4096		/* a longer line is cut into pieces */
/* What one --chat read can turn into: held line + read, and a prefix each. */
#define CHAT_OUT_MAX	(CHAT_LINE_MAX + CHAT_CHUNK + \
			(CHAT_CHUNK + 2) * CHAT_PREFIX_MAX)
#define OUT_SLACK	(16 * 1024)	/* stdout room kept for notices */
#define ACCEPT_BURST	64		/* clients taken from a listener per round */
#define QUEUE_SPARES	16		/* client queues kept for the next */
#define QUEUE_MIN	(64 * 1024)	/* a client queue's first size: a read */

/* --chat: a user's line, held until it is complete. */
struct chatline {
	char		 buf[CHAT_LINE_MAX];
	size_t		 len;
};

/*
 * Bytes waiting for one sink, kept from buf[off] for len bytes, at most
 * cap. A client's buffer comes from the server's spares (or malloc) with
 * the first bytes and goes back when they are out, so an idle client
 * holds none (sock(1), "Many connections"); stdout's (no spares) is made
 * once, so that what a client sent always has room.
 */
struct spares {
	char		*bufs[QUEUE_SPARES];
	int		 n;
};

struct queue {
	char		*buf;
	size_t		 size;		/* allocated */
	size_t		 cap;
	size_t		 off;
	size_t		 len;
	struct spares	*spares;	/* where buf comes from; NULL: fixed */
};

struct client {
	struct conn	 conn;		/* its socket and name */
	struct end	 end;		/* how its bytes move */
	bool		 handshaking;	/* --tls: its handshake is not done */
	unsigned	 id;		/* --chat: <userN> */
	struct queue	 out;		/* bytes for this client */
	bool		 eof;		/* it sent its FIN */
	bool		 fin_sent;
	bool		 got_stdin;	/* it was sent some of stdin */
	struct chatline	*line;		/* --chat: its incomplete line */
	long long	 last_activity;	/* for -w */
	bool		 dead;		/* to be removed at the next sweep */
	const char	*why;		/* and why, for -v (NULL: it just ended) */
};

struct server {
	const struct opts *o;
	struct relay_rules rules;	/* the end-of-stream rules, from o */
	struct relay_io	*io;
	int		*lfds;
	int		 nl;
	struct client	**clients;
	int		 n;
	int		 nleft;		/* of them, those that sent their FIN */
	int		 room;		/* clients the table holds */
	struct loop	 loop;
	int		 spare;		/* a descriptor kept for EMFILE */
	struct spares	 spares;	/* client queues' buffers to reuse */
	struct sources	 held;		/* clients per address */
	struct proxied	*pw;		/* --accept-proxy: headers coming */
	struct end	 in;		/* stdin */
	struct end	 stdout_end;
	struct queue	 out;		/* bytes for stdout */
	char		 raw[READ_CHUNK]; /* one read from stdin or a client */
	char		 chat[CHAT_OUT_MAX]; /* --chat: what one read becomes */
	bool		 stdin_eof;
	long long	 stdin_eof_at;
	unsigned long long stdin_bytes;
	struct chatline	 stdin_line;	/* --chat: <user0>'s incomplete line */
	unsigned	 next_id;
	long long	 last_recv;	/* for -q */
	int		 status;	/* the worst failure so far */
};

static bool client_readable(const struct server *, const struct client *);
static int clients_present(const struct server *);
static void read_client_burst(struct server *, struct client *);
static void chat_send(struct server *, struct client *, const char *, size_t);

static size_t
queue_room(const struct queue *q)
{
	return q->cap - q->len;
}

/*
 * Append n bytes; the caller made sure of the room. -1 (ENOMEM): there
 * was no buffer and none could be had; nothing was added.
 */
static int
queue_push(struct queue *q, const char *p, size_t n)
{
	size_t need = q->len + n, size;
	char *b;

	if (q->spares != NULL && need > q->size) {
		/*
		 * Small first (a spare when there is one), doubled as bytes
		 * wait: a line to ten thousand clients takes ten thousand
		 * small buffers, not 256 KiB of address space each.
		 */
		for (size = q->size > 0 ? q->size : QUEUE_MIN; size < need;
		    size *= 2)
			continue;
		if (size > q->cap)
			size = q->cap;
		if (size == QUEUE_MIN && q->spares->n > 0)
			b = q->spares->bufs[--q->spares->n];
		else if ((b = malloc(size)) == NULL)
			return -1;
		if (q->len > 0)
			memcpy(b, q->buf + q->off, q->len);
		free(q->buf);
		q->buf = b;
		q->size = size;
		q->off = 0;
	} else if (q->off + need > q->size) {
		memmove(q->buf, q->buf + q->off, q->len);
		q->off = 0;
	}
	memcpy(q->buf + q->off + q->len, p, n);
	q->len += n;
	return 0;
}

/* Give q's buffer back (it holds nothing more). */
static void
queue_drop(struct queue *q)
{
	/* Only small ones are kept: any taker can use one. */
	if (q->buf != NULL && q->size == QUEUE_MIN &&
	    q->spares->n < QUEUE_SPARES)
		q->spares->bufs[q->spares->n++] = q->buf;
	else
		free(q->buf);
	q->buf = NULL;
	q->size = q->off = q->len = 0;
}

static void
queue_consume(struct queue *q, size_t n)
{
	q->off += n;
	q->len -= n;
	if (q->len == 0)
		q->off = 0;
	if (q->len == 0 && q->spares != NULL)
		queue_drop(q);
}

static bool
chatty(const struct opts *o)
{
	return o->broker || o->chat;
}

/* Remember the worst outcome: a loss outranks a timeout. */
static void
note_failure(struct server *s, int status)
{
	if (s->status == EXIT_OK || status == EXIT_NET)
		s->status = status;
}

/*
 * --chat: add n bytes of user id to its line l, and put every line that is
 * now complete (or fills l) into dst with "<userN> " before it, so that no
 * other message lands in the middle of someone's line. dst must hold
 * CHAT_OUT_MAX bytes. Returns how many bytes went to dst.
 */
static size_t
chat_lines(unsigned id, struct chatline *l, const char *p, size_t n,
    char *dst)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		l->buf[l->len++] = p[i];
		if (p[i] != '\n' && l->len < sizeof(l->buf))
			continue;
		len += (size_t)snprintf(dst + len, CHAT_PREFIX_MAX, "<user%u> ",
		    id);
		memcpy(dst + len, l->buf, l->len);
		len += l->len;
		l->len = 0;
	}
	return len;
}

/*
 * Mark c for removal. Clients leave the array only in sweep(), so loops
 * over it never see it change under them.
 */
static void
kill_client(struct client *c, const char *why)
{
	if (!c->dead) {
		c->dead = true;
		c->why = why;
	}
}

/*
 * Give n bytes to every client but skip (its own data does not echo
 * back). A --broker/--chat client with no room is dropped: one client
 * that does not read must not stall the others. Plain -k never gets here
 * without room for everyone (back pressure instead).
 */
static void
broadcast(struct server *s, const struct client *skip, const char *p,
    size_t n, bool from_stdin)
{
	int i;

	for (i = 0; i < s->n; i++) {
		struct client *c = s->clients[i];

		if (c == skip || c->dead)
			continue;
		if (queue_room(&c->out) < n) {
			kill_client(c, "its queue is full (it does not read)");
			continue;
		}
		if (queue_push(&c->out, p, n) == -1) {
			kill_client(c, strerror(ENOMEM));
			continue;
		}
		if (from_stdin)
			c->got_stdin = true;
	}
}

/* --chat: tell everyone (and stdout) something, if there is room. */
static void
announce(struct server *s, const struct client *skip, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
announce(struct server *s, const struct client *skip, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = sizeof(line) - 1;
	if (!s->o->send_only && queue_room(&s->out) >= (size_t)len)
		(void)queue_push(&s->out, line, (size_t)len);
	broadcast(s, skip, line, (size_t)len, false);
}

/*
 * Remove the clients marked dead, lowest slot first, in one pass however
 * many there are (the last client moves into a removed one's slot). A
 * --chat leave notice may overflow (and so mark) a client already passed:
 * with --chat the pass starts over after each removal.
 */
static void
sweep(struct server *s)
{
	struct client *c;
	int i;

	for (i = 0; i < s->n;) {
		c = s->clients[i];
		if (!c->dead) {
			i++;
			continue;
		}
		if (s->o->verbose > 0 && c->why != NULL)
			warnx("dropping %s: %s", c->conn.name, c->why);
		else if (s->o->verbose > 0)
			warnx("connection with %s closed", c->conn.name);
		/* As close(2) sends a FIN; TLS needs its close_notify. */
		if (!c->fin_sent && !c->handshaking)
			(void)c->end.ops->shutdown(&c->end);
		c->end.ops->free(&c->end);
		loop_forget(&s->loop, c->conn.fd);
		close(c->conn.fd);
		sources_give(&s->held, (struct sockaddr *)&c->conn.peer);
		queue_drop(&c->out);
		s->clients[i] = s->clients[--s->n];
		if (c->eof)
			s->nleft--;
		if (s->o->chat) {
			/* What it left unfinished ends its last line. */
			if (c->line->len > 0)
				chat_send(s, c, "\n", 1);
			announce(s, NULL, "<announce> <user%u> is "
			    "disconnected.\n", c->id);
			i = 0;
		}
		free(c->line);
		free(c);
	}
}

/*
 * --tls: one step of c's handshake, never blocking, so that a client that
 * stalls its handshake stalls nobody else. A failed one drops c (said);
 * nothing of stdin was lost to it, so it is no failure of sock's.
 */
static void
step_handshake(struct server *s, struct client *c)
{
	char line[512];

	if (tls_handshake(&c->end) == -1) {
		if (errno == EAGAIN)
			return;
		warnx("TLS handshake with %s: %s", c->conn.name,
		    c->end.why[0] != '\0' ? c->end.why : strerror(errno));
		kill_client(c, NULL);
		return;
	}
	c->handshaking = false;
	c->last_activity = now_ms();
	if (s->o->verbose > 0) {
		tls_describe_session(&c->end, line, sizeof(line));
		warnx("%s: %s", c->conn.name, line);
	}
	read_client_burst(s, c);
}

/* Take a client admitted into the server (said why if it could not). */
static void
take_client(struct server *s, const struct conn *cn)
{
	struct conn conn = *cn;
	struct client *c;
	int fd = conn.fd;

	/* Clients whose header came late may find the table full. */
	if (s->n >= s->room) {
		if (s->o->verbose > 0)
			warnx("refused %s: already %d clients (--max-conns)",
			    conn.name, s->n);
		sources_give(&s->held, (struct sockaddr *)&conn.peer);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (s->o->chat && (c->line = calloc(1, sizeof(*c->line))) == NULL)) {
		warn("client %s", conn.name);
		free(c);
		sources_give(&s->held, (struct sockaddr *)&conn.peer);
		close(fd);
		return;
	}
	c->conn = conn;
	if (s->io->tls != NULL) {
		/* A session per client, its handshake stepped in the loop. */
		if (tls_end_new(s->io->tls, &c->end, c->conn.fd, c->conn.name,
		    NULL) == -1) {
			warnx("TLS with %s: %s", c->conn.name, c->end.why);
			sources_give(&s->held, (struct sockaddr *)&conn.peer);
			close(fd);
			free(c->line);
			free(c);
			return;
		}
		c->handshaking = true;
	} else
		end_socket(&c->end, &c->conn);
	c->out.cap = CLIENT_QUEUE;
	c->out.spares = &s->spares;
	c->id = ++s->next_id;
	c->last_activity = now_ms();
	if (s->o->chat) {
		char addr[sizeof(c->conn.name)];

		memcpy(addr, c->conn.name, sizeof(addr));
		announce(s, NULL, "<announce> %s is connected as <user%u>.\n",
		    addr, c->id);
	}
	s->clients[s->n++] = c;
	/* A new client has often sent something already. */
	if (c->handshaking)
		step_handshake(s, c);
	else
		read_client_burst(s, c);
}

/*
 * Take a new client from lfd into the server. Returns 0, -1 if none was
 * waiting, or an exit status.
 */
static int
add_client(struct server *s, int lfd)
{
	struct conn conn;
	int fd;

	if ((fd = admit_client(s->o, lfd, clients_present(s), &s->held,
	    &s->spare, s->pw, &conn)) == -2)
		return EXIT_NET;
	if (fd < 0)
		return fd == -3 ? -1 : 0;
	take_client(s, &conn);
	return 0;
}


/*
 * --chat: n bytes from c (NULL: sock's own stdin, <user0>) go, as whole
 * prefixed lines, to stdout (but not stdin's own) and every other client.
 */
static void
chat_send(struct server *s, struct client *c, const char *p, size_t n)
{
	char *buf = s->chat;
	size_t len;

	len = chat_lines(c != NULL ? c->id : 0, c != NULL ? c->line :
	    &s->stdin_line, p, n, buf);
	if (len == 0)
		return;
	/* client_readable kept this much room. */
	if (c != NULL && !s->o->send_only && queue_room(&s->out) >= len)
		(void)queue_push(&s->out, buf, len);
	broadcast(s, c, buf, len, c == NULL);
}

/* Read stdin and hand it to the clients. Returns 0 or an exit status. */
static int
read_stdin(struct server *s)
{
	char *raw = s->raw;
	size_t want = s->o->chat ? CHAT_CHUNK : READ_CHUNK;
	ssize_t n;

	if ((n = s->in.ops->read(&s->in, raw, want)) == -1) {
		if (try_again())
			return 0;
		return say_end_failed(&s->in, "read from");
	}
	if (n == 0) {
		s->stdin_eof = true;
		s->stdin_eof_at = now_ms();
		if (s->o->chat && s->stdin_line.len > 0)
			chat_send(s, NULL, "\n", 1);
		return 0;
	}
	s->stdin_bytes += (unsigned long long)n;
	if (s->o->chat)
		chat_send(s, NULL, raw, (size_t)n);
	else
		broadcast(s, NULL, raw, (size_t)n, true);
	return 0;
}

/*
 * Read from c; its data goes to stdout and, as broker, to the rest.
 * Returns true if more may be waiting (the read was full).
 */
static bool
read_client(struct server *s, struct client *c)
{
	char *raw = s->raw;
	ssize_t n;

	n = c->end.ops->read(&c->end, raw, s->o->chat ? CHAT_CHUNK :
	    READ_CHUNK);
	if (n == -1) {
		if (try_again())
			return false;
		note_failure(s, say_end_failed(&c->end, "read from"));
		kill_client(c, NULL);
		return false;
	}
	c->last_activity = s->last_recv = now_ms();
	if (n == 0) {
		c->eof = true;
		s->nleft++;
		say_fin_received(&s->rules, c->conn.name);
		return false;
	}
	if (s->o->chat) {
		chat_send(s, c, raw, (size_t)n);
		return true;
	}
	/* stdout's room was checked before reading: see client_readable. */
	if (!s->o->send_only)
		(void)queue_push(&s->out, raw, (size_t)n);
	if (s->o->broker)
		broadcast(s, c, raw, (size_t)n, false);
	return true;
}

/*
 * Read c while it has data (a few reads at most, to be fair to the
 * others): a short client's request and FIN usually arrive together, and
 * taking both now saves a trip through select for each.
 */
static void
read_client_burst(struct server *s, struct client *c)
{
	int i;

	for (i = 0; i < 4 && !c->dead && client_readable(s, c); i++)
		if (!read_client(s, c))
			break;
}

/* Send what waits for c. */
static void
write_client(struct server *s, struct client *c)
{
	ssize_t n;

	n = c->end.ops->write(&c->end, c->out.buf + c->out.off, c->out.len);
	if (n == -1) {
		if (try_again())
			return;
		note_failure(s, write_failed(&c->end));
		kill_client(c, NULL);
		return;
	}
	queue_consume(&c->out, (size_t)n);
	c->last_activity = now_ms();
}

static int
write_stdout(struct server *s)
{
	ssize_t n;

	n = s->stdout_end.ops->write(&s->stdout_end, s->out.buf + s->out.off,
	    s->out.len);
	if (n == -1) {
		if (try_again())
			return 0;
		return write_failed(&s->stdout_end);
	}
	queue_consume(&s->out, (size_t)n);
	return 0;
}

/*
 * May client data be read now? Only when stdout can take a whole read, so
 * a read is never split or lost; a slow stdout holds the clients back.
 */
static bool
client_readable(const struct server *s, const struct client *c)
{
	size_t chunk = s->o->chat ? CHAT_OUT_MAX : READ_CHUNK;

	return !c->eof && !c->handshaking && (s->o->send_only ||
	    queue_room(&s->out) >= chunk + OUT_SLACK);
}

/*
 * May stdin be read now? Only with someone to send it to, and, for plain
 * -k, when every client can take a whole read (back pressure: what stdin
 * says reaches every client, or nobody is sent more).
 */
static bool
stdin_readable(const struct server *s)
{
	int i;

	if (s->o->recv_only || s->stdin_eof || s->n == 0)
		return false;
	if (chatty(s->o))
		return true;
	for (i = 0; i < s->n; i++)
		if (!s->clients[i]->dead &&
		    queue_room(&s->clients[i]->out) < READ_CHUNK)
			return false;
	return true;
}

/*
 * The end of each client, by the relay's rules: once stdin has ended and
 * its share is sent, it gets a FIN (held back if it got none of stdin);
 * once it has sent its FIN too (or stdin is a terminal, or will never be
 * read), it is closed. Until then a client that has sent its FIN may
 * have half-closed only and still gets what stdin says; it no longer
 * counts against --max-conns (clients_present).
 */
static void
finish_clients(struct server *s)
{
	const struct opts *o = s->o;
	struct client *c;
	bool stdin_over = s->stdin_eof || o->recv_only || s->io->stdin_tty;
	int i;

	for (i = 0; i < s->n; i++) {
		c = s->clients[i];
		if (c->dead || c->out.len > 0 || c->handshaking)
			continue;
		if (s->stdin_eof && !c->fin_sent && !chatty(o) &&
		    fin_due(&s->rules, c->got_stdin)) {
			if (send_fin(&s->rules, &c->end) == -1) {
				if (try_again())
					continue;
				note_failure(s, write_failed(&c->end));
				kill_client(c, NULL);
				continue;
			}
			c->fin_sent = true;
		}
		if (c->eof && (stdin_over || chatty(o)))
			kill_client(c, NULL);
	}
}

/*
 * The clients that count against --max-conns: one that has sent its FIN
 * has left and gives its slot back at once, whatever stdin is doing, so
 * that clients gone while stdin is quiet cannot lock others out. (The
 * table still bounds them all.)
 */
static int
clients_present(const struct server *s)
{
	if (s->n >= s->room)
		return s->o->max_conns;
	return s->n - s->nleft;
}

/*
 * Drop clients idle for -w, and those whose TLS handshake is not done in
 * time (a stalled one is no failure of sock's: nothing was lost to it);
 * returns the next moment one may expire.
 */
static long long
expire_idle(struct server *s, long long now)
{
	struct client *c;
	long long next = -1, t;
	int i;

	for (i = 0; i < s->n; i++) {
		c = s->clients[i];
		t = c->handshaking ? c->last_activity +
		    preamble_ms(s->o->timeout_ms) :
		    idle_deadline(&s->rules, c->last_activity);
		if (t < 0 || c->dead)
			continue;
		if (t > now) {
			if (next < 0 || t < next)
				next = t;
		} else if (c->handshaking) {
			warnx("TLS handshake with %s: %s", c->conn.name,
			    strerror(ETIMEDOUT));
			kill_client(c, NULL);
		} else {
			note_failure(s, idle_timeout(&s->rules, c->conn.name));
			kill_client(c, NULL);
		}
	}
	return next;
}

/* Write out what waits for stdout before leaving. */
static int
flush_stdout(struct server *s)
{
	return flush_out(&s->stdout_end, s->out.buf + s->out.off, s->out.len);
}

/*
 * The clients waiting on a ready listener, a bounded number of them, so
 * that a burst takes few rounds and still cannot hold up the others.
 */
static int
accept_burst(struct server *s, int lfd)
{
	int k, rv;

	for (k = 0; k < ACCEPT_BURST && loop_ready(&s->loop, lfd, false); k++)
		if ((rv = add_client(s, lfd)) != 0)
			return rv == -1 ? 0 : rv;
	return 0;
}

static int
serve_loop(struct server *s)
{
	const struct opts *o = s->o;
	struct loop *l = &s->loop;
	struct conn conn;
	long long now, t;
	int i, rv;

	for (;;) {
		finish_clients(s);
		sweep(s);
		/*
		 * A server whose stdin carried data ends once that is over
		 * and every client is done; one with nothing to say (an empty
		 * stdin, -d) is a sink and runs until it is stopped.
		 */
		if (s->stdin_eof && s->stdin_bytes > 0 && s->n == 0)
			return flush_stdout(s);

		loop_begin(l);
		now = now_ms();
		loop_until(l, expire_idle(s, now));
		sweep(s);
		/* -q counts from the end of stdin; -d has none to wait for. */
		if ((s->stdin_eof || o->recv_only) && o->quit_ms >= 0) {
			t = quiet_deadline(o->quit_ms, s->stdin_eof_at,
			    s->last_recv);
			if (t <= now)
				return flush_stdout(s);
			loop_until(l, t);
		}

		for (i = 0; i < s->nl; i++)
			loop_watch(l, s->lfds[i], false);
		proxied_prepare(o, s->pw, l);
		if (stdin_readable(s))
			end_watch(&s->in, true, l);
		if (s->out.len > 0)
			end_watch(&s->stdout_end, false, l);
		for (i = 0; i < s->n; i++) {
			struct client *c = s->clients[i];

			/* Bytes a TLS client's session holds: no wait. */
			if (client_readable(s, c) &&
			    c->end.ops->pending(&c->end) > 0)
				loop_until(l, now);
			else if (client_readable(s, c) || c->handshaking)
				end_watch(&c->end, true, l);
			if (c->out.len > 0 && !c->handshaking)
				end_watch(&c->end, false, l);
		}
		if (loop_wait(l) == -1) {
			if (errno == EINTR)
				continue;
			warn("select");
			return EXIT_LOCAL;
		}

		if (s->out.len > 0 && end_ready(&s->stdout_end, false, l) &&
		    (rv = write_stdout(s)) != 0)
			return rv;
		if (stdin_readable(s) && end_ready(&s->in, true, l) &&
		    (rv = read_stdin(s)) != 0)
			return rv;
		for (i = 0; i < s->n; i++) {
			struct client *c = s->clients[i];

			if (!c->dead && c->handshaking &&
			    end_ready(&c->end, true, l)) {
				step_handshake(s, c);
				continue;
			}
			if (!c->dead && c->out.len > 0 && !c->handshaking &&
			    end_ready(&c->end, false, l))
				write_client(s, c);
			if (!c->dead && client_readable(s, c) &&
			    end_ready(&c->end, true, l))
				read_client_burst(s, c);
		}
		while (proxied_next(o, s->pw, l, &s->held, &conn) >= 0)
			take_client(s, &conn);
		for (i = 0; i < s->nl; i++)
			if ((rv = accept_burst(s, s->lfds[i])) != 0)
				return rv;
	}
}

/*
 * -k with -e/-c: a program per connection, as inetd does. SIGCHLD wakes
 * the loop through a pipe, so every child is reaped and none is left a
 * zombie; --max-conns counts the programs still running.
 */
static int	chld_pipe[2] = { -1, -1 };

static void
on_sigchld(int sig)
{
	int saved = errno;

	(void)sig;
	if (write(chld_pipe[1], "", 1) == -1) {
		/* A full pipe already holds a wakeup: this one can go. */
	}
	errno = saved;
}

/*
 * The connections of running programs, and of finished ones on their way
 * out. sock keeps its own copy of each socket: a program that exits
 * without reading all that was sent (a one-line HTTP responder) would
 * otherwise close a socket with unread data, and the reset that follows
 * can destroy the answer it wrote before the client reads it. So sock
 * sends the FIN itself once the program is gone, and closes after the
 * client's FIN (or LINGER_MS).
 */
struct program {
	pid_t		 pid;		/* 0: finished, lingering */
	struct conn	 conn;		/* sock's copy of its socket */
	struct end	 end;
	long long	 deadline;	/* when lingering ends */
};

struct programs {
	struct program	*v;
	int		 n;
	int		 room;		/* records v holds */
	int		 running;
	struct sources	 held;		/* programs running per address */
	struct proxied	*pw;		/* --accept-proxy: headers coming */
	struct loop	 loop;
	int		 spare;		/* a descriptor kept for EMFILE */
};

/* Reap every child that has exited and start its connection's close. */
static void
reap_children(const struct opts *o, struct programs *p)
{
	int wstatus, i;
	pid_t pid;

	while ((pid = waitpid(-1, &wstatus, WNOHANG)) > 0) {
		if (o->verbose > 0)
			warnx("program %ld exited with status %d", (long)pid,
			    program_status(wstatus));
		for (i = 0; i < p->n; i++) {
			if (p->v[i].pid != pid)
				continue;
			p->v[i].pid = 0;
			sources_give(&p->held,
			    (struct sockaddr *)&p->v[i].conn.peer);
			/* A TLS child (no socket here) is done with its exit. */
			p->v[i].deadline = now_ms() + (p->v[i].conn.fd == -1 ? 0 :
			    LINGER_MS);
			(void)p->v[i].end.ops->shutdown(&p->v[i].end);
			p->running--;
		}
	}
}

/*
 * Close what a finished program left (l: what the wait found, or NULL);
 * returns the next deadline or -1.
 */
static long long
linger(struct programs *p, const struct loop *l, long long now)
{
	char scrap[4096];
	long long next = -1;
	ssize_t n;
	int i;

	for (i = 0; i < p->n; i++) {
		struct program *q = &p->v[i];

		if (q->pid != 0)
			continue;
		n = 1;
		if (l != NULL && end_ready(&q->end, true, l))
			n = q->end.ops->read(&q->end, scrap, sizeof(scrap));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR) ||
		    q->deadline <= now) {
			q->end.ops->free(&q->end);
			loop_forget(&p->loop, q->conn.fd);
			if (q->conn.fd != -1)
				close(q->conn.fd);
			p->v[i] = p->v[--p->n];
			/* A moved record's end must name its own conn. */
			end_socket(&p->v[i].end, &p->v[i].conn);
			i--;
			continue;
		}
		if (next < 0 || q->deadline < next)
			next = q->deadline;
	}
	return next;
}

/*
 * Does a -k program need sock between it and its client? Over TLS, with
 * -w, whose idle timeout only a relay can see (sock(1), -w), and on a
 * terminal (--pty), whose master sock holds.
 */
static bool
program_relayed(const struct opts *o, const struct relay_io *io)
{
	return io->tls != NULL || o->timeout_ms > 0 || o->pty;
}

/*
 * --tls, -w or --pty with -k -e/-c: a sock process of its own per
 * client, which does the handshake and relays the program's bytes
 * (plaintext, over TLS; or its terminal's) by the relay's rules, -w included, so that no client's handshake or
 * traffic waits for another's. Returns the child's pid, or -1 (said).
 */
static pid_t
fork_relayed_program(const struct opts *o, int *lfds, int nl,
    struct conn *c, struct relay_io *io)
{
	struct end e;
	pid_t pid;
	int i, status;

	if ((pid = fork()) == -1) {
		warn("fork");
		return -1;
	}
	if (pid > 0)
		return pid;
	/* The child: one client, then _exit; the server's state is not its. */
	signal(SIGCHLD, SIG_DFL);
	close(chld_pipe[0]);
	close(chld_pipe[1]);
	for (i = 0; i < nl; i++)
		close(lfds[i]);
	if (io->tls == NULL) {
		end_socket(&e, c);
		status = EXIT_OK;
	} else
		status = tls_session_start(o, c, io->tls, &e);
	if (status == EXIT_OK) {
		status = run_program_relayed(o, c, &e, io);
		e.ops->free(&e);
	}
	_exit(status);
}

/* Start a program for an admitted client, c. */
static void
start_program(const struct opts *o, struct programs *progs, int *lfds,
    int nl, struct conn c, struct relay_io *io)
{
	pid_t pid;
	int fd = c.fd;

	if (progs->n == progs->room ||
	    (pid = program_relayed(o, io) ?
	    fork_relayed_program(o, lfds, nl, &c, io) :
	    spawn_program(o, &c)) == -1) {
		sources_give(&progs->held, (struct sockaddr *)&c.peer);
		close(fd);
		return;
	}
	progs->v[progs->n].pid = pid;
	if (program_relayed(o, io)) {
		/* The child has the socket: nothing to linger on. */
		close(fd);
		c.fd = -1;
	}
	progs->v[progs->n].conn = c;
	end_socket(&progs->v[progs->n].end, &progs->v[progs->n].conn);
	progs->n++;
	progs->running++;
}

/* Start a program for a client waiting on lfd. -1: none was waiting. */
static int
add_program(const struct opts *o, struct programs *progs, int *lfds, int nl,
    int lfd, struct relay_io *io)
{
	struct conn c;
	int fd;

	if ((fd = admit_client(o, lfd, progs->running, &progs->held,
	    &progs->spare, progs->pw, &c)) == -2)
		return EXIT_NET;	/* sock exits: no free */
	if (fd < 0)
		return fd == -3 ? -1 : 0;
	start_program(o, progs, lfds, nl, c, io);
	return 0;
}

static int
serve_programs(const struct opts *o, int *lfds, int nl, struct relay_io *io)
{
	struct programs *progs;
	struct sigaction sa;
	struct conn c;
	struct loop *l;
	char drain[64];
	int i, k, rv;

	/* A record per descriptor: running and lingering programs hold one. */
	if ((progs = calloc(1, sizeof(*progs))) == NULL ||
	    (progs->room = conns_allowed(o->fd_limit, false)) < 0 ||
	    (progs->v = calloc((size_t)progs->room, sizeof(*progs->v))) ==
	    NULL || loop_open(&progs->loop, LOOP_MANY) == -1) {
		warn("malloc");
		return EXIT_LOCAL;	/* sock exits: no free */
	}
	l = &progs->loop;
	if (o->accept_proxy && (progs->pw = proxied_new()) == NULL)
		return EXIT_LOCAL;
	progs->spare = open_spare();
	for (i = 0; i < nl; i++)
		(void)set_nonblock(lfds[i], true);
	if (pipe(chld_pipe) == -1) {
		warn("pipe");
		return EXIT_LOCAL;
	}
	set_cloexec(chld_pipe[0]);
	set_cloexec(chld_pipe[1]);
	set_nonblock(chld_pipe[0], true);
	set_nonblock(chld_pipe[1], true);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);

	say_capacity(o);
	for (;;) {
		loop_begin(l);
		loop_until(l, linger(progs, NULL, now_ms()));
		loop_watch(l, chld_pipe[0], false);
		for (i = 0; i < nl; i++)
			loop_watch(l, lfds[i], false);
		proxied_prepare(o, progs->pw, l);
		for (i = 0; i < progs->n; i++)
			if (progs->v[i].pid == 0)
				end_watch(&progs->v[i].end, true, l);
		if (loop_wait(l) == -1) {
			if (errno == EINTR)
				continue;
			warn("poll");
			return EXIT_LOCAL;
		}
		linger(progs, l, now_ms());
		if (loop_ready(l, chld_pipe[0], false)) {
			while (read(chld_pipe[0], drain, sizeof(drain)) > 0)
				;
			reap_children(o, progs);
		}
		while (proxied_next(o, progs->pw, l, &progs->held, &c) >= 0)
			start_program(o, progs, lfds, nl, c, io);
		for (i = 0; i < nl; i++)
			for (k = 0; k < ACCEPT_BURST &&
			    loop_ready(l, lfds[i], false); k++)
				if ((rv = add_program(o, progs, lfds, nl,
				    lfds[i], io)) == -1)
					break;
				else if (rv != 0)
					return rv;
	}
}

int
serve_clients(const struct opts *o, int *lfds, int nl, struct relay_io *io)
{
	struct server *s;
	int status, i;

	if (o->exec_prog != NULL || o->exec_shell != NULL)
		return serve_programs(o, lfds, nl, io);

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->out.buf = malloc(OUT_QUEUE)) == NULL ||
	    (s->room = conns_allowed(o->fd_limit, false)) < 0 ||
	    (s->clients = calloc((size_t)s->room, sizeof(*s->clients))) ==
	    NULL || loop_open(&s->loop, LOOP_MANY) == -1) {
		warn("malloc");
		if (s != NULL) {
			free(s->out.buf);
			free(s->clients);
		}
		free(s);
		return EXIT_LOCAL;
	}
	if (o->accept_proxy && (s->pw = proxied_new()) == NULL) {
		loop_close(&s->loop);
		free(s->out.buf);
		free(s->clients);
		free(s);
		return EXIT_LOCAL;
	}
	s->spare = open_spare();
	loop_share(&s->loop, false);	/* no children here */
	for (i = 0; i < nl; i++)
		(void)set_nonblock(lfds[i], true);
	say_capacity(o);
	s->o = o;
	relay_rules_from_opts(o, &s->rules);
	s->io = io;
	s->lfds = lfds;
	s->nl = nl;
	end_stdin(&s->in);
	end_stdout(&s->stdout_end);
	s->last_recv = s->stdin_eof_at = now_ms();
	s->status = EXIT_OK;
	s->out.size = s->out.cap = OUT_QUEUE;
	status = serve_loop(s);
	for (i = 0; i < s->n; i++)
		kill_client(s->clients[i], NULL);
	sweep(s);
	if (status == EXIT_OK)
		status = s->status;
	proxied_free(s->pw, &s->loop);
	sources_free(&s->held);
	while (s->spares.n > 0)
		free(s->spares.bufs[--s->spares.n]);
	loop_close(&s->loop);
	if (s->spare != -1)
		close(s->spare);
	free(s->clients);
	free(s->out.buf);
	free(s);
	return status;
}

int
tls_session_start(const struct opts *o, struct conn *c, struct tls_ctx *ctx,
    struct end *e)
{
	char line[512];
	int status = EXIT_NET;

	if (tls_end_new(ctx, e, c->fd, c->name, o->listen ? NULL :
	    o->host) == -1) {
		warnx("TLS with %s: %s", c->name, e->why);
		return EXIT_NET;
	}
	/* A listener's client may not stall it (sock(1), -w). */
	if (tls_handshake_wait(e, o->listen ? preamble_ms(o->timeout_ms) :
	    o->timeout_ms) == -1) {
		if (errno == ETIMEDOUT)
			status = EXIT_TIMEOUT;
		warnx("TLS handshake with %s: %s", c->name, e->why[0] != '\0' ?
		    e->why : strerror(errno));
		e->ops->free(e);
		return status;
	}
	if (o->verbose > 0) {
		tls_describe_session(e, line, sizeof(line));
		warnx("%s", line);
		tls_describe_peer(e, line, sizeof(line));
		warnx("%s", line);
	}
	if (o->verbose > 1) {
		tls_describe_ktls(e, line, sizeof(line));
		warnx("%s", line);
	}
	return EXIT_OK;
}
