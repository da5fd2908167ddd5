/* SPDX-License-Identifier: ISC */
/*
 * udpblast.c: the UDP peers of bench/bench.sh's section 10 (UDP
 * forwarding), built by it into its work directory. Not part of sock.
 *
 *   udpblast echo PORTFILE
 *	bind UDP on 127.0.0.1 port 0, write the port to PORTFILE, answer
 *	every datagram with itself, until killed
 *   udpblast load PORT SECS SIZE NSRC WINDOW
 *	NSRC sockets (senders) connected to 127.0.0.1 PORT each keep WINDOW
 *	datagrams of SIZE bytes in flight for SECS seconds; a sender that
 *	hears nothing for 100 ms counts what it has in flight as lost. Prints
 *	"ANSWERED LOST SECS".
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NSRC_MAX	256

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static int
udp_socket(void)
{
	int fd, big = 4 << 20;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		die("socket");
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	return fd;
}

static void __attribute__((noreturn))
echo(const char *portfile)
{
	static char buf[65536];
	struct sockaddr_in sin, from;
	socklen_t len = sizeof(sin);
	ssize_t n;
	FILE *f;
	int fd = udp_socket();

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		die("bind");
	if ((f = fopen(portfile, "w")) == NULL)
		die(portfile);
	fprintf(f, "%d\n", ntohs(sin.sin_port));
	fclose(f);
	for (;;) {
		len = sizeof(from);
		if ((n = recvfrom(fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &len)) == -1)
			continue;
		(void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from,
		    len);
	}
}

static int
load(int port, double secs, int size, int nsrc, int window)
{
	static char buf[65536];
	struct pollfd pfd[NSRC_MAX];
	struct sockaddr_in sin;
	double end, t, heard[NSRC_MAX];
	unsigned long long answered = 0, lost = 0;
	int inflight[NSRC_MAX], i;
	double start;

	if (nsrc < 1 || nsrc > NSRC_MAX || size < 1 || size > 65507 ||
	    window < 1)
		die("load: bad arguments");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(buf, 'x', sizeof(buf));
	start = now();
	for (i = 0; i < nsrc; i++) {
		pfd[i].fd = udp_socket();
		pfd[i].events = POLLIN;
		if (connect(pfd[i].fd, (struct sockaddr *)&sin,
		    sizeof(sin)) == -1)
			die("connect");
		(void)fcntl(pfd[i].fd, F_SETFL, O_NONBLOCK);
		inflight[i] = 0;
		heard[i] = start;
	}
	end = start + secs;
	while ((t = now()) < end) {
		for (i = 0; i < nsrc; i++) {
			while (inflight[i] < window) {
				if (send(pfd[i].fd, buf, (size_t)size, 0) == -1)
					break;
				inflight[i]++;
			}
			if (inflight[i] > 0 && t - heard[i] > 0.1) {
				lost += (unsigned long long)inflight[i];
				inflight[i] = 0;
				heard[i] = t;
			}
		}
		if (poll(pfd, (nfds_t)nsrc, 10) <= 0)
			continue;
		t = now();
		for (i = 0; i < nsrc; i++) {
			if ((pfd[i].revents & (POLLIN | POLLERR)) == 0)
				continue;
			for (;;) {
				if (recv(pfd[i].fd, buf, sizeof(buf), 0) == -1) {
					if (errno == ECONNREFUSED)
						continue;	/* taken: go on */
					break;
				}
				answered++;
				if (inflight[i] > 0)
					inflight[i]--;
				heard[i] = t;
			}
		}
	}
	printf("%llu %llu %.3f\n", answered, lost, now() - start);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "echo") == 0)
		echo(argv[2]);
	if (argc == 7 && strcmp(argv[1], "load") == 0)
		return load(atoi(argv[2]), atof(argv[3]), atoi(argv[4]),
		    atoi(argv[5]), atoi(argv[6]));
	fprintf(stderr, "usage: udpblast echo PORTFILE | "
	    "load PORT SECS SIZE NSRC WINDOW\n");
	return 2;
}
