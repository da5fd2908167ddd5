/* SPDX-License-Identifier: ISC */
/*
 * proxyhdr.c: the PROXY protocol's header (haproxy's proxy-protocol.txt),
 * which tells a server behind a forwarder who the client really is:
 * version 1 (one text line) and version 2 (binary). Pure: it makes bytes
 * from addresses, touches no descriptor, never prints or exits.
 */
#ifndef PROXYHDR_H
#define PROXYHDR_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

/* The longest header made here: v1's 107 bytes, v2 with IPv6 addresses. */
#define PROXYHDR_MAX	108

/*
 * The header of the given version (1 or 2) for a connection from src to
 * dst into buf (PROXYHDR_MAX bytes); returns its length. Addresses that
 * are not both IP (a Unix client, or NULL) make "PROXY UNKNOWN" (v1) or a
 * LOCAL command (v2): the receiver keeps the connection's own addresses.
 * An IPv4 and an IPv6 address go as IPv6, IPv4-mapped; two IPv4-mapped
 * ones as IPv4.
 */
size_t	proxyhdr_make(int version, const struct sockaddr *src,
	    const struct sockaddr *dst, unsigned char *buf);

#endif /* PROXYHDR_H */
