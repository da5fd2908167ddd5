/* SPDX-License-Identifier: ISC */
/*
 * connect.c: the connect walk (connect.h). One place turns a host, a
 * port and the options into a connected socket, for connect mode and for
 * the first proxy of -x alike, so that -4/-6, -s, -p and the socket
 * options mean the same in both. It touches only the sockets it makes
 * and prints only the -vv lines of each attempt.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "opts.h"
#include "end.h"
#include "net.h"
#include "connect.h"

void
report_attempt(void *arg, const struct attempt *at)
{
	const struct attempt_words *w = arg;
	const char *client = w->client != NULL ? w->client : "";
	const char *sep = w->client != NULL ? " for " : "";
	char name[300];

	if (w->o->verbose < 2)
		return;
	if (w->unix_name != NULL && at->ai->ai_family == AF_UNIX)
		snprintf(name, sizeof(name), "%s", w->unix_name);
	else
		format_addr(at->ai->ai_addr, at->ai->ai_addrlen, name,
		    sizeof(name));
	switch (at->event) {
	case ATTEMPT_START:
		if (w->proto != NULL)
			warnx("trying %s%s (%s)%s%s", w->role, name, w->proto,
			    sep, client);
		else
			warnx("trying %s%s%s%s", w->role, name, sep, client);
		break;
	case ATTEMPT_NO_SOURCE:
		if (w->source) {
			warnx("source %s for %s%s: %s", w->o->source_addr !=
			    NULL ? w->o->source_addr : "*", w->role, name,
			    strerror(at->error));
			break;
		}
		if (!w->every)
			break;
		/* FALLTHROUGH */
	case ATTEMPT_FAILED:
		if (!at->last || w->every)
			warnx("connect to %s%s%s%s: %s", w->role, name, sep,
			    client, strerror(at->error));
		break;
	}
}

int
connect_host(const struct opts *o, const char *host, const char *port,
    int socktype, long long timeout_ms, const struct attempt_words *w,
    struct conn *c, struct connect_error *ce)
{
	struct addrinfo *res, *ai, *src = NULL;
	const struct addrinfo *which;
	int gai, fd;

	memset(ce, 0, sizeof(*ce));
	ce->status = EXIT_NET;
	snprintf(c->name, sizeof(c->name), "%s port %s", host, port);
	if ((gai = resolve(host, port, o->family, socktype, o->numeric,
	    false, &res)) != 0) {
		ce->why = gai == EAI_SYSTEM ? errno : gai;
		ce->why_gai = gai != EAI_SYSTEM;
		ce->lookup = true;
		return -1;
	}
	if ((o->source_addr != NULL || o->source_port != NULL) &&
	    (gai = resolve(o->source_addr, o->source_port != NULL ?
	    o->source_port : "0", o->family, socktype, o->numeric, true,
	    &src)) != 0) {
		/* No address can be used: each fails as connect_happy's would. */
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			format_addr(ai->ai_addr, ai->ai_addrlen, c->name,
			    sizeof(c->name));
			if (w->source && o->verbose > 1)
				warnx("source %s for %s%s: %s", o->source_addr ?
				    o->source_addr : "*", w->role, c->name,
				    gai_strerror(gai));
		}
		freeaddrinfo(res);
		ce->why = EADDRNOTAVAIL;
		return -1;
	}
	fd = connect_happy(res, src, timeout_ms, &o->sockopts, report_attempt,
	    (void *)w, &which);
	ce->why = errno;
	format_addr(which->ai_addr, which->ai_addrlen, c->name,
	    sizeof(c->name));
	if (src != NULL)
		freeaddrinfo(src);
	freeaddrinfo(res);
	if (fd == -1) {
		ce->status = ce->why == ETIMEDOUT ? EXIT_TIMEOUT : EXIT_NET;
		return -1;
	}
	c->fd = fd;
	c->dgram = socktype == SOCK_DGRAM;
	c->connected = true;
	return fd;
}
