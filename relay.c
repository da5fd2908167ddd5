/* SPDX-License-Identifier: ISC */
/*
 * relay.c: the relay. Copy one side (stdin and stdout, or a socket) to the
 * connection and back at the same time, waiting in the loop (loop.c), and
 * end the session by sock(1), "Data flow and end of stream" (rules.c).
 * Bytes move through the endpoints' ops or a way (way.c); hooks (hook.c)
 * watch or change them on the way. Prints its errors; never exits.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "end.h"
#include "loop.h"
#include "net.h"
#include "relay.h"
#include "way.h"
#include "hook.h"

#define QUIT_DRAIN_READS 64	/* reads of what already arrived at -q */

/*
 * One direction. Bytes read from src wait in buf (from off, len bytes) or
 * the way's pipe until sink takes them; src is read only while there is
 * room, which gives back pressure both ways and bounds memory.
 */
struct dir {
	struct end	*src;
	struct end	*sink;
	struct way	 way;		/* how its bytes move */
	struct hook	 hook;		/* what watches them on the way */
	char		*buf;
	size_t		 cap;		/* a datagram's most, or the buffer */
	size_t		 off;
	size_t		 len;
	bool		 inbound;	/* src is the connection */
	bool		 whole;		/* a write is a datagram: all or none */
	bool		 eof;		/* the source has ended */
	unsigned long long bytes;	/* bytes delivered to the sink */
};

/* One session: "up" runs from the local side to the connection. */
struct relay_session {
	const struct relay_rules *r;
	struct relay_io	*io;
	struct end	*remote;	/* the connection */
	struct end	*local_out;	/* where down delivers */
	struct dir	 up;
	struct dir	 down;
	struct meter	 meter;		/* --progress, the -v summary */
	struct session_state st;	/* kept; finished adds the rest */
	bool		 fin_waits;	/* the FIN's shutdown must be retried */
	long long	 last_activity;	/* anything moved, for -w */
	long long	 last_recv;	/* anything arrived, for -q */
	long long	 stdin_done_at;	/* stdin ended and was sent; -1 */
	unsigned long long received;	/* bytes read from the connection */
	const struct end *failed;	/* the end whose read or write failed */
	int		 failed_errno;	/* and why */
};

/* Bytes waiting for the sink, in the buffer and in the pipe. */
static size_t
dir_waiting(const struct dir *d)
{
	return d->len + d->way.inpipe;
}

static bool
dir_done(const struct dir *d)
{
	return d->eof && dir_waiting(d) == 0;
}

/* How much the source may be read now. A datagram waits alone. */
static size_t
dir_room(const struct relay_session *s, const struct dir *d)
{
	if (!hook_may_read(&d->hook))
		return 0;
	if (way_piping(&d->way))
		return hook_room(&d->hook, way_room(&d->way));
	if (s->st.dgram)
		/* A datagram is read whole: the credit may go below zero. */
		return d->len > 0 ? 0 : d->cap;
	return hook_room(&d->hook, d->cap - d->off - d->len);
}

/* How much of what waits in d's buffer (none: none) may go now (-i: a line). */
static size_t
dir_ready(const struct dir *d)
{
	return d->len == 0 ? 0 : hook_ready(&d->hook, d->buf + d->off, d->len,
	    d->eof || d->off + d->len == d->cap);
}

/*
 * e failed (errno): remember it, and say it once on a line of its own; a
 * write by write_failed's rules (a reader gone from stdout is quiet).
 */
static int
end_failed(struct relay_session *s, const struct end *e, bool writing)
{
	s->failed = e;
	s->failed_errno = errno;
	meter_clear(&s->meter);
	errno = s->failed_errno;
	return writing ? write_failed(e) : say_end_failed(e, "read from");
}

/*
 * Account for n bytes (or the end) just read into d, at p in the buffer
 * (NULL: into the pipe). Returns how many stay for the sink.
 */
static size_t
took(struct relay_session *s, struct dir *d, char *p, size_t n)
{
	s->last_activity = now_ms();
	hook_spent(&d->hook, n);
	if (d->inbound) {
		s->last_recv = s->last_activity;
		s->received += n;
	}
	/* An empty datagram is a datagram, not the end. */
	if (n == 0 && !(d->inbound && s->st.dgram)) {
		d->eof = true;
		if (d->inbound) {
			meter_clear(&s->meter);
			say_fin_received(s->r, d->src->name);
		}
		return 0;
	}
	if (p == NULL)
		return n;
	way_saw(&d->way, n);
	return hook_took(&d->hook, p, n);
}

/* Read what the source has into d. Returns 0 or an exit status. */
static int
fill(struct relay_session *s, struct dir *d)
{
	size_t room = dir_room(s, d);
	char *p;
	ssize_t n;

	if (way_pipe_next(&d->way, d->len)) {
		if ((n = way_splice_in(&d->way, d->src, dir_room(s, d))) == -1)
			return try_again() ? 0 : end_failed(s, d->src, false);
		(void)took(s, d, NULL, (size_t)n);
		return 0;
	}
	/* Taken as bytes come, given back drained (sock(1), "Many connections"). */
	if (d->buf == NULL && (d->buf = way_buffer(&s->io->pool)) == NULL) {
		warn("relay buffer");
		return EXIT_LOCAL;
	}
	p = d->buf + d->off + d->len;
	if (way_unpiping(&d->way)) {
		/* Internal, and known to hold this much: cannot fail. */
		if ((n = way_unpipe(&d->way, p, room)) <= 0) {
			warn("read from internal pipe");
			return EXIT_LOCAL;
		}
		d->len += (size_t)n;
		return 0;
	}
	if ((n = hook_read(&d->hook, d->src, p, room)) == -1)
		return try_again() ? 0 : end_failed(s, d->src, false);
	if (!hook_admits(&d->hook))
		return 0;
	d->len += took(s, d, p, (size_t)n);
	return 0;
}

/* Count n bytes the sink took. */
static void
gave(struct relay_session *s, struct dir *d, size_t n)
{
	d->bytes += n;
	d->way.pipe_full = false;
	s->last_activity = now_ms();
}

/* Give the sink what waits in d. Returns 0 or an exit status. */
static int
drain(struct relay_session *s, struct dir *d)
{
	size_t want;
	ssize_t n;
	char *p;

	if (way_piping(&d->way)) {
		if (d->way.inpipe == 0)
			return 0;
		if ((n = way_splice_out(&d->way, d->sink)) == -1)
			return try_again() ? 0 : end_failed(s, d->sink, true);
		gave(s, d, (size_t)n);
		way_idle(&d->way);
		return 0;
	}
	if (d->len == 0 || (want = dir_ready(d)) == 0)
		return 0;
	p = d->buf + d->off;
	if ((n = d->sink->ops->write(d->sink, p, want)) == -1)
		return try_again() ? 0 : end_failed(s, d->sink, true);
	if (d->whole)
		n = (ssize_t)want;	/* a datagram goes whole or not */
	d->len -= (size_t)n;
	d->off = d->len == 0 ? 0 : d->off + (size_t)n;
	gave(s, d, (size_t)n);
	hook_gave(&d->hook, p, (size_t)n, (size_t)n == want, s->last_activity);
	if (d->len == 0) {
		way_buffer_back(&s->io->pool, d->buf);
		d->buf = NULL;
	}
	return 0;
}

/* Wait for what l watches, or its deadline; a signal wakes it too. */
static int
wait_ready(struct relay_session *s, struct loop *l)
{
	if (loop_wait(l) != -1 || errno == EINTR)
		return 0;
	meter_clear(&s->meter);
	warn("select");
	return EXIT_LOCAL;
}

/*
 * Write out all that waits for the local side, however long it takes;
 * then, for -q, what already waits in the socket, in at most reads reads,
 * so that a peer that never stops cannot keep sock here.
 */
static int
flush_down(struct relay_session *s, int reads)
{
	struct dir *d = &s->down;
	unsigned long long before;
	struct loop l;
	int rv;

	(void)loop_open(&l, LOOP_FEW);
	for (;;) {
		if (dir_waiting(d) == 0) {
			if (reads-- <= 0 || d->eof || dir_room(s, d) == 0)
				return 0;
			before = s->received;
			if ((rv = fill(s, d)) != 0)
				return rv;
			if (s->received == before && !d->eof)
				return 0;	/* nothing more has arrived */
		} else if (way_unpiping(&d->way) && d->len == 0) {
			if ((rv = fill(s, d)) != 0)
				return rv;
		} else {
			loop_begin(&l);
			if (end_watch(d->sink, false, &l) == -1)
				return 0;
			if ((rv = wait_ready(s, &l)) != 0 ||
			    (rv = drain(s, d)) != 0)
				return rv;
		}
	}
}

/* The peer ended and all it sent is out: pass the end on locally. */
static int
close_local(struct relay_session *s)
{
	struct end *e = s->local_out;

	/* A -k datagram listener's stdout outlives any one sender. */
	if (s->st.local_closed || !dir_done(&s->down) ||
	    (s->r->keep_open && s->st.dgram))
		return 0;
	if (e->ops->shutdown(e) == -1)
		return try_again() ? 0 : end_failed(s, e, true);
	s->st.local_closed = true;
	return 0;
}

/*
 * The FIN: once stdin has been sent, pass the end on with a FIN; but hold
 * it back when stdin was empty, since several netcats stop sending (or
 * quit) when a FIN arrives, and a FIN that carries no data could only cut
 * the peer's answer short.
 */
static int
maybe_send_fin(struct relay_session *s)
{
	s->fin_waits = false;
	if (s->st.fin_sent || !dir_done(&s->up) || s->st.dgram ||
	    !fin_due(s->r, s->up.bytes > 0))
		return 0;
	meter_clear(&s->meter);
	if (send_fin(s->r, s->remote) == -1) {
		if (!try_again())
			return end_failed(s, s->remote, true);
		s->fin_waits = true;
		return 0;
	}
	s->st.fin_sent = true;
	return 0;
}

/*
 * When the session must be stepped without traffic: -q or -w, which end
 * it (*status), or a hook's or --send-only's wakeup (*status -1).
 */
static long long
next_deadline(const struct relay_session *s, int *status)
{
	long long deadline, w[4] = {
		hook_wakeup(&s->up.hook, s->up.len > 0, s->up.eof),
		hook_wakeup(&s->down.hook, s->down.len > 0, s->down.eof),
		meter_next(&s->meter),
		send_only_wakeup(s->r, s->st.fin_sent)
	};
	int i;

	deadline = end_deadline(s->r, s->st.dgram, s->stdin_done_at,
	    s->last_recv, s->last_activity, status);
	for (i = 0; i < 4; i++)
		if (w[i] >= 0 && (deadline < 0 || w[i] < deadline)) {
			deadline = w[i];
			*status = -1;
		}
	return deadline;
}

/* Is the session over by the rules? */
static bool
finished(const struct relay_session *s)
{
	struct session_state st = s->st;

	st.up_done = dir_done(&s->up);
	st.down_done = dir_done(&s->down);
	st.up_empty = dir_waiting(&s->up) == 0;
	st.down_empty = dir_waiting(&s->down) == 0;
	st.quota_met = hook_quota_met(&s->down.hook);
	st.escaped = hook_quit(&s->up.hook);
	st.quiet_since = s->last_recv > s->stdin_done_at ? s->last_recv :
	    s->stdin_done_at;
	return session_over(s->r, s->remote, &st);
}

/* Watch d's source while it has room, its sink while bytes may go. */
static void
watch(const struct relay_session *s, const struct dir *d, long long now,
    struct loop *l)
{
	if (d->way.kind == WAY_SENDFILE) {
		if (!d->eof && hook_may_read(&d->hook)) /* a file is always ready */
			end_watch(d->sink, false, l);
		return;
	}
	if (!d->eof && !way_unpiping(&d->way) && dir_room(s, d) > 0)
		end_watch(d->src, true, l);
	if ((d->len > 0 || (way_piping(&d->way) && d->way.inpipe > 0)) &&
	    !hook_holds(&d->hook, now, dir_ready(d)))
		end_watch(d->sink, false, l);
}

/*
 * Can d's source give something without a wait: bytes an endpoint holds
 * (a TLS record), or the pipe's rest after a refused splice?
 */
static bool
ready_now(const struct relay_session *s, const struct dir *d)
{
	if (d->eof || d->way.kind == WAY_SENDFILE || dir_room(s, d) == 0)
		return false;
	return way_unpiping(&d->way) || d->src->ops->pending(d->src) > 0;
}

/*
 * Move what the wait found ready in d. What was just read is offered to the
 * sink at once rather than after another wait: one wakeup per message
 * instead of two, which is most of a small message's round trip. (The
 * socket is non-blocking and splice does not block on pipes; a blocking
 * stdout is written the same way when the loop says it is writable.)
 */
static int
move(struct relay_session *s, struct dir *d, const struct loop *l)
{
	bool filled = false;
	size_t before;
	ssize_t n;
	int rv;

	if (d->way.kind == WAY_SENDFILE) {
		/* What the socket takes now, straight from the file. */
		if (!hook_may_read(&d->hook) || !end_ready(d->sink, false, l))
			return 0;
		if ((n = way_send_file(&d->way, d->src, d->sink,
		    hook_room(&d->hook, WAY_SENDFILE_CHUNK))) == -1)
			return try_again() ? 0 : end_failed(s, d->sink, true);
		d->eof = n == 0;
		hook_spent(&d->hook, (size_t)n);
		gave(s, d, (size_t)n);
		return 0;
	}
	if (ready_now(s, d) || (!d->eof && !way_unpiping(&d->way) &&
	    dir_room(s, d) > 0 && end_ready(d->src, true, l))) {
		before = dir_waiting(d);
		if ((rv = fill(s, d)) != 0)
			return rv;
		filled = dir_waiting(d) > before;
	}
	if ((end_ready(d->sink, false, l) || filled) &&
	    dir_waiting(d) > 0 && !hook_paused(&d->hook) &&
	    (rv = drain(s, d)) != 0)
		return rv;
	return 0;
}

/* Before the wait: the transitions that are due, then what to wait for. */
int
relay_prepare(struct relay_session *s, struct loop *l)
{
	long long t, now;
	int rv, status;

	if (dir_done(&s->up) && s->stdin_done_at < 0)
		s->stdin_done_at = now_ms();
	if ((rv = maybe_send_fin(s)) != 0 || (rv = close_local(s)) != 0)
		return rv;
	if (finished(s))
		return EXIT_OK;

	now = now_ms();
	hooks_tick(&s->up.hook, &s->down.hook, &s->meter, now, s->up.bytes,
	    s->received);
	t = next_deadline(s, &status);
	if (t >= 0 && t <= now_ms()) {
		if (status == EXIT_TIMEOUT) {
			meter_clear(&s->meter);
			return idle_timeout(s->r, s->remote->name);
		}
		if (status == EXIT_OK)
			return flush_down(s, QUIT_DRAIN_READS);
	}
	/* Only a session that goes on adds to the loop (the caller closes). */
	watch(s, &s->up, now, l);
	watch(s, &s->down, now, l);
	if (s->fin_waits)
		end_watch(s->remote, false, l);
	/* Bytes an endpoint holds already need no wait. */
	if (ready_now(s, &s->up) || ready_now(s, &s->down))
		t = now_ms();
	loop_until(l, t);
	return -1;
}

/* After the wait: move what it found ready, both ways. */
int
relay_step(struct relay_session *s, const struct loop *l)
{
	int rv = move(s, &s->up, l);

	if (rv == 0)
		rv = move(s, &s->down, l);
	return rv == 0 ? -1 : rv;
}

const struct end *
relay_result(const struct relay_session *s, unsigned long long *up,
    unsigned long long *down, int *error)
{
	*up = s->up.bytes;
	*down = s->down.bytes;
	*error = s->failed_errno;
	return s->failed;
}

/* One session alone: prepare, wait, step, until it ends. */
static int
relay_loop(struct relay_session *s)
{
	struct loop l;
	int rv;

	(void)loop_open(&l, LOOP_FEW);
	do {
		loop_begin(&l);
		if ((rv = relay_prepare(s, &l)) == -1 &&
		    (rv = wait_ready(s, &l)) == 0)
			rv = relay_step(s, &l);
	} while (rv == -1);
	return rv;
}

/* The loop cannot watch every descriptor (select: FD_SETSIZE and up). */
static bool
fits_loop(const struct end *e)
{
	if (loop_fits(e->rfd) && loop_fits(e->wfd))
		return true;
	warnx("descriptor %d is too large for select", e->rfd > e->wfd ?
	    e->rfd : e->wfd);
	return false;
}

/* Give d its ends, what applies to it and its way (the buffer comes after). */
static void
dir_init(struct relay_session *s, struct dir *d, struct end *src,
    struct end *sink, bool inbound)
{
	d->src = src;
	d->sink = sink;
	d->inbound = inbound;
	d->whole = s->st.dgram && !inbound;
	d->cap = !s->st.dgram ? WAY_BUFSIZE : inbound ? WAY_DGRAM_MAX :
	    WAY_STDIN_DGRAM;
	way_choose(&d->way, src, sink, s->st.dgram || hook_sees(&d->hook),
	    &s->io->pool);
}

struct relay_session *
relay_open(const struct relay_rules *r, struct end *local_in,
    struct end *local_out, struct end *remote, struct conn *c,
    struct relay_io *io)
{
	struct relay_session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		warn("relay session");
		return NULL;
	}
	s->r = r;
	s->io = io;
	s->remote = remote;
	s->local_out = local_out;
	s->st.dgram = c != NULL && c->dgram;
	s->st.stdin_tty = io->stdin_tty;
	s->last_activity = s->last_recv = now_ms();
	s->stdin_done_at = -1;
	meter_open(&s->meter, r->progress, local_in->socket ? -1 :
	    local_in->rfd, s->last_activity);
	hooks_open(&s->up.hook, &s->down.hook, r, io, &s->meter, c, remote,
	    &s->st.fin_sent);
	dir_init(s, &s->up, local_in, remote, false);
	dir_init(s, &s->down, remote, local_out, true);
	if (r->recv_only)
		s->up.eof = true;	/* -d: stdin is never read */
	if (!s->st.dgram && !local_in->socket)
		way_widen(local_in->rfd);
	if (!s->st.dgram && !local_out->socket)
		way_widen(local_out->wfd);
	return s;
}

void
relay_close(struct relay_session *s)
{
	if (s == NULL)
		return;
	way_end(&s->up.way);
	way_end(&s->down.way);
	way_buffer_back(&s->io->pool, s->up.buf);
	way_buffer_back(&s->io->pool, s->down.buf);
	free(s);
}

int
relay_ends(const struct relay_rules *r, struct end *local_in,
    struct end *local_out, struct end *remote, struct conn *c,
    struct relay_io *io)
{
	struct relay_session *s;
	int status, rv;

	if (!fits_loop(local_in) || !fits_loop(local_out) || !fits_loop(remote))
		return EXIT_NET;
	if ((s = relay_open(r, local_in, local_out, remote, c, io)) == NULL)
		return EXIT_LOCAL;
	status = relay_loop(s);
	/*
	 * A FIN held back for an empty stdin goes at the end, as close(2)
	 * would send it: over TLS, no close_notify would look like a cut.
	 */
	if (status == EXIT_OK && !s->st.fin_sent && !s->st.dgram)
		(void)s->remote->ops->shutdown(s->remote);
	/* What had arrived before a failure is still delivered. */
	if ((status == EXIT_NET || status == EXIT_TIMEOUT) &&
	    (rv = flush_down(s, 0)) != 0)
		status = rv;
	if (meter_end(&s->meter, io, r->verbose, s->up.bytes, s->received) &&
	    status == EXIT_OK)
		status = EXIT_LOCAL;
	relay_close(s);
	way_pool_free(&io->pool);
	return status;
}
