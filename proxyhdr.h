/* SPDX-License-Identifier: ISC */
/*
 * proxyhdr.c: the PROXY protocol's header (haproxy's proxy-protocol.txt),
 * which tells a server behind a forwarder who the client really is:
 * version 1 (one text line) and version 2 (binary). Pure: it makes bytes
 * from addresses and addresses from bytes, touches no descriptor, never
 * prints or exits.
 */
#ifndef PROXYHDR_H
#define PROXYHDR_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
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

/*
 * Reading a header (--accept-proxy): proxyhdr_parse is given the bytes
 * that have arrived so far, from the connection's first, and answers from
 * them alone. It reads no further than len, so the caller can take the
 * header off the socket and leave what follows it there.
 */

/*
 * The longest header taken: v1's 107 bytes are less; a v2 header with its
 * TLVs may have up to 536 bytes, the length proxy-protocol.txt asks a
 * receiver to be ready for (2.2), and no more.
 */
#define PROXYHDR_IN_MAX	536

enum proxyhdr_answer {
	PROXYHDR_MORE,		/* incomplete: info.len bytes at least in all */
	PROXYHDR_DONE,		/* a header of info.len bytes */
	PROXYHDR_BAD		/* not a valid header: info.why says why */
};

struct proxyhdr_info {
	int		 version;	/* 1 or 2 (0: not known yet) */
	size_t		 len;
	bool		 local;		/* UNKNOWN (v1), LOCAL, or an address
					   family other than IP (v2): the
					   connection's own addresses stand */
	struct sockaddr_storage src;	/* !local: the client ... */
	socklen_t	 srclen;
	struct sockaddr_storage dst;	/* ... and the address it reached */
	socklen_t	 dstlen;
	const char	*why;		/* PROXYHDR_BAD: a static string */
};

/*
 * Parse the len bytes at buf, the first of a connection, as a PROXY
 * header, v1 or v2, strictly (sock(1), "PROXY protocol"): v1 is one line
 * of at most 107 bytes with its CRLF, fields separated by single spaces,
 * an IPv4 address in dotted-quad form, an IPv6 address in inet_pton's, and
 * ports of 0 to 65535 without leading zeros; v2 a command LOCAL or PROXY,
 * a stream of IPv4, IPv6, Unix or unspecified addresses whose block fits
 * the length, TLVs that fill the rest exactly (skipped), PROXYHDR_IN_MAX
 * bytes at most. The answer for a longer prefix of the same bytes never
 * contradicts an earlier one: MORE stays MORE until DONE or BAD, and a
 * DONE or BAD answer stays. Reads nothing past buf[len - 1].
 */
enum proxyhdr_answer proxyhdr_parse(const unsigned char *buf, size_t len,
	    struct proxyhdr_info *info);

#endif /* PROXYHDR_H */
