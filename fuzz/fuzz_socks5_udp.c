/* SPDX-License-Identifier: ISC */
/*
 * The SOCKS5 UDP header parser (socks5udp.c), which reads every datagram
 * a proxy's relay (-u -x) or an association's client (--proxy-server)
 * sends. Checked: a verdict is a header length within the datagram or
 * one of the SOCKS5_UDP_* codes; a header that parses is made again, byte
 * for byte, by socks5_udp_make (a name's unprintable bytes aside), and
 * parses back to the same address; the bytes after the header change
 * nothing; a name is NUL-terminated at its length.
 */
#include "fuzz.h"
#include "../proxy.h"
#include "../socks5udp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct socks5_addr a, b;
	unsigned char out[SOCKS5_UDP_HDR_MAX];
	char shown[300];
	size_t len, i;
	int rv, rv2, frag, frag2;

	rv = socks5_udp_parse(data, size, &a, &frag);
	CHECK(rv == SOCKS5_UDP_SHORT || rv == SOCKS5_UDP_RSV ||
	    rv == SOCKS5_UDP_ATYP || (rv >= 7 && (size_t)rv <= size &&
	    rv <= SOCKS5_UDP_HDR_MAX));
	CHECK(strlen(socks5_udp_strerror(rv)) > 0);
	if (rv < 0)
		return 0;
	CHECK(frag == data[2]);
	CHECK(a.port == (data[rv - 2] << 8 | data[rv - 1]));
	/* What follows the header is data, not the parser's. */
	rv2 = socks5_udp_parse(data, (size_t)rv, &b, &frag2);
	CHECK(rv2 == rv && frag2 == frag && socks5_addr_equal(&a, &b));
	/* One byte less is short. */
	CHECK(socks5_udp_parse(data, (size_t)rv - 1, &b, &frag2) ==
	    SOCKS5_UDP_SHORT);
	if (a.atyp == SOCKS5_ATYP_DOMAIN) {
		CHECK(a.namelen == data[4] && a.name[a.namelen] == '\0');
		for (i = 0; i < a.namelen; i++)
			CHECK(a.name[i] > ' ' && a.name[i] < 0x7f);
	}
	len = socks5_udp_make(&a, out);
	CHECK(len == (size_t)rv);
	CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == data[3]);
	if (a.atyp != SOCKS5_ATYP_DOMAIN)
		CHECK(memcmp(out + 3, data + 3, len - 3) == 0);
	CHECK(socks5_udp_parse(out, len, &b, &frag2) == rv && frag2 == 0 &&
	    socks5_addr_equal(&a, &b));
	socks5_addr_format(&a, shown, sizeof(shown));
	CHECK(memchr(shown, '\0', sizeof(shown)) != NULL);
	return 0;
}
