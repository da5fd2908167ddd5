/* SPDX-License-Identifier: ISC */
/*
 * connect.c: the connect walk, shared by connect mode (sock.c) and the
 * proxy client's first hop (proxy.c): resolve the host and the -s/-p
 * source, then Happy Eyeballs across the addresses; and the -vv line for
 * each attempt, which forwarding's stepped walks print too. It prints
 * those -vv lines and nothing else; a failure goes back to the caller,
 * which says it in its own words.
 */
#ifndef CONNECT_H
#define CONNECT_H

#include <stdbool.h>

#include "opts.h"
#include "net.h"

struct conn;

/* How the -vv lines of a walk name its attempts. */
struct attempt_words {
	const struct opts *o;		/* -v, and -s for a missing source */
	const char	*role;		/* before each address: "" or "proxy " */
	const char	*proto;		/* "trying ADDR (proto)"; NULL: none */
	const char	*client;	/* "... ADDR for CLIENT"; NULL: none */
	const char	*unix_name;	/* what an AF_UNIX address is called
					   (NULL: its path) */
	bool		 every;		/* every failure, the last one too, a
					   missing source as a failure */
	bool		 source;	/* else a missing source has a line of
					   its own ("source S for ADDR") */
};

/*
 * An attempt_fn for connect_happy and happy_start, arg a struct
 * attempt_words: at -vv, "trying ADDR", and "connect to ADDR: reason" for
 * each failure but the last (the caller's to report, unless every).
 */
void	report_attempt(void *arg, const struct attempt *at);

/* Why connect_host failed. */
struct connect_error {
	int		 status;	/* EXIT_NET, or EXIT_TIMEOUT if the time
					   ran out */
	int		 why;		/* an errno, or a getaddrinfo code ... */
	bool		 why_gai;	/* ... if this is set */
	bool		 lookup;	/* the host's name lookup failed */
};

/*
 * Connect to host port with a socket of socktype as o asks (-4/-6, -n,
 * the -s/-p source, the socket options, --mptcp), Happy Eyeballs across
 * its addresses, the attempts bounded by timeout_ms (-1: none) and named
 * at -vv as w says. Returns the connected, non-blocking socket with c
 * filled in, or -1 with ce set and c->name the address it concerns (the
 * host and port if the lookup failed).
 */
int	connect_host(const struct opts *o, const char *host, const char *port,
	    int socktype, long long timeout_ms, const struct attempt_words *w,
	    struct conn *c, struct connect_error *ce);

#endif /* CONNECT_H */
