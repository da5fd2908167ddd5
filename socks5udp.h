/* SPDX-License-Identifier: ISC */
/*
 * socks5udp.c: SOCKS5 UDP ASSOCIATE's datagrams (RFC 1928, section 7).
 * The header that goes before each datagram, made and read by pure
 * functions of their bytes (for the fuzzer and for the proxy server), and
 * the client's endpoint (end.h): each write goes to the proxy's relay
 * wrapped with the target's address, each read is a reply unwrapped, and
 * the end of the control connection is a failure of the read. Mechanism
 * only: it never prints or exits.
 */
#ifndef SOCKS5UDP_H
#define SOCKS5UDP_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

struct end;

/* The longest header: RSV, FRAG, ATYP, a 255-byte name and the port. */
#define SOCKS5_UDP_HDR_MAX	(2 + 1 + 1 + 1 + 255 + 2)

/* An address as SOCKS5 carries it. */
struct socks5_addr {
	int		 atyp;		/* SOCKS5_ATYP_IPV4, _IPV6 or _DOMAIN */
	unsigned char	 addr[16];	/* IPV4 (4 bytes) or IPV6 */
	char		 name[256];	/* DOMAIN: the name, NUL-terminated */
	size_t		 namelen;
	int		 port;
};

/* What socks5_udp_parse found wrong. */
enum {
	SOCKS5_UDP_SHORT = -1,		/* ends inside the header */
	SOCKS5_UDP_RSV = -2,		/* RSV is not zero */
	SOCKS5_UDP_ATYP = -3		/* an address type RFC 1928 lacks */
};

/*
 * Read the header at the start of the datagram b[0..n) into a (the port,
 * the address, a name with anything unprintable made '?') and *frag.
 * Returns the header's length (the data follows it), or a SOCKS5_UDP_*
 * code. A name holding a NUL is read as it stands, up to its length.
 */
int	socks5_udp_parse(const unsigned char *b, size_t n,
	    struct socks5_addr *a, int *frag);

/* Why socks5_udp_parse failed, for a message. */
const char *socks5_udp_strerror(int code);

/*
 * Write the header for a (FRAG 0) into out, which has room for
 * SOCKS5_UDP_HDR_MAX bytes. Returns its length.
 */
size_t	socks5_udp_make(const struct socks5_addr *a, unsigned char *out);

/* Is a the same address and port as b (a name only as the same name)? */
bool	socks5_addr_equal(const struct socks5_addr *a,
	    const struct socks5_addr *b);

/* The address and port of sa, as SOCKS5 carries them. */
void	socks5_addr_from_sockaddr(const struct sockaddr *sa,
	    struct socks5_addr *a);

/* "HOST port N", for messages (len: 300 is enough). */
void	socks5_addr_format(const struct socks5_addr *a, char *buf,
	    size_t len);

/*
 * The client's endpoint. fd is its UDP socket (non-blocking, unconnected),
 * relay the proxy's relay address, target where the datagrams go (replies
 * from elsewhere are dropped: the header must name target, or one of the
 * nalt addresses alt, with target's port; alt NULL and a name for target:
 * any address with its port), ctl the control connection, whose end (or
 * failure) fails the read with e->why saying so (proxy names the proxy
 * for it). dropped, if not NULL, is told of each datagram dropped and why.
 * Returns 0, or -1 with errno (ENOMEM).
 */
struct socks5_udp_target {
	struct socks5_addr target;
	const struct socks5_addr *alt;
	size_t		 nalt;
};

int	end_socks5_udp(struct end *e, int fd, int ctl,
	    const struct sockaddr *relay, socklen_t relaylen,
	    const struct socks5_udp_target *t, const char *name,
	    const char *proxy, void (*dropped)(const char *why));

/* Datagrams the endpoint has dropped so far. */
unsigned long long socks5_udp_dropped(const struct end *e);

#endif /* SOCKS5UDP_H */
