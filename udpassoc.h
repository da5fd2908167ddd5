/* SPDX-License-Identifier: ISC */
/*
 * udpassoc.c: the proxy server's side of SOCKS5 UDP ASSOCIATE (RFC 1928,
 * section 7; sock(1), "Proxy server"). One association is a relay socket
 * the client sends to, and a socket per address family towards the
 * targets; it unwraps the client's datagrams and sends them on, and wraps
 * the answers with their source. Stepped from the forwarder's loop, it
 * never blocks but for the lookup of a target's name (getaddrinfo, kept
 * for the association's life), never prints (drops are told to a
 * callback) and never exits.
 */
#ifndef UDPASSOC_H
#define UDPASSOC_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>

struct loop;
struct udp_assoc;

/* Datagrams waiting for a socket that is full, each way, at most. */
#define ASSOC_QUEUE_MAX	64

/* What an association has moved. */
struct udp_assoc_counts {
	unsigned long long up;		/* datagrams client to targets */
	unsigned long long up_bytes;	/* their data, headers excluded */
	unsigned long long down;	/* datagrams targets to client */
	unsigned long long down_bytes;
	unsigned long long dropped;	/* refused, malformed or queue full */
};

/*
 * An association for the client of the control connection ctl (its
 * descriptor, which stays the caller's): the relay socket bound on the
 * address the client reached ctl on, any port. port: what the client
 * announced (0: any port from its address, the first one locked in).
 * numeric: names are not looked up (-n). dropped(arg, why), if not NULL,
 * hears of each datagram dropped. Returns NULL with errno.
 */
struct udp_assoc *udp_assoc_open(int ctl, int port, bool numeric,
	    void (*dropped)(void *arg, const char *why), void *arg);

/* The relay's address, for the reply to the request. */
void	udp_assoc_relay(const struct udp_assoc *, struct sockaddr_storage *,
	    socklen_t *);

/* Before the wait: what the association waits on. */
void	udp_assoc_prepare(struct udp_assoc *, struct loop *);

/*
 * After the wait: move what is ready. Returns 0 while the association
 * lasts, or 1 once the control connection has ended (or failed: *why
 * says which).
 */
int	udp_assoc_step(struct udp_assoc *, const struct loop *,
	    const char **why);

/* When a datagram last moved, or the association began (now_ms time). */
long long udp_assoc_active(const struct udp_assoc *);

void	udp_assoc_counts(const struct udp_assoc *, struct udp_assoc_counts *);

/* Close its sockets (l lets go of them) and free it. */
void	udp_assoc_close(struct udp_assoc *, struct loop *l);

#endif /* UDPASSOC_H */
