/* SPDX-License-Identifier: ISC */
/*
 * tls_parse_alpn (--tls-alpn): the wire format takes exactly strlen + 1
 * bytes, every name is 1-255 bytes, and decoding it gives the input back
 * (length bytes turned into commas).
 */
#include "fuzz.h"
#include "../tls.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *back;
	unsigned char *wire;
	const char *why = NULL;
	size_t len = 0, off, n, o = 0, slen = strlen(s);

	if ((wire = malloc(slen + 1)) == NULL)
		abort();
	if (tls_parse_alpn(s, wire, &len, &why) == -1) {
		CHECK(why != NULL && *why != '\0');
		free(wire);
		free(s);
		return 0;
	}
	CHECK(len == slen + 1);
	if ((back = malloc(len)) == NULL)
		abort();
	for (off = 0; off < len; off += n) {
		n = wire[off++];
		CHECK(n >= 1 && n <= 255 && off + n <= len);
		if (o > 0)
			back[o++] = ',';
		memcpy(back + o, wire + off, n);
		o += n;
	}
	CHECK(o == slen && memcmp(back, s, slen) == 0);
	free(back);
	free(wire);
	free(s);
	return 0;
}
