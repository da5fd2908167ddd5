/* SPDX-License-Identifier: ISC */
/*
 * admit.c: who gets in, for every mode that accepts many clients (-k,
 * --broker, --chat, -k -e/-c, --forward, --proxy-server, -u --forward):
 * --allow/--deny, --max-conns and --max-conns-per-source, the descriptor
 * limit (and a client that finds it reached), and with --accept-proxy
 * the PROXY header that says who the client is. Says a refusal with -v;
 * never exits.
 */
#ifndef ADMIT_H
#define ADMIT_H

#include <sys/socket.h>

#include <stdbool.h>

#include "opts.h"

struct conn;
struct loop;
struct proxied;
struct sources;

/*
 * Accept one client from lfd, applying --allow/--deny, --max-conns
 * (nclients already connected) and --max-conns-per-source (held: the
 * caller's count per address, or NULL; an admitted client is counted
 * there, and the caller gives it back with sources_give(held, &c->peer)
 * when it goes): a client refused is closed at once, with a -v message.
 * Returns the new socket with c filled in (c->peer: the client's
 * address), or -1 (refused, or a transient accept failure: try again),
 * -2 (accept failed for good, said why) or -3 (none waiting: lfd is
 * non-blocking). Out of descriptors, the client waiting is closed with
 * the spare's help (spare: the caller's, or NULL to pause instead).
 *
 * With --accept-proxy the client's PROXY header is read first, and its
 * address is the one these rules see (sock(1), "PROXY protocol"). With pw
 * (the caller's table, proxied_new), a header not yet complete leaves
 * the client in pw (-1 is returned) for proxied_next to admit later;
 * --max-conns counts those too. Without, the header is waited for here,
 * for -w but at most PREAMBLE_MS: a bad one returns -2, one not complete
 * in time -4 (said why).
 */
int	admit_client(const struct opts *, int lfd, int nclients,
	    struct sources *held, int *spare, struct proxied *pw,
	    struct conn *c);

/*
 * --accept-proxy in a loop of many clients: the clients accepted whose
 * header is still coming. proxied_new makes the table (NULL, said, when
 * it cannot); each round, proxied_prepare drops those out of time (-v
 * says so) and tells l to watch the rest and wake by the first deadline;
 * after the wait, proxied_next reads those ready, drops the bad (-v) and
 * returns the next admitted as admit_client does (its socket, c filled),
 * or -1 when none is left this round. proxied_free closes those left.
 * A NULL table is an empty one.
 */
struct proxied *proxied_new(void);
void	proxied_prepare(const struct opts *, struct proxied *, struct loop *);
int	proxied_next(const struct opts *, struct proxied *, struct loop *,
	    struct sources *held, struct conn *c);
void	proxied_free(struct proxied *, struct loop *);

/*
 * A descriptor held back for EMFILE (admit_client's spare; -1: none):
 * given up to take and close a client when the limit is reached.
 */
int	open_spare(void);
/* The soft descriptor limit in force now (-1: none). */
long long fd_limit_now(void);

/*
 * How many clients (or, pairs, forwarded pairs of two sockets) the
 * descriptor limit serves at once (sock(1), "Many connections").
 */
int	conns_allowed(int fd_limit, bool pairs);

/* -v: the clients served at once, and the descriptor limit. */
void	say_capacity(const struct opts *);

/*
 * May a client at sa (named name) in, by --allow and --deny? If not, -v
 * says it was refused.
 */
bool	client_allowed(const struct opts *, const struct sockaddr *sa,
	    const char *name);

#endif /* ADMIT_H */
