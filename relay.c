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
#ifdef __linux__
#include <sys/sendfile.h>
#endif
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
#define SPLICE_MIN	(32 * 1024)	/* a read this large means bulk */
#define SENDFILE_CHUNK	(4 * 1024 * 1024) /* one sendfile(2) at most */
#define DGRAM_QUIET_MS	1000	/* rule 9: quiet time before a UDP exit */
#define QUIT_DRAIN_READS 64	/* reads of what already arrived at -q */
#define UNSENT_POLL_MS	10	/* how often --send-only looks at its queue */
#define PROGRESS_TTY_MS	250	/* --progress redraws on a terminal */
#define PROGRESS_LOG_MS	1000	/* --progress=always: a line a second */

/* Telnet (RFC 854) bytes that -t must recognise. */
enum {
	TELNET_SE = 240,
	TELNET_SB = 250,
	TELNET_WILL = 251,
	TELNET_WONT = 252,
	TELNET_DO = 253,
	TELNET_DONT = 254,
	TELNET_IAC = 255
};

/* Where the -t parser is within a command that may span reads. */
enum telnet_state {
	TN_DATA,		/* plain data */
	TN_IAC,			/* after IAC */
	TN_OPTION,		/* after IAC WILL/WONT/DO/DONT */
	TN_SB,			/* inside a subnegotiation */
	TN_SB_IAC		/* IAC inside a subnegotiation */
};

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
	bool		 splice_ok;	/* both ends can be spliced */
	bool		 sendfile;	/* a file to a socket: no pipe at all */
	bool		 go_splice;	/* bulk seen: splice once buf is empty */
	bool		 pipe_full;	/* out of pipe slots, whatever len says */
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
	unsigned long long sent_before;	/* up.bytes when the session began */
	long long	 next_send_at;	/* -i: no line before this time */
	long long	 progress_every; /* --progress interval; 0: off */
	long long	 next_progress;
	long long	 progress_t;	/* the last report, for the rate */
	unsigned long long progress_bytes;
	long long	 stdin_size;	/* bytes stdin will give; -1: unknown */
	enum telnet_state telnet;	/* -t */
	unsigned char	 telnet_cmd;	/* WILL/WONT/DO/DONT being read */
};

/* -C: the last byte read from stdin was a CR (a CRLF is not doubled). */
static bool	 crlf_after_cr;

/* --progress has drawn a line on the terminal that a message must clear. */
static bool	 progress_drawn;

/* Clear the progress line, so that a message starts on a line of its own. */
static void
clear_progress(void)
{
	if (progress_drawn)
		write_all(STDERR_FILENO, "\r\033[K", 4);
	progress_drawn = false;
}

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
		return d->pipe_full ? 0 : d->pipecap - d->len;
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
 * May d take the splice path? Only if both its ends allow it. It starts
 * on the copy path all the same: for small messages read and write cost
 * less than splice, and the switch comes with the first large read.
 */
static void
check_splice(struct dir *d)
{
	const char *no = getenv("SOCK_NOSPLICE");

	d->splice_ok = d->pipe[0] != -1 || ((no == NULL || *no == '\0' ||
	    strcmp(no, "0") == 0) && can_splice(d->src, false) &&
	    can_splice(d->sink, true));
}

/*
 * Put d on the splice path. The pipe is made as large as the system lets
 * us: fewer, larger moves (measured, see README).
 */
static void
start_splice(struct dir *d)
{
	int size;

	d->go_splice = false;
	if (d->pipe[0] != -1)
		return;
	if (pipe2(d->pipe, O_CLOEXEC) == -1) {
		d->pipe[0] = d->pipe[1] = -1;
		d->splice_ok = false;
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
	clear_progress();
	warn("read from %s", d->src_name);
	return d->src == s->c->fd ? EXIT_NET : EXIT_LOCAL;
}

static int
write_error(const struct session *s, const struct dir *d)
{
	if (d->sink != s->c->fd && errno == EPIPE)
		return EXIT_PIPE;	/* rule 4: quietly, like any filter */
	clear_progress();
	warn("write to %s", d->sink_name);
	return d->sink == s->c->fd ? EXIT_NET : EXIT_LOCAL;
}

/*
 * -o: add n bytes of direction dir (0 sent, 1 received) to the dump. Lines
 * are cut every 16 bytes of one direction, whatever the read sizes, so the
 * dump of a one-way stream does not depend on timing; a change of
 * direction ends the line.
 */
static void
dump_bytes(struct relay_io *io, int dir, const char *p, size_t n)
{
	size_t take;

	if (io->dump_len > 0 && io->dump_dir != dir)
		relay_dump_flush(io);
	io->dump_dir = dir;
	while (n > 0) {
		take = sizeof(io->dump_line) - io->dump_len;
		if (take > n)
			take = n;
		memcpy(io->dump_line + io->dump_len, p, take);
		io->dump_len += take;
		p += take;
		n -= take;
		if (io->dump_len == sizeof(io->dump_line))
			relay_dump_flush(io);
	}
}

void
relay_dump_flush(struct relay_io *io)
{
	char line[HEXLINE_MAX];
	size_t len;

	if (io->hexdump == NULL || io->dump_len == 0)
		return;
	len = format_hex_line(line, io->dump_dir == 0 ? '>' : '<',
	    io->dump_off[io->dump_dir], io->dump_line, io->dump_len);
	fwrite(line, 1, len, io->hexdump);
	io->dump_off[io->dump_dir] += io->dump_len;
	io->dump_len = 0;
}

/*
 * -C: read stdin into d with each LF that is not already preceded by a CR
 * sent as CRLF. At most half the room is read, since every byte may grow
 * to two.
 */
static int
fill_crlf(struct session *s, struct dir *d, size_t room)
{
	static char raw[STREAM_BUFSIZE / 2];
	char *out = d->buf + d->off + d->len;
	size_t want = room / 2 < sizeof(raw) ? room / 2 : sizeof(raw);
	ssize_t n, i;

	if (want == 0)
		return 0;
	if ((n = read(d->src, raw, want)) == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return read_error(s, d);
	}
	if (n == 0) {
		d->eof = true;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (raw[i] == '\n' && !crlf_after_cr)
			*out++ = '\r';
		*out++ = raw[i];
		crlf_after_cr = raw[i] == '\r';
	}
	d->len = (size_t)(out - d->buf) - d->off;
	s->last_activity = now_ms();
	return 0;
}

/* -t: tell the peer no (IAC DONT/WONT opt), best effort. */
static void
telnet_refuse(struct session *s, unsigned char cmd, unsigned char opt)
{
	unsigned char reply[3] = { TELNET_IAC, 0, opt };

	if (s->fin_sent)
		return;
	reply[1] = cmd == TELNET_DO ? TELNET_WONT : TELNET_DONT;
	/* A lost refusal only makes the peer wait for an answer. */
	(void)send(s->c->fd, reply, sizeof(reply), MSG_NOSIGNAL);
	if (s->io->hexdump != NULL)
		dump_bytes(s->io, 0, (const char *)reply, sizeof(reply));
}

/*
 * -t: strip telnet commands from the n bytes at p, refusing every option
 * the peer asks for or offers, and return how many data bytes remain.
 * The state carries over between reads.
 */
static size_t
telnet_filter(struct session *s, char *p, size_t n)
{
	unsigned char b;
	size_t i, out = 0;

	for (i = 0; i < n; i++) {
		b = (unsigned char)p[i];
		switch (s->telnet) {
		case TN_DATA:
			if (b == TELNET_IAC)
				s->telnet = TN_IAC;
			else
				p[out++] = (char)b;
			break;
		case TN_IAC:
			s->telnet = TN_DATA;
			if (b == TELNET_IAC)
				p[out++] = (char)b;	/* an escaped 255 */
			else if (b >= TELNET_WILL && b <= TELNET_DONT) {
				s->telnet_cmd = b;
				s->telnet = TN_OPTION;
			} else if (b == TELNET_SB)
				s->telnet = TN_SB;
			break;
		case TN_OPTION:
			if (s->telnet_cmd == TELNET_DO ||
			    s->telnet_cmd == TELNET_WILL)
				telnet_refuse(s, s->telnet_cmd, b);
			s->telnet = TN_DATA;
			break;
		case TN_SB:
			if (b == TELNET_IAC)
				s->telnet = TN_SB_IAC;
			break;
		case TN_SB_IAC:
			s->telnet = b == TELNET_SE ? TN_DATA : TN_SB;
			break;
		}
	}
	return out;
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
	if (!from_socket && s->o->crlf && d->pipe[0] == -1)
		return fill_crlf(s, d, room);
#ifdef HAVE_SPLICE
	if (d->go_splice && d->len == 0) {
		start_splice(d);
		room = dir_room(d, c->dgram);
	}
	if (d->pipe[0] != -1) {
		n = splice(d->src, NULL, d->pipe[1], NULL, room,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINVAL && d->len == 0) {
			/* The source refuses splice after all: copy. */
			end_splice(d);
			d->splice_ok = false;
			return 0;
		}
		/*
		 * A pipe holds a number of buffers, not of bytes: spliced
		 * socket data can fill every slot long before len reaches
		 * pipecap. The source was ready, so the pipe is full: stop
		 * reading until the sink takes something, or sock would spin.
		 */
		if (n == -1 && errno == EAGAIN && d->len > 0)
			d->pipe_full = true;
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
	if (from_socket && !c->connected &&
	    !admitted(s->o, (struct sockaddr *)&from)) {
		if (s->o->verbose > 1)
			warnx("dropped a datagram refused by --allow/--deny");
		return 0;
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
		if (from_socket && s->o->verbose > 0) {
			clear_progress();
			warnx("FIN received from %s", c->name);
		}
		return 0;
	}
	if (from_socket && s->io->hexdump != NULL)
		dump_bytes(s->io, 1, d->buf + d->off + d->len, (size_t)n);
	if (from_socket && s->o->send_only)
		return 0;
	if (d->splice_ok && d->pipe[0] == -1 && (size_t)n >= SPLICE_MIN)
		d->go_splice = true;
	if (from_socket && s->o->telnet)
		n = (ssize_t)telnet_filter(s, d->buf + d->off + d->len,
		    (size_t)n);
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
	d->splice_ok = false;
	return 0;
}

/*
 * -i: how much of d may go now: up to the end of the first line (or the
 * datagram). Returns 0 while a line is still incomplete and more may come.
 */
static size_t
line_length(const struct dir *d, bool dgram)
{
	const char *nl;

	if (dgram)
		return d->len;
	if ((nl = memchr(d->buf + d->off, '\n', d->len)) != NULL)
		return (size_t)(nl - (d->buf + d->off)) + 1;
	if (d->eof || d->off + d->len == d->cap)
		return d->len;
	return 0;
}

/* Give the sink what waits in d. Returns 0 or an exit status. */
static int
drain(struct session *s, struct dir *d)
{
	struct conn *c = s->c;
	bool to_socket = d->sink == c->fd;
	size_t want = d->len;
	ssize_t n;

	if (to_socket && s->o->interval_ms >= 0 &&
	    (want = line_length(d, c->dgram)) == 0)
		return 0;

#ifdef HAVE_SPLICE
	if (d->pipe[0] != -1) {
		n = splice(d->pipe[0], NULL, d->sink, NULL, d->len,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINVAL)
			return unsplice(s, d);
	} else
#endif
	if (to_socket && !c->connected)
		n = sendto(d->sink, d->buf + d->off, want, MSG_NOSIGNAL,
		    (struct sockaddr *)&c->peer, c->peerlen);
	else if (to_socket)
		n = send(d->sink, d->buf + d->off, want, MSG_NOSIGNAL);
	else
		n = write(d->sink, d->buf + d->off, want);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return write_error(s, d);
	}
	if (to_socket && c->dgram)
		n = (ssize_t)want;	/* a datagram goes whole or not */
	if (to_socket && s->io->hexdump != NULL && d->pipe[0] == -1)
		dump_bytes(s->io, 0, d->buf + d->off, (size_t)n);
	d->len -= (size_t)n;
	d->bytes += (unsigned long long)n;
	d->off = d->len == 0 ? 0 : d->off + (size_t)n;
	d->pipe_full = false;
	s->last_activity = now_ms();
	if (to_socket && s->o->interval_ms >= 0 && (size_t)n == want)
		s->next_send_at = s->last_activity + s->o->interval_ms;
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
	struct stat st;
	int fd;

	if (io->stdout_closed)
		return;
	io->stdout_closed = true;
	/*
	 * A socket for stdout (sock run by inetd, socat or another sock's
	 * -e) usually is stdin too, and stays open through it: pass the end
	 * on with a FIN.
	 */
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)shutdown(STDOUT_FILENO, SHUT_WR);
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
	if (o->verbose > 0) {
		clear_progress();
		warnx("FIN sent to %s", s->c->name);
	}
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

/* The next moment the loop must wake without traffic (-1: none). */
static long long
next_wakeup(const struct session *s)
{
	long long t = -1;

	/* A pause that is over wakes nobody: select waits for the socket. */
	if (up.len > 0 && s->next_send_at > now_ms())
		t = s->next_send_at;
	if (s->progress_every > 0 && (t < 0 || s->next_progress < t))
		t = s->next_progress;
	return t;
}

/* Bytes as a person reads them: 1023 B, 1.5 KiB, 12.3 MiB, ... */
static void
human_bytes(double v, char *buf, size_t len)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t i = 0;

	while (v >= 1024 && i < sizeof(unit) / sizeof(unit[0]) - 1) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f B", v);
	else
		snprintf(buf, len, "%.1f %s", v, unit[i]);
}

static void
clock_text(long long ms, char *buf, size_t len)
{
	long long secs = ms / 1000;

	if (secs >= 3600)
		snprintf(buf, len, "%lld:%02lld:%02lld", secs / 3600,
		    secs / 60 % 60, secs % 60);
	else
		snprintf(buf, len, "%lld:%02lld", secs / 60, secs % 60);
}

/*
 * --progress: one status line. On a terminal it is redrawn in place
 * (final: cleared); for a log (--progress=always, not a terminal) it is a
 * new line each time.
 */
static void
report_progress(struct session *s, bool final)
{
	unsigned long long sent = up.bytes - s->sent_before, total;
	long long now = now_ms(), elapsed = now - s->start;
	bool tty = s->progress_every == PROGRESS_TTY_MS;
	char line[256], a[32], b[32], cur[32], avg[32], el[32], eta[48];
	double rate, mean;
	int len;

	total = sent + s->received;
	rate = now > s->progress_t ? (double)(total - s->progress_bytes) *
	    1000.0 / (double)(now - s->progress_t) : 0;
	mean = elapsed > 0 ? (double)total * 1000.0 / (double)elapsed : 0;
	s->progress_t = now;
	s->progress_bytes = total;
	s->next_progress = now + s->progress_every;
	if (final && tty) {
		clear_progress();
		return;
	}
	human_bytes((double)sent, a, sizeof(a));
	human_bytes((double)s->received, b, sizeof(b));
	human_bytes(rate, cur, sizeof(cur));
	human_bytes(mean, avg, sizeof(avg));
	clock_text(elapsed, el, sizeof(el));
	eta[0] = '\0';
	if (s->stdin_size > 0 && sent > 0 && elapsed > 0) {
		unsigned long long left = sent < (unsigned long long)s->stdin_size ?
		    (unsigned long long)s->stdin_size - sent : 0;
		double send_rate = (double)sent / (double)elapsed;
		char t[32];

		/* What is left of stdin, at the pace it has been sent. */
		clock_text((long long)((double)left / send_rate), t, sizeof(t));
		snprintf(eta, sizeof(eta), ", %.0f%%, ETA %s",
		    100.0 * (double)sent / (double)s->stdin_size, t);
	}
	len = snprintf(line, sizeof(line), "%ssock: sent %s, received %s, "
	    "%s/s (average %s/s), %s%s%s", tty ? "\r" : "", a, b, cur, avg, el,
	    eta, tty ? "\033[K" : "\n");
	if (len > 0)
		write_all(STDERR_FILENO, line, (size_t)len < sizeof(line) ?
		    (size_t)len : sizeof(line) - 1);
	progress_drawn = tty;
}

#ifdef HAVE_SPLICE
/*
 * A regular file to a stream socket goes with sendfile(2): one call moves
 * it, with nothing in between, so there is never anything waiting in d.
 */
static void
check_sendfile(struct dir *d, const struct conn *c)
{
	struct stat st;

	d->sendfile = d->splice_ok && d->pipe[0] == -1 && d->len == 0 &&
	    d->sink == c->fd && fstat(d->src, &st) == 0 &&
	    S_ISREG(st.st_mode);
}

/* Move what the socket takes now straight from the file. */
static int
send_file(struct session *s, struct dir *d)
{
	ssize_t n;

	n = sendfile(d->sink, d->src, NULL, SENDFILE_CHUNK);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN ||
		    errno == ETIMEDOUT || errno == ECONNABORTED ||
		    errno == EHOSTUNREACH || errno == ENETUNREACH ||
		    errno == ENETDOWN)
			return write_error(s, d);
		/*
		 * Anything else (no sendfile here, a stdin that cannot be
		 * read, ...) goes the copy way, which reports a failed read
		 * as the read it is.
		 */
		d->sendfile = d->splice_ok = false;
		return 0;
	}
	if (n == 0)
		d->eof = true;
	d->bytes += (unsigned long long)n;
	s->last_activity = now_ms();
	return 0;
}
#endif

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

/*
 * Watch d's source while it has room and its sink while it holds bytes
 * (and, with -i, once the pause after the last line is over).
 */
static void
watch(const struct session *s, const struct dir *d, long long now,
    fd_set *rfds, fd_set *wfds)
{
	if (d->sendfile) {
		if (!d->eof)
			FD_SET(d->sink, wfds);	/* a file is always ready */
		return;
	}
	if (!d->eof && dir_room(d, s->c->dgram) > 0)
		FD_SET(d->src, rfds);
	/*
	 * -i: the socket is of no use until a whole line waits and the
	 * pause after the last one is over.
	 */
	if (d->len > 0 && !(d == &up && s->o->interval_ms >= 0 &&
	    (s->next_send_at > now || line_length(d, s->c->dgram) == 0)))
		FD_SET(d->sink, wfds);
}

/*
 * Move what select found ready in d. What was just read is offered to the
 * sink at once rather than after another select: one wakeup per message
 * instead of two, which is most of a small message's round trip. (The
 * socket is non-blocking and splice does not block on pipes; a blocking
 * stdout is written the same way when select says it is writable.)
 */
static int
move(struct session *s, struct dir *d, fd_set *rfds, fd_set *wfds)
{
	bool filled = false;
	int rv;

#ifdef HAVE_SPLICE
	if (d->sendfile)
		return FD_ISSET(d->sink, wfds) ? send_file(s, d) : 0;
#endif
	if (FD_ISSET(d->src, rfds)) {
		size_t before = d->len;

		if ((rv = fill(s, d)) != 0)
			return rv;
		filled = d->len > before;
	}
	if ((FD_ISSET(d->sink, wfds) || filled) && d->len > 0 &&
	    !(d == &up && s->next_send_at > now_ms()) &&
	    (rv = drain(s, d)) != 0)
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
	long long deadline, now, left, wake;
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

		now = now_ms();
		if (s->progress_every > 0 && now >= s->next_progress)
			report_progress(s, false);
		FD_ZERO(&rfds);
		FD_ZERO(&wfds);
		watch(s, &up, now, &rfds, &wfds);
		watch(s, &down, now, &rfds, &wfds);

		tvp = NULL;
		status = EXIT_OK;
		deadline = next_deadline(s, &status);
		wake = next_wakeup(s);
		if (wake >= 0 && (deadline < 0 || wake < deadline)) {
			deadline = wake;
			status = -1;
		}
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
				clear_progress();
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
			clear_progress();
			warn("select");
			return EXIT_LOCAL;
		}
		if ((rv = move(s, &up, &rfds, &wfds)) != 0 ||
		    (rv = move(s, &down, &rfds, &wfds)) != 0)
			return rv;
	}
}

/* How many bytes stdin still holds, if it is a regular file; else -1. */
static long long
stdin_size(void)
{
	struct stat st;
	off_t pos;

	if (fstat(STDIN_FILENO, &st) == -1 || !S_ISREG(st.st_mode))
		return -1;
	if ((pos = lseek(STDIN_FILENO, 0, SEEK_CUR)) == -1 || pos > st.st_size)
		return -1;
	return (long long)(st.st_size - pos);
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
	s.sent_before = up.bytes;
	s.stdin_size = stdin_size();
	if (o->progress == PROGRESS_ALWAYS && !isatty(STDERR_FILENO))
		s.progress_every = PROGRESS_LOG_MS;
	else if (o->progress != PROGRESS_OFF && isatty(STDERR_FILENO))
		s.progress_every = PROGRESS_TTY_MS;
	s.progress_t = s.start;
	s.next_progress = s.start + s.progress_every;

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
	down.splice_ok = down.go_splice = false;
#ifdef HAVE_SPLICE
	/*
	 * Datagrams keep their boundaries only on the copy path, and bytes
	 * that must be seen or changed on the way (-o, -C, -t, -i) pass
	 * through the buffer.
	 */
	if (!c->dgram && o->hexdump_path == NULL) {
		if (!o->crlf && o->interval_ms < 0) {
			check_splice(&up);
			check_sendfile(&up, c);
		}
		if (!o->send_only && !o->telnet)
			check_splice(&down);
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
	if (s.progress_every > 0)
		report_progress(&s, true);
	if (io->hexdump != NULL && !io->dump_failed &&
	    fflush(io->hexdump) == EOF) {
		clear_progress();
		warn("write to hex dump");
		io->dump_failed = true;
		if (status == EXIT_OK)
			status = EXIT_LOCAL;
	}

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
