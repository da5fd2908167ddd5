/*
 * sock - a netcat that never loses a byte.
 *
 * Shared declarations: the parsed options, the exit statuses, and the
 * mechanism in util.c and relay.c. Every function here returns -1 with errno
 * set (or a getaddrinfo code through an out-parameter) and never prints or
 * exits, unless its comment says otherwise.
 */
#ifndef SOCK_H
#define SOCK_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

struct addrinfo;

#define SOCK_VERSION	"0.1.0"

/* Exit statuses: SPEC.md, "Errors and exit status". */
enum {
	EXIT_OK = 0,
	EXIT_NET = 1,		/* refused, unreachable, reset, ... */
	EXIT_USAGE = 2,		/* bad arguments */
	EXIT_TIMEOUT = 3,	/* -w connect or idle timeout */
	EXIT_LOCAL = 4,		/* reading stdin or writing stdout failed */
	EXIT_PIPE = 141		/* stdout's reader went away (128 + SIGPIPE) */
};

/* What to do with the FIN once stdin has ended (SPEC.md rule 2). */
enum fin_policy {
	FIN_AFTER_DATA,		/* send it, but hold it back if stdin was empty */
	FIN_ALWAYS,		/* -N */
	FIN_NEVER		/* --no-shutdown */
};

/* The parsed command line; filled once by parse_args, then read-only. */
struct opts {
	int		 family;	/* AF_UNSPEC, AF_INET or AF_INET6 */
	bool		 listen;	/* -l */
	bool		 keep_open;	/* -k: accept the next client */
	bool		 udp;		/* -u: datagrams */
	bool		 unix_domain;	/* -U */
	bool		 numeric;	/* -n: no DNS or service lookups */
	int		 verbose;	/* -v, repeatable */
	const char	*host;		/* connect target, or bind address */
	const char	*port;		/* port operand or -p with -l */
	const char	*path;		/* Unix socket path */
	const char	*source_addr;	/* -s without -l */
	const char	*source_port;	/* -p without -l */
	long long	 timeout_ms;	/* -w; -1: none */
	long long	 quit_ms;	/* -q; -1: none */
	enum fin_policy	 fin;		/* -N, --no-shutdown */
	bool		 recv_only;	/* -d, --recv-only */
	bool		 send_only;	/* --send-only */
};

/* One connected (or, for a -k UDP listener, bound) socket and its peer. */
struct conn {
	int		 fd;
	bool		 dgram;		/* UDP or Unix datagram */
	bool		 connected;	/* false: reply to the last sender */
	struct sockaddr_storage peer;	/* where replies go if !connected */
	socklen_t	 peerlen;
	char		 name[128];	/* the peer, for messages */
};

/*
 * relay.c
 */

/* State of stdin and stdout that outlives one connection (for -k). */
struct relay_io {
	bool		 stdin_tty;	/* stdin is a terminal (rule 3) */
	bool		 stdout_closed;	/* stdout was closed after the peer's FIN */
};

/*
 * Copy between stdin/stdout and c until the session ends (SPEC.md "The
 * relay"). Prints its own error messages; returns an EXIT_* status. The
 * caller closes c->fd.
 */
int	relay(const struct opts *, struct conn *c, struct relay_io *);

/*
 * util.c
 */

/* Milliseconds on a monotonic clock. */
long long now_ms(void);

/*
 * Parse a duration in decimal seconds ("1", "0.5", ".25") into
 * milliseconds, rounding a fraction up. Rejects signs, exponents, hex, inf,
 * nan and values over a million seconds.
 */
int	parse_duration(const char *s, long long *ms);

/* Parse a port number 0-65535. Returns -1 (EINVAL or ERANGE) otherwise. */
int	parse_port_number(const char *s, int *port);

/* Set O_NONBLOCK (on) or clear it (off). */
int	set_nonblock(int fd, bool on);

/* Make fd close-on-exec. */
int	set_cloexec(int fd);

/*
 * Resolve host/port with getaddrinfo; host NULL means the wildcard
 * (passive) address. Returns 0 or a getaddrinfo error code.
 */
int	resolve(const char *host, const char *port, int family, int socktype,
	    bool numeric, bool passive, struct addrinfo **res);

/*
 * Start a non-blocking connect of a new socket to ai, bound first to src
 * (may be NULL), and wait for it at most timeout_ms (-1: the kernel's own
 * limit). Returns the connected, non-blocking socket, or -1 with errno
 * (ETIMEDOUT when the wait ran out).
 */
int	connect_addr(const struct addrinfo *ai, const struct addrinfo *src,
	    long long timeout_ms);

/*
 * A bound socket for ai (listening if stream) with SO_REUSEADDR; v6only
 * picks IPV6_V6ONLY for AF_INET6 sockets. Returns the fd or -1.
 */
int	listen_addr(const struct addrinfo *ai, bool v6only);

/* Accept on a listening fd; the new socket is non-blocking, close-on-exec. */
int	accept_conn(int lfd, struct sockaddr *sa, socklen_t *salen);

/*
 * Format a socket address as "127.0.0.1 port 80", "::1 port 80", a Unix
 * path or "(unnamed)". IPv4-mapped IPv6 addresses are shown as IPv4.
 */
void	format_addr(const struct sockaddr *sa, socklen_t salen, char *buf,
	    size_t len);

/* The numeric address and port of sa separately (for messages, -e env). */
int	addr_port(const struct sockaddr *sa, socklen_t salen, char *host,
	    size_t hostlen, int *port);

/* Write all of buf to fd, retrying EINTR and waiting out EAGAIN. */
ssize_t	write_all(int fd, const void *buf, size_t len);

/* Format a duration in ms as seconds without trailing zeros ("1", "0.5"). */
void	format_seconds(long long ms, char *buf, size_t len);

#endif /* SOCK_H */
