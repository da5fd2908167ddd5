/* SPDX-License-Identifier: ISC */
/*
 * socks.h: the numbers of the SOCKS protocols, nothing else: what the
 * proxy client, the proxy server and the UDP association all speak.
 */
#ifndef SOCKS_H
#define SOCKS_H

/*
 * SOCKS4 (no RFC; the protocol's own text) and SOCKS5 (RFC 1928, 1929),
 * for the client (proxy.c), the server (proxyd.c) and the datagrams of
 * a UDP association (socks5udp.c).
 */
#define SOCKS4_REPLY_LEN 8
enum {
	SOCKS4_GRANTED = 90,
	SOCKS4_REJECTED = 91,
	SOCKS4_NO_IDENTD = 92,
	SOCKS4_BAD_USER = 93,
	SOCKS5_NO_AUTH = 0x00,
	SOCKS5_USERPASS = 0x02,
	SOCKS5_NO_METHOD = 0xff,
	SOCKS5_ATYP_IPV4 = 1,
	SOCKS5_ATYP_DOMAIN = 3,
	SOCKS5_ATYP_IPV6 = 4,
	SOCKS5_OK = 0x00,
	SOCKS5_FAILURE = 0x01,
	SOCKS5_NOT_ALLOWED = 0x02,
	SOCKS5_NET_UNREACH = 0x03,
	SOCKS5_HOST_UNREACH = 0x04,
	SOCKS5_REFUSED = 0x05,
	SOCKS5_TTL_EXPIRED = 0x06,
	SOCKS5_BAD_COMMAND = 0x07,
	SOCKS5_BAD_ATYP = 0x08
};

#endif
