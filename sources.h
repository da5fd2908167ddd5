/* SPDX-License-Identifier: ISC */
/*
 * sources.h: how many connections each client address holds, for
 * --max-conns-per-source (sock(1)). Mechanism only: never prints or exits.
 */
#ifndef SOCK_SOURCES_H
#define SOCK_SOURCES_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

/* A count per IP address (an IPv4-mapped IPv6 address counts as IPv4). */
struct sources {
	struct source_slot *slots;	/* open addressing; NULL: empty */
	size_t		 cap;		/* a power of two, or 0 */
	size_t		 used;
};

/*
 * Count one more connection from sa if it holds fewer than limit. Returns
 * 0 (counted), or -1 with errno EBUSY (at its limit), ENOMEM, or
 * EAFNOSUPPORT (sa is not an IP address: nothing is counted).
 */
int	sources_take(struct sources *, const struct sockaddr *sa, int limit);

/* One connection from sa is gone (one that sources_take counted). */
void	sources_give(struct sources *, const struct sockaddr *sa);

/* Connections counted for sa now. */
int	sources_count(const struct sources *, const struct sockaddr *sa);

void	sources_free(struct sources *);

#endif
