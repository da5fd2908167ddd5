/* SPDX-License-Identifier: ISC */
/*
 * relay.h: the relay (relay.c), which copies two sides to each other by
 * the end-of-stream rules of sock(1), "Data flow and end of stream"
 * (rules.h). The ways bytes move (way.h) and what watches them on the way
 * (hook.h) are the relay's own.
 */
#ifndef RELAY_H
#define RELAY_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdio.h>

#include "opts.h"
#include "way.h"
#include "rules.h"
#include "hook.h"

struct conn;
struct loop;
struct end;

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

/*
 * How the session went: bytes delivered up (the local side to the remote)
 * and down, and the end whose read or write failed (NULL: none), *error
 * its errno.
 */
const struct end *relay_result(const struct relay_session *,
	    unsigned long long *up, unsigned long long *down, int *error);

#endif
