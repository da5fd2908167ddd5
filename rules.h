/* SPDX-License-Identifier: ISC */
/*
 * rules.h: the end-of-stream rules of sock(1), "Data flow and end of
 * stream" (rules.c): what a session obeys, read from the options once;
 * the predicates; the engine that carries them out (the FIN, -w, the last
 * flush, a reader gone from stdout) for the relay and the servers alike;
 * the -v lines that report them.
 */
#ifndef RULES_H
#define RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "opts.h"

struct acl;
struct end;

/*
 * What a session obeys: the options that steer the relay, taken from
 * struct opts once (relay_rules_from_opts), or filled directly by a mode
 * that relays by rules of its own (the forwarder).
 */
struct relay_rules {
	enum fin_policy	 fin;		/* -N, --no-shutdown */
	bool		 send_only;	/* --send-only */
	bool		 recv_only;	/* -d: stdin is never read */
	bool		 listen;	/* -l */
	bool		 keep_open;	/* -k */
	long long	 quit_ms;	/* -q; -1: none */
	long long	 timeout_ms;	/* -w; -1: none */
	long long	 interval_ms;	/* -i; -1: none */
	double		 rate_limit;	/* --limit-rate, bytes a second; 0: none */
	int		 recv_limit;	/* -W: datagrams to receive; 0: no limit */
	bool		 crlf;		/* -C */
	bool		 telnet;	/* -t */
	bool		 escape;	/* --raw: ~. at a line's start ends */
	bool		 local_pty;	/* --pty: the local side is a program's
					   terminal, over when it closes */
	enum progress	 progress;	/* --progress */
	int		 verbose;	/* -v */
	const struct acl *allow;	/* --allow, for a -k datagram listener */
	const struct acl *deny;		/* --deny */
};

/* The rules of o, for the relay and the servers. */
void	relay_rules_from_opts(const struct opts *o, struct relay_rules *r);

/*
 * The end-of-stream rules (sock(1), "Data flow and end of stream"),
 * shared by the relay and the servers, and the -v lines that go with them.
 */

/*
 * The FIN: once a side's input has ended and is all sent, is a FIN due?
 * sent_any: some of it was sent to this peer.
 */
bool	fin_due(const struct relay_rules *, bool sent_any);

/*
 * -q, and a datagram session's quiet second: when the quiet time after the
 * end of stdin runs out.
 */
long long quiet_deadline(long long quiet_ms, long long stdin_done_at,
	    long long last_recv);

/* -w: when the idle limit runs out for a peer last active then (-1: never). */
long long idle_deadline(const struct relay_rules *, long long last_activity);

/*
 * When a session must end without more traffic, and *status how: -q's
 * quiet time after stdin ended at stdin_done_at (-1: not yet), or a
 * datagram session's quiet second, EXIT_OK; -w's idle limit, EXIT_TIMEOUT.
 * -1: neither applies.
 */
long long end_deadline(const struct relay_rules *, bool dgram,
	    long long stdin_done_at, long long last_recv,
	    long long last_activity, int *status);

/*
 * --send-only, with all of stdin sent and the FIN (if a stream): may the
 * session close now, all acknowledged (or the peer quiet since then)?
 */
bool	send_only_over(const struct end *remote, bool dgram,
	    long long quiet_since);

/*
 * --send-only, its FIN sent (fin_sent): when to look again whether all is
 * acknowledged, which nothing signals; -1: no need.
 */
long long send_only_wakeup(const struct relay_rules *, bool fin_sent);

/* Where a session stands, as session_over reads it. */
struct session_state {
	bool		 up_done;	/* the local side ended, all of it sent */
	bool		 down_done;	/* the peer ended, all of it delivered */
	bool		 up_empty;	/* nothing waits to go up */
	bool		 down_empty;	/* nothing waits to go down */
	bool		 quota_met;	/* -W: the datagrams asked for came */
	bool		 escaped;	/* --raw: ~. was typed */
	bool		 dgram;		/* the connection carries datagrams */
	bool		 fin_sent;
	bool		 local_closed;	/* the peer's end was passed on locally */
	bool		 stdin_tty;	/* an interactive user */
	long long	 quiet_since;	/* --send-only: the peer quiet since */
};

/* Is a session that stands at st over by the rules, with remote its peer? */
bool	session_over(const struct relay_rules *, const struct end *remote,
	    const struct session_state *st);

/*
 * The engine: each rule carried out in one place.
 *
 * The FIN to e, once fin_due says so: shut e's writing down and say it
 * with -v. Returns 0, or -1 with errno (EAGAIN or EINTR: again once e is
 * writable; anything else, a failure for write_failed).
 */
int	send_fin(const struct relay_rules *, struct end *e);

/*
 * -w ran out for peer: say so; returns EXIT_TIMEOUT, the status of a
 * session that ends by it.
 */
int	idle_timeout(const struct relay_rules *, const char *peer);

/*
 * A write to e failed (errno): returns the exit status. A reader of
 * stdout that went away (EPIPE on a local end) ends sock quietly with
 * EXIT_PIPE (sock(1), EXIT STATUS); anything else is said.
 */
int	write_failed(const struct end *e);

/*
 * Before leaving: write the n bytes at p out to e, waiting as long as it
 * takes. Returns 0 or an exit status.
 */
int	flush_out(struct end *e, const char *p, size_t n);

/* The -v event lines, each format in one place (sock(1), DIAGNOSTICS). */
void	say_fin_sent(const struct relay_rules *, const char *peer);
void	say_fin_received(const struct relay_rules *, const char *peer);
void	say_idle_timeout(const struct relay_rules *, const char *peer);

/*
 * "VERB PEER: reason" for a failure of e, by its words if it has them,
 * else by errno; returns the exit status e's failures map to.
 */
int	say_end_failed(const struct end *e, const char *verb);

#endif
