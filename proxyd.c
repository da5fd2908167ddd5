/* SPDX-License-Identifier: ISC */
/*
 * proxyd.c: the proxy server's requests, parsed (sock(1), "Proxy
 * server"): SOCKS4 and SOCKS4a, SOCKS5 CONNECT with RFC 1929
 * username/password, HTTP CONNECT and absolute-form HTTP requests, told
 * apart by the first byte.
 * Everything a client sends is held in one buffer of PROXYD_HEAD_MAX
 * bytes and parsed again from its start as more comes (a request is
 * small; this keeps the parser a function of the bytes, not of how they
 * were cut up). Pure: no descriptors, no messages, no exits.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "opts.h"
#include "parse.h"
#include "proxy.h"
#include "proxyd.h"

/* Where a SOCKS5 client is in its handshake. */
enum stage {
	STAGE_GREETING,		/* SOCKS5: the methods it offers */
	STAGE_AUTH,		/* SOCKS5: username and password */
	STAGE_REQUEST		/* the request itself */
};

struct proxyd {
	enum proxyd_kind kind;
	enum stage	 stage;
	unsigned char	 buf[PROXYD_HEAD_MAX];
	size_t		 len;		/* bytes held */
	size_t		 used;		/* bytes of handshakes already done */
	size_t		 rest;		/* where what follows the request starts */
	bool		 done;
	const char	*user;		/* NULL: no authentication */
	const char	*password;
	char		*basic;		/* "user:password" in base64 */
	struct proxyd_target t;
	char		*head;		/* HTTP: the head for the origin */
	size_t		 headlen;
	const char	*why;		/* the failure, for messages */
};

struct proxyd *
proxyd_new(const char *user, const char *password)
{
	struct proxyd *p;
	char *pair;
	size_t n;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->user = user;
	p->password = password != NULL ? password : "";
	if (user != NULL) {
		n = strlen(user) + 1 + strlen(p->password);
		if ((pair = malloc(n + 1)) == NULL) {
			free(p);
			return NULL;
		}
		snprintf(pair, n + 1, "%s:%s", user, p->password);
		if ((p->basic = malloc(BASE64_LEN(n))) != NULL)
			base64_encode((unsigned char *)pair, n, p->basic);
		free(pair);
		if (p->basic == NULL) {
			free(p);
			return NULL;
		}
	}
	return p;
}

void
proxyd_free(struct proxyd *p)
{
	if (p == NULL)
		return;
	free(p->basic);
	free(p->head);
	free(p);
}

size_t
proxyd_room(const struct proxyd *p)
{
	return p->done ? 0 : sizeof(p->buf) - p->len;
}

/* Copy n bytes into a new reply. */
static int
reply_bytes(const void *b, size_t n, char **reply, size_t *len)
{
	if ((*reply = malloc(n > 0 ? n : 1)) == NULL)
		return -1;
	memcpy(*reply, b, n);
	*len = n;
	return 0;
}

static int
fail(struct proxyd *p, const char *why)
{
	p->why = why;
	p->done = true;
	return PROXYD_FAIL;
}

/* Add n bytes to the reply (started, or not yet: *reply NULL). */
static int
reply_append(const void *b, size_t n, char **reply, size_t *len)
{
	char *more;

	if (*reply == NULL)
		return reply_bytes(b, n, reply, len);
	if ((more = realloc(*reply, *len + n)) == NULL)
		return -1;
	memcpy(more + *len, b, n);
	*reply = more;
	*len += n;
	return 0;
}

/*
 * A failure with a reply, after what the reply already holds (a SOCKS5
 * method choice); without the memory for it, a failure all the same.
 */
static int
fail_with(struct proxyd *p, const char *why, const void *b, size_t n,
    char **reply, size_t *len)
{
	(void)reply_append(b, n, reply, len);
	return fail(p, why);
}

static int
socks4_reply(struct proxyd *p, unsigned char code, const char *why,
    char **reply, size_t *len)
{
	unsigned char r[8] = { 0, code, 0, 0, 0, 0, 0, 0 };

	return fail_with(p, why, r, sizeof(r), reply, len);
}

static int
socks5_reply(struct proxyd *p, unsigned char rep, const char *why,
    char **reply, size_t *len)
{
	unsigned char r[10] = { 5, rep, 0, 1, 0, 0, 0, 0, 0, 0 };

	return fail_with(p, why, r, sizeof(r), reply, len);
}

/* A NUL-terminated string at b[*off] of at most max bytes, in the n held. */
static int
take_cstring(const unsigned char *b, size_t n, size_t *off, size_t max,
    const char **s)
{
	const unsigned char *nul;
	size_t left = n - *off;

	if ((nul = memchr(b + *off, '\0', left)) == NULL)
		return left > max ? -1 : 0;	/* -1: too long; 0: more */
	if ((size_t)(nul - (b + *off)) > max)
		return -1;
	*s = (const char *)b + *off;
	*off = (size_t)(nul - b) + 1;
	return 1;
}

static bool
valid_host(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > PROXY_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == 0x7f || s[i] == '/' || s[i] == '@')
			return false;
	return true;
}

static void
set_target(struct proxyd *p, const char *host, size_t hostlen, int port)
{
	memcpy(p->t.host, host, hostlen);
	p->t.host[hostlen] = '\0';
	p->t.port = port;
	snprintf(p->t.portstr, sizeof(p->t.portstr), "%d", port);
	p->t.kind = p->kind;
}

/*
 * SOCKS4: VN 4, CD 1, port, IPv4 address, user id, NUL; SOCKS4a: an
 * address 0.0.0.x (x not 0) and then the host name, NUL.
 */
static int
parse_socks4(struct proxyd *p, char **reply, size_t *len)
{
	const unsigned char *b = p->buf;
	const char *userid, *name;
	char addr[INET_ADDRSTRLEN];
	size_t off = 8;
	int r;

	if (p->len < 8)
		return PROXYD_MORE;
	if (b[1] != 1)
		return socks4_reply(p, SOCKS4_REJECTED, "SOCKS4: not CONNECT",
		    reply, len);
	if ((r = take_cstring(b, p->len, &off, PROXY_NAME_MAX, &userid)) != 1)
		return r == 0 ? PROXYD_MORE : socks4_reply(p, SOCKS4_REJECTED,
		    "SOCKS4: user id too long", reply, len);
	if (p->user != NULL)
		return socks4_reply(p, SOCKS4_REJECTED,
		    "SOCKS4: authentication required", reply, len);
	if (b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] != 0) {
		if ((r = take_cstring(b, p->len, &off, PROXY_NAME_MAX,
		    &name)) != 1)
			return r == 0 ? PROXYD_MORE : socks4_reply(p,
			    SOCKS4_REJECTED, "SOCKS4a: host name too long",
			    reply, len);
		if (!valid_host(name, strlen(name)))
			return socks4_reply(p, SOCKS4_REJECTED,
			    "SOCKS4a: invalid host name", reply, len);
		set_target(p, name, strlen(name), b[2] << 8 | b[3]);
	} else {
		inet_ntop(AF_INET, b + 4, addr, sizeof(addr));
		set_target(p, addr, strlen(addr), b[2] << 8 | b[3]);
	}
	if (p->t.port == 0)
		return socks4_reply(p, SOCKS4_REJECTED, "SOCKS4: port 0",
		    reply, len);
	p->rest = off;
	p->done = true;
	return PROXYD_DONE;
}

/* SOCKS5, RFC 1928: the greeting, RFC 1929's subnegotiation, the request. */
static int
parse_socks5(struct proxyd *p, char **reply, size_t *len)
{
	const unsigned char *b = p->buf + p->used;
	size_t n = p->len - p->used, need, i;
	unsigned char choice[2] = { 5, SOCKS5_NO_METHOD }, ok[2] = { 1, 0 };
	char addr[INET6_ADDRSTRLEN];
	bool want;

	for (;;) {
		b = p->buf + p->used;
		n = p->len - p->used;
		switch (p->stage) {
		case STAGE_GREETING:
			if (n < 2 || n < 2 + (size_t)b[1])
				return PROXYD_MORE;
			want = p->user != NULL;
			for (i = 0; i < b[1]; i++)
				if (b[2 + i] == (want ? SOCKS5_USERPASS :
				    SOCKS5_NO_AUTH))
					choice[1] = want ? SOCKS5_USERPASS :
					    SOCKS5_NO_AUTH;
			if (choice[1] == SOCKS5_NO_METHOD)
				return fail_with(p, want ? "SOCKS5: client "
				    "offers no username/password" : "SOCKS5: "
				    "client needs authentication", choice, 2,
				    reply, len);
			/* The choice goes out with whatever follows. */
			if (*reply == NULL && reply_bytes(choice, 2, reply,
			    len) == -1)
				return fail(p, "out of memory");
			p->used += 2 + (size_t)b[1];
			p->stage = want ? STAGE_AUTH : STAGE_REQUEST;
			break;
		case STAGE_AUTH:
			/* VER 1, ULEN, UNAME, PLEN, PASSWD */
			if (n < 2 || n < 3 + (size_t)b[1] ||
			    n < 3 + (size_t)b[1] + b[2 + b[1]])
				return PROXYD_MORE;
			if (b[0] != 1 || strlen(p->user) != b[1] ||
			    memcmp(b + 2, p->user, b[1]) != 0 ||
			    strlen(p->password) != b[2 + b[1]] ||
			    memcmp(b + 3 + b[1], p->password, b[2 + b[1]]) != 0) {
				ok[1] = 1;
				return fail_with(p, "SOCKS5: wrong username or "
				    "password", ok, 2, reply, len);
			}
			p->used += 3 + (size_t)b[1] + b[2 + b[1]];
			p->stage = STAGE_REQUEST;
			/* After the method choice, if it came in this read. */
			if (reply_append(ok, 2, reply, len) == -1)
				return fail(p, "out of memory");
			break;
		case STAGE_REQUEST:
			/* VER 5, CMD, RSV, ATYP, DST.ADDR, DST.PORT */
			if (n < 4)
				return PROXYD_MORE;
			if (b[0] != 5)
				return socks5_reply(p, SOCKS5_FAILURE,
				    "SOCKS5: bad version in request", reply, len);
			/* CONNECT, or UDP ASSOCIATE (RFC 1928, 7). */
			if (b[1] != 1 && b[1] != 3)
				return socks5_reply(p, SOCKS5_BAD_COMMAND,
				    "SOCKS5: not CONNECT or UDP ASSOCIATE",
				    reply, len);
			switch (b[3]) {
			case 1:
				need = 4 + 4 + 2;
				break;
			case 3:
				if (n < 5)
					return PROXYD_MORE;
				need = 4 + 1 + (size_t)b[4] + 2;
				break;
			case 4:
				need = 4 + 16 + 2;
				break;
			default:
				return socks5_reply(p, SOCKS5_BAD_ATYP,
				    "SOCKS5: bad address type", reply, len);
			}
			if (n < need)
				return PROXYD_MORE;
			if (b[3] == 1) {
				inet_ntop(AF_INET, b + 4, addr, sizeof(addr));
				set_target(p, addr, strlen(addr),
				    b[need - 2] << 8 | b[need - 1]);
			} else if (b[3] == 4) {
				inet_ntop(AF_INET6, b + 4, addr, sizeof(addr));
				set_target(p, addr, strlen(addr),
				    b[need - 2] << 8 | b[need - 1]);
			} else {
				if (!valid_host((const char *)b + 5, b[4]) ||
				    memchr(b + 5, '\0', b[4]) != NULL)
					return socks5_reply(p,
					    SOCKS5_HOST_UNREACH,
					    "SOCKS5: invalid host name", reply,
					    len);
				set_target(p, (const char *)b + 5, b[4],
				    b[need - 2] << 8 | b[need - 1]);
			}
			/* An association's port 0: not known yet. */
			p->t.udp = b[1] == 3;
			if (p->t.port == 0 && !p->t.udp)
				return socks5_reply(p, SOCKS5_FAILURE,
				    "SOCKS5: port 0", reply, len);
			p->rest = p->used + need;
			p->done = true;
			return PROXYD_DONE;
		}
	}
}

/* An HTTP error reply, the connection closed after it. */
static int
http_reply(struct proxyd *p, const char *status, const char *why,
    bool auth, char **reply, size_t *len)
{
	char r[512];
	int n;

	n = snprintf(r, sizeof(r), "HTTP/1.1 %s\r\n%sContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", status, auth ?
	    "Proxy-Authenticate: Basic realm=\"sock\"\r\n" : "");
	return fail_with(p, why, r, (size_t)n, reply, len);
}

/*
 * "host:port" or "[v6addr]:port" (port optional when defport > 0) from the
 * n bytes at s. Returns 0 with the target set, or -1.
 */
static int
parse_authority(struct proxyd *p, const char *s, size_t n, int defport)
{
	const char *host = s, *end = s + n, *colon = NULL, *q;
	size_t hostlen;
	int port = 0;

	if (n > 0 && *s == '[') {
		if ((q = memchr(s, ']', n)) == NULL)
			return -1;
		host = s + 1;
		hostlen = (size_t)(q - host);
		if (q + 1 < end) {
			if (q[1] != ':')
				return -1;
			colon = q + 1;
		}
	} else {
		for (q = s; q < end; q++)
			if (*q == ':') {
				if (colon != NULL)
					return -1;
				colon = q;
			}
		hostlen = (size_t)((colon != NULL ? colon : end) - s);
	}
	if (!valid_host(host, hostlen) || memchr(host, '[', hostlen) != NULL ||
	    memchr(host, ']', hostlen) != NULL)
		return -1;
	if (colon != NULL) {
		if (colon + 1 == end || end - (colon + 1) > 5)
			return -1;
		for (q = colon + 1; q < end; q++) {
			if (*q < '0' || *q > '9')
				return -1;
			port = port * 10 + (*q - '0');
		}
	} else if ((port = defport) == 0)
		return -1;
	if (port < 1 || port > 65535)
		return -1;
	set_target(p, host, hostlen, port);
	return 0;
}

/* Does the header line (n bytes) name field (case-insensitive) ...? */
static bool
header_is(const char *line, size_t n, const char *field)
{
	size_t fl = strlen(field);

	return n > fl && line[fl] == ':' && strncasecmp(line, field, fl) == 0;
}

static bool
header_prefix(const char *line, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);

	return n >= pl && strncasecmp(line, prefix, pl) == 0;
}

/* Does this Proxy-Authorization value carry the right Basic credentials? */
static bool
basic_ok(const struct proxyd *p, const char *v, size_t n)
{
	size_t bl;

	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n < 6 || strncasecmp(v, "Basic", 5) != 0 || (v[5] != ' ' &&
	    v[5] != '\t'))
		return false;
	v += 6;
	n -= 6;
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	bl = strlen(p->basic);
	return n == bl && memcmp(v, p->basic, bl) == 0;
}

/* Append n bytes to the head being built (room was counted before). */
static void
head_add(struct proxyd *p, const char *s, size_t n)
{
	memcpy(p->head + p->headlen, s, n);
	p->headlen += n;
}

/*
 * HTTP: the head ends at an empty line. CONNECT takes an authority; any
 * other method an absolute http:// URL, sent on in origin form with the
 * Proxy-* and Connection headers taken out and Connection: close added.
 */
static int
parse_http(struct proxyd *p, char **reply, size_t *len)
{
	const char *b = (const char *)p->buf, *end, *line, *eol, *sp1, *sp2;
	const char *url, *path, *auth;
	size_t headlen, ulen, n, pathlen;
	bool authed = p->user == NULL, has_host = false;
	const char *m;

	/* The end of the head: an empty line, CRLF or a bare LF. */
	for (end = NULL, line = b; (eol = memchr(line, '\n',
	    p->len - (size_t)(line - b))) != NULL; line = eol + 1) {
		if (eol == line || (eol == line + 1 && *line == '\r')) {
			end = eol + 1;
			break;
		}
	}
	if (end == NULL)
		return p->len == sizeof(p->buf) ? http_reply(p,
		    "400 Bad Request", "HTTP: request head too large", false,
		    reply, len) : PROXYD_MORE;
	headlen = (size_t)(end - b);
	if (memchr(b, '\0', headlen) != NULL)
		return http_reply(p, "400 Bad Request", "HTTP: NUL in the head",
		    false, reply, len);

	/* The request line: method SP target SP HTTP/1.x */
	eol = memchr(b, '\n', headlen);
	n = (size_t)(eol - b);
	if (n > 0 && b[n - 1] == '\r')
		n--;
	if ((sp1 = memchr(b, ' ', n)) == NULL || sp1 == b ||
	    (sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - b))) == NULL ||
	    sp2 == sp1 + 1 || (size_t)(b + n - (sp2 + 1)) != 8 ||
	    (strncmp(sp2 + 1, "HTTP/1.1", 8) != 0 &&
	    strncmp(sp2 + 1, "HTTP/1.0", 8) != 0))
		return http_reply(p, "400 Bad Request",
		    "HTTP: malformed request line", false, reply, len);
	for (m = b; m < sp1; m++)
		if (!http_tchar((unsigned char)*m))
			return http_reply(p, "400 Bad Request",
			    "HTTP: malformed method", false, reply, len);
	url = sp1 + 1;
	ulen = (size_t)(sp2 - url);
	for (m = url; m < sp2; m++)
		if ((unsigned char)*m <= ' ' || *m == 0x7f)
			return http_reply(p, "400 Bad Request",
			    "HTTP: malformed request target", false, reply, len);

	if (sp1 - b == 7 && strncmp(b, "CONNECT", 7) == 0) {
		p->kind = PROXYD_HTTP_CONNECT;
		if (parse_authority(p, url, ulen, 0) == -1)
			return http_reply(p, "400 Bad Request",
			    "HTTP: CONNECT needs host:port", false, reply, len);
		path = NULL;
		pathlen = 0;
	} else {
		if (ulen < 7 || strncasecmp(url, "http://", 7) != 0) {
			if (ulen > 0 && *url == '/')
				return http_reply(p, "400 Bad Request",
				    "HTTP: not an absolute-form request", false,
				    reply, len);
			return http_reply(p, "405 Method Not Allowed",
			    "HTTP: only http:// URLs and CONNECT", false,
			    reply, len);
		}
		auth = url + 7;
		for (path = auth; path < sp2 && *path != '/' && *path != '?';
		    path++)
			;
		if (parse_authority(p, auth, (size_t)(path - auth), 80) == -1)
			return http_reply(p, "400 Bad Request",
			    "HTTP: bad host in URL", false, reply, len);
		pathlen = (size_t)(sp2 - path);
	}

	/*
	 * The headers: the credentials are checked, and for a plain request
	 * the head for the origin is built: never longer than twice the head
	 * that came (a bare LF becomes CRLF), plus the lines added.
	 */
	if (path != NULL && (p->head = malloc(headlen * 2 + 64 +
	    sizeof(p->t.host) + 16)) == NULL)
		return fail(p, "out of memory");
	if (path != NULL) {
		head_add(p, b, (size_t)(sp1 + 1 - b));
		if (pathlen == 0 || *path == '?')
			head_add(p, "/", 1);
		head_add(p, path, pathlen);
		head_add(p, sp2, (size_t)(b + n - sp2));
		head_add(p, "\r\n", 2);
	}
	for (line = eol + 1; line < end; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		n = (size_t)(eol - line);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break;
		if (*line == ' ' || *line == '\t' || memchr(line, ':',
		    n) == NULL)
			return http_reply(p, "400 Bad Request",
			    "HTTP: malformed header", false, reply, len);
		if (header_is(line, n, "Proxy-Authorization") && p->user !=
		    NULL && basic_ok(p, line + 20, n - 20))
			authed = true;
		if (header_is(line, n, "Host"))
			has_host = true;
		if (path == NULL || header_prefix(line, n, "Proxy-") ||
		    header_is(line, n, "Connection") ||
		    header_is(line, n, "Keep-Alive"))
			continue;
		head_add(p, line, n);
		head_add(p, "\r\n", 2);
	}
	if (!authed)
		return http_reply(p, "407 Proxy Authentication Required",
		    "HTTP: authentication required or wrong", true, reply, len);
	if (path != NULL) {
		if (!has_host) {
			char h[sizeof(p->t.host) + 16];
			int hn = snprintf(h, sizeof(h), strchr(p->t.host, ':') ?
			    "Host: [%s]:%d\r\n" : "Host: %s:%d\r\n", p->t.host,
			    p->t.port);

			head_add(p, h, (size_t)hn);
		}
		head_add(p, "Connection: close\r\n\r\n", 21);
	}
	p->rest = headlen;
	p->done = true;
	return PROXYD_DONE;
}

int
proxyd_input(struct proxyd *p, const void *buf, size_t n, char **reply,
    size_t *len)
{
	*reply = NULL;
	*len = 0;
	if (p->done || n > sizeof(p->buf) - p->len) {
		p->done = true;
		p->why = "request too large";
		return PROXYD_FAIL;
	}
	memcpy(p->buf + p->len, buf, n);
	p->len += n;
	if (p->len == 0)
		return PROXYD_MORE;
	if (p->kind == PROXYD_UNKNOWN) {
		if (p->buf[0] == 4)
			p->kind = PROXYD_SOCKS4;
		else if (p->buf[0] == 5)
			p->kind = PROXYD_SOCKS5;
		else if (p->buf[0] >= 'A' && p->buf[0] <= 'Z')
			p->kind = PROXYD_HTTP;
		else
			return fail(p, "not SOCKS4, SOCKS5 or HTTP");
	}
	switch (p->kind) {
	case PROXYD_SOCKS4:
		if (parse_socks4(p, reply, len) == PROXYD_MORE)
			return p->len == sizeof(p->buf) ? socks4_reply(p,
			    SOCKS4_REJECTED, "SOCKS4: request too large",
			    reply, len) : PROXYD_MORE;
		return p->why != NULL ? PROXYD_FAIL : PROXYD_DONE;
	case PROXYD_SOCKS5:
		if (parse_socks5(p, reply, len) == PROXYD_MORE) {
			if (p->len < sizeof(p->buf))
				return PROXYD_MORE;
			return socks5_reply(p, SOCKS5_FAILURE,
			    "SOCKS5: request too large", reply, len);
		}
		return p->why != NULL ? PROXYD_FAIL : PROXYD_DONE;
	default:
		return parse_http(p, reply, len);
	}
}

void
proxyd_target(const struct proxyd *p, struct proxyd_target *t)
{
	*t = p->t;
}

int
proxyd_forward(const struct proxyd *p, char **buf, size_t *len)
{
	size_t extra = p->len - p->rest;

	if ((*buf = malloc(p->headlen + extra + 1)) == NULL)
		return -1;
	if (p->headlen > 0)
		memcpy(*buf, p->head, p->headlen);
	memcpy(*buf + p->headlen, p->buf + p->rest, extra);
	*len = p->headlen + extra;
	return 0;
}

int
proxyd_success(const struct proxyd *p, const struct sockaddr *bound,
    socklen_t boundlen, char **reply, size_t *len)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	unsigned char r[22] = { 5, SOCKS5_OK, 0, 1 };
	const struct sockaddr_in *sin = (const struct sockaddr_in *)bound;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)bound;
	unsigned char r4[8] = { 0, SOCKS4_GRANTED };

	switch (p->kind) {
	case PROXYD_SOCKS4:
		if (bound->sa_family == AF_INET &&
		    boundlen >= sizeof(*sin)) {
			memcpy(r4 + 2, &sin->sin_port, 2);
			memcpy(r4 + 4, &sin->sin_addr, 4);
		}
		return reply_bytes(r4, sizeof(r4), reply, len);
	case PROXYD_SOCKS5:
		if (bound->sa_family == AF_INET6 &&
		    boundlen >= sizeof(*sin6)) {
			r[3] = 4;
			memcpy(r + 4, &sin6->sin6_addr, 16);
			memcpy(r + 20, &sin6->sin6_port, 2);
			return reply_bytes(r, 22, reply, len);
		}
		if (bound->sa_family == AF_INET && boundlen >= sizeof(*sin)) {
			memcpy(r + 4, &sin->sin_addr, 4);
			memcpy(r + 8, &sin->sin_port, 2);
		}
		return reply_bytes(r, 10, reply, len);
	case PROXYD_HTTP_CONNECT:
		return reply_bytes(ok, sizeof(ok) - 1, reply, len);
	default:
		return reply_bytes("", 0, reply, len);
	}
}

/* The SOCKS5 reply code for a connect's errno (RFC 1928, 6). */
static unsigned char
socks5_code(int error)
{
	switch (error) {
	case ECONNREFUSED:
		return SOCKS5_REFUSED;
	case ENETUNREACH:
	case ENETDOWN:
		return SOCKS5_NET_UNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return SOCKS5_HOST_UNREACH;
	case ETIMEDOUT:
		return SOCKS5_TTL_EXPIRED;
	case EOPNOTSUPP:
		return SOCKS5_BAD_COMMAND;
	default:
		return SOCKS5_FAILURE;
	}
}

int
proxyd_failure(const struct proxyd *p, int error, char **reply, size_t *len)
{
	unsigned char r5[10] = { 5, socks5_code(error), 0, 1 };
	unsigned char r4[8] = { 0, SOCKS4_REJECTED };
	char r[256];
	int n;

	switch (p->kind) {
	case PROXYD_SOCKS4:
		return reply_bytes(r4, sizeof(r4), reply, len);
	case PROXYD_SOCKS5:
		/* Before the request there is nothing to say it with. */
		if (p->stage != STAGE_REQUEST)
			return reply_bytes("", 0, reply, len);
		return reply_bytes(r5, sizeof(r5), reply, len);
	case PROXYD_HTTP:
	case PROXYD_HTTP_CONNECT:
		n = snprintf(r, sizeof(r), "HTTP/1.1 %s\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n", !p->done ? "408 Request Timeout" :
		    error == ETIMEDOUT ? "504 Gateway Timeout" :
		    "502 Bad Gateway");
		return reply_bytes(r, (size_t)n, reply, len);
	default:
		return reply_bytes("", 0, reply, len);
	}
}

const char *
proxyd_error(const struct proxyd *p)
{
	return p->why != NULL ? p->why : "no error";
}
