/* SPDX-License-Identifier: ISC */
/*
 * relay.h: the relay (relay.c), which copies two sides to each other by
 * the end-of-stream rules of sock(1), "Data flow and end of stream", and
 * those rules (rules.c): read from the options once, shared with the
 * servers. The ways bytes move (way.h) and what watches them on the way
 * (hook.h) are the relay's own.
 */
#ifndef RELAY_H
#define RELAY_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdio.h>

#include "sock.h"
#include "way.h"

struct acl;
struct conn;
struct loop;
struct end;
struct opts;
struct tls_ctx;

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

/* State of stdin, stdout and the dump that outlives one connection. */
struct relay_io {
	bool		 stdin_tty;	/* stdin is a terminal: done when the peer is */
	FILE		*hexdump;	/* -o, or NULL */
	unsigned long long dump_off[2];	/* bytes dumped: sent, received */
	unsigned char	 dump_line[16];	/* a line not yet complete ... */
	size_t		 dump_len;
	int		 dump_dir;	/* ... and its direction */
	bool		 dump_failed;	/* a write to the dump failed (said) */
	struct tls_ctx	*tls;		/* --tls: made once at start, or NULL */
	struct way_pool	 pool;		/* the sessions' pipes and buffers */
};

/*
 * Relay between two sides until the session ends (sock(1), "Data flow and
 * end of stream"): the local side's in/out (stdin and stdout, or one
 * socket for both) and the remote end (the connection, c, NULL unless it
 * is a socket). Prints its own error messages; returns an EXIT_* status.
 * The ends and their descriptors stay the caller's.
 */
int	relay_ends(const struct relay_rules *, struct end *local_in,
	    struct end *local_out, struct end *remote, struct conn *c,
	    struct relay_io *);

/*
 * A session stepped from an outside loop, so that one wait serves many
 * (the forwarder's pairs): relay_open starts one between the same sides
 * as relay_ends (NULL after saying why); each round, relay_prepare tells
 * the loop (loop.h) what it waits on and when it must be stepped even
 * without traffic, and after the wait relay_step moves what is ready (a
 * NULL loop: nothing is known ready). Both return -1 while the
 * session goes on, else the exit status it ended with; then relay_close
 * frees it (the ends and their descriptors stay the caller's). Unlike
 * relay_ends, nothing here blocks or prints the summary. The rules and io
 * must outlive the session.
 */
struct relay_session;

struct relay_session *relay_open(const struct relay_rules *,
	    struct end *local_in, struct end *local_out, struct end *remote,
	    struct conn *c, struct relay_io *);
int	relay_prepare(struct relay_session *, struct loop *);
int	relay_step(struct relay_session *, const struct loop *);
void	relay_close(struct relay_session *);

/* Bytes delivered so far: up (local side to remote) and down. */
void	relay_counts(const struct relay_session *, unsigned long long *up,
	    unsigned long long *down);

/* The end whose read or write failed (NULL: none), and *error its errno. */
const struct end *relay_failed(const struct relay_session *, int *error);

/* Write out the hex dump's last, incomplete line. */
void	relay_dump_flush(struct relay_io *);

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
