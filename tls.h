/* SPDX-License-Identifier: ISC */
/*
 * tls.c: TLS over OpenSSL 3, and DTLS 1.2 over UDP (-u), (with TLS=no,
 * only the parsers, and a tls_ctx_new that says "built without TLS").
 * Nothing here prints or exits; nothing of OpenSSL is touched before
 * tls_ctx_new.
 */
#ifndef TLS_H
#define TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "opts.h"

struct end;

/*
 * Make OpenSSL usable, once, before tls_ctx_new (a build with
 * TLS_LINK=dlopen opens libssl.so.3 here: tlsload.c; other builds have
 * nothing to do). Returns 0, or -1 with why naming the library and the
 * reason.
 */
int	tls_ready(char *why, size_t whylen);

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
 *
 * With a DTLS context (-u), fd is a non-blocking UDP socket and e a DTLS
 * endpoint: a record per datagram, read and written whole. A listener's
 * socket may be unconnected: the handshake then starts with the cookie
 * exchange and connects fd to the client that passes it (e->name then
 * names that client).
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
 * The handshake to its end, waiting at most timeout_ms (-1: no limit;
 * for a DTLS client, 60 s). DTLS flights that get no answer are sent
 * again on OpenSSL's timer, run here. Returns 0, or -1 as tls_handshake
 * does, with errno ETIMEDOUT when the time ran out (the caller exits 3).
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

#endif /* TLS_H */
