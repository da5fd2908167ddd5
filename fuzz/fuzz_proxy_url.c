/* SPDX-License-Identifier: ISC */
/*
 * parse_proxy_url (-x [type://][user@]host[:port]). Checked: a hop that
 * parses has a host of 1-255 bytes without blanks, '@', '/' or brackets,
 * a user of at most 255 bytes without ':', a port 0-65535; written back
 * in the same form, it parses to the same hop; a failure says why.
 */
#include "fuzz.h"
#include "../proxy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), why[PROXY_WHY_MAX], back[700];
	struct proxy_hop h, h2;
	size_t i;
	int rv;

	why[0] = '\0';
	rv = parse_proxy_url(s, &h, why, sizeof(why));
	CHECK(rv == 0 || rv == -1);
	if (rv == -1) {
		CHECK(why[0] != '\0' && memchr(why, '\0', sizeof(why)) != NULL);
		free(s);
		return 0;
	}
	CHECK(h.host[0] != '\0' && strlen(h.host) <= PROXY_NAME_MAX);
	CHECK(strlen(h.user) <= PROXY_NAME_MAX && strchr(h.user, ':') == NULL);
	for (i = 0; h.host[i] != '\0'; i++)
		CHECK((unsigned char)h.host[i] > ' ' && h.host[i] != '@' &&
		    h.host[i] != '/' && h.host[i] != '[' && h.host[i] != ']');
	CHECK(h.port >= 0 && h.port <= 65535);
	CHECK(h.has_type || h.type == PROXY_SOCKS5);
	CHECK(proxy_port(&h) >= 1);

	snprintf(back, sizeof(back), "%s%s%s%s%s%s%s",
	    h.has_type ? proxy_type_name(h.type) : "", h.has_type ? "://" : "",
	    h.user, h.user[0] != '\0' ? "@" : "",
	    strchr(h.host, ':') != NULL ? "[" : "", h.host,
	    strchr(h.host, ':') != NULL ? "]" : "");
	if (h.port != 0)
		snprintf(back + strlen(back), sizeof(back) - strlen(back), ":%d",
		    h.port);
	CHECK(parse_proxy_url(back, &h2, why, sizeof(why)) == 0);
	CHECK(h2.type == h.type && h2.has_type == h.has_type &&
	    h2.port == h.port && strcmp(h2.host, h.host) == 0 &&
	    strcmp(h2.user, h.user) == 0);
	free(s);
	return 0;
}
