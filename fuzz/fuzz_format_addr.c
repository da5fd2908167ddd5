/* SPDX-License-Identifier: ISC */
/*
 * format_addr and addr_port on arbitrary socket address bytes. The
 * address lives in a heap block of exactly salen bytes, so that any read
 * past the length is caught; salen is whatever the contract allows: what
 * accept, getsockname or recvfrom can return for the family (at least a
 * whole sockaddr_in or sockaddr_in6 for IPv4 and IPv6, 2 to
 * sizeof(sockaddr_un) bytes for Unix, at least the family field for any
 * other). The output buffers are also exactly as long as the fuzzer says,
 * 0 bytes included.
 *
 * Input: byte 0 picks the family (Unix, IPv4, IPv6, or the raw bytes'
 * own), byte 1 the address length beyond the minimum, byte 2 the
 * format_addr buffer length, byte 3 the addr_port host buffer length;
 * the rest are the address bytes (zero-filled if short).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>

#include "fuzz.h"
#include "../net.h"

/* Does buf (len bytes) hold a C string, as snprintf leaves it? */
static bool
terminated(const char *buf, size_t len)
{
	return len == 0 || memchr(buf, '\0', len) != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	struct sockaddr *sa;
	sa_family_t family;
	socklen_t salen, min, max;
	size_t len, hostlen;
	char *buf, *host, full[256], want[sizeof(full)];
	struct in_addr a4;
	struct in6_addr a6;
	char *scope;
	int port = -1, rv;

	if (size < 4)
		return 0;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, data + 4, size - 4 < sizeof(ss) ? size - 4 : sizeof(ss));
	switch (data[0] % 4) {
	case 0:
		family = AF_UNIX;
		break;
	case 1:
		family = AF_INET;
		break;
	case 2:
		family = AF_INET6;
		break;
	default:
		family = ss.ss_family;
	}
	ss.ss_family = family;
	switch (family) {
	case AF_INET:
		min = max = sizeof(struct sockaddr_in);
		break;
	case AF_INET6:
		min = max = sizeof(struct sockaddr_in6);
		break;
	case AF_UNIX:
		min = sizeof(sa_family_t);
		max = sizeof(struct sockaddr_un);
		break;
	default:
		min = sizeof(sa_family_t);
		max = sizeof(ss);
	}
	salen = min + data[1] % (max - min + 1);
	len = data[2];
	hostlen = data[3] % (ADDR_STRLEN + 8);

	if ((sa = malloc(salen)) == NULL ||
	    (buf = malloc(len)) == NULL ||
	    (host = malloc(hostlen)) == NULL)
		abort();
	memcpy(sa, &ss, salen);

	memset(buf, 'x', len);
	format_addr(sa, salen, buf, len);
	CHECK(terminated(buf, len));
	/* A generous buffer: the whole text, and its shape. */
	format_addr(sa, salen, full, sizeof(full));
	CHECK(strlen(full) > 0 && strlen(full) < sizeof(full));
	if (len > 0)
		CHECK(strncmp(buf, full, len - 1) == 0);

	memset(host, 'x', hostlen);
	rv = addr_port(sa, salen, host, hostlen, &port);
	if (rv == 0) {
		CHECK(family == AF_INET || family == AF_INET6);
		CHECK(terminated(host, hostlen) && hostlen > 0);
		CHECK(port >= 0 && port <= 65535);
		/*
		 * The host is a numeric address; IPv4-mapped shows as IPv4;
		 * an IPv6 address with a scope ID shows it after a '%'.
		 */
		if (inet_pton(AF_INET, host, &a4) != 1) {
			scope = strchr(host, '%');
			CHECK((scope != NULL) == (family == AF_INET6 &&
			    ((struct sockaddr_in6 *)(void *)sa)->sin6_scope_id
			    != 0));
			if (scope != NULL) {
				CHECK(scope[1] != '\0');
				*scope = '\0';
			}
			CHECK(inet_pton(AF_INET6, host, &a6) == 1 &&
			    !IN6_IS_ADDR_V4MAPPED(&a6));
			if (scope != NULL)
				*scope = '%';
		}
		snprintf(want, sizeof(want), "%s port %d", host, port);
		CHECK(strcmp(full, want) == 0);
	} else {
		CHECK(rv == -1);
		if (family == AF_INET || family == AF_INET6)
			/* Only a buffer too small for the text fails. */
			CHECK(hostlen < ADDR_STRLEN);
	}
	if (family == AF_UNIX) {
		const char *path = ((struct sockaddr_un *)(void *)sa)->sun_path;
		size_t plen = salen - sizeof(sa_family_t);

		if (plen == 0 || path[0] == '\0')
			CHECK(strcmp(full, "(unnamed)") == 0);
		else
			CHECK(strlen(full) == strnlen(path, plen) &&
			    strncmp(full, path, strlen(full)) == 0);
	} else if (family != AF_INET && family != AF_INET6)
		CHECK(strcmp(full, "(unknown address)") == 0);
	free(host);
	free(buf);
	free(sa);
	return 0;
}
