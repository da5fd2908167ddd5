/* SPDX-License-Identifier: ISC */
/*
 * rules.c: the end-of-stream rules of sock(1), "Data flow and end of
 * stream": the relay's rules read from the options (the one place the
 * relay's behaviour comes from struct opts), the predicates, and the
 * engine that carries them out for the relay (relay.c) and the servers
 * (server.c) alike: the FIN, -w's end, the last flush, a reader gone from
 * stdout. It touches only the ends it is given, prints only the lines
 * that report the rules and the failures they meet, and never exits.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <string.h>

#include "opts.h"
#include "end.h"
#include "net.h"
#include "loop.h"
#include "parse.h"
#include "rules.h"

#define DGRAM_QUIET_MS	1000	/* sock(1) "Datagrams": quiet before exit */
#define SEND_ONLY_QUIET_MS 200	/* --send-only without TIOCOUTQ: peer quiet */
#define SEND_ONLY_POLL_MS 10	/* how often --send-only looks at its queue */

void
relay_rules_from_opts(const struct opts *o, struct relay_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->fin = o->fin;
	r->send_only = o->send_only;
	r->recv_only = o->recv_only;
	r->listen = o->listen;
	r->keep_open = o->keep_open;
	r->quit_ms = o->quit_ms;
	r->timeout_ms = o->timeout_ms;
	r->interval_ms = o->interval_ms;
	r->rate_limit = o->rate_limit;
	r->recv_limit = o->recv_limit;
	r->crlf = o->crlf;
	r->telnet = o->telnet;
	r->escape = o->raw;
	r->local_pty = o->pty;
	r->progress = o->progress;
	r->verbose = o->verbose;
	r->allow = &o->allow;
	r->deny = &o->deny;
}

bool
fin_due(const struct relay_rules *r, bool sent_any)
{
	if (r->recv_only || r->fin == FIN_NEVER)
		return false;
	/* --send-only's peer learns the end from the FIN: it is always due. */
	return sent_any || r->fin == FIN_ALWAYS || r->send_only;
}

long long
quiet_deadline(long long quiet_ms, long long stdin_done_at,
    long long last_recv)
{
	return (last_recv > stdin_done_at ? last_recv : stdin_done_at) +
	    quiet_ms;
}

long long
idle_deadline(const struct relay_rules *r, long long last_activity)
{
	return r->timeout_ms < 0 ? -1 : last_activity + r->timeout_ms;
}

long long
end_deadline(const struct relay_rules *r, bool dgram, long long stdin_done_at,
    long long last_recv, long long last_activity, int *status)
{
	long long deadline = -1, quiet = r->quit_ms, t;

	*status = EXIT_OK;
	if (dgram && quiet < 0 && !(r->listen && r->keep_open))
		quiet = DGRAM_QUIET_MS;
	if (quiet >= 0 && stdin_done_at >= 0)
		deadline = quiet_deadline(quiet, stdin_done_at, last_recv);
	if ((t = idle_deadline(r, last_activity)) >= 0 &&
	    (deadline < 0 || t < deadline)) {
		deadline = t;
		*status = EXIT_TIMEOUT;
	}
	return deadline;
}

/*
 * --send-only ends while the peer may still be sending, and closing a
 * socket with unread data sends a reset, which can destroy what is still
 * in flight to the peer: so it first waits until the peer has
 * acknowledged every byte. Where the system cannot tell what is
 * unacknowledged, what arrives is read (and discarded) until the peer has
 * been quiet for a moment: a close then finds nothing unread and sends no
 * reset.
 */
bool
send_only_over(const struct end *remote, bool dgram, long long quiet_since)
{
	int unacked;

	if (dgram || (unacked = end_unacked(remote)) == 0)
		return true;
	return unacked < 0 && now_ms() - quiet_since >= SEND_ONLY_QUIET_MS;
}

long long
send_only_wakeup(const struct relay_rules *r, bool fin_sent)
{
	return r->send_only && fin_sent ? now_ms() + SEND_ONLY_POLL_MS : -1;
}

bool
session_over(const struct relay_rules *r, const struct end *remote,
    const struct session_state *st)
{
	/* -W: the datagrams asked for have come and are written out. */
	if (st->quota_met && st->down_empty)
		return true;
	/* ~. typed (--raw): once what came before it is sent. */
	if (st->escaped && st->up_empty)
		return true;
	/*
	 * --pty: a terminal nobody holds any more can take no input; its
	 * program's last words are out, so the session is over.
	 */
	if (r->local_pty && st->up_done)
		return true;
	if (r->send_only)
		return st->up_done && (st->dgram || st->fin_sent) &&
		    send_only_over(remote, st->dgram, st->quiet_since);
	if (!st->down_done || (!(r->keep_open && st->dgram) &&
	    !st->local_closed))
		return false;
	/* An interactive user is done when the peer is (a terminal stdin). */
	if (st->stdin_tty || r->recv_only)
		return true;
	return st->up_done;
}

int
send_fin(const struct relay_rules *r, struct end *e)
{
	if (e->ops->shutdown(e) == -1)
		return -1;
	say_fin_sent(r, e->name);
	return 0;
}

int
idle_timeout(const struct relay_rules *r, const char *peer)
{
	say_idle_timeout(r, peer);
	return EXIT_TIMEOUT;
}

int
write_failed(const struct end *e)
{
	if (e->fail_status == EXIT_LOCAL && errno == EPIPE)
		return EXIT_PIPE;
	return say_end_failed(e, "write to");
}

int
flush_out(struct end *e, const char *p, size_t n)
{
	struct loop l;
	ssize_t k;

	(void)loop_open(&l, LOOP_FEW);
	while (n > 0) {
		loop_begin(&l);
		end_watch(e, false, &l);
		if (loop_wait(&l) == -1 && errno != EINTR)
			return EXIT_LOCAL;
		if ((k = e->ops->write(e, p, n)) == -1) {
			if (try_again())
				continue;
			return write_failed(e);
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

void
say_fin_sent(const struct relay_rules *r, const char *peer)
{
	if (r->verbose > 0)
		warnx("FIN sent to %s", peer);
}

void
say_fin_received(const struct relay_rules *r, const char *peer)
{
	if (r->verbose > 0)
		warnx("FIN received from %s", peer);
}

void
say_idle_timeout(const struct relay_rules *r, const char *peer)
{
	char secs[32];

	format_seconds(r->timeout_ms, secs, sizeof(secs));
	warnx("connection to %s: idle timeout after %s s", peer, secs);
}

int
say_end_failed(const struct end *e, const char *verb)
{
	if (e->why[0] != '\0')
		warnx("%s %s: %s", verb, e->name, e->why);
	else
		warn("%s %s", verb, e->name);
	return e->fail_status;
}
