/* SPDX-License-Identifier: ISC */
/*
 * proxy.c: the proxy client (-x, -X, -P) and descriptor passing (-F),
 * declared in proxy.h. It touches the socket it makes, and /dev/tty to
 * ask for a password; it prints the -v lines of each hop, reports
 * failures to its caller and never exits. The entry point is
 * proxy_connect: it connects to the first hop, runs every hop's handshake
 * (SOCKS4, SOCKS4a, SOCKS5 with RFC 1929 authentication, HTTP CONNECT with
 * Basic authentication) and returns the tunnel as a connected socket, so
 * that the relay never learns a proxy was used.
 *
 * Every reply is parsed by a pure function (bytes in, verdict and the
 * length still needed out), so that the parsers can be fuzzed, and never
 * read past its end: a SOCKS reply's length follows from its header, and
 * an HTTP reply is peeked at and consumed exactly through its empty line.
 * Whatever the last proxy sends after its reply stays in the socket, for
 * the relay.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "opts.h"
#include "end.h"
#include "net.h"
#include "parse.h"
#include "connect.h"
#include "proxy.h"
#include "socks5udp.h"

#define SOCKS_PORT	1080
#define HTTP_PORT	3128
#define SHOWN_MAX	64	/* bytes of a bad reply quoted in a message */

/*
 * Names and defaults
 */

const char *
proxy_type_name(enum proxy_type t)
{
	switch (t) {
	case PROXY_SOCKS4:
		return "socks4";
	case PROXY_SOCKS4A:
		return "socks4a";
	case PROXY_SOCKS5:
		return "socks5";
	case PROXY_HTTP:
		return "http";
	}
	return "?";
}

int
proxy_port(const struct proxy_hop *h)
{
	if (h->port != 0)
		return h->port;
	return h->type == PROXY_HTTP ? HTTP_PORT : SOCKS_PORT;
}

int
parse_proxy_type(const char *s, enum proxy_type *t)
{
	if (strcmp(s, "4") == 0)
		*t = PROXY_SOCKS4;
	else if (strcmp(s, "4a") == 0)
		*t = PROXY_SOCKS4A;
	else if (strcmp(s, "5") == 0)
		*t = PROXY_SOCKS5;
	else if (strcmp(s, "connect") == 0)
		*t = PROXY_HTTP;
	else {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Set why to a formatted message and fail. */
static int __attribute__((format(printf, 3, 4)))
why_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* Clear a buffer that held a password, in a way no compiler drops. */
static void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

/* Is c allowed in a host name or user name? No controls, blanks or DEL. */
static bool
name_char(unsigned char c)
{
	return c > ' ' && c != 0x7f;
}

int
parse_proxy_url(const char *s, struct proxy_hop *h, char *why, size_t whylen)
{
	static const struct {
		const char	*scheme;
		enum proxy_type	 type;
	} schemes[] = {
		{ "socks4", PROXY_SOCKS4 },
		{ "socks4a", PROXY_SOCKS4A },
		{ "socks5", PROXY_SOCKS5 },
		{ "http", PROXY_HTTP },
	};
	const char *p = s, *sep, *at, *host, *hend, *port = NULL;
	size_t i, n;
	int num;

	memset(h, 0, sizeof(*h));
	h->type = PROXY_SOCKS5;
	if ((sep = strstr(p, "://")) != NULL) {
		n = (size_t)(sep - p);
		for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
			if (strlen(schemes[i].scheme) == n &&
			    strncmp(schemes[i].scheme, p, n) == 0)
				break;
		if (i == sizeof(schemes) / sizeof(schemes[0]))
			return why_fail(why, whylen, "unknown proxy type \"%.*s\": "
			    "must be socks4, socks4a, socks5 or http",
			    n > SHOWN_MAX ? SHOWN_MAX : (int)n, p);
		h->type = schemes[i].type;
		h->has_type = true;
		p = sep + 3;
	}
	/* The user ends at the last '@': a host has none. */
	if ((at = strrchr(p, '@')) != NULL) {
		n = (size_t)(at - p);
		if (n == 0)
			return why_fail(why, whylen, "empty user name");
		if (n > PROXY_NAME_MAX)
			return why_fail(why, whylen, "user name too long (%zu "
			    "bytes, at most %d)", n, PROXY_NAME_MAX);
		for (i = 0; i < n; i++) {
			if (p[i] == ':')
				return why_fail(why, whylen, "a password does "
				    "not go on the command line: give the user "
				    "only, and the password in "
				    "SOCK_PROXY_PASSWORD");
			if (!name_char((unsigned char)p[i]))
				return why_fail(why, whylen, "invalid character "
				    "in the user name");
		}
		memcpy(h->user, p, n);
		h->user[n] = '\0';
		p = at + 1;
	}
	if (*p == '[') {
		host = p + 1;
		if ((hend = strchr(host, ']')) == NULL)
			return why_fail(why, whylen, "unclosed '[' in the "
			    "address");
		if (hend[1] == ':')
			port = hend + 2;
		else if (hend[1] != '\0')
			return why_fail(why, whylen, "unexpected \"%.*s\" after "
			    "']'", SHOWN_MAX, hend + 1);
	} else {
		host = p;
		if ((hend = strchr(host, ':')) != NULL) {
			if (strchr(hend + 1, ':') != NULL)
				return why_fail(why, whylen, "an IPv6 address "
				    "must be in brackets: [addr]:port");
			port = hend + 1;
		} else
			hend = host + strlen(host);
	}
	n = (size_t)(hend - host);
	if (n == 0)
		return why_fail(why, whylen, "empty proxy address");
	if (n > PROXY_NAME_MAX)
		return why_fail(why, whylen, "proxy address too long (%zu "
		    "bytes, at most %d)", n, PROXY_NAME_MAX);
	for (i = 0; i < n; i++)
		if (!name_char((unsigned char)host[i]) || host[i] == '/' ||
		    host[i] == '[' || host[i] == ']')
			return why_fail(why, whylen, "invalid character in the "
			    "proxy address");
	memcpy(h->host, host, n);
	h->host[n] = '\0';
	if (*p == '[') {
		struct in6_addr a6;

		if (inet_pton(AF_INET6, h->host, &a6) != 1)
			return why_fail(why, whylen, "\"%s\" in brackets is not "
			    "an IPv6 address", h->host);
	}
	if (port != NULL) {
		if (parse_port_number(port, &num) == -1 || num == 0)
			return why_fail(why, whylen, "invalid proxy port \"%.*s\": "
			    "must be 1-65535", SHOWN_MAX, port);
		h->port = num;
	}
	return 0;
}

int
proxy_apply_defaults(struct proxy_hop *hops, size_t n, enum proxy_type type,
    const char *user)
{
	size_t i;

	if (user != NULL) {
		if (*user == '\0' || strlen(user) > PROXY_NAME_MAX ||
		    strchr(user, ':') != NULL) {
			errno = EINVAL;
			return -1;
		}
		for (i = 0; user[i] != '\0'; i++)
			if (!name_char((unsigned char)user[i])) {
				errno = EINVAL;
				return -1;
			}
	}
	for (i = 0; i < n; i++) {
		if (!hops[i].has_type)
			hops[i].type = type;
		if (hops[i].user[0] == '\0' && user != NULL)
			snprintf(hops[i].user, sizeof(hops[i].user), "%s", user);
	}
	return 0;
}

bool
proxy_needs_password(const struct proxy_hop *hops, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (hops[i].user[0] != '\0' && (hops[i].type == PROXY_SOCKS5 ||
		    hops[i].type == PROXY_HTTP))
			return true;
	return false;
}

/*
 * The reply parsers
 */

int
socks4_reply_parse(const unsigned char *b, size_t n, char *why, size_t whylen)
{
	if (n < SOCKS4_REPLY_LEN)
		return why_fail(why, whylen, "short SOCKS4 reply"), PROXY_BAD;
	if (b[0] != 0)
		return why_fail(why, whylen, "not a SOCKS4 reply (version %u)",
		    b[0]), PROXY_BAD;
	switch (b[1]) {
	case SOCKS4_GRANTED:
		return PROXY_OK;
	case SOCKS4_REJECTED:
		why_fail(why, whylen, "request rejected or failed");
		return PROXY_REFUSED;
	case SOCKS4_NO_IDENTD:
		why_fail(why, whylen, "request rejected: cannot reach the "
		    "client's identd");
		return PROXY_REFUSED;
	case SOCKS4_BAD_USER:
		why_fail(why, whylen, "request rejected: identd reports a "
		    "different user");
		return PROXY_REFUSED;
	default:
		why_fail(why, whylen, "unknown SOCKS4 reply code %u", b[1]);
		return PROXY_BAD;
	}
}

int
socks5_method_parse(const unsigned char *b, size_t n, bool offered_auth,
    int *method, char *why, size_t whylen)
{
	if (n < 2)
		return why_fail(why, whylen, "short SOCKS5 method reply"),
		    PROXY_BAD;
	if (b[0] != 5)
		return why_fail(why, whylen, "not a SOCKS5 reply (version %u)",
		    b[0]), PROXY_BAD;
	if (b[1] == SOCKS5_NO_METHOD) {
		why_fail(why, whylen, "accepts none of the authentication "
		    "methods offered (%s)", offered_auth ? "none, "
		    "username/password" : "none; it may need -P");
		return PROXY_REFUSED;
	}
	if (b[1] != SOCKS5_NO_AUTH && !(offered_auth && b[1] == SOCKS5_USERPASS))
		return why_fail(why, whylen, "chose authentication method %u, "
		    "which was not offered", b[1]), PROXY_BAD;
	*method = b[1];
	return PROXY_OK;
}

int
socks5_auth_parse(const unsigned char *b, size_t n, char *why, size_t whylen)
{
	if (n < 2)
		return why_fail(why, whylen, "short SOCKS5 authentication "
		    "reply"), PROXY_BAD;
	if (b[0] != 1)
		return why_fail(why, whylen, "not a username/password reply "
		    "(version %u)", b[0]), PROXY_BAD;
	if (b[1] != 0) {
		why_fail(why, whylen, "username/password rejected");
		return PROXY_REFUSED;
	}
	return PROXY_OK;
}

/* RFC 1928's words for the reply codes 1-8. */
static const char *const socks5_words[] = {
	NULL,
	"general SOCKS server failure",
	"connection not allowed by ruleset",
	"network unreachable",
	"host unreachable",
	"connection refused",
	"TTL expired",
	"command not supported",
	"address type not supported",
};

int
socks5_reply_parse(const unsigned char *b, size_t n, struct socks5_reply *r,
    char *why, size_t whylen)
{
	size_t need;

	memset(r, 0, sizeof(*r));
	r->need = 4;
	if (n < 4)
		return PROXY_MORE;
	if (b[0] != 5)
		return why_fail(why, whylen, "not a SOCKS5 reply (version %u)",
		    b[0]), PROXY_BAD;
	r->rep = b[1];
	if (b[1] != 0) {
		/* The words are all there is to know; the rest is not read. */
		if (b[1] < sizeof(socks5_words) / sizeof(socks5_words[0]))
			why_fail(why, whylen, "%s", socks5_words[b[1]]);
		else
			return why_fail(why, whylen, "unknown SOCKS5 reply "
			    "code %u", b[1]), PROXY_BAD;
		return PROXY_REFUSED;
	}
	if (b[2] != 0)
		return why_fail(why, whylen, "malformed SOCKS5 reply (reserved "
		    "byte %u)", b[2]), PROXY_BAD;
	r->atyp = b[3];
	switch (b[3]) {
	case SOCKS5_ATYP_IPV4:
		need = 4 + 4 + 2;
		break;
	case SOCKS5_ATYP_IPV6:
		need = 4 + 16 + 2;
		break;
	case SOCKS5_ATYP_DOMAIN:
		if (n < 5) {
			r->need = 5;
			return PROXY_MORE;
		}
		need = 4 + 1 + (size_t)b[4] + 2;
		break;
	default:
		return why_fail(why, whylen, "unknown address type %u in the "
		    "SOCKS5 reply", b[3]), PROXY_BAD;
	}
	r->need = need;
	if (n < need)
		return PROXY_MORE;
	r->port = (b[need - 2] << 8) | b[need - 1];
	switch (b[3]) {
	case SOCKS5_ATYP_IPV4:
		inet_ntop(AF_INET, b + 4, r->bound, sizeof(r->bound));
		break;
	case SOCKS5_ATYP_IPV6:
		inet_ntop(AF_INET6, b + 4, r->bound, sizeof(r->bound));
		break;
	default: {
		size_t i, len = b[4];

		/* A name, shown with anything unprintable as '?'. */
		for (i = 0; i < len; i++)
			r->bound[i] = b[5 + i] > ' ' && b[5 + i] < 0x7f ?
			    (char)b[5 + i] : '?';
		r->bound[len] = '\0';
		break;
	}
	}
	return PROXY_OK;
}

/* A field value or reason phrase byte: visible, blank, or obs-text. */
static bool
text_char(unsigned char c)
{
	return c == ' ' || c == '\t' || (c > ' ' && c != 0x7f);
}

/*
 * Check the status line b[0..n) (no end of line); partial says more may
 * follow, so only what is there is judged. Sets *code when complete.
 */
static int
http_status_check(const char *b, size_t n, bool partial, int *code, char *why,
    size_t whylen)
{
	static const char proto[] = "HTTP/D.D DDD";
	size_t i;

	for (i = 0; i < n && i < sizeof(proto) - 1; i++) {
		unsigned char c = (unsigned char)b[i];

		if (proto[i] == 'D' ? (c < '0' || c > '9') : c != proto[i])
			goto bad;
	}
	if (n < sizeof(proto) - 1)
		return partial ? 0 : (why_fail(why, whylen, "not an HTTP reply"),
		    -1);
	if (b[9] < '1' || b[9] > '5')
		goto bad;
	if (n > 12 && b[12] != ' ')
		goto bad;
	for (i = 13; i < n; i++)
		if (!text_char((unsigned char)b[i]))
			goto bad;
	*code = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
	return 0;
bad:
	return why_fail(why, whylen, "not an HTTP reply");
}

/* Check one header line b[0..n) (no end of line), perhaps partial. */
static int
http_header_check(const char *b, size_t n, bool partial, char *why,
    size_t whylen)
{
	size_t i;

	if (n > 0 && (b[0] == ' ' || b[0] == '\t'))
		return why_fail(why, whylen, "folded header line in the HTTP "
		    "reply");
	for (i = 0; i < n && b[i] != ':'; i++)
		if (!http_tchar((unsigned char)b[i]))
			return why_fail(why, whylen, "malformed header line in "
			    "the HTTP reply");
	if (i == n)
		return partial ? 0 : why_fail(why, whylen, "malformed header "
		    "line in the HTTP reply");
	if (i == 0)
		return why_fail(why, whylen, "malformed header line in the HTTP "
		    "reply");
	for (i++; i < n; i++)
		if (!text_char((unsigned char)b[i]))
			return why_fail(why, whylen, "malformed header line in "
			    "the HTTP reply");
	return 0;
}

int
http_reply_parse(const char *b, size_t n, struct http_reply *r, char *why,
    size_t whylen)
{
	size_t start = 0, end, len;
	bool first = true;

	memset(r, 0, sizeof(*r));
	for (;;) {
		r->bad_at = start;	/* where a complaint would point */
		/* A line ends with LF; a CR just before it is part of the end. */
		for (end = start; end < n && b[end] != '\n'; end++)
			if (b[end] == '\r' && end + 1 < n && b[end + 1] != '\n')
				return why_fail(why, whylen, "stray CR in the "
				    "HTTP reply"), PROXY_BAD;
		len = end - start;
		if (end < n && len > 0 && b[end - 1] == '\r')
			len--;
		else if (end == n && len > 0 && b[end - 1] == '\r')
			len--;	/* its LF may still come */
		if (first) {
			if (http_status_check(b + start, len, end == n, &r->code,
			    why, whylen) == -1)
				return PROXY_BAD;
			if (end == n)
				return PROXY_MORE;
			r->line_len = len;
			first = false;
		} else {
			if (end < n && len == 0) {
				r->head_len = end + 1;
				return PROXY_OK;
			}
			if (http_header_check(b + start, len, end == n, why,
			    whylen) == -1)
				return PROXY_BAD;
			if (end == n)
				return PROXY_MORE;
		}
		start = end + 1;
	}
}

/*
 * The handshakes
 */

/* One run of proxy_connect: where it is, and where errors go. */
struct run {
	const struct opts *o;
	const struct proxy_hop *hop;	/* the hop being talked to */
	long long	 deadline;	/* -1: none */
	struct proxy_error *pe;
	const char	*stage;		/* "SOCKS5 handshake", ... */
};

/* Report a failure at the current hop: "proxy HOST port N: ...". */
static int __attribute__((format(printf, 3, 4)))
hop_fail(struct run *run, int status, const char *fmt, ...)
{
	struct proxy_error *pe = run->pe;
	va_list ap;
	int n;

	pe->status = status;
	n = snprintf(pe->msg, sizeof(pe->msg), "proxy %s port %d: ",
	    run->hop->host, proxy_port(run->hop));
	if (n < 0 || (size_t)n >= sizeof(pe->msg))
		return -1;
	va_start(ap, fmt);
	vsnprintf(pe->msg + n, sizeof(pe->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A failed read, write or wait at the current hop, by errno. */
static int
io_fail(struct run *run, int e)
{
	if (e == ETIMEDOUT)
		return hop_fail(run, EXIT_TIMEOUT, "timed out during the %s",
		    run->stage);
	return hop_fail(run, EXIT_NET, "%s during the %s", strerror(e),
	    run->stage);
}

/* Send all of buf on the non-blocking fd before the deadline. */
static int
send_all(struct run *run, int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if ((n = send(fd, p + done, len - done, 0)) >= 0) {
			done += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
		    wait_fd(fd, true, run->deadline) == -1)
			return io_fail(run, errno);
	}
	return 0;
}

/*
 * Read exactly len bytes into buf (flags: MSG_PEEK to look without taking,
 * then at least one byte is enough). Returns the bytes read, or -1 after
 * reporting a failure, the end of the connection included.
 */
static ssize_t
recv_some(struct run *run, int fd, void *buf, size_t len, int flags)
{
	char *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if ((n = recv(fd, p + done, len - done, flags)) > 0) {
			done += (size_t)n;
			if (flags & MSG_PEEK)
				break;
			continue;
		}
		if (n == 0)
			return hop_fail(run, EXIT_NET, "closed the connection "
			    "during the %s", run->stage);
		if (errno == EINTR)
			continue;
		if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
		    wait_fd(fd, false, run->deadline) == -1)
			return io_fail(run, errno);
	}
	return (ssize_t)done;
}

/* Bytes b as a quoted, printable excerpt for a message. */
static void
excerpt(const unsigned char *b, size_t n, char *out, size_t len)
{
	size_t i, j = 0;

	for (i = 0; i < n && i < SHOWN_MAX && j + 2 < len; i++)
		out[j++] = b[i] >= ' ' && b[i] < 0x7f ? (char)b[i] : '.';
	out[j] = '\0';
}

/*
 * What a hop is asked to reach: the next hop, or the target. A name is
 * also classified: an IPv4 or IPv6 literal goes as an address.
 */
struct dest {
	const char	*host;
	int		 port;
	int		 family;	/* AF_INET, AF_INET6, or 0: a name */
	unsigned char	 addr[16];
};

static void
dest_init(struct dest *d, const char *host, int port)
{
	d->host = host;
	d->port = port;
	d->family = 0;
	if (inet_pton(AF_INET, host, d->addr) == 1)
		d->family = AF_INET;
	else if (inet_pton(AF_INET6, host, d->addr) == 1)
		d->family = AF_INET6;
}

/* SOCKS4 without a: the target's IPv4 address, looked up here. */
static int
socks4_resolve(struct run *run, struct dest *d)
{
	struct addrinfo *res;
	int gai;

	if (d->family == AF_INET)
		return 0;
	if (d->family == AF_INET6)
		return hop_fail(run, EXIT_NET, "SOCKS4 cannot reach the IPv6 "
		    "address %s (use -X 5)", d->host);
	if ((gai = resolve(d->host, NULL, AF_INET, SOCK_STREAM, run->o->numeric,
	    false, &res)) != 0)
		return hop_fail(run, EXIT_NET, "resolve %s for SOCKS4: %s",
		    d->host, gai == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(gai));
	memcpy(d->addr, &((struct sockaddr_in *)res->ai_addr)->sin_addr, 4);
	d->family = AF_INET;
	freeaddrinfo(res);
	return 0;
}

static int
socks4_handshake(struct run *run, int fd, struct dest *d)
{
	const struct proxy_hop *h = run->hop;
	unsigned char req[8 + 2 * (PROXY_NAME_MAX + 1)], rep[SOCKS4_REPLY_LEN];
	size_t n = 0, ulen = strlen(h->user), hlen = strlen(d->host);
	char why[PROXY_WHY_MAX];
	int rv;

	run->stage = h->type == PROXY_SOCKS4 ? "SOCKS4 handshake" :
	    "SOCKS4a handshake";
	if (h->type == PROXY_SOCKS4 && socks4_resolve(run, d) == -1)
		return -1;
	if (d->family == AF_INET6)
		return hop_fail(run, EXIT_NET, "SOCKS4a cannot reach the IPv6 "
		    "address %s (use -X 5)", d->host);
	req[n++] = 4;
	req[n++] = 1;		/* CONNECT */
	req[n++] = (unsigned char)(d->port >> 8);
	req[n++] = (unsigned char)d->port;
	if (d->family == AF_INET)
		memcpy(req + n, d->addr, 4);
	else
		memcpy(req + n, "\0\0\0\1", 4);	/* 4a: the name follows */
	n += 4;
	memcpy(req + n, h->user, ulen + 1);
	n += ulen + 1;
	if (d->family == 0) {
		memcpy(req + n, d->host, hlen + 1);
		n += hlen + 1;
	}
	if (send_all(run, fd, req, n) == -1 ||
	    recv_some(run, fd, rep, sizeof(rep), 0) == -1)
		return -1;
	if ((rv = socks4_reply_parse(rep, sizeof(rep), why, sizeof(why))) !=
	    PROXY_OK) {
		run->pe->target_failed = rv == PROXY_REFUSED &&
		    run->hop == &run->o->proxies[run->o->nproxies - 1];
		run->pe->err = ECONNREFUSED;
		return hop_fail(run, EXIT_NET, "%s", why);
	}
	return 0;
}

/* RFC 1928's reply code as the nearest errno, for -z's report. */
static int
socks5_errno(int rep)
{
	switch (rep) {
	case SOCKS5_NOT_ALLOWED:
		return EACCES;
	case SOCKS5_NET_UNREACH:
		return ENETUNREACH;
	case SOCKS5_HOST_UNREACH:
		return EHOSTUNREACH;
	case SOCKS5_TTL_EXPIRED:
		return ETIMEDOUT;
	default:
		return ECONNREFUSED;
	}
}

/* The method choice and, with a user, RFC 1929's authentication. */
static int
socks5_greet(struct run *run, int fd)
{
	const struct proxy_hop *h = run->hop;
	unsigned char req[4], rep[2];
	const char *pw = run->o->proxy_password;
	char why[PROXY_WHY_MAX];
	bool auth = h->user[0] != '\0';
	size_t n = 0, ulen = strlen(h->user), plen;
	int method, rv;

	run->stage = "SOCKS5 handshake";
	/* What RFC 1929 cannot carry is refused before anything is sent. */
	plen = pw != NULL ? strlen(pw) : 0;
	if (auth && (pw == NULL || plen < 1 || plen > PROXY_NAME_MAX))
		return hop_fail(run, EXIT_USAGE, "a SOCKS5 password must be 1-%d "
		    "bytes", PROXY_NAME_MAX);

	req[n++] = 5;
	if (auth) {
		req[n++] = 2;
		req[n++] = SOCKS5_NO_AUTH;
		req[n++] = SOCKS5_USERPASS;
	} else {
		req[n++] = 1;
		req[n++] = SOCKS5_NO_AUTH;
	}
	if (send_all(run, fd, req, n) == -1 ||
	    recv_some(run, fd, rep, 2, 0) == -1)
		return -1;
	if (socks5_method_parse(rep, 2, auth, &method, why, sizeof(why)) !=
	    PROXY_OK)
		return hop_fail(run, EXIT_NET, "%s", why);

	if (method == SOCKS5_USERPASS) {
		unsigned char areq[3 + 2 * PROXY_NAME_MAX];

		run->stage = "SOCKS5 username/password authentication";
		n = 0;
		areq[n++] = 1;
		areq[n++] = (unsigned char)ulen;
		memcpy(areq + n, h->user, ulen);
		n += ulen;
		areq[n++] = (unsigned char)plen;
		memcpy(areq + n, pw, plen);
		n += plen;
		rv = send_all(run, fd, areq, n);
		wipe(areq, sizeof(areq));
		if (rv == -1 || recv_some(run, fd, rep, 2, 0) == -1)
			return -1;
		if (socks5_auth_parse(rep, 2, why, sizeof(why)) != PROXY_OK)
			return hop_fail(run, EXIT_NET, "%s (user %s)", why,
			    h->user);
		if (run->o->verbose > 1)
			warnx("proxy %s port %d (socks5): authenticated as %s",
			    h->host, proxy_port(h), h->user);
	}
	run->stage = "SOCKS5 handshake";
	return 0;
}

/* The request, cmd (1 CONNECT, 3 UDP ASSOCIATE) for d, and its reply r. */
static int
socks5_request(struct run *run, int fd, int cmd, const struct dest *d,
    struct socks5_reply *r)
{
	unsigned char req[4 + 1 + PROXY_NAME_MAX + 2 + 1];
	unsigned char rep[4 + 1 + 255 + 2];
	char why[PROXY_WHY_MAX];
	size_t n = 0, hlen = strlen(d->host), have;
	int rv;

	req[n++] = 5;
	req[n++] = (unsigned char)cmd;
	req[n++] = 0;
	if (d->family == AF_INET) {
		req[n++] = SOCKS5_ATYP_IPV4;
		memcpy(req + n, d->addr, 4);
		n += 4;
	} else if (d->family == AF_INET6) {
		req[n++] = SOCKS5_ATYP_IPV6;
		memcpy(req + n, d->addr, 16);
		n += 16;
	} else {
		req[n++] = SOCKS5_ATYP_DOMAIN;
		req[n++] = (unsigned char)hlen;
		memcpy(req + n, d->host, hlen);
		n += hlen;
	}
	req[n++] = (unsigned char)(d->port >> 8);
	req[n++] = (unsigned char)d->port;
	if (send_all(run, fd, req, n) == -1)
		return -1;
	/* The header first, then exactly the rest its ATYP calls for. */
	for (have = 0;;) {
		rv = socks5_reply_parse(rep, have, r, why, sizeof(why));
		if (rv != PROXY_MORE)
			break;
		if (recv_some(run, fd, rep + have, r->need - have, 0) == -1) {
			/* A silent last hop: the target may be what stalls. */
			if (run->pe->status == EXIT_TIMEOUT && have == 0 &&
			    run->hop == &run->o->proxies[run->o->nproxies - 1]) {
				run->pe->target_failed = true;
				run->pe->err = ETIMEDOUT;
			}
			return -1;
		}
		have = r->need;
	}
	if (rv != PROXY_OK) {
		run->pe->target_failed = rv == PROXY_REFUSED &&
		    run->hop == &run->o->proxies[run->o->nproxies - 1];
		run->pe->err = socks5_errno(r->rep);
		return hop_fail(run, EXIT_NET, "%s", why);
	}
	return 0;
}

static int
socks5_handshake(struct run *run, int fd, const struct dest *d)
{
	const struct proxy_hop *h = run->hop;
	struct socks5_reply r;

	if (socks5_greet(run, fd) == -1 ||
	    socks5_request(run, fd, 1, d, &r) == -1)	/* CONNECT */
		return -1;
	if (run->o->verbose > 1)
		warnx("proxy %s port %d (socks5): bound address %s port %d",
		    h->host, proxy_port(h), r.bound, r.port);
	return 0;
}

/*
 * Read one reply head into buf (room for budget bytes) without taking a
 * byte past its empty line: look with MSG_PEEK, take what holds no end
 * of head, and then exactly through the end. Returns 0 with r filled, or
 * -1 after reporting.
 */
static int
http_read_head(struct run *run, int fd, char *buf, size_t budget,
    struct http_reply *r)
{
	char why[PROXY_WHY_MAX], shown[SHOWN_MAX + 1];
	size_t len = 0;
	ssize_t n;
	int rv;

	for (;;) {
		if (len == budget)
			return hop_fail(run, EXIT_NET, "reply head longer than "
			    "%d bytes", PROXY_HTTP_MAX);
		if ((n = recv_some(run, fd, buf + len, budget - len,
		    MSG_PEEK)) == -1)
			return -1;
		rv = http_reply_parse(buf, len + (size_t)n, r, why, sizeof(why));
		if (rv == PROXY_BAD) {
			size_t eol = r->bad_at, have = len + (size_t)n;

			while (eol < have && buf[eol] != '\r' && buf[eol] != '\n')
				eol++;
			excerpt((unsigned char *)buf + r->bad_at, eol - r->bad_at,
			    shown, sizeof(shown));
			return hop_fail(run, EXIT_NET, "%s: \"%s\"", why, shown);
		}
		/* Take what was looked at, or just the head if it is all here. */
		if (rv == PROXY_OK)
			n = (ssize_t)(r->head_len - len);
		if (recv_some(run, fd, buf + len, (size_t)n, 0) == -1)
			return -1;
		len += (size_t)n;
		if (rv == PROXY_OK)
			return 0;
	}
}

static int
http_handshake(struct run *run, int fd, const struct dest *d)
{
	const struct proxy_hop *h = run->hop;
	const char *pw = run->o->proxy_password;
	char req[2 * PROXY_NAME_MAX + 4 * ((2 * PROXY_NAME_MAX + 3) / 3) + 256];
	char hostport[PROXY_NAME_MAX + 16], cred[2 * PROXY_NAME_MAX + 2];
	char b64[BASE64_LEN(sizeof(cred))], shown[SHOWN_MAX + 1];
	char head[PROXY_HTTP_MAX];
	struct http_reply r;
	size_t used = 0;
	int n;

	run->stage = "HTTP CONNECT";
	/* A blank, CR or LF would split the request line. */
	for (n = 0; d->host[n] != '\0'; n++)
		if (!name_char((unsigned char)d->host[n]))
			return hop_fail(run, EXIT_NET, "invalid host name for "
			    "CONNECT");
	snprintf(hostport, sizeof(hostport), d->family == AF_INET6 ?
	    "[%s]:%d" : "%s:%d", d->host, d->port);
	n = snprintf(req, sizeof(req), "CONNECT %s HTTP/1.1\r\nHost: %s\r\n",
	    hostport, hostport);
	if (h->user[0] != '\0') {
		if (pw == NULL || strlen(pw) > PROXY_NAME_MAX)
			return hop_fail(run, EXIT_USAGE, "an HTTP proxy password "
			    "must be at most %d bytes", PROXY_NAME_MAX);
		snprintf(cred, sizeof(cred), "%s:%s", h->user, pw);
		base64_encode((unsigned char *)cred, strlen(cred), b64);
		n += snprintf(req + n, sizeof(req) - (size_t)n,
		    "Proxy-Authorization: Basic %s\r\n", b64);
		wipe(cred, sizeof(cred));
		wipe(b64, sizeof(b64));
	}
	n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
	/* Room was reckoned for the longest names; a cut request is not sent. */
	n = n < 0 || (size_t)n >= sizeof(req) ? hop_fail(run, EXIT_NET,
	    "CONNECT request too long") : send_all(run, fd, req, (size_t)n);
	wipe(req, sizeof(req));
	if (n == -1)
		return -1;
	/* 1xx answers are interim: skip them, within the one limit. */
	for (;;) {
		if (http_read_head(run, fd, head, sizeof(head) - used, &r) == -1) {
			if (run->pe->status == EXIT_TIMEOUT && used == 0 &&
			    run->hop == &run->o->proxies[run->o->nproxies - 1]) {
				run->pe->target_failed = true;
				run->pe->err = ETIMEDOUT;
			}
			return -1;
		}
		used += r.head_len;
		excerpt((unsigned char *)head, r.line_len, shown, sizeof(shown));
		if (r.code < 100 || r.code >= 200 || r.code == 101)
			break;
		if (run->o->verbose > 1)
			warnx("proxy %s port %d (http): %s", h->host,
			    proxy_port(h), shown);
	}
	if (r.code >= 200 && r.code < 300) {
		if (run->o->verbose > 1)
			warnx("proxy %s port %d (http): %s", h->host,
			    proxy_port(h), shown);
		return 0;
	}
	run->pe->target_failed = r.code != 407 &&
	    run->hop == &run->o->proxies[run->o->nproxies - 1];
	run->pe->err = r.code == 504 ? ETIMEDOUT : ECONNREFUSED;
	return hop_fail(run, EXIT_NET, "%s", shown);
}

/*
 * The connection to the first hop, through the ordinary connect walk
 * (-4/-6, -s, -p and the socket options apply, Happy Eyeballs across the
 * proxy's addresses): the one place to swap in another way to connect.
 */
static int
connect_first_hop(struct run *run)
{
	const struct opts *o = run->o;
	const struct proxy_hop *h = run->hop;
	struct attempt_words w = { .o = o, .role = "proxy " };
	struct connect_error ce;
	struct conn c;
	char port[8];
	long long left = -1;	/* connect_happy: no limit */

	snprintf(port, sizeof(port), "%d", proxy_port(h));
	if (run->deadline >= 0 && (left = run->deadline - now_ms()) < 0)
		left = 0;
	if (connect_host(o, h->host, port, SOCK_STREAM, left, &w, &c,
	    &ce) != -1)
		return c.fd;
	run->pe->status = ce.status;
	if (ce.lookup)
		snprintf(run->pe->msg, sizeof(run->pe->msg), "resolve proxy "
		    "%s: %s", h->host, ce.why_gai ? gai_strerror(ce.why) :
		    strerror(ce.why));
	else
		snprintf(run->pe->msg, sizeof(run->pe->msg), "connect to proxy "
		    "%s port %d: %s", h->host, proxy_port(h), strerror(ce.why));
	return -1;
}

/*
 * The target's port as a number (a service name looked up for proto,
 * unless -n) and a host name any hop can carry: checked before anything
 * is sent. Returns -1 (pe says why) if not.
 */
static int
target_check(const struct opts *o, const char *host, const char *port,
    const char *proto, int *num, struct proxy_error *pe)
{
	struct servent *se;

	if (parse_port_number(port, num) == -1) {
		if (o->numeric || (se = getservbyname(port, proto)) == NULL) {
			pe->status = EXIT_NET;
			snprintf(pe->msg, sizeof(pe->msg), "unknown service "
			    "\"%s\"", port);
			return -1;
		}
		*num = ntohs((uint16_t)se->s_port);
	}
	if (*host == '\0' || strlen(host) > PROXY_NAME_MAX) {
		pe->status = EXIT_NET;
		snprintf(pe->msg, sizeof(pe->msg), "host name for the proxy must "
		    "be 1-%d bytes: %zu given", PROXY_NAME_MAX, strlen(host));
		return -1;
	}
	return 0;
}

int
proxy_connect(const struct opts *o, const char *host, const char *port,
    long long deadline_ms, struct proxy_error *pe)
{
	struct run run;
	struct dest d;
	size_t i;
	int fd, num, rv;

	memset(pe, 0, sizeof(*pe));
	memset(&run, 0, sizeof(run));
	run.o = o;
	run.deadline = deadline_ms;
	run.pe = pe;
	run.hop = &o->proxies[0];
	if (target_check(o, host, port, "tcp", &num, pe) == -1)
		return -1;
	for (i = 0; i < o->nproxies; i++) {
		run.hop = &o->proxies[i];
		dest_init(&d, i + 1 < o->nproxies ? o->proxies[i + 1].host :
		    host, 0);
		if (d.family == AF_INET6 && (run.hop->type == PROXY_SOCKS4 ||
		    run.hop->type == PROXY_SOCKS4A))
			return hop_fail(&run, EXIT_NET, "%s cannot reach the "
			    "IPv6 address %s (use -X 5)", run.hop->type ==
			    PROXY_SOCKS4 ? "SOCKS4" : "SOCKS4a", d.host);
	}
	run.hop = &o->proxies[0];
	if ((fd = connect_first_hop(&run)) == -1)
		return -1;
	for (i = 0; i < o->nproxies; i++) {
		run.hop = &o->proxies[i];
		if (i + 1 < o->nproxies)
			dest_init(&d, o->proxies[i + 1].host,
			    proxy_port(&o->proxies[i + 1]));
		else
			dest_init(&d, host, num);
		switch (run.hop->type) {
		case PROXY_SOCKS4:
		case PROXY_SOCKS4A:
			rv = socks4_handshake(&run, fd, &d);
			break;
		case PROXY_SOCKS5:
			rv = socks5_handshake(&run, fd, &d);
			break;
		case PROXY_HTTP:
		default:
			rv = http_handshake(&run, fd, &d);
			break;
		}
		if (rv == -1) {
			close(fd);
			return -1;
		}
		if (o->verbose > 0)
			warnx("proxy %s port %d (%s): connected to %s port %d",
			    run.hop->host, proxy_port(run.hop),
			    proxy_type_name(run.hop->type), d.host, d.port);
	}
	return fd;
}

/*
 * SOCKS5 UDP ASSOCIATE (-u -x)
 */

/* The relay address the reply r names, as a socket address. */
static int
relay_address(struct run *run, int ctl, const struct socks5_reply *r,
    int family, struct proxy_udp *pu)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&pu->relay;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&pu->relay;
	struct addrinfo *res;
	char port[8];
	int gai;

	memset(&pu->relay, 0, sizeof(pu->relay));
	if (r->atyp == SOCKS5_ATYP_IPV4 &&
	    inet_pton(AF_INET, r->bound, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)r->port);
		pu->relaylen = sizeof(*s4);
		if (s4->sin_addr.s_addr == htonl(INADDR_ANY))
			goto unspecified;
	} else if (r->atyp == SOCKS5_ATYP_IPV6 &&
	    inet_pton(AF_INET6, r->bound, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)r->port);
		pu->relaylen = sizeof(*s6);
		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			goto unspecified;
	} else {
		snprintf(port, sizeof(port), "%d", r->port);
		if ((gai = resolve(r->bound, port, family, SOCK_DGRAM,
		    run->o->numeric, false, &res)) != 0)
			return hop_fail(run, EXIT_NET, "resolve the UDP relay "
			    "%s: %s", r->bound, gai == EAI_SYSTEM ?
			    strerror(errno) : gai_strerror(gai));
		memcpy(&pu->relay, res->ai_addr, res->ai_addrlen);
		pu->relaylen = res->ai_addrlen;
		freeaddrinfo(res);
	}
	if (pu->relay.ss_family != family)
		return hop_fail(run, EXIT_NET, "UDP relay %s port %d is not "
		    "of the control connection's address family", r->bound,
		    r->port);
	return 0;
unspecified:
	/* "Anywhere": the proxy's own address (RFC 1928 practice). */
	pu->relaylen = sizeof(pu->relay);
	if (getpeername(ctl, (struct sockaddr *)&pu->relay, &pu->relaylen) ==
	    -1)
		return io_fail(run, errno);
	if (pu->relay.ss_family == AF_INET)
		s4->sin_port = htons((uint16_t)r->port);
	else
		s6->sin6_port = htons((uint16_t)r->port);
	return 0;
}

/*
 * The UDP socket, bound to the address the control connection has here
 * (the proxy expects datagrams from it), any port; its address goes in
 * the request.
 */
static int
udp_socket(struct run *run, int ctl, struct dest *d, int *family)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(ss);
	const char *what = "UDP socket";
	int fd;

	if (getsockname(ctl, (struct sockaddr *)&ss, &len) == -1)
		return io_fail(run, errno);
	if (ss.ss_family == AF_INET)
		s4->sin_port = 0;
	else
		s6->sin6_port = 0;
	if ((fd = new_socket(ss.ss_family, SOCK_DGRAM, 0)) == -1 ||
	    set_sockopts(fd, ss.ss_family, SOCK_DGRAM, &run->o->sockopts,
	    &what) == -1 || (what = "UDP socket", bind(fd,
	    (struct sockaddr *)&ss, len) == -1) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		int e = errno;

		if (fd != -1)
			close(fd);
		return hop_fail(run, EXIT_NET, "%s: %s", what, strerror(e));
	}
	memset(d, 0, sizeof(*d));
	d->host = "";
	*family = ss.ss_family;
	if (ss.ss_family == AF_INET) {
		d->family = AF_INET;
		memcpy(d->addr, &s4->sin_addr, 4);
		d->port = ntohs(s4->sin_port);
	} else if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		d->family = AF_INET;
		memcpy(d->addr, (unsigned char *)&s6->sin6_addr + 12, 4);
		d->port = ntohs(s6->sin6_port);
	} else {
		d->family = AF_INET6;
		memcpy(d->addr, &s6->sin6_addr, 16);
		d->port = ntohs(s6->sin6_port);
	}
	return fd;
}

/*
 * The target as the datagrams' header names it: an address, or a name
 * sent as it is (as for CONNECT); a name's addresses are looked up here
 * too, when they can be, to know the replies' source by.
 */
static int
udp_target(struct run *run, const char *host, int port, struct proxy_udp *pu)
{
	struct socks5_addr *a = &pu->t.target;
	struct addrinfo *res, *ai;
	size_t n = 0;

	memset(a, 0, sizeof(*a));
	a->port = port;
	if (inet_pton(AF_INET, host, a->addr) == 1) {
		a->atyp = SOCKS5_ATYP_IPV4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, a->addr) == 1) {
		a->atyp = SOCKS5_ATYP_IPV6;
		return 0;
	}
	a->atyp = SOCKS5_ATYP_DOMAIN;
	a->namelen = strlen(host);
	memcpy(a->name, host, a->namelen + 1);
	if (run->o->numeric || resolve(host, NULL, AF_UNSPEC, SOCK_DGRAM,
	    false, false, &res) != 0)
		return 0;	/* replies from any address, with the port */
	for (ai = res; ai != NULL; ai = ai->ai_next)
		n++;
	if ((pu->alt = calloc(n, sizeof(*pu->alt))) == NULL) {
		freeaddrinfo(res);
		return hop_fail(run, EXIT_LOCAL, "%s", strerror(errno));
	}
	for (n = 0, ai = res; ai != NULL; ai = ai->ai_next, n++) {
		socks5_addr_from_sockaddr(ai->ai_addr, &pu->alt[n]);
		pu->alt[n].port = port;
	}
	pu->t.alt = pu->alt;
	pu->t.nalt = n;
	freeaddrinfo(res);
	return 0;
}

int
proxy_udp_associate(const struct opts *o, const char *host, const char *port,
    long long deadline_ms, struct proxy_udp *pu, struct proxy_error *pe)
{
	struct run run;
	struct dest d;
	struct socks5_reply r;
	char shown[ADDR_STRLEN + 16];
	int num, fd = -1, ufd = -1, family = AF_INET;

	memset(pe, 0, sizeof(*pe));
	memset(&run, 0, sizeof(run));
	memset(pu, 0, sizeof(*pu));
	pu->ctl = pu->fd = -1;
	run.o = o;
	run.deadline = deadline_ms;
	run.pe = pe;
	run.hop = &o->proxies[0];
	snprintf(pu->proxy, sizeof(pu->proxy), "%s port %d", run.hop->host,
	    proxy_port(run.hop));
	if (o->nproxies != 1 || run.hop->type != PROXY_SOCKS5)
		return hop_fail(&run, EXIT_USAGE, "UDP goes through one SOCKS5 "
		    "proxy only");
	if (target_check(o, host, port, "udp", &num, pe) == -1)
		return -1;
	if (udp_target(&run, host, num, pu) == -1)
		return -1;
	if ((fd = connect_first_hop(&run)) == -1)
		goto fail;
	if (socks5_greet(&run, fd) == -1 ||
	    (ufd = udp_socket(&run, fd, &d, &family)) == -1 ||
	    socks5_request(&run, fd, 3, &d, &r) == -1)	/* UDP ASSOCIATE */
		goto fail;
	if (relay_address(&run, fd, &r, family, pu) == -1)
		goto fail;
	pu->ctl = fd;
	pu->fd = ufd;
	if (o->verbose > 0) {
		format_addr((struct sockaddr *)&pu->relay, pu->relaylen, shown,
		    sizeof(shown));
		warnx("proxy %s (socks5): UDP association for %s port %d, "
		    "relay %s", pu->proxy, host, num, shown);
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	if (ufd != -1)
		close(ufd);
	free(pu->alt);
	pu->alt = NULL;
	return -1;
}

void
proxy_udp_close(struct proxy_udp *pu)
{
	if (pu->ctl != -1)
		close(pu->ctl);
	if (pu->fd != -1)
		close(pu->fd);
	free(pu->alt);
	pu->ctl = pu->fd = -1;
	pu->alt = NULL;
}

/*
 * The password
 */

/* The terminal while echo is off, for a signal to set right again. */
static int		tty_fd = -1;
static struct termios	tty_saved;

static void
tty_restore_and_die(int sig)
{
	if (tty_fd != -1)
		(void)tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* The signals that end a prompt: none may leave the echo off. */
static const int prompt_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NPROMPT_SIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

int
proxy_read_password(const char *prompt, char *buf, size_t size)
{
	struct sigaction sa, old_sa[NPROMPT_SIGNALS];
	struct termios old, noecho;
	size_t len = 0, i;
	ssize_t n;
	char c;
	int fd, e = 0;
	bool restore;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		errno = ENXIO;
		return -1;
	}
	restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		tty_saved = old;
		tty_fd = fd;
		memset(&sa, 0, sizeof(sa));
		sigemptyset(&sa.sa_mask);
		sa.sa_handler = tty_restore_and_die;
		for (i = 0; i < NPROMPT_SIGNALS; i++)
			sigaction(prompt_signals[i], &sa, &old_sa[i]);
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		noecho.c_lflag |= ICANON;
		(void)tcsetattr(fd, TCSAFLUSH, &noecho);
	}
	if (write(fd, prompt, strlen(prompt)) == -1) {
		/* A prompt that cannot be shown is no reason to stop. */
	}
	for (;;) {
		if ((n = read(fd, &c, 1)) == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n == 0 ? ENODATA : errno;
			break;
		}
		if (c == '\n' || c == '\r')
			break;
		/* A line too long is taken off the terminal, and refused. */
		if (len + 1 < size)
			buf[len] = c;
		len++;
	}
	if (restore) {
		(void)tcsetattr(fd, TCSAFLUSH, &old);
		tty_fd = -1;
		for (i = 0; i < NPROMPT_SIGNALS; i++)
			sigaction(prompt_signals[i], &old_sa[i], NULL);
	}
	if (write(fd, "\n", 1) == -1) {
		/* Nor is the end of its line. */
	}
	close(fd);
	if (e == 0 && len + 1 > size)
		e = EMSGSIZE;
	buf[len + 1 > size ? size - 1 : len] = '\0';
	if (e != 0) {
		wipe(buf, size);
		errno = e;
		return -1;
	}
	return (int)len;
}

/*
 * -F: descriptor passing
 */

bool
is_unix_socket(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    ss.ss_family == AF_UNIX;
}

int
send_fd(int sock, int fd)
{
	/* ssh expects the socket as connect(2) leaves it: blocking. */
	if (set_nonblock(fd, false) == -1)
		return -1;
	return fd_send(sock, fd, "", 1);
}
