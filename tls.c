/* SPDX-License-Identifier: ISC */
/*
 * tls.c: TLS over OpenSSL 3 (tls.h): a context made once from the
 * options, and an endpoint (struct end) that carries one session over a
 * non-blocking socket, so that OpenSSL's return codes never reach the
 * relay. The parsers of --tls-pin and --tls-alpn are pure and are built
 * with TLS=no too; without HAVE_TLS, tls_ctx_new only says that TLS is
 * missing. It touches the sockets and files it is given, and never
 * prints or exits: what went wrong comes back in a why buffer.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "opts.h"
#include "end.h"
#include "net.h"
#include "tls.h"

static int
hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tls_parse_pin(const char *s, unsigned char pin[TLS_PIN_LEN], const char **why)
{
	static const char *const prefixes[] = {
		"SHA256 Fingerprint=", "SHA256:"
	};
	unsigned char out[TLS_PIN_LEN];
	size_t i, n;
	int hi, lo;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		n = strlen(prefixes[i]);
		if (strncasecmp(s, prefixes[i], n) == 0) {
			s += n;
			break;
		}
	}
	for (n = 0; n < TLS_PIN_LEN; n++) {
		if (*s == '\0') {
			*why = "too short: a SHA-256 fingerprint has 32 bytes "
			    "(64 hex digits)";
			return -1;
		}
		if ((hi = hex_value((unsigned char)s[0])) == -1 ||
		    (lo = hex_value((unsigned char)s[1])) == -1) {
			*why = "not a hex fingerprint: digits 0-9 and a-f, "
			    "in pairs, a colon after each pair optional";
			return -1;
		}
		out[n] = (unsigned char)(hi << 4 | lo);
		s += 2;
		if (*s == ':' && n + 1 < TLS_PIN_LEN)
			s++;
	}
	if (*s != '\0') {
		*why = "too long: a SHA-256 fingerprint has 32 bytes "
		    "(64 hex digits)";
		return -1;
	}
	memcpy(pin, out, TLS_PIN_LEN);
	return 0;
}

int
tls_parse_alpn(const char *s, unsigned char *out, size_t *len,
    const char **why)
{
	size_t n, off = 0, total = strlen(s);

	if (total + 1 > 65535) {
		*why = "list too long (at most 65534 bytes)";
		return -1;
	}
	for (;;) {
		n = strcspn(s, ",");
		if (n == 0) {
			*why = "empty protocol name";
			return -1;
		}
		if (n > 255) {
			*why = "protocol name longer than 255 bytes";
			return -1;
		}
		out[off++] = (unsigned char)n;
		memcpy(out + off, s, n);
		off += n;
		if (s[n] == '\0')
			break;
		s += n + 1;
	}
	*len = off;
	return 0;
}

#ifndef HAVE_TLS

int
tls_ready(char *why, size_t whylen)
{
	(void)why, (void)whylen;
	return 0;
}

struct tls_ctx *
tls_ctx_new(const struct opts *o, char *why, size_t whylen)
{
	(void)o;
	snprintf(why, whylen, "--tls: sock was built without TLS");
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *t)
{
	(void)t;
}

void
tls_ctx_describe(const struct tls_ctx *t, char *buf, size_t len)
{
	(void)t;
	if (len > 0)
		*buf = '\0';
}

int
tls_end_new(struct tls_ctx *t, struct end *e, int fd, const char *name,
    const char *host)
{
	(void)t, (void)fd, (void)name, (void)host;
	snprintf(e->why, sizeof(e->why), "sock was built without TLS");
	errno = ENOTSUP;
	return -1;
}

int
tls_handshake(struct end *e)
{
	(void)e;
	errno = ENOTSUP;
	return -1;
}

int
tls_handshake_wait(struct end *e, long long timeout_ms)
{
	(void)e, (void)timeout_ms;
	errno = ENOTSUP;
	return -1;
}

void
tls_describe_session(const struct end *e, char *buf, size_t len)
{
	(void)e;
	if (len > 0)
		*buf = '\0';
}

void
tls_describe_peer(const struct end *e, char *buf, size_t len)
{
	(void)e;
	if (len > 0)
		*buf = '\0';
}

void
tls_describe_ktls(const struct end *e, char *buf, size_t len)
{
	(void)e;
	if (len > 0)
		*buf = '\0';
}

#else /* HAVE_TLS */

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tlsload.h"

#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "sock's TLS needs OpenSSL 3; build with make TLS=no without it"
#endif

int
tls_ready(char *why, size_t whylen)
{
	return tls_load(why, whylen);
}

/*
 * What one read(2) of a TLS socket may bring: eight full records, where
 * the C library keeps a freed block that large for the next malloc
 * (glibc). The buffer is freed each time it is drained, so that an idle
 * session holds none (SSL_MODE_RELEASE_BUFFERS), and musl's malloc maps
 * and unmaps a block that large each time: there OpenSSL's least buffer,
 * a little over one record, costs less (the static build, 512 MiB over
 * loopback: CPU per GiB 2.38 -> 1.64 s up, 2.22 -> 1.62 s down; the
 * receiving end's system time about half of what it was).
 */
#ifdef __GLIBC__
#define TLS_READ_AHEAD	(8 * (16384 + 256))
#else
#define TLS_READ_AHEAD	0		/* OpenSSL's least */
#endif

/* How long the temporary certificate of a listener is valid. */
#define SELF_SIGNED_DAYS 365L

/*
 * A DTLS client without -w gives up its handshake after this long (a TCP
 * connect gives up after about two minutes; OpenSSL's own retransmission
 * timer, 1 s doubling up to 60 s, would go on for seven).
 */
#define DTLS_CONNECT_MS	60000

/* The largest datagram one DTLS record carries (RFC 6347, 2^14). */
#define DTLS_RECORD_MAX	SSL3_RT_MAX_PLAIN_LENGTH

/* What a DTLS end drops after the peer's close_notify, in one read. */
#define DTLS_DRAIN_MAX	64

struct tls_ctx {
	SSL_CTX		*ctx;
	bool		 server;
	bool		 verify;	/* a client checks chain and name */
	bool		 have_pin;
	unsigned char	 pin[TLS_PIN_LEN];
	const char	*servername;	/* --tls-servername, or NULL */
	const unsigned char *alpn;	/* --tls-alpn, wire format */
	size_t		 alpn_len;
	bool		 have_own;	/* own certificate ... */
	unsigned char	 own_fp[TLS_PIN_LEN]; /* ... and its fingerprint */
	const char	*own_file;	/* NULL: temporary, self-signed */
	bool		 dgram;		/* DTLS over UDP (-u) */
	unsigned char	 cookie_key[32]; /* DTLS listener: HMAC key of cookies */
	const struct acl *allow;	/* DTLS listener: who may complete ... */
	const struct acl *deny;		/* ... the cookie exchange */
};

struct tls_end {
	SSL		*ssl;
	struct tls_ctx	*ctx;
	bool		 close_notify_sent; /* next: shutdown(SHUT_WR) */
	bool		 want_socket;	/* what OpenSSL holds is not a whole
					   record: reading waits on rfd */
	int		 read_errno;	/* a failure met after bytes that were
					   returned: the next read's, with why */
	bool		 dgram;		/* DTLS: a record per datagram */
	bool		 listening;	/* DTLS listener before the cookie
					   exchange: the socket is unconnected */
	bool		 done;		/* the handshake is over */
	bool		 peer_closed;	/* DTLS: the peer's close_notify came */
	char		 peername[128];	/* DTLS listener: the peer, for e->name */
};

/* "SHA256:AB:CD:...:EF", the form --tls-pin takes. */
static void
format_fp(const unsigned char fp[TLS_PIN_LEN], char out[TLS_FP_TEXT])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o;

	memcpy(out, "SHA256:", 7);
	for (i = 0, o = 7; i < TLS_PIN_LEN; i++) {
		out[o++] = hex[fp[i] >> 4];
		out[o++] = hex[fp[i] & 15];
		if (i + 1 < TLS_PIN_LEN)
			out[o++] = ':';
	}
	out[o] = '\0';
}

static int
cert_fp(X509 *x, unsigned char fp[TLS_PIN_LEN])
{
	unsigned int n = 0;

	if (X509_digest(x, EVP_sha256(), fp, &n) != 1 || n != TLS_PIN_LEN)
		return -1;
	return 0;
}

/* The text of OpenSSL's first queued error, or dflt when there is none. */
static const char *
ssl_error_text(const char *dflt)
{
	const char *s;
	unsigned long e;

	if ((e = ERR_peek_error()) == 0 ||
	    (s = ERR_reason_error_string(e)) == NULL)
		return dflt;
	return s;
}

/*
 * A file option must name something readable: say so with errno's words,
 * before OpenSSL's less helpful ones.
 */
static int
check_readable(const char *opt, const char *path, bool dir_ok, char *why,
    size_t whylen)
{
	struct stat st;

	if (stat(path, &st) == -1 || access(path, R_OK) == -1) {
		snprintf(why, whylen, "%s %s: %s", opt, path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode) && !dir_ok) {
		snprintf(why, whylen, "%s %s: %s", opt, path, strerror(EISDIR));
		return -1;
	}
	return 0;
}

/*
 * A temporary self-signed certificate on a fresh P-256 key, for a listener
 * without --tls-cert: clients trust it with --tls-pin.
 */
static int
self_signed(SSL_CTX *ctx, unsigned char fp[TLS_PIN_LEN])
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	BIGNUM *bn = NULL;
	unsigned char serial[16];
	int rv = -1;

	if ((key = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		goto out;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;		/* a positive serial number */
	serial[0] |= 0x01;		/* of the full 16 bytes */
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	name = X509_get_subject_name(x);
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    SELF_SIGNED_DAYS * 86400) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"sock temporary certificate", -1, -1,
	    0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, key) != 1 ||
	    X509_sign(x, key, EVP_sha256()) == 0 ||
	    SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    cert_fp(x, fp) == -1)
		goto out;
	rv = 0;
out:
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	return rv;
}

/* A listener's --tls-alpn: the first of the client's that is also ours. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	struct tls_ctx *t = arg;
	unsigned char *sel;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, t->alpn,
	    (unsigned int)t->alpn_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* With --tls-pin, any certificate passes here: the pin is checked after. */
static int
accept_any(int ok, X509_STORE_CTX *x)
{
	(void)ok, (void)x;
	return 1;
}

static int
load_own(struct tls_ctx *t, const struct tls_opts *to, char *why,
    size_t whylen)
{
	const char *key = to->key != NULL ? to->key : to->cert;
	X509 *x;

	if (check_readable("--tls-cert", to->cert, false, why, whylen) == -1 ||
	    (to->key != NULL && check_readable("--tls-key", to->key, false,
	    why, whylen) == -1))
		return -1;
	ERR_clear_error();
	if (SSL_CTX_use_certificate_chain_file(t->ctx, to->cert) != 1) {
		snprintf(why, whylen, "--tls-cert %s: not a PEM certificate "
		    "(%s)", to->cert, ssl_error_text("unreadable"));
		return -1;
	}
	ERR_clear_error();
	if (SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH) {
		snprintf(why, whylen, "--tls-key %s does not match --tls-cert "
		    "%s", key, to->cert);
		return -1;
	}
	if (ERR_peek_error() != 0) {
		snprintf(why, whylen, "%s %s: no usable PEM private key (%s)",
		    to->key != NULL ? "--tls-key" : "--tls-cert", key,
		    ssl_error_text("unreadable"));
		return -1;
	}
	ERR_clear_error();
	if (SSL_CTX_check_private_key(t->ctx) != 1) {
		snprintf(why, whylen, "--tls-key %s does not match --tls-cert "
		    "%s", key, to->cert);
		return -1;
	}
	if ((x = SSL_CTX_get0_certificate(t->ctx)) != NULL &&
	    cert_fp(x, t->own_fp) == 0)
		t->have_own = true;
	t->own_file = to->cert;
	return 0;
}

static int
load_ca(struct tls_ctx *t, const char *ca, char *why, size_t whylen)
{
	struct stat st;
	int ok;

	if (check_readable("--tls-ca", ca, true, why, whylen) == -1 ||
	    stat(ca, &st) == -1)
		return -1;
	ERR_clear_error();
	if (S_ISDIR(st.st_mode))
		ok = SSL_CTX_load_verify_dir(t->ctx, ca);
	else
		ok = SSL_CTX_load_verify_file(t->ctx, ca);
	if (ok != 1) {
		snprintf(why, whylen, "--tls-ca %s: no PEM certificate (%s)",
		    ca, ssl_error_text("unreadable"));
		return -1;
	}
	if (t->server && !S_ISDIR(st.st_mode)) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);

		if (names != NULL)
			SSL_CTX_set_client_CA_list(t->ctx, names);
	}
	return 0;
}

/*
 * A BIO_ADDR as a sockaddr (IPv4 or IPv6: DTLS runs over UDP). Returns
 * its length, or 0 for any other family.
 */
static socklen_t
addr_from_bio(const BIO_ADDR *a, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	size_t n = 0;

	memset(ss, 0, sizeof(*ss));
	switch (BIO_ADDR_family(a)) {
	case AF_INET:
		if (BIO_ADDR_rawaddress(a, NULL, &n) != 1 ||
		    n != sizeof(sin->sin_addr) ||
		    BIO_ADDR_rawaddress(a, &sin->sin_addr, &n) != 1)
			return 0;
		sin->sin_family = AF_INET;
		sin->sin_port = BIO_ADDR_rawport(a);
		return sizeof(*sin);
	case AF_INET6:
		if (BIO_ADDR_rawaddress(a, NULL, &n) != 1 ||
		    n != sizeof(sin6->sin6_addr) ||
		    BIO_ADDR_rawaddress(a, &sin6->sin6_addr, &n) != 1)
			return 0;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = BIO_ADDR_rawport(a);
		return sizeof(*sin6);
	default:
		return 0;
	}
}

/* The sender of the datagram ssl has just read, or 0. */
static socklen_t
dgram_sender(SSL *ssl, struct sockaddr_storage *ss)
{
	BIO_ADDR *a;
	socklen_t len = 0;

	if ((a = BIO_ADDR_new()) == NULL)
		return 0;
	if (BIO_dgram_get_peer(SSL_get_rbio(ssl), a) > 0)
		len = addr_from_bio(a, ss);
	BIO_ADDR_free(a);
	return len;
}

/*
 * A DTLS cookie (RFC 6347, 4.2.1): HMAC-SHA256, under a key made at
 * start, of the sender's address and port, so that only a client that
 * receives at that address can send it back. Stateless: a flood of
 * ClientHellos from forged addresses costs one HMAC each, and is
 * answered by a HelloVerifyRequest no larger than it.
 */
static int
cookie_of(SSL *ssl, unsigned char md[EVP_MAX_MD_SIZE], unsigned int *len,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	const struct tls_end *te = SSL_get_ex_data(ssl, 0);

	if (te == NULL || (*sslen = dgram_sender(ssl, ss)) == 0)
		return -1;
	if (HMAC(EVP_sha256(), te->ctx->cookie_key,
	    (int)sizeof(te->ctx->cookie_key), (const unsigned char *)ss,
	    *sslen, md, len) == NULL)
		return -1;
	return 0;
}

static int
cookie_make(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned int n;

	if (cookie_of(ssl, md, &n, &ss, &sslen) == -1 ||
	    n > DTLS1_COOKIE_LENGTH)
		return 0;
	memcpy(cookie, md, n);
	*len = n;
	return 1;
}

/*
 * A cookie that is ours, for this sender; --allow and --deny checked on
 * the address that proved itself by sending it back.
 */
static int
cookie_check(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
	const struct tls_end *te = SSL_get_ex_data(ssl, 0);
	unsigned char md[EVP_MAX_MD_SIZE];
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned int n;

	if (cookie_of(ssl, md, &n, &ss, &sslen) == -1 || n != len ||
	    CRYPTO_memcmp(md, cookie, n) != 0)
		return 0;
	return acl_admits(te->ctx->allow, te->ctx->deny,
	    (const struct sockaddr *)&ss) ? 1 : 0;
}

/* What a TLS context over a stream socket is set to. */
static int
tls_ctx_init(struct tls_ctx *t, const struct tls_opts *to, char *why,
    size_t whylen)
{
	/*
	 * Partial writes: the relay offers what it has and keeps the rest.
	 * Released buffers: an idle session holds no record buffers (a -k
	 * listener may hold thousands). Kernel TLS where the kernel has it
	 * (the tls module): OpenSSL falls back to itself where it has not.
	 */
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(t->ctx, SSL_OP_ENABLE_KTLS);
	/*
	 * Read-ahead: several records per read(2), not two reads each (one
	 * at least, where TLS_READ_AHEAD is 0).
	 */
	SSL_CTX_set_read_ahead(t->ctx, 1);
	SSL_CTX_set_default_read_buffer_len(t->ctx, TLS_READ_AHEAD);
	if (SSL_CTX_set_min_proto_version(t->ctx, to->min_version == 13 ?
	    TLS1_3_VERSION : TLS1_2_VERSION) != 1) {
		snprintf(why, whylen, "--tls-min: %s", ssl_error_text(
		    "version not supported"));
		return -1;
	}
	return 0;
}

/*
 * What a DTLS context is set to: DTLS 1.2 only (OpenSSL 3.0 has no 1.3),
 * and on a listener the cookie exchange's key and who may pass it.
 */
static int
dtls_ctx_init(struct tls_ctx *t, const struct opts *o, char *why,
    size_t whylen)
{
	SSL_CTX_set_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_min_proto_version(t->ctx, DTLS1_2_VERSION) != 1) {
		snprintf(why, whylen, "--tls: %s", ssl_error_text(
		    "DTLS 1.2 not supported"));
		return -1;
	}
	if (!t->server)
		return 0;
	if (RAND_bytes(t->cookie_key, sizeof(t->cookie_key)) != 1) {
		snprintf(why, whylen, "--tls: no random key for DTLS cookies "
		    "(%s)", ssl_error_text("no randomness"));
		return -1;
	}
	t->allow = &o->allow;
	t->deny = &o->deny;
	SSL_CTX_set_cookie_generate_cb(t->ctx, cookie_make);
	SSL_CTX_set_cookie_verify_cb(t->ctx, cookie_check);
	return 0;
}

struct tls_ctx *
tls_ctx_new(const struct opts *o, char *why, size_t whylen)
{
	const struct tls_opts *to = &o->tls;
	struct tls_ctx *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(why, whylen, "--tls: %s", strerror(errno));
		return NULL;
	}
	t->server = o->listen;
	t->have_pin = to->have_pin;
	memcpy(t->pin, to->pin, sizeof(t->pin));
	t->servername = to->servername;
	t->alpn = to->alpn;
	t->alpn_len = to->alpn_len;
	t->verify = !t->server && !to->insecure && !to->have_pin;
	t->dgram = o->udp;
	ERR_clear_error();
	if ((t->ctx = SSL_CTX_new(t->dgram ? (t->server ?
	    DTLS_server_method() : DTLS_client_method()) : t->server ?
	    TLS_server_method() : TLS_client_method())) == NULL) {
		snprintf(why, whylen, "--tls: %s", ssl_error_text("cannot "
		    "make a TLS context"));
		goto fail;
	}
	if (t->dgram) {
		if (dtls_ctx_init(t, o, why, whylen) == -1)
			goto fail;
	} else if (tls_ctx_init(t, to, why, whylen) == -1)
		goto fail;
	SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	if (to->cert != NULL) {
		if (load_own(t, to, why, whylen) == -1)
			goto fail;
	} else if (t->server) {
		if (self_signed(t->ctx, t->own_fp) == -1) {
			snprintf(why, whylen, "--tls: cannot make a temporary "
			    "certificate: %s", ssl_error_text("unknown error"));
			goto fail;
		}
		t->have_own = true;
	}
	if (t->server) {
		/* No resumption: tickets would only be sent and never used. */
		SSL_CTX_set_num_tickets(t->ctx, 0);
		if (to->alpn != NULL)
			SSL_CTX_set_alpn_select_cb(t->ctx, alpn_select, t);
		if (to->verify_client) {
			if (load_ca(t, to->ca, why, whylen) == -1)
				goto fail;
			SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER |
			    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		} else if (to->have_pin)
			SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER |
			    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
		else
			SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	} else {
		if (to->alpn != NULL && SSL_CTX_set_alpn_protos(t->ctx,
		    to->alpn, (unsigned int)to->alpn_len) != 0) {
			snprintf(why, whylen, "--tls-alpn: %s",
			    ssl_error_text("not accepted"));
			goto fail;
		}
		if (t->verify) {
			SSL_CTX_set_default_verify_paths(t->ctx);
			if (to->ca != NULL &&
			    load_ca(t, to->ca, why, whylen) == -1)
				goto fail;
			SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
		} else
			SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	}
	return t;
fail:
	tls_ctx_free(t);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

void
tls_ctx_describe(const struct tls_ctx *t, char *buf, size_t len)
{
	char fp[TLS_FP_TEXT];

	if (!t->have_own) {
		snprintf(buf, len, "%s", "");
		return;
	}
	format_fp(t->own_fp, fp);
	if (t->own_file == NULL)
		snprintf(buf, len, "TLS certificate: %s (temporary, "
		    "self-signed)", fp);
	else
		snprintf(buf, len, "TLS certificate: %s (%s)", fp, t->own_file);
}

/*
 * Turn SSL_get_error's answer to r into the endpoint's: EAGAIN with *wait
 * set, or a failure with errno and e->why. during: the handshake is
 * still going on (its failures are told differently).
 */
static int
ssl_fail(struct end *e, int r, enum end_wait *wait, bool during)
{
	struct tls_end *te = e->impl;
	unsigned long err;
	long vr;
	int saved = errno;

	switch (SSL_get_error(te->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*wait = END_WAIT_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*wait = END_WAIT_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(e->why, sizeof(e->why), "the peer closed TLS before "
		    "the handshake was done");
		errno = ECONNABORTED;
		return -1;
	case SSL_ERROR_SYSCALL:
		if (saved != 0 && ERR_peek_error() == 0) {
			e->why[0] = '\0';
			errno = saved;
			return -1;
		}
		break;
	default:
		break;
	}
	err = ERR_peek_error();
	if (ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
	    err == 0) {
		snprintf(e->why, sizeof(e->why), during ? "the peer closed "
		    "the connection during the TLS handshake" : "connection "
		    "closed without close_notify; the tail may be missing");
		errno = ECONNABORTED;
		return -1;
	}
	vr = SSL_get_verify_result(te->ssl);
	if (ERR_GET_REASON(err) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
	    vr != X509_V_OK) {
		const char *name = te->ctx->servername != NULL ?
		    te->ctx->servername : SSL_get0_peername(te->ssl);

		if ((vr == X509_V_ERR_HOSTNAME_MISMATCH ||
		    vr == X509_V_ERR_IP_ADDRESS_MISMATCH) && name != NULL)
			snprintf(e->why, sizeof(e->why), "certificate "
			    "verification failed: %s (the certificate is not "
			    "for %s)", X509_verify_cert_error_string(vr), name);
		else
			snprintf(e->why, sizeof(e->why), "certificate "
			    "verification failed: %s",
			    X509_verify_cert_error_string(vr));
	} else
		snprintf(e->why, sizeof(e->why), "%s",
		    ssl_error_text("TLS error"));
	ERR_clear_error();
	errno = EPROTO;
	return -1;
}

/*
 * As many records as fit in buf, while OpenSSL holds them: with read-ahead
 * one read(2) brings several, and the sink gets them in one write. What
 * ends the call after some bytes (the peer's close_notify, a failure) is
 * met again by the next one.
 */
static ssize_t
tls_read(struct end *e, void *buf, size_t len)
{
	struct tls_end *te = e->impl;
	char *p = buf;
	size_t got = 0;
	int r, err;

	if (te->read_errno != 0) {
		errno = te->read_errno;
		return -1;
	}
	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	for (;;) {
		errno = 0;
		r = SSL_read(te->ssl, p + got, (int)(len - got));
		if (r <= 0)
			break;
		got += (size_t)r;
		te->want_socket = false;
		if (got == len || !SSL_has_pending(te->ssl))
			return (ssize_t)got;
	}
	err = SSL_get_error(te->ssl, r);
	te->want_socket = err == SSL_ERROR_WANT_READ;
	if (got > 0) {
		/* A failure now is told after the bytes before it. */
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE &&
		    err != SSL_ERROR_ZERO_RETURN &&
		    ssl_fail(e, r, &e->read_wait, false) == -1)
			te->read_errno = errno;
		ERR_clear_error();
		return (ssize_t)got;
	}
	if (err == SSL_ERROR_ZERO_RETURN)
		return 0;		/* close_notify: a clean end */
	return ssl_fail(e, r, &e->read_wait, false);
}

/*
 * Records until len is written or the socket is full: partial writes
 * return after each record, and the relay need not come back through
 * select for the next one.
 */
static ssize_t
tls_write(struct end *e, const void *buf, size_t len)
{
	struct tls_end *te = e->impl;
	const char *p = buf;
	size_t done = 0;
	int r;

	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	while (done < len) {
		errno = 0;
		r = SSL_write(te->ssl, p + done, (int)(len - done));
		if (r <= 0) {
			if (done > 0) {
				/*
				 * SSL_write must see the same bytes again
				 * (the rest, from p + done): the relay
				 * offers them next, its buffer may move.
				 */
				ERR_clear_error();
				return (ssize_t)done;
			}
			return ssl_fail(e, r, &e->write_wait, false);
		}
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/*
 * close_notify, then the FIN. SSL_shutdown is called until the alert is
 * out (0 or 1; 1 when the peer's came first), never again after: a second
 * call would wait for the peer's close_notify, which read reports.
 */
static int
tls_shutdown(struct end *e)
{
	struct tls_end *te = e->impl;
	int r;

	if (!te->close_notify_sent) {
		ERR_clear_error();
		errno = 0;
		if ((r = SSL_shutdown(te->ssl)) < 0)
			return ssl_fail(e, r, &e->write_wait, false);
		te->close_notify_sent = true;
	}
	if (shutdown(e->wfd, SHUT_WR) == -1 && errno != ENOTCONN) {
		e->why[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * Bytes of a decrypted record, or else whole records read ahead (1 stands
 * for them); not a record's beginning, which waits for the socket.
 */
static size_t
tls_pending(const struct end *e)
{
	const struct tls_end *te = e->impl;
	int n = SSL_pending(te->ssl);

	if (n > 0)
		return (size_t)n;
	return !te->want_socket && SSL_has_pending(te->ssl) ? 1 : 0;
}

static void
tls_free(struct end *e)
{
	struct tls_end *te = e->impl;

	if (te == NULL)
		return;
	SSL_free(te->ssl);
	free(te);
	e->impl = NULL;
}

static const struct end_ops tls_ops = {
	.read = tls_read,
	.write = tls_write,
	.shutdown = tls_shutdown,
	.pending = tls_pending,
	.free = tls_free
};

/*
 * DTLS: one record is one datagram. The peer's close_notify ends nothing
 * by itself (datagrams have no end of stream: sock(1), "Datagrams"); what
 * arrives after it is dropped.
 */
static ssize_t
dtls_read(struct end *e, void *buf, size_t len)
{
	struct tls_end *te = e->impl;
	char scrap[512];
	int r, err, i;

	e->read_wait = END_WAIT_READ;
	if (te->peer_closed) {
		for (i = 0; i < DTLS_DRAIN_MAX; i++)
			if (recv(e->rfd, scrap, sizeof(scrap), MSG_DONTWAIT) ==
			    -1)
				break;
		errno = EAGAIN;
		return -1;
	}
	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_read(te->ssl, buf, (int)len)) > 0) {
		te->want_socket = false;
		return r;
	}
	err = SSL_get_error(te->ssl, r);
	te->want_socket = err == SSL_ERROR_WANT_READ;
	if (err == SSL_ERROR_ZERO_RETURN) {
		te->peer_closed = te->want_socket = true;
		errno = EAGAIN;
		return -1;
	}
	return ssl_fail(e, r, &e->read_wait, false);
}

/* The most one record may carry: 2^14, or what the peer asked for. */
static size_t
dtls_record_max(const struct tls_end *te)
{
	SSL_SESSION *ss = SSL_get_session(te->ssl);
	uint8_t mfl;

	if (ss != NULL && (mfl = SSL_SESSION_get_max_fragment_length(ss)) >=
	    TLSEXT_max_fragment_length_512 &&
	    mfl <= TLSEXT_max_fragment_length_4096)
		return (size_t)512 << (mfl - TLSEXT_max_fragment_length_512);
	return DTLS_RECORD_MAX;
}

/* A datagram as one record, whole or not at all: never split. */
static ssize_t
dtls_write(struct end *e, const void *buf, size_t len)
{
	struct tls_end *te = e->impl;
	size_t most = dtls_record_max(te);
	int r;

	if (len == 0)
		return 0;
	if (len > most) {
		snprintf(e->why, sizeof(e->why), "a datagram of %zu bytes does "
		    "not fit in a DTLS record (at most %zu bytes%s)", len,
		    most, most < DTLS_RECORD_MAX ? ", the peer's maximum "
		    "fragment length" : "");
		errno = EMSGSIZE;
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_write(te->ssl, buf, (int)len)) > 0)
		return (ssize_t)len;
	return ssl_fail(e, r, &e->write_wait, false);
}

/* close_notify, once, after a handshake; a datagram socket has no FIN. */
static int
dtls_shutdown(struct end *e)
{
	struct tls_end *te = e->impl;
	int r;

	if (!te->done || te->close_notify_sent)
		return 0;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_shutdown(te->ssl)) < 0)
		return ssl_fail(e, r, &e->write_wait, false);
	te->close_notify_sent = true;
	return 0;
}

static const struct end_ops dtls_ops = {
	.read = dtls_read,
	.write = dtls_write,
	.shutdown = dtls_shutdown,
	.pending = tls_pending,
	.free = tls_free
};

/* Tell the datagram BIO b that its socket is connected to sa. */
static int
dgram_connected(BIO *b, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	BIO_ADDR *a;
	int ok;

	if ((a = BIO_ADDR_new()) == NULL)
		return -1;
	if (sa->sa_family == AF_INET)
		ok = BIO_ADDR_rawmake(a, AF_INET, &sin->sin_addr,
		    sizeof(sin->sin_addr), sin->sin_port);
	else if (sa->sa_family == AF_INET6)
		ok = BIO_ADDR_rawmake(a, AF_INET6, &sin6->sin6_addr,
		    sizeof(sin6->sin6_addr), sin6->sin6_port);
	else
		ok = 0;
	if (ok == 1)
		(void)BIO_ctrl_set_connected(b, a);
	BIO_ADDR_free(a);
	return ok == 1 ? 0 : -1;
}

/*
 * DTLS on fd, a UDP socket: connected (a client's, or a listener's
 * once the cookie exchange is done), or a listener's unconnected one, on
 * which the handshake starts with the cookie exchange.
 */
static int
dtls_end_init(struct tls_end *te, struct end *e, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	BIO *b;

	te->dgram = true;
	e->ops = &dtls_ops;
	if (SSL_set_ex_data(te->ssl, 0, te) != 1 ||
	    (b = BIO_new_dgram(fd, BIO_NOCLOSE)) == NULL) {
		snprintf(e->why, sizeof(e->why), "%s",
		    ssl_error_text("cannot start DTLS"));
		return -1;
	}
	SSL_set_bio(te->ssl, b, b);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1) {
		if (errno != ENOTCONN || !te->ctx->server) {
			snprintf(e->why, sizeof(e->why), "%s", strerror(errno));
			return -1;
		}
		te->listening = true;
		return 0;
	}
	if (dgram_connected(b, (struct sockaddr *)&ss) == -1) {
		snprintf(e->why, sizeof(e->why), "DTLS runs over UDP only");
		return -1;
	}
	return 0;
}

static bool
is_ip_literal(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

int
tls_end_new(struct tls_ctx *t, struct end *e, int fd, const char *name,
    const char *host)
{
	struct tls_end *te;
	const char *check = t->servername != NULL ? t->servername : host;
	bool ok = true;

	memset(e, 0, sizeof(*e));
	e->ops = &tls_ops;
	e->rfd = e->wfd = fd;
	e->read_wait = END_WAIT_READ;
	e->write_wait = END_WAIT_WRITE;
	e->raw = false;
	e->fail_status = EXIT_NET;
	e->name = name;
	if ((te = calloc(1, sizeof(*te))) == NULL) {
		snprintf(e->why, sizeof(e->why), "%s", strerror(errno));
		return -1;
	}
	te->ctx = t;
	ERR_clear_error();
	if ((te->ssl = SSL_new(t->ctx)) == NULL || (!t->dgram &&
	    SSL_set_fd(te->ssl, fd) != 1)) {
		snprintf(e->why, sizeof(e->why), "%s",
		    ssl_error_text("cannot start TLS"));
		SSL_free(te->ssl);
		free(te);
		return -1;
	}
	e->impl = te;
	if (t->dgram && dtls_end_init(te, e, fd) == -1) {
		tls_free(e);
		return -1;
	}
	if (t->server) {
		SSL_set_accept_state(te->ssl);
		return 0;
	}
	SSL_set_connect_state(te->ssl);
	if (check == NULL && t->verify) {
		snprintf(e->why, sizeof(e->why), "no host name to verify");
		tls_free(e);
		return -1;
	}
	if (check != NULL && is_ip_literal(check)) {
		/* No SNI for an address (RFC 6066); the address is checked. */
		if (t->verify)
			ok = X509_VERIFY_PARAM_set1_ip_asc(
			    SSL_get0_param(te->ssl), check) == 1;
	} else if (check != NULL) {
		ok = SSL_set_tlsext_host_name(te->ssl, check) == 1;
		if (ok && t->verify) {
			SSL_set_hostflags(te->ssl,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			ok = SSL_set1_host(te->ssl, check) == 1;
		}
	}
	if (!ok) {
		snprintf(e->why, sizeof(e->why), "cannot verify the name "
		    "\"%s\": %s", check, ssl_error_text("invalid"));
		tls_free(e);
		return -1;
	}
	return 0;
}

/* After the handshake: the peer's certificate must match --tls-pin. */
static int
check_pin(struct end *e)
{
	struct tls_end *te = e->impl;
	unsigned char fp[TLS_PIN_LEN];
	char got[TLS_FP_TEXT], want[TLS_FP_TEXT];
	X509 *peer;

	if (!te->ctx->have_pin)
		return 0;
	format_fp(te->ctx->pin, want);
	if ((peer = SSL_get0_peer_certificate(te->ssl)) == NULL ||
	    cert_fp(peer, fp) == -1) {
		snprintf(e->why, sizeof(e->why), "pin mismatch: the peer sent "
		    "no certificate; --tls-pin %s", want);
		errno = EPROTO;
		return -1;
	}
	if (CRYPTO_memcmp(fp, te->ctx->pin, TLS_PIN_LEN) != 0) {
		format_fp(fp, got);
		snprintf(e->why, sizeof(e->why), "pin mismatch: peer "
		    "certificate %s, --tls-pin %s", got, want);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

/*
 * A DTLS listener's cookie exchange (DTLSv1_listen, stateless): once a
 * ClientHello comes back with a good cookie, the socket is connected to
 * its sender, the one peer from then on. Returns 0 then, or -1 as
 * tls_handshake does.
 */
static int
dtls_listen(struct end *e)
{
	struct tls_end *te = e->impl;
	struct sockaddr_storage ss;
	socklen_t len;
	BIO_ADDR *a;
	int r;

	if ((a = BIO_ADDR_new()) == NULL) {
		snprintf(e->why, sizeof(e->why), "%s", strerror(ENOMEM));
		errno = ENOMEM;
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	if ((r = DTLSv1_listen(te->ssl, a)) <= 0) {
		BIO_ADDR_free(a);
		if (r == 0) {
			e->read_wait = e->write_wait = END_WAIT_READ;
			errno = EAGAIN;
			return -1;
		}
		snprintf(e->why, sizeof(e->why), "DTLS cookie exchange: %s",
		    ssl_error_text("failed"));
		errno = EPROTO;
		return -1;
	}
	len = addr_from_bio(a, &ss);
	if (len == 0 || connect(e->rfd, (struct sockaddr *)&ss, len) == -1 ||
	    dgram_connected(SSL_get_rbio(te->ssl), (struct sockaddr *)&ss) ==
	    -1) {
		snprintf(e->why, sizeof(e->why), "connect to the DTLS client: "
		    "%s", len == 0 ? "not an IP address" : strerror(errno));
		BIO_ADDR_free(a);
		errno = EPROTO;
		return -1;
	}
	BIO_ADDR_free(a);
	format_addr((struct sockaddr *)&ss, len, te->peername,
	    sizeof(te->peername));
	e->name = te->peername;
	te->listening = false;
	return 0;
}

int
tls_handshake(struct end *e)
{
	struct tls_end *te = e->impl;
	int r;

	if (te->listening && dtls_listen(e) == -1)
		return -1;
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(te->ssl)) == 1) {
		e->read_wait = END_WAIT_READ;
		e->write_wait = END_WAIT_WRITE;
		te->done = true;
		return check_pin(e);
	}
	if (ssl_fail(e, r, &e->read_wait, true) == -1 && errno == EAGAIN)
		e->write_wait = e->read_wait;
	return -1;
}

/*
 * When DTLS retransmits its last flight if no answer has come (OpenSSL's
 * timer, which the caller drives), or -1.
 */
static long long
dtls_timer(const struct end *e)
{
	const struct tls_end *te = e->impl;
	struct timeval tv;

	if (!te->dgram || te->listening ||
	    DTLSv1_get_timeout(te->ssl, &tv) != 1)
		return -1;
	return now_ms() + (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int
tls_handshake_wait(struct end *e, long long timeout_ms)
{
	struct tls_end *te = e->impl;
	long long deadline, wake, timer;

	if (te->dgram && !te->ctx->server && timeout_ms < 0)
		timeout_ms = DTLS_CONNECT_MS;
	deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
	for (;;) {
		if (tls_handshake(e) == 0)
			return 0;
		if (errno != EAGAIN)
			return -1;
		timer = dtls_timer(e);
		wake = timer >= 0 && (deadline < 0 || timer < deadline) ?
		    timer : deadline;
		if (wait_fd(e->rfd, e->read_wait != END_WAIT_READ,
		    wake) == 0)
			continue;
		/* DTLS: a flight lost on the way is sent again. */
		if (errno == ETIMEDOUT && wake == timer && wake != deadline) {
			ERR_clear_error();
			if (DTLSv1_handle_timeout(te->ssl) >= 0)
				continue;
			snprintf(e->why, sizeof(e->why), "%s",
			    ssl_error_text("DTLS retransmission failed"));
			errno = EPROTO;
			return -1;
		}
		/* ETIMEDOUT when the time is out. */
		e->why[0] = '\0';
		return -1;
	}
}

void
tls_describe_session(const struct end *e, char *buf, size_t len)
{
	const struct tls_end *te = e->impl;
	const unsigned char *alpn = NULL;
	unsigned int alen = 0;

	SSL_get0_alpn_selected(te->ssl, &alpn, &alen);
	if (alpn == NULL || alen == 0) {
		alpn = (const unsigned char *)"none";
		alen = 4;
	}
	snprintf(buf, len, "TLS session: %s, cipher %s, ALPN %.*s",
	    SSL_get_version(te->ssl), SSL_get_cipher_name(te->ssl),
	    (int)alen, (const char *)alpn);
	/* The peer chose the ALPN name: show no control bytes of it. */
	for (; *buf != '\0'; buf++)
		if ((unsigned char)*buf < 0x20 || (unsigned char)*buf >= 0x7f)
			*buf = '?';
}

/* Whether this kernel offers the tls upper layer protocol (module tls). */
static bool
kernel_has_tls(void)
{
	char line[256], *w;
	FILE *f;
	bool yes = false;

	if ((f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r")) == NULL)
		return false;
	if (fgets(line, sizeof(line), f) != NULL)
		for (w = strtok(line, " \n"); w != NULL; w = strtok(NULL, " \n"))
			if (strcmp(w, "tls") == 0)
				yes = true;
	fclose(f);
	return yes;
}

void
tls_describe_ktls(const struct end *e, char *buf, size_t len)
{
	const struct tls_end *te = e->impl;
	bool tx, rx;

	if (te->dgram) {
		snprintf(buf, len, "kernel TLS: off (DTLS; OpenSSL encrypts)");
		return;
	}
	/* An OpenSSL built without kernel TLS makes these constants. */
	tx = BIO_get_ktls_send(SSL_get_wbio(te->ssl));
	rx = BIO_get_ktls_recv(SSL_get_rbio(te->ssl));
	if (tx || rx)
		snprintf(buf, len, "kernel TLS: send %s, receive %s",
		    tx ? "on" : "off", rx ? "on" : "off");
	else if (!kernel_has_tls())
		snprintf(buf, len, "kernel TLS: off (the kernel has no tls "
		    "module; OpenSSL encrypts)");
	else
		snprintf(buf, len, "kernel TLS: off (not for this session's "
		    "version or cipher; OpenSSL encrypts)");
}

void
tls_describe_peer(const struct end *e, char *buf, size_t len)
{
	const struct tls_end *te = e->impl;
	unsigned char fp[TLS_PIN_LEN];
	char fps[TLS_FP_TEXT], subj[160];
	X509 *peer;
	BIO *bio;
	int n;
	char *p;

	if ((peer = SSL_get0_peer_certificate(te->ssl)) == NULL ||
	    cert_fp(peer, fp) == -1) {
		snprintf(buf, len, "TLS peer certificate: none");
		return;
	}
	format_fp(fp, fps);
	subj[0] = '\0';
	if ((bio = BIO_new(BIO_s_mem())) != NULL) {
		X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0,
		    XN_FLAG_RFC2253);
		n = BIO_read(bio, subj, sizeof(subj) - 1);
		subj[n > 0 ? n : 0] = '\0';
		BIO_free(bio);
	}
	for (p = subj; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '"')
			*p = '?';
	snprintf(buf, len, "TLS peer certificate: %s, subject \"%s\"", fps,
	    subj);
}

#endif /* HAVE_TLS */
