/* SPDX-License-Identifier: ISC */
/*
 * opts.h: what every file needs: the version, the feature tests, the exit
 * statuses and the parsed options with the small structs they hold. Each
 * other world has a header of its own: end.h (endpoints), net.h and
 * parse.h (util.c), connect.h, tls.h, proxy.h, proxyd.h, and one per mode
 * (exec.h, server.h, forward.h, scan.h). Dependencies run one way: sock.c
 * (main, the options, every exit) uses the modes, the modes the relay,
 * the relay the endpoints and TLS, and all of them util.c; nothing calls
 * back up. util.c, end.c, tls.c and proxyd.c never print or exit.
 */
#ifndef OPTS_H
#define OPTS_H

#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct addrinfo;
struct tls_ctx;

/*
 * The calls only Linux has, each behind a feature test with a portable
 * fallback. SOCK_PORTABLE (make PORTABLE=1) takes every fallback, as a
 * build on a BSD or macOS would, so that the fallbacks are built and
 * tested on every change.
 */
#if defined(__linux__) && !defined(SOCK_PORTABLE)
#define HAVE_LINUX_CALLS 1	/* splice, sendfile, pipe2, F_SETPIPE_SZ,
				   accept4, TIOCOUTQ, epoll, close_range */
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
	bool		 pty;		/* --pty: -e/-c on a new terminal */
	int		 max_conns;	/* --max-conns, or what the limit allows */
	int		 fd_limit;	/* descriptors, raised at start */
	long long	 fd_soft;	/* the soft limit before (-1: unknown) */
	int		 max_per_source; /* --max-conns-per-source; 0: none */
	struct acl	 allow;		/* --allow, --allowfile */
	struct acl	 deny;		/* --deny, --denyfile */

	/* Forwarding and the proxy server. */
	const char	*forward;	/* --forward target, as given */
	const char	*listen_fd_arg;	/* --listen-fd, as given (or systemd's) */
	int		 listen_fd;	/* ... the descriptor served; -1: none */
	int		 send_proxy;	/* --send-proxy: 1, --send-proxy-v2: 2 */
	bool		 accept_proxy;	/* --accept-proxy: a PROXY header first */
	struct fwd_target forward_to;	/* and parsed */
	bool		 proxy_server;	/* --proxy-server */
	const char	*proxy_auth_user; /* --proxy-auth user; NULL: none */
	const char	*proxy_auth_password; /* SOCK_PROXY_PASSWORD */

	/* Observation. */
	const char	*hexdump_path;	/* -o */
	bool		 crlf;		/* -C */
	bool		 telnet;	/* -t */
	enum progress	 progress;	/* --progress */
	bool		 raw;		/* --raw: a terminal stdin in raw mode */

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

/*
 * Clients served at once (sock(1), "Many connections"): -k's default, and
 * the descriptors kept for the rest (stdio, listeners, the loop, a spare,
 * a dialer); --max-conns and the descriptor limit go no higher than these.
 */
#define DEFAULT_MAX_CONNS 100
#define FD_RESERVE	24
#define FD_LIMIT_MAX	1048576
#define MAX_CONNS_MAX	FD_LIMIT_MAX

#endif /* OPTS_H */
