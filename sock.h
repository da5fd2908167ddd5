/* SPDX-License-Identifier: ISC */
/*
 * sock.h: the program's own header (sock.c): the command line's
 * vocabulary, that is the option ids, how each is spelled, and the
 * conflict rules as data. Only sock.c includes it; what every file needs
 * (the parsed options, the exit statuses) is in opts.h, which the modes
 * and the mechanism below them include, so that nothing includes a
 * header of the program above it.
 */
#ifndef SOCK_H
#define SOCK_H

#include "opts.h"

/*
 * The options, named by meaning. OPT_NONE ends a list in rules[]; every
 * other id has a row in options[] and a case in parse_option.
 */
enum optid {
	OPT_NONE,
	OPT_IPV4,
	OPT_IPV6,
	OPT_BROADCAST,
	OPT_CRLF,
	OPT_SHELL,
	OPT_RECV_ONLY,
	OPT_EXEC,
	OPT_HELP,
	OPT_RCVBUF,
	OPT_INTERVAL,
	OPT_KEEP_OPEN,
	OPT_LISTEN,
	OPT_TTL,
	OPT_FORCE_FIN,
	OPT_NUMERIC,
	OPT_SNDBUF,
	OPT_HEXDUMP,
	OPT_PORT,
	OPT_QUIT,
	OPT_RANDOM,
	OPT_SOURCE,
	OPT_TOS,
	OPT_TELNET,
	OPT_UNIX,
	OPT_UDP,
	OPT_VERBOSE,
	OPT_TIMEOUT,
	OPT_SCAN,
	OPT_ALLOW,
	OPT_ALLOWFILE,
	OPT_BROKER,
	OPT_CHAT,
	OPT_DENY,
	OPT_DENYFILE,
	OPT_KEEPALIVE,
	OPT_MAX_CONNS,
	OPT_MAX_PER_SOURCE,
	OPT_NO_SHUTDOWN,
	OPT_NODELAY,
	OPT_PROGRESS,
	OPT_SEND_ONLY,
	OPT_VERSION,
	OPT_WAIT,
	OPT_DEBUG,
	OPT_FDPASS,
	OPT_MINTTL,
	OPT_PROXY_USER,
	OPT_RECV_LIMIT,
	OPT_PROXY_TYPE,
	OPT_PROXY,
	OPT_LIMIT_RATE,
	OPT_MPTCP,
	OPT_TLS,
	OPT_SSL,
	OPT_TLS_ALPN,
	OPT_TLS_CA,
	OPT_TLS_CERT,
	OPT_TLS_INSECURE,
	OPT_TLS_KEY,
	OPT_TLS_MIN,
	OPT_TLS_PIN,
	OPT_TLS_SERVERNAME,
	OPT_TLS_VERIFY_CLIENT,
	OPT_FORWARD,
	OPT_PROXY_SERVER,
	OPT_PROXY_AUTH,
	OPT_LISTEN_FD,
	OPT_SEND_PROXY,
	OPT_SEND_PROXY_V2,
	OPT_ACCEPT_PROXY,
	OPT_PTY,
	OPT_RAW,
	OPT_COUNT
};

/* How an option is spelled, and the value it takes. */
struct optdef {
	const char	*short_name;	/* "-d", or NULL */
	const char	*long_name;	/* "--recv-only", or NULL */
	int		 has_arg;	/* no_, required_ or optional_argument */
	const char	*value;		/* its name, as usage() says it, or NULL */
};

/*
 * A conflict rule, socat's option groups as data: when option is given,
 * at least one of requires (if it lists any) must be given too, and none
 * of excludes may be. Lists end at the first OPT_NONE. When two options
 * exclude each other, the message is "A and B cannot be used together",
 * in the order the user typed them; else "A cannot be used with B". why,
 * if not NULL, follows the message after a colon.
 */
#define RULE_REQUIRES	4
#define RULE_EXCLUDES	12

struct rule {
	enum optid	 option;
	enum optid	 requires[RULE_REQUIRES];
	enum optid	 excludes[RULE_EXCLUDES];
	const char	*why;
};

#endif /* SOCK_H */
