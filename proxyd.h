/* SPDX-License-Identifier: ISC */
/*
 * proxyd.c: the proxy server's request parser (sock(1), "Proxy server").
 * Pure and incremental: bytes in, and out what to answer, what the
 * request asks for, or why it fails with the reply that says so. It never
 * touches a descriptor, prints or exits, so that a fuzzer can drive it.
 */
#ifndef PROXYD_H
#define PROXYD_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

/* The most a request may take, HTTP head or SOCKS handshake, bytes. */
#define PROXYD_HEAD_MAX	16384

/* What proxyd_input found. */
enum {
	PROXYD_MORE,		/* the request is not complete yet */
	PROXYD_DONE,		/* complete: proxyd_target says where to */
	PROXYD_FAIL		/* refused; the reply (if any) says so: close */
};

/* The protocol a client speaks, told by its first byte. */
enum proxyd_kind {
	PROXYD_UNKNOWN,
	PROXYD_SOCKS4,		/* SOCKS4 and SOCKS4a */
	PROXYD_SOCKS5,
	PROXYD_HTTP_CONNECT,
	PROXYD_HTTP		/* an absolute-form request of any method */
};

struct proxyd_target {
	enum proxyd_kind kind;
	char		 host[256];	/* a name or a numeric address */
	char		 portstr[8];
	int		 port;
	bool		 udp;		/* SOCKS5 UDP ASSOCIATE: host and port
					   are where the client will send from
					   (port 0: not known) */
};

struct proxyd;

/*
 * A parser for one client. user NULL: no authentication; else the client
 * must give user and password. Returns NULL with errno (ENOMEM).
 */
struct proxyd *proxyd_new(const char *user, const char *password);
void	proxyd_free(struct proxyd *);

/* How many bytes proxyd_input may be given now (never more). */
size_t	proxyd_room(const struct proxyd *);

/*
 * Give the parser n more bytes from the client. Returns PROXYD_MORE,
 * PROXYD_DONE or PROXYD_FAIL; *reply (malloc'd, the caller frees it;
 * NULL when there is none) and *len are bytes to send the client now: a
 * SOCKS5 method choice or RFC 1929 result, or the failure's reply. Once
 * it has returned DONE or FAIL it must not be called again.
 */
int	proxyd_input(struct proxyd *, const void *buf, size_t n, char **reply,
	    size_t *len);

/* Where a complete request goes. */
void	proxyd_target(const struct proxyd *, struct proxyd_target *);

/*
 * What to send the target before relaying (malloc'd, possibly empty): for
 * a plain HTTP request its head rewritten for the origin, and any bytes
 * the client sent after its request. Returns -1 with ENOMEM.
 */
int	proxyd_forward(const struct proxyd *, char **buf, size_t *len);

/*
 * The reply for a connected target (bound: the proxy's own address on that
 * connection, for SOCKS); empty for a plain HTTP request, whose answer
 * comes from the origin. Returns -1 with ENOMEM.
 */
int	proxyd_success(const struct proxyd *, const struct sockaddr *bound,
	    socklen_t boundlen, char **reply, size_t *len);

/*
 * The reply that tells the client its request failed with error (an errno:
 * the connect's, or ETIMEDOUT if the request itself did not come in time).
 * Empty where the protocol has none. Returns -1 with ENOMEM.
 */
int	proxyd_failure(const struct proxyd *, int error, char **reply,
	    size_t *len);

/* Why the request failed, after PROXYD_FAIL. */
const char *proxyd_error(const struct proxyd *);

#endif /* PROXYD_H */
