/* SPDX-License-Identifier: ISC */
/*
 * The plain endpoints: a socket (stream or datagram, connected or
 * answering the latest sender), stdin, stdout and a pipe. The relay and
 * the servers move every byte through an endpoint's operations (sock(1),
 * "How bytes move"), so that a kind that is not a plain descriptor (a TLS
 * session) is one more set of operations and no change to their loops.
 * Mechanism only: it touches the descriptors it is given and nothing
 * else, and never prints or exits.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"
#include "end.h"
#include "loop.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL	0	/* SIGPIPE is ignored anyway; see main */
#endif

static ssize_t
fd_read(struct end *e, void *buf, size_t len)
{
	e->read_wait = END_WAIT_READ;
	return read(e->rfd, buf, len);
}

static ssize_t
fd_write(struct end *e, const void *buf, size_t len)
{
	e->write_wait = END_WAIT_WRITE;
	return write(e->wfd, buf, len);
}

static size_t
no_pending(const struct end *e)
{
	(void)e;
	return 0;
}

static void
no_free(struct end *e)
{
	(void)e;
}

/* A pipe or stdin has no sending side to end. */
static int
no_shutdown(struct end *e)
{
	(void)e;
	return 0;
}

/*
 * A socket's send never raises SIGPIPE; an unconnected datagram socket
 * answers the peer its connection record names.
 */
static ssize_t
socket_write(struct end *e, const void *buf, size_t len)
{
	struct conn *c = e->impl;

	e->write_wait = END_WAIT_WRITE;
	if (c != NULL && !c->connected)
		return sendto(e->wfd, buf, len, MSG_NOSIGNAL,
		    (struct sockaddr *)&c->peer, c->peerlen);
	return send(e->wfd, buf, len, MSG_NOSIGNAL);
}

/* An unconnected datagram socket records who sent what it reads. */
static ssize_t
socket_read(struct end *e, void *buf, size_t len)
{
	struct conn *c = e->impl;

	e->read_wait = END_WAIT_READ;
	if (c != NULL && !c->connected) {
		c->fromlen = sizeof(c->from);
		return recvfrom(e->rfd, buf, len, 0,
		    (struct sockaddr *)&c->from, &c->fromlen);
	}
	return read(e->rfd, buf, len);
}

/* The FIN. A peer that is already gone has nothing left to tell. */
static int
socket_shutdown(struct end *e)
{
	if (shutdown(e->wfd, SHUT_WR) == -1 && errno != ENOTCONN)
		return -1;
	return 0;
}

/*
 * Stdout's end (sock(1), "Data flow and end of stream": the peer's FIN
 * closes standard output): the reader downstream must see the end
 * too. A socket for stdout (sock run by inetd, socat or another sock's
 * -e) usually is stdin too and stays open through it, so the end goes on
 * as a FIN; then the descriptor is pointed at /dev/null rather than
 * closed, so that no later socket can land on it.
 */
static int
stdout_shutdown(struct end *e)
{
	struct stat st;
	int fd;

	if (fstat(e->wfd, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)shutdown(e->wfd, SHUT_WR);
	if ((fd = open("/dev/null", O_WRONLY)) == -1)
		return 0;
	dup2(fd, e->wfd);
	close(fd);
	return 0;
}

/*
 * A pseudo-terminal's master (--pty). Once every descriptor of the
 * terminal's side has closed (the program and whatever it started have
 * gone), Linux answers EIO where a pipe would give the end: after the
 * last bytes, which are read first.
 */
static ssize_t
pty_read(struct end *e, void *buf, size_t len)
{
	ssize_t n;

	e->read_wait = END_WAIT_READ;
	if ((n = read(e->rfd, buf, len)) == -1 && errno == EIO)
		return 0;
	return n;
}

/* Bytes for a terminal nobody holds any more have nowhere to go. */
static ssize_t
pty_write(struct end *e, const void *buf, size_t len)
{
	ssize_t n;

	e->write_wait = END_WAIT_WRITE;
	if ((n = write(e->wfd, buf, len)) == -1 && errno == EIO)
		return (ssize_t)len;
	return n;
}

/*
 * A terminal has no half-close: the peer's end is a hangup, SIGHUP to
 * the program's session (and SIGCONT, so that a stopped job sees it), as
 * the kernel sends when a terminal line drops. The master stays open so
 * that the program's last words can still be read.
 */
static int
pty_shutdown(struct end *e)
{
	const pid_t *session = e->impl;

	if (session != NULL && *session > 0) {
		(void)kill(-*session, SIGHUP);
		(void)kill(-*session, SIGCONT);
	}
	return 0;
}

static const struct end_ops pty_ops = {
	.read = pty_read,
	.write = pty_write,
	.shutdown = pty_shutdown,
	.pending = no_pending,
	.free = no_free
};

static const struct end_ops socket_ops = {
	.read = socket_read,
	.write = socket_write,
	.shutdown = socket_shutdown,
	.pending = no_pending,
	.free = no_free
};

static const struct end_ops stdin_ops = {
	.read = fd_read,
	.write = fd_write,
	.shutdown = no_shutdown,
	.pending = no_pending,
	.free = no_free
};

static const struct end_ops stdout_ops = {
	.read = fd_read,
	.write = fd_write,
	.shutdown = stdout_shutdown,
	.pending = no_pending,
	.free = no_free
};

static void
end_init(struct end *e, const struct end_ops *ops, int rfd, int wfd,
    const char *name, int fail_status)
{
	memset(e, 0, sizeof(*e));
	e->ops = ops;
	e->rfd = rfd;
	e->wfd = wfd;
	e->read_wait = END_WAIT_READ;
	e->write_wait = END_WAIT_WRITE;
	e->raw = true;
	e->fail_status = fail_status;
	e->name = name;
}

void
end_socket(struct end *e, struct conn *c)
{
	end_init(e, &socket_ops, c->fd, c->fd, c->name, EXIT_NET);
	e->impl = c;
	e->socket = true;
}

void
end_stdin(struct end *e)
{
	end_init(e, &stdin_ops, STDIN_FILENO, -1, "stdin", EXIT_LOCAL);
}

void
end_stdout(struct end *e)
{
	end_init(e, &stdout_ops, -1, STDOUT_FILENO, "stdout", EXIT_LOCAL);
}

void
end_pipe(struct end *e, int rfd, int wfd, const char *name)
{
	end_init(e, &stdin_ops, rfd, wfd, name, EXIT_LOCAL);
}

void
end_pty(struct end *e, int master, const pid_t *session, const char *name)
{
	end_init(e, &pty_ops, master, master, name, EXIT_LOCAL);
	e->impl = (void *)session;
}

/* The descriptor an operation waits on, and for what. */
static int
waits_on(const struct end *e, bool reading, bool *for_write)
{
	*for_write = (reading ? e->read_wait : e->write_wait) ==
	    END_WAIT_WRITE;
	return reading ? e->rfd : e->wfd;
}

int
end_watch(const struct end *e, bool reading, struct loop *l)
{
	bool for_write;
	int fd = waits_on(e, reading, &for_write);

	if (reading && e->also_rfd > 0)
		(void)loop_watch(l, e->also_rfd, false);
	return loop_watch(l, fd, for_write);
}

bool
end_ready(const struct end *e, bool reading, const struct loop *l)
{
	bool for_write;
	int fd = waits_on(e, reading, &for_write);

	if (reading && e->ops->pending(e) > 0)
		return true;
	if (reading && e->also_rfd > 0 && loop_ready(l, e->also_rfd, false))
		return true;
	return loop_ready(l, fd, for_write);
}

int
end_abort(struct end *e)
{
	struct linger l = { 1, 0 };

	return setsockopt(e->wfd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

int
end_unacked(const struct end *e)
{
#if defined(HAVE_LINUX_CALLS) && defined(TIOCOUTQ)
	struct stat st;
	int n;

	if (fstat(e->wfd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    ioctl(e->wfd, TIOCOUTQ, &n) == 0)
		return n;
#else
	(void)e;
#endif
	return -1;
}
