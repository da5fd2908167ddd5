/* SPDX-License-Identifier: ISC */
/*
 * hook.h: what watches or changes the relay's bytes on the way (hook.c),
 * set up once when a session opens, each direction carrying what applies
 * to it: going up (the local side to the connection) -C, -i, --raw's
 * escape and the dump of what is sent; coming down the dump of what is received, -t,
 * --send-only's discarding, -W and a datagram listener's --allow/--deny;
 * both ways --limit-rate. The session as a whole has a meter: --progress
 * and the -v summary.
 */
#ifndef HOOK_H
#define HOOK_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "opts.h"
#include "parse.h"
#include "way.h"

struct acl;
struct conn;
struct end;
struct relay_rules;
struct tls_ctx;

/*
 * The relay's state that outlives one connection: stdin's kind, the dump
 * (most of it, and the hooks write it), the TLS context and the pool.
 */
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

/* Write out the hex dump's last, incomplete line. */
void	hook_dump_flush(struct relay_io *);

/* --progress and the -v summary. */
struct meter {
	long long	 start;		/* when the session opened */
	long long	 every;		/* --progress interval; 0: off */
	long long	 next;		/* the next report */
	long long	 last_t;	/* the last report, for the rate */
	unsigned long long last_bytes;
	long long	 stdin_size;	/* bytes stdin will give; -1: unknown */
	bool		 drawn;		/* a line a message must clear */
};

/* Start the meter at start for --progress mode p, stdin being stdin_fd. */
void	meter_open(struct meter *, enum progress p, int stdin_fd,
	    long long start);

/* Clear the progress line, so that a message starts on a line of its own. */
void	meter_clear(struct meter *);

/* When the next progress report is due (-1: never). */
long long meter_next(const struct meter *);

/* Report progress: bytes sent and received so far (final: the last). */
void	meter_report(struct meter *, unsigned long long sent,
	    unsigned long long received, bool final);

/*
 * The session's end: the last progress report, the dump flushed (a
 * failure said once), and with verbose the -v summary. Returns true if the
 * dump could not be written.
 */
bool	meter_end(struct meter *, struct relay_io *, int verbose,
	    unsigned long long sent, unsigned long long received);

/* What applies to one direction. */
struct hook {
	struct relay_io	*io;
	struct meter	*meter;		/* to clear before a message */
	bool		 dgram;		/* the bytes are datagrams */
	int		 dump;		/* -o: 0 dumped as sent when written, 1
					   as received when read; -1: not */
	bool		 crlf;		/* -C */
	bool		 after_cr;	/* -C: the last byte read was a CR */
	long long	 interval_ms;	/* -i; -1: none */
	long long	 next_send_at;	/* -i: no line before this time */
	bool		 discard;	/* --send-only: what arrives goes */
	bool		 telnet;	/* -t */
	struct telnet	 tn;
	struct end	*reply;		/* -t: where refusals go ... */
	const bool	*replies_end;	/* ... until this is true (a FIN) */
	int		 quota;		/* -W: datagrams to read; 0: any */
	long long	 datagrams;	/* datagrams read */
	struct conn	*sender;	/* a datagram listener's --allow/--deny */
	const struct acl *allow;
	const struct acl *deny;
	bool		 escape;	/* --raw: ~. and ~~ at a line's start */
	bool		 line_start;	/* --raw: the next byte starts a line */
	bool		 tilde;		/* --raw: a ~ there, held back */
	bool		 quit;		/* --raw: ~. was typed */
	int		 verbose;
	double		 rate;		/* --limit-rate; 0: none */
	double		 credit;	/* bytes it may read now */
	long long	 credit_at;	/* when credit was last brought up */
};

/*
 * Set up both directions' hooks by the rules r: up from the local side to
 * remote, down back; c is the connection's record (or NULL), fin_sent
 * true once the session has sent its FIN. io, m and r outlive the hooks.
 */
void	hooks_open(struct hook *up, struct hook *down,
	    const struct relay_rules *r, struct relay_io *io, struct meter *m,
	    struct conn *c, struct end *remote, const bool *fin_sent);

/* Must the direction's bytes go through its buffer to be seen? */
bool	hook_sees(const struct hook *);

/*
 * Each round, before the wait: --limit-rate's credit both ways brought up
 * to now, and --progress drawn when due (sent and received so far).
 */
void	hooks_tick(struct hook *up, struct hook *down, struct meter *,
	    long long now, unsigned long long sent,
	    unsigned long long received);

/* May the source be read at all now (--limit-rate, -W)? */
bool	hook_may_read(const struct hook *);

/* How much of room may be read now (--limit-rate). */
size_t	hook_room(const struct hook *, size_t room);

/*
 * Read up to room bytes from src into p (-C: room / 2, LFs made CRLF;
 * --raw: a ~ at a line's start held back, ~~ made ~, ~. the end).
 */
ssize_t	hook_read(struct hook *, struct end *src, char *p, size_t room);

/*
 * Is the datagram just read from a sender --allow/--deny let in (always,
 * unless this is a -k datagram listener)? Then it is the one to answer.
 */
bool	hook_admits(struct hook *);

/* Count n bytes read (and a datagram), into the buffer or not. */
void	hook_spent(struct hook *, size_t n);

/*
 * The n bytes at p were read into the buffer: dump, discard or filter
 * them. Returns how many stay for the sink.
 */
size_t	hook_took(struct hook *, char *p, size_t n);

/*
 * -i: how much of the len bytes at p may go now, up to the end of the
 * first line (or the datagram); 0 while a line is incomplete and more may
 * come (last: nothing more will).
 */
size_t	hook_ready(const struct hook *, const char *p, size_t len, bool last);

/* -i: is the pause after the last line still on? */
bool	hook_paused(const struct hook *);

/* -i: should the sink wait, though ready bytes wait for it? */
bool	hook_holds(const struct hook *, long long now, size_t ready);

/*
 * The sink took the n bytes at p, at now; all: all that was ready.
 */
void	hook_gave(struct hook *, const char *p, size_t n, bool all,
	    long long now);

/*
 * When the direction must be woken without traffic (-1: never): -i's
 * pause over while bytes wait, or --limit-rate's credit for a read.
 */
long long hook_wakeup(const struct hook *, bool waiting, bool eof);

/* --raw: was ~. typed (then nothing more is read)? */
bool	hook_quit(const struct hook *);

/* -W: have the datagrams asked for come? */
bool	hook_quota_met(const struct hook *);

#endif
