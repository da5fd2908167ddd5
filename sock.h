/*
 * sock - a netcat that never loses a byte.
 *
 * Shared declarations: the parsed options, the exit statuses, and the
 * mechanism. The program (sock.c: main, the options, the modes) uses the
 * mechanism (util.c, end.c, relay.c, server.c, exec.c, scan.c), which never
 * calls back into sock.c. util.c and end.c never print or exit: their
 * functions return -1 with errno set (or a getaddrinfo code through an
 * out-parameter). The modes (relay, servers, scan, programs) report in
 * context, err(3)-style, and return an exit status; only main exits.
 */
#ifndef SOCK_H
#define SOCK_H

#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct addrinfo;
struct tls_ctx;

#define SOCK_VERSION	"0.1.0"

/*
 * The calls only Linux has, each behind a feature test with a portable
 * fallback. SOCK_PORTABLE (make PORTABLE=1) takes every fallback, as a
 * build on a BSD or macOS would, so that the fallbacks are built and
 * tested on every change.
 */
#if defined(__linux__) && !defined(SOCK_PORTABLE)
#define HAVE_LINUX_CALLS 1	/* splice, sendfile, pipe2, F_SETPIPE_SZ,
				   accept4, TIOCOUTQ */
#endif

/* Exit statuses: sock(1), EXIT STATUS. */
enum {
	EXIT_OK = 0,
	EXIT_NET = 1,		/* refused, unreachable, reset, ... */
	EXIT_USAGE = 2,		/* bad arguments */
	EXIT_TIMEOUT = 3,	/* -w connect or idle timeout */
	EXIT_LOCAL = 4,		/* reading stdin or writing stdout failed */
	EXIT_PIPE = 141		/* stdout's reader went away (128 + SIGPIPE) */
};

/*
 * What to do with the FIN once stdin has ended (sock(1), "Data flow and
 * end of stream").
 */
enum fin_policy {
	FIN_AFTER_DATA,		/* send it, but hold it back if stdin was empty */
	FIN_ALWAYS,		/* -N */
	FIN_NEVER		/* --no-shutdown */
};

/* --progress: when to draw the live status line. */
enum progress {
	PROGRESS_OFF,
	PROGRESS_TTY,		/* --progress: only if stderr is a terminal */
	PROGRESS_ALWAYS		/* --progress=always: a line per interval */
};

/* Socket options to set on every socket; -1 or false: the default. */
struct sockopts {
	int		 rcvbuf;	/* -I: SO_RCVBUF */
	int		 sndbuf;	/* -O: SO_SNDBUF */
	int		 tos;		/* -T: IP_TOS / IPV6_TCLASS */
	int		 ttl;		/* -M: IP_TTL / IPV6_UNICAST_HOPS */
	int		 minttl;	/* -m: IP_MINTTL / IPV6_MINHOPCOUNT */
	bool		 broadcast;	/* -b: SO_BROADCAST */
	bool		 nodelay;	/* --nodelay: TCP_NODELAY */
	bool		 keepalive;	/* --keepalive: SO_KEEPALIVE */
	bool		 mptcp;		/* --mptcp: IPPROTO_MPTCP for TCP sockets */
	bool		 debug;		/* -D: SO_DEBUG */
};

/* Bytes in a SHA-256 fingerprint (--tls-pin). */
#define TLS_PIN_LEN	32

/* --tls and its companions (sock(1), "TLS"); all off without --tls. */
struct tls_opts {
	bool		 enabled;	/* --tls, --ssl */
	const char	*ca;		/* --tls-ca: a file or a directory */
	bool		 insecure;	/* --tls-insecure: verify nothing */
	const char	*servername;	/* --tls-servername: SNI, name checked */
	bool		 have_pin;	/* --tls-pin was given ... */
	unsigned char	 pin[TLS_PIN_LEN]; /* ... with this fingerprint */
	const char	*cert;		/* --tls-cert */
	const char	*key;		/* --tls-key; NULL: the key is in cert */
	bool		 verify_client;	/* --tls-verify-client */
	int		 min_version;	/* --tls-min: 12 or 13 */
	unsigned char	*alpn;		/* --tls-alpn in wire format, or NULL */
	size_t		 alpn_len;
};

/* An address block, for --allow and --deny. */
struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];	/* network byte order */
	int		 prefix;	/* bits that must match */
};

struct acl {
	struct cidr	*v;
	size_t		 n;
};

/* -X and the type:// of -x: how a proxy hop is spoken to. */
enum proxy_type {
	PROXY_SOCKS5,		/* the default */
	PROXY_SOCKS4,
	PROXY_SOCKS4A,
	PROXY_HTTP		/* HTTP CONNECT */
};

/* A host name, a user name or a password a proxy hop can carry (RFC 1929). */
#define PROXY_NAME_MAX	255
#define PROXY_HOPS_MAX	8	/* -x given more often is a usage error */

/* One -x: [type://][user@]host[:port]. */
struct proxy_hop {
	enum proxy_type	 type;
	bool		 has_type;	/* named by type://, not -X */
	char		 host[PROXY_NAME_MAX + 1];	/* brackets removed */
	int		 port;		/* 0: the type's default */
	char		 user[PROXY_NAME_MAX + 1];	/* "": none */
};

/* --forward's target: host:port, [v6addr]:port or unix:path. */
struct fwd_target {
	bool		 is_unix;
	const char	*path;		/* unix:path, in the argument */
	char		 host[256];	/* without the brackets */
	char		 port[32];
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

	/* Scanning and waiting. */
	bool		 scan;		/* -z */
	const char	*ports;		/* -z: the port list operand */
	int		*scan_ports;	/* -z: parsed, ascending, no repeats */
	size_t		 scan_nports;
	bool		 random_order;	/* -r */
	long long	 wait_ms;	/* --wait; -1: none */
	long long	 interval_ms;	/* -i; -1: none */
	double		 rate_limit;	/* --limit-rate, bytes a second; 0: none */
	int		 recv_limit;	/* -W: datagrams to receive; 0: no limit */

	/* Servers. */
	const char	*exec_prog;	/* -e: "prog args", split on blanks */
	const char	*exec_shell;	/* -c: given to /bin/sh -c */
	bool		 broker;	/* --broker */
	bool		 chat;		/* --chat */
	int		 max_conns;	/* --max-conns */
	struct acl	 allow;		/* --allow, --allowfile */
	struct acl	 deny;		/* --deny, --denyfile */

	/* Forwarding and the proxy server. */
	const char	*forward;	/* --forward target, as given */
	struct fwd_target forward_to;	/* and parsed */
	bool		 proxy_server;	/* --proxy-server */
	const char	*proxy_auth_user; /* --proxy-auth user; NULL: none */
	const char	*proxy_auth_password; /* SOCK_PROXY_PASSWORD */

	/* Observation. */
	const char	*hexdump_path;	/* -o */
	bool		 crlf;		/* -C */
	bool		 telnet;	/* -t */
	enum progress	 progress;	/* --progress */

	struct sockopts	 sockopts;	/* -I -O -T -M -m -D -b --nodelay
					   --keepalive --mptcp */

	/* Proxies. */
	struct proxy_hop *proxies;	/* -x, first hop first; malloc'd */
	size_t		 nproxies;
	enum proxy_type	 proxy_type;	/* -X: for hops that name no type */
	const char	*proxy_user;	/* -P: for hops that name no user */
	const char	*proxy_password; /* SOCK_PROXY_PASSWORD, or asked */
	bool		 fdpass;	/* -F: pass the socket to stdout */
	struct tls_opts	 tls;		/* --tls, --tls-* */
};

/* One connected (or, for a -k UDP listener, bound) socket and its peer. */
struct conn {
	int		 fd;
	bool		 dgram;		/* UDP or Unix datagram */
	bool		 connected;	/* false: reply to the last sender */
	struct sockaddr_storage peer;	/* where replies go if !connected */
	socklen_t	 peerlen;
	struct sockaddr_storage from;	/* the sender of the last datagram */
	socklen_t	 fromlen;
	char		 name[128];	/* the peer, for messages */
};

/* Clients served at once: select's FD_SETSIZE, less room for the rest. */
#define DEFAULT_MAX_CONNS 100
#define MAX_CONNS_LIMIT	(FD_SETSIZE - 24)

/*
 * end.c: endpoints. The relay and the servers move every byte through
 * these operations and never touch a descriptor's data themselves.
 */

/* How an endpoint waits before its operation can go on. */
enum end_wait {
	END_WAIT_READ,		/* until its descriptor is readable */
	END_WAIT_WRITE		/* until it is writable */
};

struct end;

/* What an endpoint kind does; the relay calls nothing else. */
struct end_ops {
	/*
	 * Read up to len bytes: the count, 0 at the end of the stream, or -1
	 * with errno (EAGAIN: call again once e->rfd is ready as
	 * e->read_wait says; anything else is a failure, e->why may say it).
	 */
	ssize_t	(*read)(struct end *e, void *buf, size_t len);
	/* Write up to len bytes: the count or -1 as for read (e->write_wait). */
	ssize_t	(*write)(struct end *e, const void *buf, size_t len);
	/*
	 * End the sending side (a FIN; close_notify first over TLS): 0, or
	 * -1 as for write.
	 */
	int	(*shutdown)(struct end *e);
	/* Bytes read can return now without waiting for the descriptor. */
	size_t	(*pending)(const struct end *e);
	/* Free the kind's own state; the descriptors stay the caller's. */
	void	(*free)(struct end *e);
};

struct end {
	const struct end_ops *ops;
	int		 rfd;		/* what read waits on */
	int		 wfd;		/* what write and shutdown wait on */
	enum end_wait	 read_wait;	/* set by read when it gives EAGAIN */
	enum end_wait	 write_wait;	/* set by write/shutdown likewise */
	bool		 raw;		/* rfd/wfd carry the bytes themselves:
					   splice and sendfile may use them */
	int		 fail_status;	/* EXIT_NET or EXIT_LOCAL */
	const char	*name;		/* "stdin", "stdout" or the peer */
	char		 why[256];	/* the last failure, when errno cannot say it */
	void		*impl;		/* the kind's own state */
};

/*
 * A socket endpoint for c (its fd, its name; an unconnected datagram
 * socket answers c->peer and records each sender in c->from).
 */
void	end_socket(struct end *e, struct conn *c);

/* Stdin (read only), and stdout (its shutdown closes it: the peer's end). */
void	end_stdin(struct end *e);
void	end_stdout(struct end *e);

/* A pipe or any plain descriptor pair, failing as local I/O. */
void	end_pipe(struct end *e, int rfd, int wfd, const char *name);

/*
 * Add the descriptor e's read (reading) or write waits on to the set its
 * wait asks for. Returns that descriptor, or -1 if e has none that way.
 */
int	end_watch(const struct end *e, bool reading, fd_set *rfds,
	    fd_set *wfds);

/* Can e's read (reading) or write go on, by what select found? */
bool	end_ready(const struct end *e, bool reading, const fd_set *rfds,
	    const fd_set *wfds);

/*
 * Make the close of e's socket a reset (SO_LINGER 0), to pass on a reset
 * that came from the other side. Returns 0 or -1 with errno.
 */
int	end_abort(struct end *e);

/*
 * Bytes sent on e's socket and not yet acknowledged by the peer, or -1
 * where the system cannot tell.
 */
int	end_unacked(const struct end *e);

/*
 * Connect to host port as o asks (-4/-6, -n, the -s/-p source, the socket
 * options, --mptcp), Happy Eyeballs across its addresses (connect_happy),
 * the whole attempt bounded by timeout_ms (-1: none); prints only the -vv
 * lines. Returns the connected, non-blocking socket with c filled in, or
 * -1 with *status (EXIT_TIMEOUT only if the time ran out), *why (an
 * errno, or a getaddrinfo code if *why_gai) and c->name set.
 */
int	connect_host(const struct opts *o, const char *host, const char *port,
	    long long timeout_ms, struct conn *c, int *status, int *why,
	    bool *why_gai);

/*
 * relay.c
 */

/* State of stdin, stdout and the dump that outlives one connection. */
struct relay_io {
	bool		 stdin_tty;	/* stdin is a terminal: done when the peer is */
	FILE		*hexdump;	/* -o, or NULL */
	unsigned long long dump_off[2];	/* bytes dumped: sent, received */
	unsigned char	 dump_line[16];	/* a line not yet complete ... */
	size_t		 dump_len;
	int		 dump_dir;	/* ... and its direction */
	bool		 dump_failed;	/* a write to the dump failed (said) */
	struct tls_ctx	*tls;		/* --tls: made once at start, or NULL */
};

/*
 * Copy between stdin/stdout and c until the session ends (sock(1), "Data
 * flow and end of stream"). Prints its own error messages; returns an
 * EXIT_* status. The caller closes c->fd.
 */
int	relay(const struct opts *, struct conn *c, struct relay_io *);

/*
 * Relay between two sides until the session ends by the same rules: the
 * local side's in/out (stdin and stdout, or one socket for both) and the
 * remote end (the connection, c, NULL unless it is a socket). This is what
 * relay() runs; it is also the way to forward one socket to another.
 */
int	relay_ends(const struct opts *, struct end *local_in,
	    struct end *local_out, struct end *remote, struct conn *c,
	    struct relay_io *);

/*
 * A session stepped from an outside loop, so that one select serves many
 * (the forwarder's pairs): relay_open starts one between the same sides
 * as relay_ends (NULL after saying why); each pass, relay_prepare adds
 * what it waits on to the sets, raising *maxfd and bringing *deadline
 * (-1: none) down to when it must be stepped even without traffic, and
 * after select relay_step moves what is ready. Both return -1 while the
 * session goes on, else the exit status it ended with; then relay_close
 * frees it (the ends and their descriptors stay the caller's). Unlike
 * relay_ends, nothing here blocks or prints the summary.
 */
struct relay_session;

struct relay_session *relay_open(const struct opts *, struct end *local_in,
	    struct end *local_out, struct end *remote, struct conn *c,
	    struct relay_io *);
int	relay_prepare(struct relay_session *, fd_set *rfds, fd_set *wfds,
	    int *maxfd, long long *deadline);
int	relay_step(struct relay_session *, const fd_set *rfds,
	    const fd_set *wfds);
void	relay_close(struct relay_session *);

/* Bytes delivered so far: up (local side to remote) and down. */
void	relay_counts(const struct relay_session *, unsigned long long *up,
	    unsigned long long *down);

/* The end whose read or write failed (NULL: none), and *error its errno. */
const struct end *relay_failed(const struct relay_session *, int *error);

/* Write out the hex dump's last, incomplete line. */
void	relay_dump_flush(struct relay_io *);

/*
 * The end-of-stream rules (sock(1), "Data flow and end of stream"),
 * shared by the relay and the servers, and the -v lines that go with them.
 */

/*
 * The FIN: once a side's input has ended and is all sent, is a FIN due?
 * sent_any: some of it was sent to this peer.
 */
bool	fin_due(const struct opts *, bool sent_any);

/*
 * -q, and a datagram session's quiet second: when the quiet time after the
 * end of stdin runs out.
 */
long long quiet_deadline(long long quiet_ms, long long stdin_done_at,
	    long long last_recv);

/* -w: when the idle limit runs out for a peer last active then (-1: never). */
long long idle_deadline(const struct opts *, long long last_activity);

/* The -v event lines, each format in one place (sock(1), DIAGNOSTICS). */
void	say_fin_sent(const struct opts *, const char *peer);
void	say_fin_received(const struct opts *, const char *peer);
void	say_idle_timeout(const struct opts *, const char *peer);

/*
 * "VERB PEER: reason" for a failure of e, by its words if it has them,
 * else by errno; returns the exit status e's failures map to.
 */
int	say_end_failed(const struct end *e, const char *verb);

/*
 * util.c
 */

/*
 * Wait until fd is readable (or writable) or the deadline (now_ms; -1:
 * none) passes: 0, or -1 with errno (ETIMEDOUT when the time ran out).
 */
int	wait_fd(int fd, bool writable, long long deadline);

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
 * connect_happy as steps, for a caller with a select loop of its own
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
};

/* Begin (nothing is started yet). Returns 0, or -1 with errno ENOMEM. */
int	happy_start(struct happy *, const struct addrinfo *list,
	    const struct addrinfo *src, const struct sockopts *so,
	    attempt_fn *report, void *arg);

/*
 * Take the answers select found in wfds (NULL: none yet) and start the
 * addresses that are due. Returns the connected socket (h->winner its
 * address), -1 while attempts are trying, or -2 when every address failed
 * (happy_error says why).
 */
int	happy_step(struct happy *, const fd_set *wfds);

/* Before select: the sockets trying, and when the next is due (*wake). */
void	happy_prepare(const struct happy *, fd_set *wfds, int *maxfd,
	    long long *wake);

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
 * bound first to src (may be NULL), and wait for it at most timeout_ms (-1: the kernel's own
 * limit). Returns the connected, non-blocking socket, or -1 with errno
 * (ETIMEDOUT when the wait ran out).
 */
int	connect_addr(const struct addrinfo *ai, const struct addrinfo *src,
	    long long timeout_ms, const struct sockopts *so);

/*
 * A bound socket for ai (listening if stream) with SO_REUSEADDR and the
 * options so; v6only picks IPV6_V6ONLY for AF_INET6 sockets. Returns the
 * fd or -1.
 */
int	listen_addr(const struct addrinfo *ai, bool v6only,
	    const struct sockopts *so);

/*
 * Set the options so asks for on fd, a socket of family and socktype.
 * Returns -1 with errno and *what naming the option that failed.
 */
int	set_sockopts(int fd, int family, int socktype,
	    const struct sockopts *so, const char **what);

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

/* How long a socket may linger after its program is done (ms). */
#define LINGER_MS	2000

/*
 * Close a socket gracefully: send the FIN, discard what still arrives until
 * the peer's FIN or ms pass (so unread data cannot turn the close into a
 * reset that loses what was sent), then close.
 */
void	linger_close(int fd, long long ms);

/* Write all of buf to fd, retrying EINTR and waiting out EAGAIN. */
ssize_t	write_all(int fd, const void *buf, size_t len);

/*
 * Parse "addr" or "addr/prefix" (IPv4 or IPv6, numeric) into c. Returns -1
 * with EINVAL on anything else.
 */
int	parse_cidr(const char *s, struct cidr *c);

/*
 * Does sa (IPv4, IPv6, or IPv4-mapped IPv6 matched as IPv4) fall in any
 * block of acl?
 */
bool	acl_match(const struct acl *acl, const struct sockaddr *sa);

/* May a client at sa in, by the allow and deny lists (an empty allow: all)? */
bool	acl_admits(const struct acl *allow, const struct acl *deny,
	    const struct sockaddr *sa);

/* "tcp", "udp", "unix" or "unixgram", as -v and SOCK_PROTO say it. */
const char *sock_proto(bool unix_domain, bool dgram);

/* Append a block to acl. Returns -1 with ENOMEM. */
int	acl_add(struct acl *acl, const struct cidr *c);

/*
 * Parse a whole number (decimal, or 0x hex) from min to max. Returns -1
 * with EINVAL (not a number) or ERANGE.
 */
int	parse_int(const char *s, long min, long max, int *out);

/*
 * Parse a --forward target into t; host and port are copied, a Unix path
 * points into s. Returns -1 if it is malformed or a part does not fit.
 */
int	parse_forward_target(const char *s, struct fwd_target *t);

/*
 * Parse a rate in bytes a second: a decimal number (fractions allowed)
 * with an optional K, M or G suffix of 1024. Rejects zero, signs,
 * exponents, hex, inf, nan and values over 2^50 bytes a second.
 */
int	parse_rate(const char *s, double *bytes_per_sec);

/* Parse an IP TOS: lowdelay, throughput, reliability, a DSCP name, 0-255. */
int	parse_tos(const char *s, int *tos);

/* Room format_hex_line needs, its newline and NUL included. */
#define HEXLINE_MAX	128

/*
 * Format one line of a hex dump, hexdump -C style: marker ('>' sent, '<'
 * received), the offset in that direction, up to 16 bytes in hex and as
 * printable ASCII. Writes a newline-terminated string into out (at least
 * HEXLINE_MAX bytes) and returns its length.
 */
size_t	format_hex_line(char *out, char marker, unsigned long long off,
	    const unsigned char *b, size_t n);

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

/* Format a duration in ms as seconds without trailing zeros ("1", "0.5"). */
void	format_seconds(long long ms, char *buf, size_t len);

/* Telnet (RFC 854) bytes that -t must recognise. */
enum {
	TELNET_SE = 240,
	TELNET_SB = 250,
	TELNET_WILL = 251,
	TELNET_WONT = 252,
	TELNET_DO = 253,
	TELNET_DONT = 254,
	TELNET_IAC = 255
};

/* -t: where the filter is in a command that may span reads; zeroed: none. */
struct telnet {
	enum {
		TN_DATA,		/* plain data */
		TN_IAC,			/* after IAC */
		TN_OPTION,		/* after IAC WILL/WONT/DO/DONT */
		TN_SB,			/* inside a subnegotiation */
		TN_SB_IAC		/* IAC inside a subnegotiation */
	}		 state;
	unsigned char	 cmd;		/* the WILL/WONT/DO/DONT being read */
};

/* Answer the peer: IAC answer (TELNET_WONT or TELNET_DONT) opt. */
typedef void	telnet_refuse_fn(void *arg, unsigned char answer,
		    unsigned char opt);

/*
 * -t: strip telnet commands from the n bytes at p in place, calling refuse
 * with WONT for each option the peer asks for (DO) and DONT for each it
 * offers (WILL), and return how many data bytes remain at p. The state in
 * t carries over between calls, so a command may be split anywhere.
 */
size_t	telnet_filter(struct telnet *t, char *p, size_t n,
	    telnet_refuse_fn *refuse, void *arg);

/*
 * tls.c: TLS over OpenSSL 3 (with TLS=no, only the parsers, and a
 * tls_ctx_new that says "built without TLS"). Nothing here prints or
 * exits; nothing of OpenSSL is touched before tls_ctx_new.
 */

/*
 * tlsload.c: make OpenSSL usable, once, before tls_ctx_new (a build with
 * TLS_LINK=dlopen opens libssl.so.3 here; other builds have nothing to
 * do). Returns 0, or -1 with why naming the library and the reason.
 */
int	tls_load(char *why, size_t whylen);

/* Room for "SHA256:AB:CD:...:EF" (32 bytes) and its NUL. */
#define TLS_FP_TEXT	103

/*
 * Parse a --tls-pin fingerprint: 64 hex digits in either case, with or
 * without a colon after each pair, after an optional "SHA256:" or
 * "SHA256 Fingerprint=" (as openssl x509 -fingerprint prints it). Returns
 * 0, or -1 with *why pointing at a static text.
 */
int	tls_parse_pin(const char *s, unsigned char pin[TLS_PIN_LEN],
	    const char **why);

/*
 * Parse a --tls-alpn list ("h2,http/1.1": names of 1-255 bytes, comma
 * separated) into the ALPN wire format in out, which must have room for
 * strlen(s) + 1 bytes; *len is then exactly that. Returns 0, or -1 with
 * *why pointing at a static text.
 */
int	tls_parse_alpn(const char *s, unsigned char *out, size_t *len,
	    const char **why);

/*
 * The TLS context for o (a server for -l, else a client), made once
 * before any socket is opened: the CA, certificate and key are loaded (a
 * listener without --tls-cert makes a temporary self-signed P-256 one),
 * and the versions, ALPN and verification set. Returns NULL with a
 * message naming the file or the reason in why.
 */
struct tls_ctx *tls_ctx_new(const struct opts *o, char *why, size_t whylen);

void	tls_ctx_free(struct tls_ctx *);

/*
 * The -v line for the context's own certificate, "TLS certificate:
 * SHA256:AB:...:EF (temporary, self-signed)" or "... (file)", in the
 * form --tls-pin takes; an empty string if it has none.
 */
void	tls_ctx_describe(const struct tls_ctx *, char *buf, size_t len);

/*
 * Make e a TLS endpoint on fd, a connected non-blocking stream socket
 * that stays the caller's; name is the peer for messages (kept, not
 * copied) and host (client only, may be NULL) the name or address to
 * verify unless --tls-servername gives one. Returns 0, or -1 with
 * e->why set. Free it with e->ops->free.
 */
int	tls_end_new(struct tls_ctx *, struct end *e, int fd, const char *name,
	    const char *host);

/*
 * One step of the handshake, never blocking: 0 when it is done (and the
 * pin, if any, matched), -1 with errno EAGAIN and both e->read_wait and
 * e->write_wait saying what to wait for, or -1 with another errno and
 * e->why saying why (the verification failure, the pin mismatch with both
 * fingerprints, the peer's alert).
 */
int	tls_handshake(struct end *e);

/*
 * The handshake to its end, waiting at most timeout_ms (-1: no limit).
 * Returns 0, or -1 as tls_handshake does, with errno ETIMEDOUT when the
 * time ran out (the caller exits 3).
 */
int	tls_handshake_wait(struct end *e, long long timeout_ms);

/*
 * The -v lines of a finished handshake: "TLS session: TLSv1.3, cipher
 * TLS_AES_256_GCM_SHA384, ALPN h2" (ALPN none if none was agreed), and
 * "TLS peer certificate: SHA256:AB:...:EF, subject \"CN=x\"" (or "TLS
 * peer certificate: none").
 */
void	tls_describe_session(const struct end *e, char *buf, size_t len);
void	tls_describe_peer(const struct end *e, char *buf, size_t len);

/*
 * The -vv line on kernel TLS: "kernel TLS: send on, receive off", or
 * "kernel TLS: off (the kernel has no tls module; OpenSSL encrypts)".
 */
void	tls_describe_ktls(const struct end *e, char *buf, size_t len);

/*
 * exec.c
 */

/* The most words -e's "prog args" may have. */
#define EXEC_WORDS_MAX	63

/* How many words -e's "prog args" splits into (0: none). */
int	check_exec_args(const char *prog);

/*
 * Start the -e/-c program with fd as its stdin and stdout and the
 * SOCK_* variables describing fd. Returns its pid, or -1 after saying why.
 * The caller still owns (and should close) fd.
 */
pid_t	spawn_program(const struct opts *, int fd);

/*
 * spawn_program with fd as the program's stdin and stdout and the SOCK_*
 * variables describing another socket, described: the connection, when
 * fd is sock's own socket pair to a program that speaks through sock
 * (--tls).
 */
pid_t	spawn_program_on(const struct opts *, int fd, int described);

/*
 * -e/-c over TLS: the program speaks plaintext on a socket pair of
 * sock's, relayed through the TLS endpoint tls of connection c. Returns
 * the program's status, unless the connection failed.
 */
int	run_program_tls(const struct opts *, struct conn *c, struct end *tls,
	    struct relay_io *io);

/* sock's view of a program's wait status: its exit code, or 128 + signal. */
int	program_status(int wstatus);

/*
 * Run the program on fd (closed here), wait for it and return
 * program_status; name is the peer, for -v.
 */
int	run_program(const struct opts *, int fd, const char *name);

/*
 * server.c
 */

/*
 * Accept one client from lfd, applying --allow/--deny and --max-conns
 * (nclients already connected): a client refused is closed at once, with a
 * -v message. Returns the new socket with c filled in, or -1 (refused, or
 * a transient accept failure: try again) or -2 (accept failed for good,
 * said why).
 */
int	admit_client(const struct opts *, int lfd, int nclients,
	    struct conn *c);

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

/*
 * forward.c
 */

/*
 * --forward and --proxy-server (sock(1), "Forwarding", "Proxy server"):
 * relay each client of the nl listening sockets lfds (closed here; with
 * -k many at once, else the first only) or, for a reverse tunnel, the
 * connection first (nl 0; closed here), to its own new connection: to
 * o->forward_to, or where its proxy request asks (through the -x proxies,
 * if any). With tls (NULL: none) the client side is a TLS session: the
 * server's for an accepted client, the client's for a reverse tunnel.
 * Returns the exit status of the last pair to end.
 */
int	serve_forward(const struct opts *, int *lfds, int nl,
	    struct conn *first, struct tls_ctx *tls);

/*
 * scan.c
 */

/*
 * Parse a -z port list ("22", "20-25", "22,80,8000-8100", service names
 * unless numeric) into an ascending array without repeats, malloc'd.
 * Returns 0, or -1 with *why pointing at a static text that says what is
 * wrong (e.g. "range 30-20 runs backwards").
 */
int	parse_port_list(const char *s, bool numeric, bool udp, int **ports,
	    size_t *n, const char **why);

/*
 * Probe o->host on o->scan_ports as sock(1), "Scanning ports" says,
 * print what -v asks for, and return the exit status (0: a port is open).
 */
int	scan(const struct opts *o);

/*
 * proxy.c
 */

/* How a reply parser judged the bytes it was given. */
enum {
	PROXY_OK = 0,		/* a complete reply that says yes */
	PROXY_MORE = 1,		/* not complete: read more */
	PROXY_BAD = -1,		/* malformed: not what the protocol allows */
	PROXY_REFUSED = -2	/* well-formed, and it says no */
};

#define PROXY_WHY_MAX	160	/* room for a parser's reason */
#define PROXY_HTTP_MAX	16384	/* an HTTP reply head, 1xx answers included */
#define SOCKS4_REPLY_LEN 8
#define SOCKS5_NO_AUTH	0x00
#define SOCKS5_USERPASS	0x02
#define SOCKS5_ATYP_IPV4 1
#define SOCKS5_ATYP_DOMAIN 3
#define SOCKS5_ATYP_IPV6 4

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

/* Is fd a Unix-domain socket (-F's stdout must be)? */
bool	is_unix_socket(int fd);

/*
 * -F: send fd over the Unix socket sock with SCM_RIGHTS (and one byte),
 * made blocking first. Returns 0, or -1 with errno.
 */
int	send_fd(int sock, int fd);

#endif /* SOCK_H */
