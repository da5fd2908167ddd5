/* SPDX-License-Identifier: ISC */
/*
 * forward.c: --forward and --proxy-server, many pairs of sockets relayed
 * in one loop. Says why when a pair fails and returns an exit
 * status.
 */
#ifndef FORWARD_H
#define FORWARD_H

#include "opts.h"

struct conn;
struct tls_ctx;

/*
 * --forward and --proxy-server (sock(1), "Forwarding", "Proxy server"):
 * relay each client of the nl listening sockets lfds (closed here; with
 * -k many at once, else the first only) or, for a reverse tunnel, the
 * connection first (nl 0; closed here), to its own new connection: to
 * o->forward_to, or where its proxy request asks (through the -x proxies,
 * if any). With tls (NULL: none) the client side is a TLS session: the
 * server's for an accepted client, the client's for a reverse tunnel.
 * Returns the exit status of the last pair to end.
 */
int	serve_forward(const struct opts *, int *lfds, int nl,
	    struct conn *first, struct tls_ctx *tls);

#endif /* FORWARD_H */
