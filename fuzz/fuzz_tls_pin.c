/* SPDX-License-Identifier: ISC */
/*
 * tls_parse_pin (--tls-pin): 32 bytes or an error, never a read past the
 * string. A fingerprint accepted is accepted again in the form sock prints
 * (SHA256: and colons), in lower case and without colons, with the same
 * bytes.
 */
#include <ctype.h>

#include "fuzz.h"
#include "../tls.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char pin[TLS_PIN_LEN], again[TLS_PIN_LEN];
	char *s = fuzz_cstr(data, size), text[TLS_FP_TEXT], bare[65];
	const char *why = NULL;
	size_t i, o;

	memset(pin, 0xa5, sizeof(pin));
	if (tls_parse_pin(s, pin, &why) == -1) {
		CHECK(why != NULL && *why != '\0');
		for (i = 0; i < TLS_PIN_LEN; i++)
			CHECK(pin[i] == 0xa5);
		free(s);
		return 0;
	}
	memcpy(text, "SHA256:", 7);
	for (i = 0, o = 7; i < TLS_PIN_LEN; i++) {
		text[o++] = hex[pin[i] >> 4];
		text[o++] = hex[pin[i] & 15];
		bare[2 * i] = (char)tolower((unsigned char)hex[pin[i] >> 4]);
		bare[2 * i + 1] = (char)tolower((unsigned char)hex[pin[i] & 15]);
		if (i + 1 < TLS_PIN_LEN)
			text[o++] = ':';
	}
	text[o] = '\0';
	bare[64] = '\0';
	CHECK(tls_parse_pin(text, again, &why) == 0);
	CHECK(memcmp(pin, again, TLS_PIN_LEN) == 0);
	CHECK(tls_parse_pin(text + 7, again, &why) == 0);
	CHECK(memcmp(pin, again, TLS_PIN_LEN) == 0);
	CHECK(tls_parse_pin(bare, again, &why) == 0);
	CHECK(memcmp(pin, again, TLS_PIN_LEN) == 0);
	free(s);
	return 0;
}
