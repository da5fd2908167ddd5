/* SPDX-License-Identifier: ISC */
/*
 * proxy.c: the proxy client (-x, -X, -P) and descriptor passing (-F).
 * proxy_connect returns a tunnel as a connected socket, so that the relay
 * never learns a proxy was used; the reply parsers are pure functions of
 * their bytes, for the fuzzers. The SOCKS constants serve proxyd.c too.
 */
#ifndef PROXY_H
#define PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "opts.h"
#include "socks.h"
#include "socks5udp.h"

/* How a reply parser judged the bytes it was given. */
enum {
	PROXY_OK = 0,		/* a complete reply that says yes */
	PROXY_MORE = 1,		/* not complete: read more */
	PROXY_BAD = -1,		/* malformed: not what the protocol allows */
	PROXY_REFUSED = -2	/* well-formed, and it says no */
};

#define PROXY_WHY_MAX	160	/* room for a parser's reason */
#define PROXY_HTTP_MAX	16384	/* an HTTP reply head, 1xx answers included */

/* A SOCKS5 reply to CONNECT, as socks5_reply_parse reads it. */
struct socks5_reply {
	size_t		 need;		/* its whole length, once known */
	int		 rep;		/* REP: 0 success, 1-8 failures */
	int		 atyp;		/* ATYP of the bound address */
	char		 bound[256];	/* the bound address, printable */
	int		 port;
};

/* The head of an HTTP reply, as http_reply_parse reads it. */
struct http_reply {
	int		 code;		/* 100-599 */
	size_t		 line_len;	/* the status line, end of line excluded */
	size_t		 head_len;	/* status line and headers, through the
					   empty line */
	size_t		 bad_at;	/* PROXY_BAD: where the bad line starts */
};

/* Why proxy_connect failed. */
struct proxy_error {
	int		 status;	/* EXIT_NET, EXIT_TIMEOUT, EXIT_USAGE */
	bool		 target_failed;	/* the last hop could not reach the
					   target (refused, or stayed silent) */
	int		 err;		/* ... and the nearest errno, for -z */
	char		 msg[512];	/* "proxy HOST port N: reason", no "sock: " */
};

/* "socks4", "socks4a", "socks5" or "http". */
const char *proxy_type_name(enum proxy_type);

/* The hop's port: its own, else 1080 (SOCKS) or 3128 (HTTP). */
int	proxy_port(const struct proxy_hop *);

/* Parse -X's value: 4, 4a, 5 or connect. Returns -1 (EINVAL) otherwise. */
int	parse_proxy_type(const char *s, enum proxy_type *);

/*
 * Parse one -x value, [type://][user@]host[:port] with an IPv6 host in
 * brackets, into h (a hop without type:// is SOCKS5 until
 * proxy_apply_defaults). Returns 0, or -1 with why (whylen bytes) saying
 * what is wrong.
 */
int	parse_proxy_url(const char *s, struct proxy_hop *h, char *why,
	    size_t whylen);

/*
 * Give the hops that name no type the type -X set, and those that name no
 * user the user of -P (NULL: none). Returns -1 (EINVAL) if user is empty,
 * longer than PROXY_NAME_MAX, or holds a ':' or a control character.
 */
int	proxy_apply_defaults(struct proxy_hop *hops, size_t n,
	    enum proxy_type type, const char *user);

/* Does a hop need the password: a SOCKS5 or HTTP hop with a user? */
bool	proxy_needs_password(const struct proxy_hop *hops, size_t n);

/*
 * Ask for the password on /dev/tty with prompt, echo off, into buf (size
 * bytes, NUL included). Returns its length, or -1 with errno: ENXIO (no
 * terminal), EMSGSIZE (too long), ENODATA (end of input).
 */
int	proxy_read_password(const char *prompt, char *buf, size_t size);

/*
 * The reply parsers: pure functions of the bytes b[0..n). Each returns a
 * PROXY_* verdict and, unless PROXY_OK or PROXY_MORE, a reason in why.
 * socks4_reply_parse wants SOCKS4_REPLY_LEN bytes (VN 0, CD 90 is yes);
 * socks5_method_parse and socks5_auth_parse want 2 (a method offered;
 * RFC 1929 status 0); socks5_reply_parse wants the 4-byte header first,
 * then r->need bytes in all (by ATYP), and says PROXY_REFUSED with RFC
 * 1928's words as soon as the header holds a failure code;
 * http_reply_parse wants the head of one reply, through its empty line
 * (r->head_len; PROXY_MORE until then), and judges every complete line,
 * and the start of an incomplete one, as it comes.
 */
int	socks4_reply_parse(const unsigned char *b, size_t n, char *why,
	    size_t whylen);
int	socks5_method_parse(const unsigned char *b, size_t n,
	    bool offered_auth, int *method, char *why, size_t whylen);
int	socks5_auth_parse(const unsigned char *b, size_t n, char *why,
	    size_t whylen);
int	socks5_reply_parse(const unsigned char *b, size_t n,
	    struct socks5_reply *r, char *why, size_t whylen);
int	http_reply_parse(const char *b, size_t n, struct http_reply *r,
	    char *why, size_t whylen);

/*
 * Connect to host and port through o's proxies (o->proxies, first hop
 * first): connect to the first hop as a direct connection would (-4, -6,
 * -s, -p, the socket options), then run each hop's handshake, all before
 * deadline_ms (now_ms() time; -1: none). With -v, prints a line per hop.
 * Returns the tunnel, a connected non-blocking socket that holds whatever
 * the last proxy sent after its reply, or -1 with pe filled in.
 */
int	proxy_connect(const struct opts *o, const char *host, const char *port,
	    long long deadline_ms, struct proxy_error *pe);

/* A SOCKS5 UDP association (-u -x), as proxy_udp_associate makes it. */
struct proxy_udp {
	int		 ctl;		/* the control connection */
	int		 fd;		/* the UDP socket, non-blocking */
	struct sockaddr_storage relay;	/* the proxy's relay */
	socklen_t	 relaylen;
	struct socks5_udp_target t;	/* the target, for end_socks5_udp */
	struct socks5_addr *alt;	/* malloc'd: the target name's addresses */
	char		 proxy[PROXY_NAME_MAX + 16];	/* "HOST port N" */
};

/*
 * UDP ASSOCIATE through o's one SOCKS5 proxy for host and port (RFC 1928,
 * section 7), before deadline_ms: connect to it (as proxy_connect does),
 * authenticate, ask with the address of a new UDP socket bound to the
 * control connection's local address, and take the relay address of the
 * reply (the proxy's own if it says 0.0.0.0 or ::). With -v, prints a
 * line. Returns 0 with pu filled in (proxy_udp_close frees it), or -1
 * with pe filled in.
 */
int	proxy_udp_associate(const struct opts *o, const char *host,
	    const char *port, long long deadline_ms, struct proxy_udp *pu,
	    struct proxy_error *pe);
void	proxy_udp_close(struct proxy_udp *pu);

/* Is fd a Unix-domain socket (-F's stdout must be)? */
bool	is_unix_socket(int fd);

/*
 * -F: send fd over the Unix socket sock with SCM_RIGHTS (and one byte),
 * made blocking first. Returns 0, or -1 with errno.
 */
int	send_fd(int sock, int fd);

#endif /* PROXY_H */
