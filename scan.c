/* Placeholder until the scanner lands (same session). */
#include <errno.h>
#include <stdlib.h>
#include "sock.h"

int
parse_port_list(const char *s, bool numeric, bool udp, int **ports,
    size_t *n, const char **why)
{
	(void)s; (void)numeric; (void)udp; (void)ports; (void)n;
	*why = "not implemented yet";
	return -1;
}

int
scan(const struct opts *o)
{
	(void)o;
	return EXIT_NET;
}
