/* SPDX-License-Identifier: ISC */
/*
 * relay-pair: a test-only program that shows the relay working between
 * two sockets, as two endpoints in the same loop that relays stdin and
 * stdout (sock(1), "How bytes move"): it listens on 127.0.0.1, prints
 * "port N", accepts one client, connects to 127.0.0.1 TARGET_PORT and
 * relays the two connections by the relay's rules, FINs passed on as
 * half-closes. Exits with the relay's status.
 *
 * usage: relay-pair target-port
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <err.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../opts.h"
#include "../end.h"
#include "../net.h"
#include "../relay.h"

/* The socket options' defaults: none set. */
static const struct sockopts no_sockopts = {
	.rcvbuf = -1, .sndbuf = -1, .tos = -1, .ttl = -1, .minttl = -1
};

static int
open_listener(void)
{
	struct addrinfo *ai;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[64];
	int fd, port;

	if (resolve("127.0.0.1", "0", AF_INET, SOCK_STREAM, true, true,
	    &ai) != 0)
		errx(1, "resolve");
	if ((fd = listen_addr(ai, false, &no_sockopts)) == -1)
		err(1, "listen");
	freeaddrinfo(ai);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    addr_port((struct sockaddr *)&ss, len, host, sizeof(host),
	    &port) == -1)
		err(1, "getsockname");
	printf("port %d\n", port);
	fflush(stdout);
	return fd;
}

int
main(int argc, char *argv[])
{
	struct sockopts so = no_sockopts;
	struct conn a, b;
	struct end ea, eb;
	struct relay_io io;
	struct addrinfo *ai;
	struct relay_rules r;
	socklen_t len;
	int lfd, status;

	if (argc != 2)
		errx(2, "usage: relay-pair target-port");
	signal(SIGPIPE, SIG_IGN);
	memset(&r, 0, sizeof(r));
	r.timeout_ms = r.quit_ms = r.interval_ms = -1;
	r.fin = FIN_ALWAYS;	/* an empty side's end is passed on too */
	memset(&io, 0, sizeof(io));

	lfd = open_listener();
	memset(&a, 0, sizeof(a));
	if (wait_fd(lfd, false, -1) == -1)
		err(1, "wait");
	len = sizeof(a.peer);
	if ((a.fd = accept_conn(lfd, (struct sockaddr *)&a.peer, &len)) == -1)
		err(1, "accept");
	a.connected = true;
	snprintf(a.name, sizeof(a.name), "client");

	memset(&b, 0, sizeof(b));
	if (resolve("127.0.0.1", argv[1], AF_INET, SOCK_STREAM, true, false,
	    &ai) != 0)
		errx(1, "resolve target");
	if ((b.fd = connect_addr(ai, NULL, -1, &so)) == -1)
		err(1, "connect to target");
	freeaddrinfo(ai);
	b.connected = true;
	snprintf(b.name, sizeof(b.name), "target");

	end_socket(&ea, &a);
	end_socket(&eb, &b);
	status = relay_ends(&r, &ea, &ea, &eb, &b, &io);
	close(a.fd);
	close(b.fd);
	return status;
}
