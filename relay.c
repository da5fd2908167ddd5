/*
 * The relay: copy stdin to the socket and the socket to stdout at the same
 * time, multiplexed with select(2), and end the session by SPEC.md's rules
 * ("The relay", 1-9). It has its own file because every mode ends here and
 * every later way of moving bytes (zero-copy, TLS) plugs in here.
 */
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

#define STREAM_BUFSIZE	(128 * 1024)
#define DGRAM_BUFSIZE	65536
#define STDIN_DGRAM_MAX	16384	/* one stdin read becomes one datagram */
#define DGRAM_QUIET_MS	1000	/* rule 9: quiet time before a UDP exit */
#define QUIT_DRAIN_READS 64	/* reads of what already arrived at -q */

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL	0	/* SIGPIPE is ignored anyway; see main */
#endif

/*
 * One direction of the relay: bytes read from a source wait in buf
 * (from off, len bytes) until the sink takes them. The buffer only refills
 * when it has room, which is what gives back pressure both ways.
 */
struct dir {
	char		*buf;
	size_t		 cap;
	size_t		 off;
	size_t		 len;
	bool		 eof;		/* the source has ended */
	unsigned long long bytes;	/* bytes delivered to the sink */
};

/*
 * Stdin's buffer outlives a connection: with -k, what one client did not
 * take goes to the next one instead of being lost.
 */
static char	 upbuf[STREAM_BUFSIZE];
static struct dir up = { upbuf, sizeof(upbuf), 0, 0, false, 0 };
static char	 downbuf[STREAM_BUFSIZE];

/* The state of one session, for the helpers below. */
struct session {
	const struct opts *o;
	struct conn	*c;
	struct relay_io	*io;
	struct dir	 down;		/* socket -> stdout */
	bool		 fin_sent;
	long long	 start;
	long long	 last_activity;	/* anything moved, for -w */
	long long	 last_recv;	/* anything arrived, for -q */
	long long	 stdin_done_at;	/* stdin ended and was sent; -1 */
	unsigned long long received;	/* bytes read from the socket */
};

static bool
stdin_done(void)
{
	return up.eof && up.len == 0;
}

static bool
down_done(const struct session *s)
{
	return s->down.eof && s->down.len == 0;
}

/* Read stdin into up. Returns 0, or an exit status. */
static int
read_stdin(struct session *s)
{
	size_t room = up.cap - up.off - up.len;
	ssize_t n;

	if (s->c->dgram && room > STDIN_DGRAM_MAX)
		room = STDIN_DGRAM_MAX;
	n = read(STDIN_FILENO, up.buf + up.off + up.len, room);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		warn("read from stdin");
		return EXIT_LOCAL;
	}
	if (n == 0) {
		up.eof = true;
		return 0;
	}
	up.len += (size_t)n;
	s->last_activity = now_ms();
	return 0;
}

/* Send what up holds (one datagram at a time for dgram sockets). */
static int
write_socket(struct session *s)
{
	struct conn *c = s->c;
	ssize_t n;

	if (c->connected)
		n = send(c->fd, up.buf + up.off, up.len, MSG_NOSIGNAL);
	else
		n = sendto(c->fd, up.buf + up.off, up.len, MSG_NOSIGNAL,
		    (struct sockaddr *)&c->peer, c->peerlen);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		warn("write to %s", c->name);
		return EXIT_NET;
	}
	if (c->dgram)
		n = (ssize_t)up.len;	/* a datagram goes whole or not */
	up.off += (size_t)n;
	up.len -= (size_t)n;
	up.bytes += (unsigned long long)n;
	if (up.len == 0)
		up.off = 0;
	s->last_activity = now_ms();
	return 0;
}

/* Receive into down (or discard with --send-only). */
static int
read_socket(struct session *s)
{
	struct dir *d = &s->down;
	struct conn *c = s->c;
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	ssize_t n;

	if (s->o->send_only)
		d->off = d->len = 0;	/* what arrives is thrown away */
	if (c->connected)
		n = recv(c->fd, d->buf + d->off + d->len,
		    d->cap - d->off - d->len, 0);
	else
		n = recvfrom(c->fd, d->buf + d->off + d->len,
		    d->cap - d->off - d->len, 0, (struct sockaddr *)&from,
		    &fromlen);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		warn("read from %s", c->name);
		return EXIT_NET;
	}
	s->last_activity = s->last_recv = now_ms();
	s->received += (unsigned long long)n;
	if (!c->connected) {
		/* An unconnected (-k) datagram listener answers the latest. */
		memcpy(&c->peer, &from, fromlen);
		c->peerlen = fromlen;
	}
	if (n == 0 && !c->dgram) {
		d->eof = true;
		return 0;
	}
	if (s->o->send_only)
		return 0;
	d->len += (size_t)n;
	return 0;
}

/* Write what down holds to stdout. */
static int
write_stdout(struct session *s)
{
	struct dir *d = &s->down;
	ssize_t n;

	n = write(STDOUT_FILENO, d->buf + d->off, d->len);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		if (errno == EPIPE)
			return EXIT_PIPE;	/* rule 4: quietly, like a filter */
		warn("write to stdout");
		return EXIT_LOCAL;
	}
	d->off += (size_t)n;
	d->len -= (size_t)n;
	d->bytes += (unsigned long long)n;
	if (d->len == 0)
		d->off = 0;
	s->last_activity = now_ms();
	return 0;
}

/*
 * Rule 5: before quitting at -q, write out whatever has arrived: the
 * buffer, then what already waits in the socket (a bounded number of
 * reads, so a peer that never stops cannot keep sock here).
 */
static int
drain_arrived(struct session *s)
{
	fd_set wfds;
	int i, rv;

	for (i = 0; i < QUIT_DRAIN_READS; i++) {
		while (s->down.len > 0) {
			FD_ZERO(&wfds);
			FD_SET(STDOUT_FILENO, &wfds);
			if (select(STDOUT_FILENO + 1, NULL, &wfds, NULL,
			    NULL) == -1 && errno != EINTR)
				return EXIT_LOCAL;
			if ((rv = write_stdout(s)) != 0)
				return rv;
		}
		if (s->down.eof)
			return 0;
		if (s->down.off + s->down.len < s->down.cap) {
			size_t before = s->down.len;

			if ((rv = read_socket(s)) != 0)
				return rv;
			if (s->down.len == before && !s->down.eof)
				return 0;	/* nothing more has arrived */
		}
	}
	return 0;
}

/*
 * Rule 3: the peer has finished and everything it sent is out; close stdout
 * so the reader downstream sees the end too. The descriptor is pointed at
 * /dev/null rather than closed so that no later socket can land on it.
 */
static void
close_stdout(struct relay_io *io)
{
	int fd;

	if (io->stdout_closed)
		return;
	io->stdout_closed = true;
	if ((fd = open("/dev/null", O_WRONLY)) == -1)
		return;
	dup2(fd, STDOUT_FILENO);
	close(fd);
}

/*
 * Rule 2: once stdin has been sent, pass the end on with a FIN; but hold it
 * back when stdin was empty, since several netcats stop sending (or quit)
 * when a FIN arrives, and a FIN that carries no data could only cut the
 * peer's answer short.
 */
static int
maybe_send_fin(struct session *s)
{
	const struct opts *o = s->o;

	if (s->fin_sent || !stdin_done() || s->c->dgram || o->recv_only ||
	    o->fin == FIN_NEVER)
		return 0;
	if (up.bytes == 0 && o->fin != FIN_ALWAYS && !o->send_only)
		return 0;
	if (shutdown(s->c->fd, SHUT_WR) == -1 && errno != ENOTCONN) {
		warn("write to %s", s->c->name);
		return EXIT_NET;
	}
	s->fin_sent = true;
	return 0;
}

/*
 * The earliest deadline that ends the session without more traffic:
 * -w's idle limit, -q's quiet time, or a datagram session's quiet second.
 * Sets *timeout to the status to return when it passes.
 */
static long long
next_deadline(const struct session *s, int *status)
{
	const struct opts *o = s->o;
	long long deadline = -1, quiet = o->quit_ms, t;

	if (s->c->dgram && quiet < 0 && !(o->listen && o->keep_open))
		quiet = DGRAM_QUIET_MS;
	if (quiet >= 0 && s->stdin_done_at >= 0) {
		t = (s->last_recv > s->stdin_done_at ? s->last_recv :
		    s->stdin_done_at) + quiet;
		deadline = t;
		*status = EXIT_OK;
	}
	if (o->timeout_ms >= 0) {
		t = s->last_activity + o->timeout_ms;
		if (deadline < 0 || t < deadline) {
			deadline = t;
			*status = EXIT_TIMEOUT;
		}
	}
	return deadline;
}

/* Is the session over by the rules? Returns true and sets *status. */
static bool
finished(struct session *s, int *status)
{
	const struct opts *o = s->o;

	*status = EXIT_OK;
	if (o->send_only)
		return stdin_done() && (s->fin_sent || s->c->dgram);
	if (!down_done(s))
		return false;
	/* Rule 3: an interactive user is done when the peer is. */
	if (s->io->stdin_tty || o->recv_only)
		return true;
	return stdin_done();
}

static int
relay_loop(struct session *s)
{
	const struct opts *o = s->o;
	struct conn *c = s->c;
	struct dir *d = &s->down;
	fd_set rfds, wfds;
	struct timeval tv, *tvp;
	long long deadline, now;
	int maxfd, n, rv, status;

	if (c->fd >= FD_SETSIZE) {
		warnx("descriptor %d is too large for select", c->fd);
		return EXIT_NET;
	}
	for (;;) {
		if (stdin_done() && s->stdin_done_at < 0)
			s->stdin_done_at = now_ms();
		if ((rv = maybe_send_fin(s)) != 0)
			return rv;
		if (down_done(s) && !o->keep_open)
			close_stdout(s->io);
		if (finished(s, &status))
			return status;

		FD_ZERO(&rfds);
		FD_ZERO(&wfds);
		maxfd = c->fd;
		if (!up.eof && up.off + up.len < up.cap &&
		    (!c->dgram || up.len == 0))
			FD_SET(STDIN_FILENO, &rfds);
		if (up.len > 0)
			FD_SET(c->fd, &wfds);
		if (!d->eof && d->off + d->len < d->cap &&
		    (!c->dgram || d->len == 0))
			FD_SET(c->fd, &rfds);
		if (d->len > 0)
			FD_SET(STDOUT_FILENO, &wfds);

		tvp = NULL;
		deadline = next_deadline(s, &status);
		if (deadline >= 0) {
			now = now_ms();
			if (deadline <= now) {
				if (status == EXIT_TIMEOUT) {
					char secs[32];

					format_seconds(o->timeout_ms, secs,
					    sizeof(secs));
					warnx("connection to %s: idle timeout "
					    "after %s s", c->name, secs);
					return EXIT_TIMEOUT;
				}
				return drain_arrived(s);
			}
			tv.tv_sec = (deadline - now) / 1000;
			tv.tv_usec = ((deadline - now) % 1000) * 1000;
			tvp = &tv;
		}

		n = select(maxfd + 1, &rfds, &wfds, NULL, tvp);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			warn("select");
			return EXIT_LOCAL;
		}
		if (FD_ISSET(STDIN_FILENO, &rfds) && (rv = read_stdin(s)) != 0)
			return rv;
		if (FD_ISSET(c->fd, &wfds) && (rv = write_socket(s)) != 0)
			return rv;
		if (FD_ISSET(c->fd, &rfds) && (rv = read_socket(s)) != 0)
			return rv;
		if (FD_ISSET(STDOUT_FILENO, &wfds) && (rv = write_stdout(s)) != 0)
			return rv;
	}
}

int
relay(const struct opts *o, struct conn *c, struct relay_io *io)
{
	struct session s;
	unsigned long long sent_before = up.bytes;
	long long elapsed;
	int status;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.c = c;
	s.io = io;
	s.down.buf = downbuf;
	s.down.cap = c->dgram ? DGRAM_BUFSIZE : sizeof(downbuf);
	s.start = s.last_activity = s.last_recv = now_ms();
	s.stdin_done_at = -1;
	if (o->recv_only)
		up.eof = true;	/* -d: stdin is never read */

	status = relay_loop(&s);

	if (o->verbose > 0) {
		char secs[32];
		double rate;

		elapsed = now_ms() - s.start;
		format_seconds(elapsed, secs, sizeof(secs));
		rate = elapsed > 0 ? (double)(up.bytes - sent_before +
		    s.received) / elapsed / 1000.0 : 0.0;
		warnx("sent %llu bytes, received %llu bytes in %s s "
		    "(%.1f MB/s)", up.bytes - sent_before, s.received, secs,
		    rate);
	}
	return status;
}
