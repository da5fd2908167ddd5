/* SPDX-License-Identifier: ISC */
/*
 * server.c: what is about many clients (-k, --broker, --chat, -e/-c with
 * -k): fan-out between clients and stdin/stdout, a program per client,
 * and the TLS handshake of a client (who gets in is admit.h's). Says why
 * when it fails and returns an exit status.
 */
#ifndef SERVER_H
#define SERVER_H

#include "opts.h"

struct conn;
struct end;
struct relay_io;
struct tls_ctx;

/*
 * Serve every client of the listening sockets at once (-k, --broker,
 * --chat, -e/-c with -k), as sock(1), "Serving many clients" says. Returns
 * the exit status.
 */
int	serve_clients(const struct opts *, int *lfds, int nl,
	    struct relay_io *);

/*
 * Start TLS on c with ctx (server side with -l): the endpoint in e, the
 * handshake bounded by -w, and its -v lines. Returns EXIT_OK, or the exit
 * status after saying why (e is then freed; c->fd stays the caller's).
 */
int	tls_session_start(const struct opts *, struct conn *c,
	    struct tls_ctx *ctx, struct end *e);

#endif /* SERVER_H */
