/* SPDX-License-Identifier: ISC */
/*
 * udpfwd.c: -u --forward, UDP forwarding: a session per client address,
 * each with its own socket connected to the target, in one loop. Says why
 * when it fails and returns an exit status.
 */
#ifndef UDPFWD_H
#define UDPFWD_H

#include "opts.h"

struct conn;

/*
 * -u --forward (sock(1), "Forwarding datagrams"): relay the datagrams of
 * every sender to the nl bound UDP sockets lfds, each sender a session of
 * its own with its own socket connected to o->forward_to, until a signal;
 * or, for a reverse tunnel (nl 0), the one conversation of the connected
 * UDP socket first, until it has been silent for -w. Closes lfds and
 * first->fd. Returns the exit status.
 */
int	serve_udp_forward(const struct opts *, int *lfds, int nl,
	    struct conn *first);

#endif /* UDPFWD_H */
