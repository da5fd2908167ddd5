/* SPDX-License-Identifier: ISC */
/*
 * parse_forward_target (--forward): host:port, [v6addr]:port or unix:path.
 * An accepted target has a non-empty host and port that fit their arrays,
 * NUL-terminated, with no colon in the port; a host with a colon came in
 * brackets; and putting the target back together gives the input again.
 */
#include <sys/un.h>

#include "fuzz.h"
#include "../parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), back[sizeof(((struct fwd_target *)0)->host) + 40];
	struct fwd_target t;
	size_t hl, pl;

	if (parse_forward_target(s, &t) == -1) {
		free(s);
		return 0;
	}
	if (t.is_unix) {
		CHECK(strncmp(s, "unix:", 5) == 0 && t.path == s + 5);
		CHECK(*t.path != '\0' &&
		    strlen(t.path) < sizeof(((struct sockaddr_un *)0)->sun_path));
		free(s);
		return 0;
	}
	hl = strnlen(t.host, sizeof(t.host));
	pl = strnlen(t.port, sizeof(t.port));
	CHECK(hl > 0 && hl < sizeof(t.host));
	CHECK(pl > 0 && pl < sizeof(t.port));
	CHECK(strchr(t.port, ':') == NULL);
	if (strchr(t.host, ':') != NULL)
		CHECK(s[0] == '[');
	if (s[0] == '[')
		snprintf(back, sizeof(back), "[%s]:%s", t.host, t.port);
	else
		snprintf(back, sizeof(back), "%s:%s", t.host, t.port);
	CHECK(strcmp(back, s) == 0);
	free(s);
	return 0;
}
