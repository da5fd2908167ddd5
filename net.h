/* SPDX-License-Identifier: ISC */
/*
 * util.c, the network half: preambles, descriptors, names and addresses,
 * connecting (Happy Eyeballs), listening, accepting, address blocks and
 * descriptor passing (time and waiting: loop.h). Mechanism only: every
 * function returns -1 with errno set (or a getaddrinfo code where it says
 * so), and none prints, exits or reads the options.
 */
#ifndef NET_H
#define NET_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>

#include "opts.h"
#include "loop.h"

struct addrinfo;

/*
 * Time (now_ms and waiting are loop.h's)
 */

/*
 * What a listener gives a client to finish what comes before its data (a
 * TLS handshake, a proxy request): -w (timeout_ms, -1: none), but never
 * more than PREAMBLE_MS, so stalled clients cannot hold slots for long.
 */
#define PREAMBLE_MS	10000
long long preamble_ms(long long timeout_ms);

/*
 * Descriptors
 */

/* Set O_NONBLOCK (on) or clear it (off). */
int	set_nonblock(int fd, bool on);

/* Make fd close-on-exec. */
int	set_cloexec(int fd);

/* A new socket, close-on-exec and non-blocking: socket(2)'s arguments. */
int	new_socket(int family, int socktype, int protocol);

/*
 * Raise the soft descriptor limit to the hard one (sock(1), "Many
 * connections"); returns the limit now in force, and the soft one it was
 * in *was (-1: unknown), for lower_fd_limit.
 */
int	raise_fd_limit(long long *was);

/* Put the soft descriptor limit back to was (a program's due). */
void	lower_fd_limit(long long was);

/* Close every descriptor from 3 up but keep. */
void	close_others(int keep);

/*
 * Does errno say the call may simply be made again: interrupted (EINTR),
 * or it would have blocked (EAGAIN, EWOULDBLOCK)?
 */
bool	try_again(void);

/* Write all of buf to fd, retrying EINTR and waiting out EAGAIN. */
ssize_t	write_all(int fd, const void *buf, size_t len);

/* How long a socket may linger after its program is done (ms). */
#define LINGER_MS	2000

/*
 * Close a socket gracefully: send the FIN, discard what still arrives until
 * the peer's FIN or ms pass (so unread data cannot turn the close into a
 * reset that loses what was sent), then close.
 */
void	linger_close(int fd, long long ms);

/*
 * Send the len bytes at data (at least one) over the Unix stream socket
 * sock in one message, with the descriptor fd (-1: none) as SCM_RIGHTS,
 * waiting while the socket is full. Returns 0, or -1 with errno.
 */
int	fd_send(int sock, int fd, const void *data, size_t len);

/*
 * Receive what fd_send sent: up to len bytes (waiting for all of them)
 * and the descriptor, if one came, in *fd (else -1). Returns the count,
 * 0 at the end of the stream, or -1 with errno.
 */
ssize_t	fd_recv(int sock, int *fd, void *data, size_t len);

/*
 * Names, addresses, sockets
 */

/*
 * Resolve host/port with getaddrinfo; host NULL means the wildcard
 * (passive) address. Returns 0 or a getaddrinfo error code.
 */
int	resolve(const char *host, const char *port, int family, int socktype,
	    bool numeric, bool passive, struct addrinfo **res);

/* "tcp", "udp", "unix" or "unixgram", as -v and SOCK_PROTO say it. */
const char *sock_proto(bool unix_domain, bool dgram);

/*
 * Format a socket address as "127.0.0.1 port 80", "::1 port 80",
 * "fe80::1%lo port 80", a Unix path or "(unnamed)". IPv4-mapped IPv6
 * addresses are shown as IPv4.
 */
void	format_addr(const struct sockaddr *sa, socklen_t salen, char *buf,
	    size_t len);

/*
 * The numeric address and port of sa separately (for messages, -e env).
 * An IPv6 address keeps its scope (fe80::1%lo); host needs ADDR_STRLEN.
 */
#define ADDR_STRLEN	64	/* INET6_ADDRSTRLEN, '%' and IF_NAMESIZE */
int	addr_port(const struct sockaddr *sa, socklen_t salen, char *host,
	    size_t hostlen, int *port);

/*
 * The protocol for a new socket like ai's: IPPROTO_MPTCP for an IPv4 or
 * IPv6 stream socket when so (may be NULL) asks for MPTCP, else
 * ai->ai_protocol.
 */
int	socket_protocol(const struct addrinfo *ai, const struct sockopts *so);

/*
 * Can this system make MPTCP sockets? Returns 0, or -1 with errno
 * (ENOPROTOOPT: switched off, net.mptcp.enabled = 0; EPROTONOSUPPORT: not
 * built in or not Linux).
 */
int	mptcp_available(void);

/*
 * Set the options so asks for on fd, a socket of family and socktype.
 * Returns -1 with errno and *what naming the option that failed.
 */
int	set_sockopts(int fd, int family, int socktype,
	    const struct sockopts *so, const char **what);

/*
 * A bound socket for ai (listening if stream) with SO_REUSEADDR and the
 * options so; v6only picks IPV6_V6ONLY for AF_INET6 sockets. Returns the
 * fd or -1.
 */
int	listen_addr(const struct addrinfo *ai, bool v6only,
	    const struct sockopts *so);

/* Accept on a listening fd; the new socket is non-blocking, close-on-exec. */
int	accept_conn(int lfd, struct sockaddr *sa, socklen_t *salen);

/*
 * Connecting
 */

/* Happy Eyeballs' "connection attempt delay" (RFC 8305 section 5). */
#define ATTEMPT_DELAY_MS	250

/* What connect_happy tells its caller about one address. */
struct attempt {
	enum {
		ATTEMPT_START,		/* a connect to ai has begun */
		ATTEMPT_FAILED,		/* it failed with error */
		ATTEMPT_NO_SOURCE	/* src has no address of ai's family */
	}		 event;
	const struct addrinfo *ai;
	int		 error;		/* ATTEMPT_FAILED, ATTEMPT_NO_SOURCE */
	bool		 last;		/* no other address is trying or left */
};

typedef void	attempt_fn(void *arg, const struct attempt *);

/*
 * Connect to one of the addresses of list (getaddrinfo's order) as RFC
 * 8305 section 4 says: families interleaved, the first address's family
 * first; the next address is started when the last one has not connected
 * within ATTEMPT_DELAY_MS or has failed, while the others go on trying; the
 * first to connect wins and the rest are closed. Each socket gets the
 * options so and is bound first to the first address of src (NULL: none)
 * of its family; timeout_ms (-1: none) bounds the whole attempt. report
 * (may be NULL) is called with arg for each event. Returns the connected,
 * non-blocking socket with *which its address, or -1 with errno and *which
 * the address it concerns: ETIMEDOUT when timeout_ms ran out (or every
 * attempt timed out), else the error of the last attempt that failed
 * otherwise.
 */
int	connect_happy(const struct addrinfo *list, const struct addrinfo *src,
	    long long timeout_ms, const struct sockopts *so, attempt_fn *report,
	    void *arg, const struct addrinfo **which);

/*
 * connect_happy as steps, for a caller with a loop of its own
 * (--forward targets): the attempts of one connection, in the struct of
 * whoever makes it. The fields are util.c's.
 */
struct happy {
	const struct addrinfo *list, *src;
	const struct sockopts *so;
	attempt_fn	*report;
	void		*arg;
	const struct addrinfo **order;	/* every address, in the order tried */
	size_t		 n, next;	/* how many; the next to start */
	int		*fd;		/* the sockets trying, oldest first */
	const struct addrinfo **ai;	/* ... and their addresses */
	size_t		 trying;
	long long	 start_next;	/* now_ms() time the next may start */
	int		 error;		/* the last failure but a timeout */
	const struct addrinfo *error_ai;
	const struct addrinfo *timeout_ai; /* the last attempt that timed out */
	const struct addrinfo *winner;	/* the address that connected */
	struct loop	*loop;		/* the loop that watches the attempts */
};

/* Begin (nothing is started yet). Returns 0, or -1 with errno ENOMEM. */
int	happy_start(struct happy *, const struct addrinfo *list,
	    const struct addrinfo *src, const struct sockopts *so,
	    attempt_fn *report, void *arg);

/*
 * Take the answers l's last wait found (NULL: none yet) and start the
 * addresses that are due. Returns the connected socket (h->winner its
 * address), -1 while attempts are trying, or -2 when every address failed
 * (happy_error says why).
 */
int	happy_step(struct happy *, const struct loop *);

/* Before the wait: tell l the sockets trying, and when the next is due. */
void	happy_prepare(struct happy *, struct loop *);

/*
 * Why no attempt connected, as connect_happy's errno (expired: the
 * caller's time ran out) and *which the address it concerns.
 */
int	happy_error(const struct happy *, bool expired,
	    const struct addrinfo **which);

/* Close the attempts still trying and free h's memory. */
void	happy_free(struct happy *);

/*
 * Start a non-blocking connect of a new socket to ai, with the options so,
 * bound first to src (may be NULL), and wait for it at most timeout_ms
 * (-1: the kernel's own limit). Returns the connected, non-blocking socket, or -1 with errno
 * (ETIMEDOUT when the wait ran out).
 */
int	connect_addr(const struct addrinfo *ai, const struct addrinfo *src,
	    long long timeout_ms, const struct sockopts *so);

/*
 * Address blocks (--allow, --deny)
 */

/*
 * Parse "addr" or "addr/prefix" (IPv4 or IPv6, numeric) into c. Returns -1
 * with EINVAL on anything else.
 */
int	parse_cidr(const char *s, struct cidr *c);

/* Append a block to acl. Returns -1 with ENOMEM. */
int	acl_add(struct acl *acl, const struct cidr *c);

/*
 * Does sa (IPv4, IPv6, or IPv4-mapped IPv6 matched as IPv4) fall in any
 * block of acl?
 */
bool	acl_match(const struct acl *acl, const struct sockaddr *sa);

/* May a client at sa in, by the allow and deny lists (an empty allow: all)? */
bool	acl_admits(const struct acl *allow, const struct acl *deny,
	    const struct sockaddr *sa);

#endif /* NET_H */
