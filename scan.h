/* SPDX-License-Identifier: ISC */
/*
 * scan.c: -z, which ports of a host are listening, and the port lists it
 * takes. The parser is pure; scan() prints what -v asks for and returns
 * the exit status.
 */
#ifndef SCAN_H
#define SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "opts.h"

/*
 * Parse a -z port list ("22", "20-25", "22,80,8000-8100", service names
 * unless numeric) into an ascending array without repeats, malloc'd.
 * Returns 0, or -1 with *why pointing at a static text that says what is
 * wrong (e.g. "range 30-20 runs backwards").
 */
int	parse_port_list(const char *s, bool numeric, bool udp, int **ports,
	    size_t *n, const char **why);

/*
 * Probe o->host on o->scan_ports as sock(1), "Scanning ports" says,
 * print what -v asks for, and return the exit status (0: a port is open).
 */
int	scan(const struct opts *o);

#endif /* SCAN_H */
