/*
 * The relay: copy stdin to the socket and the socket to stdout at the same
 * time, multiplexed with select(2), and end the session by SPEC.md's rules
 * ("The relay", 1-9). It has its own file because every mode ends here and
 * every way of moving bytes plugs in here: read/write through a buffer
 * everywhere, and on Linux splice(2) through a pipe, which moves pages
 * instead of copying them.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

#if defined(__linux__) && defined(SPLICE_F_NONBLOCK)
#define HAVE_SPLICE	1
#endif

#define STREAM_BUFSIZE	(128 * 1024)
#define DGRAM_BUFSIZE	65536
#define STDIN_DGRAM_MAX	16384	/* one stdin read becomes one datagram */
#define PIPE_BUFSIZE	(1024 * 1024)	/* asked of F_SETPIPE_SZ */
#define DGRAM_QUIET_MS	1000	/* rule 9: quiet time before a UDP exit */
#define QUIT_DRAIN_READS 64	/* reads of what already arrived at -q */
#define UNSENT_POLL_MS	10	/* how often --send-only looks at its queue */

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL	0	/* SIGPIPE is ignored anyway; see main */
#endif

/*
 * One direction of the relay. Bytes read from src wait until sink takes
 * them: in buf (from off, len bytes) on the copy path, or in pipe (len
 * bytes) on the splice path. The source is only read while there is room,
 * which is what gives back pressure both ways and bounds memory.
 */
struct dir {
	int		 src;
	int		 sink;
	const char	*src_name;	/* "stdin" or the peer, for messages */
	const char	*sink_name;
	char		*buf;
	size_t		 cap;
	size_t		 off;
	size_t		 len;
	int		 pipe[2];	/* -1: the copy path */
	size_t		 pipecap;
	bool		 eof;		/* the source has ended */
	unsigned long long bytes;	/* bytes delivered to the sink */
};

/*
 * Stdin's direction outlives a connection: with -k, what one client did
 * not take goes to the next one instead of being lost.
 */
static char	 upbuf[STREAM_BUFSIZE];
static char	 downbuf[STREAM_BUFSIZE];
static struct dir up = {
	.buf = upbuf, .cap = sizeof(upbuf), .pipe = { -1, -1 }
};
static struct dir down = {
	.buf = downbuf, .cap = sizeof(downbuf), .pipe = { -1, -1 }
};

/* The state of one session, for the helpers below. */
struct session {
	const struct opts *o;
	struct conn	*c;
	struct relay_io	*io;
	bool		 fin_sent;
	long long	 start;
	long long	 last_activity;	/* anything moved, for -w */
	long long	 last_recv;	/* anything arrived, for -q */
	long long	 stdin_done_at;	/* stdin ended and was sent; -1 */
	unsigned long long received;	/* bytes read from the socket */
};

static bool
dir_done(const struct dir *d)
{
	return d->eof && d->len == 0;
}

/* How much the source may be read now. A datagram waits alone. */
static size_t
dir_room(const struct dir *d, bool dgram)
{
	if (d->pipe[0] != -1)
		return d->pipecap - d->len;
	if (dgram)
		return d->len > 0 ? 0 : d->src == STDIN_FILENO ?
		    STDIN_DGRAM_MAX : d->cap;
	return d->cap - d->off - d->len;
}

#ifdef HAVE_SPLICE
/*
 * Can fd be spliced from (or, writing, to)? Pipes, sockets and regular
 * files can; a file opened for appending cannot be written by splice, and
 * of the devices only /dev/null is known to take it (terminals do not).
 */
static bool
can_splice(int fd, bool writing)
{
	struct stat st, null;
	int fl;

	if (fstat(fd, &st) == -1)
		return false;
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return true;
	if (S_ISREG(st.st_mode))
		return !writing || ((fl = fcntl(fd, F_GETFL)) != -1 &&
		    (fl & O_APPEND) == 0);
	return writing && S_ISCHR(st.st_mode) && stat("/dev/null", &null) == 0 &&
	    st.st_rdev == null.st_rdev;
}

/*
 * Put d on the splice path if both its ends allow it. The pipe is made as
 * large as the system lets us: fewer, larger moves (measured in README).
 */
static void
try_splice(struct dir *d)
{
	int size;

	if (d->pipe[0] != -1)
		return;
	if (getenv("SOCK_NOSPLICE") != NULL || !can_splice(d->src, false) ||
	    !can_splice(d->sink, true))
		return;
	if (pipe2(d->pipe, O_CLOEXEC) == -1) {
		d->pipe[0] = d->pipe[1] = -1;
		return;
	}
	fcntl(d->pipe[1], F_SETPIPE_SZ, PIPE_BUFSIZE);
	if ((size = fcntl(d->pipe[1], F_GETPIPE_SZ)) <= 0)
		size = 65536;
	d->pipecap = (size_t)size;
}
#endif

/* Leave the splice path: only when nothing waits in the pipe. */
static void
end_splice(struct dir *d)
{
	if (d->pipe[0] == -1)
		return;
	close(d->pipe[0]);
	close(d->pipe[1]);
	d->pipe[0] = d->pipe[1] = -1;
}

static int
read_error(const struct session *s, const struct dir *d)
{
	warn("read from %s", d->src_name);
	return d->src == s->c->fd ? EXIT_NET : EXIT_LOCAL;
}

static int
write_error(const struct session *s, const struct dir *d)
{
	if (d->sink != s->c->fd && errno == EPIPE)
		return EXIT_PIPE;	/* rule 4: quietly, like any filter */
	warn("write to %s", d->sink_name);
	return d->sink == s->c->fd ? EXIT_NET : EXIT_LOCAL;
}

/* Read what the source has into d. Returns 0 or an exit status. */
static int
fill(struct session *s, struct dir *d)
{
	struct conn *c = s->c;
	bool from_socket = d->src == c->fd;
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	size_t room = dir_room(d, c->dgram);
	ssize_t n;

	if (from_socket && s->o->send_only)
		d->off = d->len = 0;	/* what arrives is thrown away */
#ifdef HAVE_SPLICE
	if (d->pipe[0] != -1) {
		n = splice(d->src, NULL, d->pipe[1], NULL, room,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINVAL && d->len == 0) {
			/* The source refuses splice after all: copy. */
			end_splice(d);
			return 0;
		}
	} else
#endif
	if (from_socket && !c->connected)
		n = recvfrom(d->src, d->buf + d->off + d->len, room, 0,
		    (struct sockaddr *)&from, &fromlen);
	else
		n = read(d->src, d->buf + d->off + d->len, room);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return read_error(s, d);
	}
	s->last_activity = now_ms();
	if (from_socket) {
		s->last_recv = s->last_activity;
		s->received += (unsigned long long)n;
		if (!c->connected) {
			/* An unconnected (-k) datagram listener answers the latest. */
			memcpy(&c->peer, &from, fromlen);
			c->peerlen = fromlen;
		}
	}
	/* An empty datagram is a datagram, not the end. */
	if (n == 0 && !(from_socket && c->dgram)) {
		d->eof = true;
		return 0;
	}
	if (from_socket && s->o->send_only)
		return 0;
	d->len += (size_t)n;
	return 0;
}

/*
 * The sink refused splice although it looked able to: move what waits in
 * the pipe through the buffer, then stay on the copy path.
 */
static int
unsplice(struct session *s, struct dir *d)
{
	ssize_t n;

	while (d->len > 0) {
		n = read(d->pipe[0], d->buf, d->len < d->cap ? d->len : d->cap);
		if (n <= 0) {
			warn("read from internal pipe");
			return EXIT_LOCAL;
		}
		if (write_all(d->sink, d->buf, (size_t)n) == -1)
			return write_error(s, d);
		d->len -= (size_t)n;
		d->bytes += (unsigned long long)n;
	}
	end_splice(d);
	return 0;
}

/* Give the sink what waits in d. Returns 0 or an exit status. */
static int
drain(struct session *s, struct dir *d)
{
	struct conn *c = s->c;
	bool to_socket = d->sink == c->fd;
	ssize_t n;

#ifdef HAVE_SPLICE
	if (d->pipe[0] != -1) {
		n = splice(d->pipe[0], NULL, d->sink, NULL, d->len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINVAL)
			return unsplice(s, d);
	} else
#endif
	if (to_socket && !c->connected)
		n = sendto(d->sink, d->buf + d->off, d->len, MSG_NOSIGNAL,
		    (struct sockaddr *)&c->peer, c->peerlen);
	else if (to_socket)
		n = send(d->sink, d->buf + d->off, d->len, MSG_NOSIGNAL);
	else
		n = write(d->sink, d->buf + d->off, d->len);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return write_error(s, d);
	}
	if (to_socket && c->dgram)
		n = (ssize_t)d->len;	/* a datagram goes whole or not */
	d->len -= (size_t)n;
	d->bytes += (unsigned long long)n;
	d->off = d->len == 0 ? 0 : d->off + (size_t)n;
	s->last_activity = now_ms();
	return 0;
}

/* Write out all that waits for stdout, waiting for it as long as it takes. */
static int
flush_down(struct session *s)
{
	fd_set wfds;
	int rv;

	while (down.len > 0) {
		FD_ZERO(&wfds);
		FD_SET(down.sink, &wfds);
		if (select(down.sink + 1, NULL, &wfds, NULL, NULL) == -1 &&
		    errno != EINTR) {
			warn("select");
			return EXIT_LOCAL;
		}
		if ((rv = drain(s, &down)) != 0)
			return rv;
	}
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
	unsigned long long before;
	int i, rv;

	for (i = 0; i < QUIT_DRAIN_READS; i++) {
		if ((rv = flush_down(s)) != 0)
			return rv;
		if (down.eof || dir_room(&down, s->c->dgram) == 0)
			return 0;
		before = s->received;
		if ((rv = fill(s, &down)) != 0)
			return rv;
		if (s->received == before && !down.eof)
			return 0;	/* nothing more has arrived */
	}
	return flush_down(s);
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

	if (s->fin_sent || !dir_done(&up) || s->c->dgram || o->recv_only ||
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
 * Sets *status to what to return when it passes.
 */
static long long
next_deadline(const struct session *s, int *status)
{
	const struct opts *o = s->o;
	long long deadline = -1, quiet = o->quit_ms, t;

	if (s->c->dgram && quiet < 0 && !(o->listen && o->keep_open))
		quiet = DGRAM_QUIET_MS;
	if (quiet >= 0 && s->stdin_done_at >= 0) {
		t = s->last_recv > s->stdin_done_at ? s->last_recv :
		    s->stdin_done_at;
		deadline = t + quiet;
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

/*
 * Bytes sent but not yet acknowledged by the peer, where the system can
 * tell (0 elsewhere).
 */
static int
unacked(int fd)
{
#if defined(__linux__) && defined(TIOCOUTQ)
	int n;

	if (ioctl(fd, TIOCOUTQ, &n) == 0)
		return n;
#else
	(void)fd;
#endif
	return 0;
}

/*
 * Is the session over by the rules? --send-only ends while the peer may
 * still be sending, and closing a socket with unread data sends a reset,
 * which can destroy what is still in flight to the peer: so it first waits
 * until the peer has acknowledged every byte.
 */
static bool
finished(const struct session *s)
{
	const struct opts *o = s->o;

	if (o->send_only)
		return dir_done(&up) && (s->c->dgram ||
		    (s->fin_sent && unacked(s->c->fd) == 0));
	if (!dir_done(&down))
		return false;
	/* Rule 3: an interactive user is done when the peer is. */
	if (s->io->stdin_tty || o->recv_only)
		return true;
	return dir_done(&up);
}

/* Watch d's source while it has room and its sink while it holds bytes. */
static void
watch(const struct dir *d, bool dgram, fd_set *rfds, fd_set *wfds)
{
	if (!d->eof && dir_room(d, dgram) > 0)
		FD_SET(d->src, rfds);
	if (d->len > 0)
		FD_SET(d->sink, wfds);
}

/* Move what select found ready in d. */
static int
move(struct session *s, struct dir *d, fd_set *rfds, fd_set *wfds)
{
	int rv;

	if (FD_ISSET(d->src, rfds) && (rv = fill(s, d)) != 0)
		return rv;
	if (FD_ISSET(d->sink, wfds) && (rv = drain(s, d)) != 0)
		return rv;
	return 0;
}

static int
relay_loop(struct session *s)
{
	const struct opts *o = s->o;
	struct conn *c = s->c;
	fd_set rfds, wfds;
	struct timeval tv, *tvp;
	long long deadline, now, left;
	int n, rv, status;
	char secs[32];

	for (;;) {
		if (dir_done(&up) && s->stdin_done_at < 0)
			s->stdin_done_at = now_ms();
		if ((rv = maybe_send_fin(s)) != 0)
			return rv;
		if (dir_done(&down) && !o->keep_open)
			close_stdout(s->io);
		if (finished(s))
			return EXIT_OK;

		FD_ZERO(&rfds);
		FD_ZERO(&wfds);
		watch(&up, c->dgram, &rfds, &wfds);
		watch(&down, c->dgram, &rfds, &wfds);

		tvp = NULL;
		status = EXIT_OK;
		deadline = next_deadline(s, &status);
		if (o->send_only && s->fin_sent) {
			/* Nothing signals the last acknowledgement: poll. */
			now = now_ms();
			if (deadline < 0 || deadline > now + UNSENT_POLL_MS) {
				deadline = now + UNSENT_POLL_MS;
				status = -1;
			}
		}
		if (deadline >= 0) {
			now = now_ms();
			if (deadline <= now && status == EXIT_TIMEOUT) {
				format_seconds(o->timeout_ms, secs, sizeof(secs));
				warnx("connection to %s: idle timeout after %s s",
				    c->name, secs);
				return EXIT_TIMEOUT;
			}
			if (deadline <= now && status == EXIT_OK)
				return drain_arrived(s);
			left = deadline > now ? deadline - now : 0;
			tv.tv_sec = left / 1000;
			tv.tv_usec = (left % 1000) * 1000;
			tvp = &tv;
		}

		n = select(c->fd + 1, &rfds, &wfds, NULL, tvp);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			warn("select");
			return EXIT_LOCAL;
		}
		if ((rv = move(s, &up, &rfds, &wfds)) != 0 ||
		    (rv = move(s, &down, &rfds, &wfds)) != 0)
			return rv;
	}
}

int
relay(const struct opts *o, struct conn *c, struct relay_io *io)
{
	struct session s;
	unsigned long long sent_before = up.bytes;
	long long elapsed;
	double rate;
	char secs[32];
	int status, rv;

	if (c->fd >= FD_SETSIZE) {
		warnx("descriptor %d is too large for select", c->fd);
		return EXIT_NET;
	}
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.c = c;
	s.io = io;
	s.start = s.last_activity = s.last_recv = now_ms();
	s.stdin_done_at = -1;

	up.src = STDIN_FILENO;
	up.sink = c->fd;
	up.src_name = "stdin";
	up.sink_name = c->name;
	if (o->recv_only)
		up.eof = true;	/* -d: stdin is never read */
	down.src = c->fd;
	down.sink = STDOUT_FILENO;
	down.src_name = c->name;
	down.sink_name = "stdout";
	down.eof = false;
	down.bytes = 0;
	down.cap = c->dgram ? DGRAM_BUFSIZE : sizeof(downbuf);
#ifdef HAVE_SPLICE
	/* Datagrams keep their boundaries only on the copy path. */
	if (!c->dgram) {
		try_splice(&up);
		if (!o->send_only)
			try_splice(&down);
	}
#endif

	status = relay_loop(&s);
	/* What had arrived before a failure is still delivered. */
	if ((status == EXIT_NET || status == EXIT_TIMEOUT) &&
	    (rv = flush_down(&s)) != 0)
		status = rv;
	if (down.len > 0)
		down.len = down.off = 0;	/* stdout failed: nowhere to go */
	end_splice(&down);

	if (o->verbose > 0) {
		elapsed = now_ms() - s.start;
		format_seconds(elapsed, secs, sizeof(secs));
		rate = elapsed > 0 ? (double)(up.bytes - sent_before +
		    s.received) / (double)elapsed / 1000.0 : 0.0;
		warnx("sent %llu bytes, received %llu bytes in %s s "
		    "(%.1f MB/s)", up.bytes - sent_before, s.received, secs,
		    rate);
	}
	return status;
}
