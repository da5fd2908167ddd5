/* SPDX-License-Identifier: ISC */
/*
 * sources_take and sources_give (--max-conns-per-source), against a plain
 * array of counts: each input byte takes or gives one of 512 addresses
 * (IPv4, their IPv4-mapped IPv6 form, and IPv6), under a limit of 3.
 * Checked: take succeeds exactly when the model's count is under the
 * limit; an IPv4 address and its mapped form share a count; every count
 * agrees with the model after every step (so deletions never lose an
 * entry of the table).
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sources.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NADDR	256	/* distinct addresses; each byte picks one */
#define LIMIT	3

static void
contract(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "contract violated: %s\n", what);
		abort();
	}
}

/* Address n (0-255) in form v (0: IPv4, 1: mapped, 2: IPv6 n+256). */
static void
address(int n, int v, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (v == 0) {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(0x0a000000u | (uint32_t)n * 7919);
		return;
	}
	sin6->sin6_family = AF_INET6;
	if (v == 1) {
		sin6->sin6_addr.s6_addr[10] = sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], &(uint32_t){
		    htonl(0x0a000000u | (uint32_t)n * 7919) }, 4);
	} else {
		sin6->sin6_addr.s6_addr[0] = 0x20;
		sin6->sin6_addr.s6_addr[15] = (uint8_t)n;
		sin6->sin6_addr.s6_addr[7] = (uint8_t)(n * 31);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int model[2 * NADDR];
	struct sources t = { 0 };
	struct sockaddr_storage ss;
	size_t i;
	int n, v, key, rv, k;

	memset(model, 0, sizeof(model));
	for (i = 0; i + 1 < size; i += 2) {
		n = data[i];
		v = data[i + 1] % 3;
		key = v == 2 ? NADDR + n : n;	/* IPv4 and mapped: one */
		address(n, v, &ss);
		if (data[i + 1] & 0x80) {
			sources_give(&t, (struct sockaddr *)&ss);
			if (model[key] > 0)
				model[key]--;
		} else {
			rv = sources_take(&t, (struct sockaddr *)&ss, LIMIT);
			contract((rv == 0) == (model[key] < LIMIT),
			    "take admits exactly under the limit");
			contract(rv == 0 || errno == EBUSY, "errno EBUSY");
			if (rv == 0)
				model[key]++;
		}
		for (k = 0; k < 2 * NADDR; k += 17) {
			address(k % NADDR, k < NADDR ? 0 : 2, &ss);
			contract(sources_count(&t, (struct sockaddr *)&ss) ==
			    model[k], "every count agrees with the model");
		}
		contract(sources_count(&t, (struct sockaddr *)&ss) >= 0,
		    "counts are never negative");
	}
	for (k = 0; k < 2 * NADDR; k++) {
		address(k % NADDR, k < NADDR ? 0 : 2, &ss);
		contract(sources_count(&t, (struct sockaddr *)&ss) == model[k],
		    "every count agrees at the end");
	}
	sources_free(&t);
	return 0;
}
