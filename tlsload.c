/* SPDX-License-Identifier: ISC */
/*
 * tlsload.c: tls_load, OpenSSL at run time (tlsload.h says why). With
 * TLS_LINK=direct (the static build, and systems without dlopen) the
 * libraries are linked as usual and there is nothing to load.
 *
 * dlopen rather than a static OpenSSL: a distribution's sock must get
 * OpenSSL's security fixes with the library's package, without a rebuild.
 */
#include <stddef.h>
#include <stdio.h>

#if defined(HAVE_TLS) && defined(TLS_DLOPEN)

#include <dlfcn.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TLSLOAD_IMPL
#include "tlsload.h"

/* The library, by the name of OpenSSL 3's ABI (libcrypto comes with it). */
#ifndef TLS_LIBSSL
#define TLS_LIBSSL	"libssl.so.3"
#endif

struct tls_api tls_api;

int
tls_load(char *why, size_t whylen)
{
	/* The handle is kept for the life of the process: never dlclose. */
	static void *lib;
	const char *sym = NULL;
	void *h;

	if (lib != NULL)
		return 0;
	if ((h = dlopen(TLS_LIBSSL, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(why, whylen, "--tls needs %s (OpenSSL 3): %s",
		    TLS_LIBSSL, dlerror());
		return -1;
	}
	/* The handle's lookups cover libcrypto, a dependency of libssl. */
#define TLS_API_LOAD(f) \
	if (sym == NULL && (tls_api.f = (__typeof__(tls_api.f))dlsym(h, \
	    #f)) == NULL) \
		sym = #f;
	TLS_API(TLS_API_LOAD)
#undef TLS_API_LOAD
	if (sym != NULL) {
		snprintf(why, whylen, "--tls needs %s (OpenSSL 3): %s has "
		    "no %s", TLS_LIBSSL, TLS_LIBSSL, sym);
		return -1;
	}
	lib = h;
	return 0;
}

#else

#include "tlsload.h"

int
tls_load(char *why, size_t whylen)
{
	(void)why, (void)whylen;
	return 0;
}

#endif
