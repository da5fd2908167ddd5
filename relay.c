/*
 * The relay: copy one side to the other and back at the same time,
 * multiplexed with select(2), and end the session by the rules of sock(1),
 * "Data flow and end of stream". A side is stdin and stdout, or a socket; the other side is
 * the connection. Every byte moves through an endpoint (end.c, and tls.c
 * where there is one), so this file decides and never touches a
 * descriptor's data itself, with two exceptions that need the descriptors
 * as such: splice(2) and sendfile(2), which move bytes between two raw
 * endpoints without copying them, chosen once per direction
 * (choose_way; sock(1), "How bytes move").
 */
#include <sys/types.h>
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
#include "end.h"
#include "net.h"
#include "parse.h"

#if defined(HAVE_LINUX_CALLS) && defined(SPLICE_F_NONBLOCK)
#include <sys/sendfile.h>
#define HAVE_SPLICE	1
#endif

#define STREAM_BUFSIZE	(128 * 1024)
#define DGRAM_BUFSIZE	65536
#define STDIN_DGRAM_MAX	16384	/* one stdin read becomes one datagram */
#define PIPE_BUFSIZE	(1024 * 1024)	/* asked of F_SETPIPE_SZ */
#define SPLICE_MIN	(32 * 1024)	/* a read this large means bulk */
#define SENDFILE_CHUNK	(4 * 1024 * 1024) /* one sendfile(2) at most */
#define DGRAM_QUIET_MS	1000	/* sock(1) "Datagrams": quiet before exit */
#define QUIT_DRAIN_READS 64	/* reads of what already arrived at -q */
#define UNSENT_POLL_MS	10	/* how often --send-only looks at its queue */
#define SEND_ONLY_QUIET_MS 200	/* --send-only without TIOCOUTQ: peer quiet */
#define PROGRESS_TTY_MS	250	/* --progress redraws on a terminal */
#define PROGRESS_LOG_MS	1000	/* --progress=always: a line a second */
#define RATE_BURST_MS	50	/* --limit-rate: credit saved up at most */
#define RATE_CHUNK	16384	/* --limit-rate: the least worth a wakeup */

/*
 * How a direction moves its bytes, chosen once (choose_way) from what its
 * two endpoints allow and what the options need.
 */
enum way {
	WAY_COPY,		/* read into the buffer, write from it */
	WAY_SPLICE,		/* the same until the first large read, then
				   splice(2) through a pipe */
	WAY_SENDFILE		/* a regular file to a stream socket */
};

/*
 * One direction of the relay. Bytes read from src wait until sink takes
 * them: in buf (from off, len bytes), or on the splice way in the pipe
 * (inpipe bytes). The source is only read while there is room, which is
 * what gives back pressure both ways and bounds memory.
 */
struct dir {
	struct end	*src;
	struct end	*sink;
	enum way	 way;
	char		*buf;
	size_t		 cap;
	size_t		 off;
	size_t		 len;
	int		 pipe[2];	/* -1 while not splicing */
	size_t		 pipecap;
	size_t		 inpipe;	/* bytes waiting in the pipe */
	bool		 bulk;		/* WAY_SPLICE: a large read was seen */
	bool		 pipe_full;	/* out of pipe slots, whatever inpipe says */
	bool		 eof;		/* the source has ended */
	unsigned long long bytes;	/* bytes delivered to the sink */
	double		 credit;	/* --limit-rate: bytes it may read now */
	long long	 credit_at;	/* when credit was last brought up */
};

/*
 * The state of one session. "up" runs from the local side to the
 * connection (stdin to the socket), "down" back; the options that act on
 * one direction (-C, -i, -t, --send-only) name these two.
 */
struct relay_session {
	const struct opts *o;
	struct relay_io	*io;
	struct conn	*c;		/* the connection's record, or NULL */
	struct end	*remote;	/* the connection */
	struct end	*local_out;	/* where down delivers */
	struct dir	 up;
	struct dir	 down;
	bool		 dgram;		/* the connection carries datagrams */
	bool		 fin_sent;
	bool		 fin_waits;	/* the FIN's shutdown must be retried */
	bool		 local_closed;	/* the peer's end passed on locally */
	bool		 crlf_after_cr;	/* -C: the last byte read was a CR */
	bool		 progress_drawn; /* a --progress line a message must clear */
	long long	 start;
	long long	 last_activity;	/* anything moved, for -w */
	long long	 last_recv;	/* anything arrived, for -q */
	long long	 stdin_done_at;	/* stdin ended and was sent; -1 */
	unsigned long long received;	/* bytes read from the connection */
	long long	 datagrams;	/* datagrams read from it, for -W */
	long long	 next_send_at;	/* -i: no line before this time */
	long long	 progress_every; /* --progress interval; 0: off */
	long long	 next_progress;
	long long	 progress_t;	/* the last report, for the rate */
	unsigned long long progress_bytes;
	long long	 stdin_size;	/* bytes stdin will give; -1: unknown */
	struct telnet	 telnet;	/* -t */
	const struct end *failed;	/* the end whose read or write failed */
	int		 failed_errno;	/* and why */
};

/*
 * The end-of-stream rules, shared with server.c.
 */

bool
fin_due(const struct opts *o, bool sent_any)
{
	if (o->recv_only || o->fin == FIN_NEVER)
		return false;
	/* --send-only's peer learns the end from the FIN: it is always due. */
	return sent_any || o->fin == FIN_ALWAYS || o->send_only;
}

long long
quiet_deadline(long long quiet_ms, long long stdin_done_at,
    long long last_recv)
{
	return (last_recv > stdin_done_at ? last_recv : stdin_done_at) +
	    quiet_ms;
}

long long
idle_deadline(const struct opts *o, long long last_activity)
{
	return o->timeout_ms < 0 ? -1 : last_activity + o->timeout_ms;
}

void
say_fin_sent(const struct opts *o, const char *peer)
{
	if (o->verbose > 0)
		warnx("FIN sent to %s", peer);
}

void
say_fin_received(const struct opts *o, const char *peer)
{
	if (o->verbose > 0)
		warnx("FIN received from %s", peer);
}

void
say_idle_timeout(const struct opts *o, const char *peer)
{
	char secs[32];

	format_seconds(o->timeout_ms, secs, sizeof(secs));
	warnx("connection to %s: idle timeout after %s s", peer, secs);
}

/* Clear the progress line, so that a message starts on a line of its own. */
static void
clear_progress(struct relay_session *s)
{
	if (s->progress_drawn)
		write_all(STDERR_FILENO, "\r\033[K", 4);
	s->progress_drawn = false;
}

/* Bytes waiting for the sink, in the buffer and in the pipe. */
static size_t
dir_waiting(const struct dir *d)
{
	return d->len + d->inpipe;
}

static bool
dir_done(const struct dir *d)
{
	return d->eof && dir_waiting(d) == 0;
}

/* Is d moving through its pipe now (rather than its buffer)? */
static bool
piping(const struct dir *d)
{
	return d->way == WAY_SPLICE && d->pipe[0] != -1;
}

/*
 * What the pipe still holds after the sink refused splice goes through
 * the buffer first, ahead of anything newer from the source.
 */
static bool
unpiping(const struct dir *d)
{
	return d->way == WAY_COPY && d->inpipe > 0;
}

/*
 * --limit-rate: a token bucket per direction. Credit grows at the rate
 * and is saved up for RATE_BURST_MS at most, so that the average over a
 * transfer stays at the limit and an idle spell cannot be spent in one
 * flood; a read waits until the credit is worth it (RATE_CHUNK, or the
 * whole burst at low rates), so a slow limit is not a busy loop of tiny
 * reads.
 */
static double
rate_chunk(const struct opts *o)
{
	double burst = o->rate_limit * RATE_BURST_MS / 1000.0;

	if (burst < 1)
		burst = 1;
	return burst < RATE_CHUNK ? burst : RATE_CHUNK;
}

static void
rate_refill(const struct relay_session *s, struct dir *d, long long now)
{
	double rate = s->o->rate_limit, burst;

	if (rate <= 0)
		return;
	burst = rate * RATE_BURST_MS / 1000.0;
	if (burst < rate_chunk(s->o))
		burst = rate_chunk(s->o);
	d->credit += rate * (double)(now - d->credit_at) / 1000.0;
	if (d->credit > burst)
		d->credit = burst;
	d->credit_at = now;
}

/* May d's source be read, as far as --limit-rate says? */
static bool
rate_allows(const struct relay_session *s, const struct dir *d)
{
	return s->o->rate_limit <= 0 || d->credit >= rate_chunk(s->o);
}

/* How much the source may be read now. A datagram waits alone. */
static size_t
dir_room(const struct relay_session *s, const struct dir *d)
{
	size_t room;

	if (!rate_allows(s, d))
		return 0;
	/* -W: the datagrams asked for have come; no more are read. */
	if (d == &s->down && s->o->recv_limit > 0 &&
	    s->datagrams >= s->o->recv_limit)
		return 0;
	if (piping(d))
		room = d->pipe_full ? 0 : d->pipecap - d->inpipe;
	else if (s->dgram)
		/* A datagram is read whole: the credit may go below zero. */
		return d->len > 0 ? 0 : d == &s->up ? STDIN_DGRAM_MAX : d->cap;
	else
		room = d->cap - d->off - d->len;
	if (s->o->rate_limit > 0 && (double)room > d->credit)
		room = (size_t)d->credit;
	return room;
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

#endif


static bool
zero_copy_disabled(void)
{
	const char *no = getenv("SOCK_NOSPLICE");

	return no != NULL && *no != '\0' && strcmp(no, "0") != 0;
}

/*
 * The one place a direction's way is chosen. Bytes that must be seen or
 * changed on the way (-o; -C and -i going up; -t and --send-only coming
 * down), datagrams (which keep their boundaries only in a buffer) and an
 * endpoint that is not a plain descriptor (TLS) take the buffer. Of the
 * rest, a regular file to a stream socket goes with sendfile(2), and
 * the others (sockets, pipes, a file or /dev/null as the sink) with
 * splice(2): measured against a 128 KiB copy on the same run, splice with
 * the local pipes enlarged (widen_pipe) moved pipe -> sock -> sock -> pipe
 * faster and for less CPU (README, "Performance").
 */
static enum way
choose_way(const struct relay_session *s, const struct dir *d)
{
	const struct opts *o = s->o;
	bool up = d == &s->up;
	struct stat src, sink;

	if (s->dgram || !d->src->raw || !d->sink->raw || zero_copy_disabled())
		return WAY_COPY;
	if (o->hexdump_path != NULL || (up && (o->crlf || o->interval_ms >= 0)) ||
	    (!up && (o->send_only || o->telnet)))
		return WAY_COPY;
	if (fstat(d->src->rfd, &src) == -1 || fstat(d->sink->wfd, &sink) == -1)
		return WAY_COPY;
#ifdef HAVE_SPLICE
	if (S_ISREG(src.st_mode) && S_ISSOCK(sink.st_mode))
		return WAY_SENDFILE;
	if (!can_splice(d->src->rfd, false) || !can_splice(d->sink->wfd, true))
		return WAY_COPY;
	return WAY_SPLICE;
#else
	return WAY_COPY;
#endif
}

#ifdef HAVE_SPLICE
/*
 * Give d its pipe, as large as the system lets us: fewer, larger moves
 * (measured, see README). Without one, d copies.
 */
static void
start_splice(struct dir *d)
{
	int size;

	if (pipe2(d->pipe, O_CLOEXEC) == -1) {
		d->pipe[0] = d->pipe[1] = -1;
		d->way = WAY_COPY;
		return;
	}
	fcntl(d->pipe[1], F_SETPIPE_SZ, PIPE_BUFSIZE);
	if ((size = fcntl(d->pipe[1], F_GETPIPE_SZ)) <= 0)
		size = 65536;
	d->pipecap = (size_t)size;
}
#endif

/* Give the pipe back: only when nothing waits in it. */
static void
end_splice(struct dir *d)
{
	if (d->pipe[0] == -1)
		return;
	close(d->pipe[0]);
	close(d->pipe[1]);
	d->pipe[0] = d->pipe[1] = -1;
}

int
say_end_failed(const struct end *e, const char *verb)
{
	if (e->why[0] != '\0')
		warnx("%s %s: %s", verb, e->name, e->why);
	else
		warn("%s %s", verb, e->name);
	return e->fail_status;
}

/* Report a failure of e on a line of its own, and remember it. */
static int
end_failed(struct relay_session *s, const char *verb, const struct end *e)
{
	s->failed = e;
	s->failed_errno = errno;
	clear_progress(s);
	return say_end_failed(e, verb);
}

static int
read_error(struct relay_session *s, const struct dir *d)
{
	return end_failed(s, "read from", d->src);
}

static int
write_error(struct relay_session *s, const struct dir *d)
{
	/* A reader downstream that left ends sock quietly (EXIT STATUS). */
	if (d->sink->fail_status == EXIT_LOCAL && errno == EPIPE) {
		s->failed = d->sink;
		s->failed_errno = errno;
		return EXIT_PIPE;
	}
	return end_failed(s, "write to", d->sink);
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


/* -t: tell the peer no (IAC WONT/DONT opt), best effort. */
static void
telnet_refuse(void *arg, unsigned char answer, unsigned char opt)
{
	struct relay_session *s = arg;
	unsigned char reply[3] = { TELNET_IAC, answer, opt };

	if (s->fin_sent)
		return;
	/* A lost refusal only makes the peer wait for an answer. */
	(void)s->remote->ops->write(s->remote, reply, sizeof(reply));
	if (s->io->hexdump != NULL)
		dump_bytes(s->io, 0, (const char *)reply, sizeof(reply));
}


/*
 * -C: read stdin into d with each LF that is not already preceded by a CR
 * sent as CRLF. At most half the room is read, since every byte may grow
 * to two.
 */
static ssize_t
read_crlf(struct relay_session *s, struct dir *d, char *out, size_t room)
{
	char raw[STREAM_BUFSIZE / 2];
	size_t want = room / 2 < sizeof(raw) ? room / 2 : sizeof(raw);
	char *p = out;
	ssize_t n, i;

	if (want == 0) {
		errno = EAGAIN;
		return -1;
	}
	if ((n = d->src->ops->read(d->src, raw, want)) <= 0)
		return n;
	for (i = 0; i < n; i++) {
		if (raw[i] == '\n' && !s->crlf_after_cr)
			*p++ = '\r';
		*p++ = raw[i];
		s->crlf_after_cr = raw[i] == '\r';
	}
	return p - out;
}

/*
 * Was the datagram just read from an unconnected socket (a -k datagram
 * listener) from a sender --allow/--deny let in? Then it is the one to
 * answer.
 */
static bool
sender_admitted(struct relay_session *s)
{
	struct conn *c = s->c;

	if (c == NULL || c->connected)
		return true;
	if (!acl_admits(&s->o->allow, &s->o->deny,
	    (struct sockaddr *)&c->from)) {
		if (s->o->verbose > 1) {
			clear_progress(s);
			warnx("dropped a datagram refused by --allow/--deny");
		}
		return false;
	}
	memcpy(&c->peer, &c->from, c->fromlen);
	c->peerlen = c->fromlen;
	return true;
}

/*
 * Account for n bytes (or the end) just read into d, the nb bytes at p
 * when they went into the buffer (p NULL: into the pipe). Returns how many
 * of them stay for the sink.
 */
static size_t
took(struct relay_session *s, struct dir *d, char *p, size_t n)
{
	bool down = d == &s->down;

	s->last_activity = now_ms();
	d->credit -= (double)n;
	if (down) {
		s->last_recv = s->last_activity;
		s->received += n;
		if (s->dgram)
			s->datagrams++;
	}
	/* An empty datagram is a datagram, not the end. */
	if (n == 0 && !(down && s->dgram)) {
		d->eof = true;
		if (down) {
			clear_progress(s);
			say_fin_received(s->o, d->src->name);
		}
		return 0;
	}
	if (p == NULL)
		return n;
	if (down && s->io->hexdump != NULL)
		dump_bytes(s->io, 1, p, n);
	if (down && s->o->send_only)
		return 0;	/* what arrives is thrown away */
	if (d->way == WAY_SPLICE && n >= SPLICE_MIN)
		d->bulk = true;
	if (down && s->o->telnet)
		n = telnet_filter(&s->telnet, p, n, telnet_refuse, s);
	return n;
}

#ifdef HAVE_SPLICE
/* The splice way, once bulk: from the source into the pipe. */
static int
fill_pipe(struct relay_session *s, struct dir *d, size_t room)
{
	ssize_t n;

	n = splice(d->src->rfd, NULL, d->pipe[1], NULL, room,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n == -1 && errno == EINVAL && d->inpipe == 0) {
		/* The source refuses splice after all: copy. */
		end_splice(d);
		d->way = WAY_COPY;
		return 0;
	}
	if (n == -1) {
		/*
		 * A pipe holds a number of buffers, not of bytes: spliced
		 * socket data can fill every slot long before inpipe reaches
		 * pipecap. The source was ready, so the pipe is full: stop
		 * reading until the sink takes something, or sock would spin.
		 */
		if (errno == EAGAIN && d->inpipe > 0)
			d->pipe_full = true;
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return read_error(s, d);
	}
	d->inpipe += took(s, d, NULL, (size_t)n);
	return 0;
}
#endif

/* Read what the source has into d. Returns 0 or an exit status. */
static int
fill(struct relay_session *s, struct dir *d)
{
	size_t room = dir_room(s, d);
	char *p;
	ssize_t n;

	if (d == &s->down && s->o->send_only)
		d->off = d->len = 0;
#ifdef HAVE_SPLICE
	if (d->way == WAY_SPLICE && d->bulk && d->len == 0) {
		if (d->pipe[0] == -1)
			start_splice(d);
		if (piping(d))
			return fill_pipe(s, d, dir_room(s, d));
	}
#endif
	p = d->buf + d->off + d->len;
	if (unpiping(d)) {
		/* Internal, and known to hold this much: cannot fail. */
		if ((n = read(d->pipe[0], p, room < d->inpipe ? room :
		    d->inpipe)) <= 0) {
			warn("read from internal pipe");
			return EXIT_LOCAL;
		}
		d->inpipe -= (size_t)n;
		d->len += (size_t)n;
		if (d->inpipe == 0)
			end_splice(d);
		return 0;
	}
	if (d == &s->up && s->o->crlf)
		n = read_crlf(s, d, p, room);
	else
		n = d->src->ops->read(d->src, p, room);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return read_error(s, d);
	}
	if (d == &s->down && !sender_admitted(s))
		return 0;
	d->len += took(s, d, p, (size_t)n);
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

/* Count n bytes the sink took. */
static void
gave(struct relay_session *s, struct dir *d, size_t n)
{
	d->bytes += n;
	d->pipe_full = false;
	s->last_activity = now_ms();
}

#ifdef HAVE_SPLICE
/*
 * The splice way: from the pipe to the sink. A sink that refuses splice
 * although it looked able to gets the rest through the buffer, in the
 * loop like any other write (unpiping).
 */
static int
drain_pipe(struct relay_session *s, struct dir *d)
{
	ssize_t n;

	n = splice(d->pipe[0], NULL, d->sink->wfd, NULL, d->inpipe,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n == -1) {
		if (errno == EINVAL) {
			d->way = WAY_COPY;
			return 0;
		}
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return write_error(s, d);
	}
	d->inpipe -= (size_t)n;
	gave(s, d, (size_t)n);
	return 0;
}
#endif

/* Give the sink what waits in d. Returns 0 or an exit status. */
static int
drain(struct relay_session *s, struct dir *d)
{
	bool up = d == &s->up;
	size_t want = d->len;
	ssize_t n;

#ifdef HAVE_SPLICE
	if (piping(d))
		return d->inpipe > 0 ? drain_pipe(s, d) : 0;
#endif
	if (want == 0)
		return 0;
	if (up && s->o->interval_ms >= 0 &&
	    (want = line_length(d, s->dgram)) == 0)
		return 0;
	n = d->sink->ops->write(d->sink, d->buf + d->off, want);
	if (n == -1) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return write_error(s, d);
	}
	if (up && s->dgram)
		n = (ssize_t)want;	/* a datagram goes whole or not */
	if (up && s->io->hexdump != NULL)
		dump_bytes(s->io, 0, d->buf + d->off, (size_t)n);
	d->len -= (size_t)n;
	d->off = d->len == 0 ? 0 : d->off + (size_t)n;
	gave(s, d, (size_t)n);
	if (up && s->o->interval_ms >= 0 && (size_t)n == want)
		s->next_send_at = s->last_activity + s->o->interval_ms;
	return 0;
}

#ifdef HAVE_SPLICE
/*
 * The sendfile way: what the socket takes now, straight from the file,
 * with nothing in between, so nothing ever waits in d.
 */
static int
send_file(struct relay_session *s, struct dir *d)
{
	size_t chunk = SENDFILE_CHUNK;
	ssize_t n;

	if (s->o->rate_limit > 0 && (double)chunk > d->credit)
		chunk = (size_t)d->credit;
	n = sendfile(d->sink->wfd, d->src->rfd, NULL, chunk);
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
		d->way = WAY_COPY;
		return 0;
	}
	if (n == 0)
		d->eof = true;
	d->credit -= (double)n;
	gave(s, d, (size_t)n);
	return 0;
}
#endif

/* Write out all that waits for the local side, however long it takes. */
static int
flush_down(struct relay_session *s)
{
	struct dir *d = &s->down;
	fd_set rfds, wfds;
	int fd, rv;

	while (dir_waiting(d) > 0) {
		if (unpiping(d) && d->len == 0) {
			if ((rv = fill(s, d)) != 0)
				return rv;
			continue;
		}
		FD_ZERO(&rfds);
		FD_ZERO(&wfds);
		if ((fd = end_watch(d->sink, false, &rfds, &wfds)) == -1)
			return 0;
		if (select(fd + 1, &rfds, &wfds, NULL, NULL) == -1 &&
		    errno != EINTR) {
			clear_progress(s);
			warn("select");
			return EXIT_LOCAL;
		}
		if ((rv = drain(s, d)) != 0)
			return rv;
	}
	return 0;
}

/*
 * -q: before quitting, write out whatever has arrived: the
 * buffer, then what already waits in the socket (a bounded number of
 * reads, so a peer that never stops cannot keep sock here).
 */
static int
drain_arrived(struct relay_session *s)
{
	unsigned long long before;
	int i, rv;

	for (i = 0; i < QUIT_DRAIN_READS; i++) {
		if ((rv = flush_down(s)) != 0)
			return rv;
		if (s->down.eof || dir_room(s, &s->down) == 0)
			return 0;
		before = s->received;
		if ((rv = fill(s, &s->down)) != 0)
			return rv;
		if (s->received == before && !s->down.eof)
			return 0;	/* nothing more has arrived */
	}
	return flush_down(s);
}

/*
 * The peer's end (sock(1), "Data flow and end of stream"): the connection
 * has finished and everything it sent is out;
 * pass the end on to the local side (close stdout, or a FIN).
 */
static int
close_local(struct relay_session *s)
{
	struct end *e = s->local_out;

	/* A -k datagram listener's stdout outlives any one sender. */
	if (s->local_closed || !dir_done(&s->down) ||
	    (s->o->keep_open && s->dgram))
		return 0;
	if (e->ops->shutdown(e) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return end_failed(s, "write to", e);
	}
	s->local_closed = true;
	return 0;
}

/*
 * The FIN (sock(1), "Data flow and end of stream"): once stdin has been
 * sent, pass the end on with a FIN; but hold it
 * back when stdin was empty, since several netcats stop sending (or quit)
 * when a FIN arrives, and a FIN that carries no data could only cut the
 * peer's answer short.
 */
static int
maybe_send_fin(struct relay_session *s)
{
	s->fin_waits = false;
	if (s->fin_sent || !dir_done(&s->up) || s->dgram ||
	    !fin_due(s->o, s->up.bytes > 0))
		return 0;
	if (s->remote->ops->shutdown(s->remote) == -1) {
		if (errno == EAGAIN || errno == EINTR) {
			s->fin_waits = true;
			return 0;
		}
		return end_failed(s, "write to", s->remote);
	}
	s->fin_sent = true;
	clear_progress(s);
	say_fin_sent(s->o, s->remote->name);
	return 0;
}

/*
 * The earliest deadline that ends the session without more traffic:
 * -w's idle limit, -q's quiet time, or a datagram session's quiet second.
 * Sets *status to what to return when it passes.
 */
static long long
next_deadline(const struct relay_session *s, int *status)
{
	const struct opts *o = s->o;
	long long deadline = -1, quiet = o->quit_ms, t;

	if (s->dgram && quiet < 0 && !(o->listen && o->keep_open))
		quiet = DGRAM_QUIET_MS;
	if (quiet >= 0 && s->stdin_done_at >= 0) {
		deadline = quiet_deadline(quiet, s->stdin_done_at, s->last_recv);
		*status = EXIT_OK;
	}
	if ((t = idle_deadline(o, s->last_activity)) >= 0 &&
	    (deadline < 0 || t < deadline)) {
		deadline = t;
		*status = EXIT_TIMEOUT;
	}
	return deadline;
}

/*
 * --limit-rate: when d will have the credit for its next read, if it is
 * waiting for credit alone (-1: it is not).
 */
static long long
rate_wakeup(const struct relay_session *s, const struct dir *d)
{
	double need;

	if (s->o->rate_limit <= 0 || d->eof || rate_allows(s, d))
		return -1;
	need = rate_chunk(s->o) - d->credit;
	return d->credit_at + 1 + (long long)(need * 1000.0 / s->o->rate_limit);
}

/* The next moment the loop must wake without traffic (-1: none). */
static long long
next_wakeup(const struct relay_session *s)
{
	long long t = -1, w;

	/* A pause that is over wakes nobody: select waits for the socket. */
	if (s->up.len > 0 && s->next_send_at > now_ms())
		t = s->next_send_at;
	if (s->progress_every > 0 && (t < 0 || s->next_progress < t))
		t = s->next_progress;
	if ((w = rate_wakeup(s, &s->up)) >= 0 && (t < 0 || w < t))
		t = w;
	if ((w = rate_wakeup(s, &s->down)) >= 0 && (t < 0 || w < t))
		t = w;
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
report_progress(struct relay_session *s, bool final)
{
	unsigned long long sent = s->up.bytes, total;
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
		clear_progress(s);
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
	s->progress_drawn = tty;
}

/*
 * Is the session over by the rules? --send-only ends while the peer may
 * still be sending, and closing a socket with unread data sends a reset,
 * which can destroy what is still in flight to the peer: so it first waits
 * until the peer has acknowledged every byte.
 */
static bool
finished(const struct relay_session *s)
{
	const struct opts *o = s->o;
	int unacked;

	/* -W: the datagrams asked for have come and are written out. */
	if (o->recv_limit > 0 && s->datagrams >= o->recv_limit &&
	    dir_waiting(&s->down) == 0)
		return true;
	if (o->send_only) {
		if (!dir_done(&s->up) || !(s->dgram || s->fin_sent))
			return false;
		if (s->dgram || (unacked = end_unacked(s->remote)) == 0)
			return true;
		/*
		 * Where the system cannot tell what is unacknowledged, what
		 * arrives is read (and discarded) until the peer has been
		 * quiet for a moment: a close then finds nothing unread and
		 * sends no reset.
		 */
		return unacked < 0 && now_ms() - (s->last_recv > s->stdin_done_at ?
		    s->last_recv : s->stdin_done_at) >= SEND_ONLY_QUIET_MS;
	}
	if (!dir_done(&s->down) || (!(o->keep_open && s->dgram) &&
	    !s->local_closed))
		return false;
	/* An interactive user is done when the peer is (a terminal stdin). */
	if (s->io->stdin_tty || o->recv_only)
		return true;
	return dir_done(&s->up);
}

/* Track the highest descriptor select must look at. */
static void
note_fd(int fd, int *maxfd)
{
	if (fd > *maxfd)
		*maxfd = fd;
}

/*
 * Watch d's source while it has room and its sink while it holds bytes
 * (and, with -i, once the pause after the last line is over).
 */
static void
watch(const struct relay_session *s, const struct dir *d, long long now,
    fd_set *rfds, fd_set *wfds, int *maxfd)
{
	if (d->way == WAY_SENDFILE) {
		if (!d->eof && rate_allows(s, d)) /* a file is always ready */
			note_fd(end_watch(d->sink, false, rfds, wfds), maxfd);
		return;
	}
	if (!d->eof && !unpiping(d) && dir_room(s, d) > 0)
		note_fd(end_watch(d->src, true, rfds, wfds), maxfd);
	/*
	 * -i: the socket is of no use until a whole line waits and the
	 * pause after the last one is over.
	 */
	if ((d->len > 0 || (piping(d) && d->inpipe > 0)) &&
	    !(d == &s->up && s->o->interval_ms >= 0 &&
	    (s->next_send_at > now || line_length(d, s->dgram) == 0)))
		note_fd(end_watch(d->sink, false, rfds, wfds), maxfd);
}

/*
 * Can d's source give something without select's say: bytes an endpoint
 * holds already (a TLS record), or the pipe's rest after a refused
 * splice?
 */
static bool
ready_now(const struct relay_session *s, const struct dir *d)
{
	if (d->eof || d->way == WAY_SENDFILE || dir_room(s, d) == 0)
		return false;
	return unpiping(d) || d->src->ops->pending(d->src) > 0;
}

/*
 * Move what select found ready in d. What was just read is offered to the
 * sink at once rather than after another select: one wakeup per message
 * instead of two, which is most of a small message's round trip. (The
 * socket is non-blocking and splice does not block on pipes; a blocking
 * stdout is written the same way when select says it is writable.)
 */
static int
move(struct relay_session *s, struct dir *d, const fd_set *rfds,
    const fd_set *wfds)
{
	bool filled = false;
	size_t before;
	int rv;

#ifdef HAVE_SPLICE
	if (d->way == WAY_SENDFILE)
		return rate_allows(s, d) && end_ready(d->sink, false, rfds,
		    wfds) ? send_file(s, d) : 0;
#endif
	if (ready_now(s, d) || (!d->eof && !unpiping(d) &&
	    dir_room(s, d) > 0 && end_ready(d->src, true, rfds, wfds))) {
		before = dir_waiting(d);
		if ((rv = fill(s, d)) != 0)
			return rv;
		filled = dir_waiting(d) > before;
	}
	if ((end_ready(d->sink, false, rfds, wfds) || filled) &&
	    dir_waiting(d) > 0 && !(d == &s->up && s->next_send_at > now_ms()) &&
	    (rv = drain(s, d)) != 0)
		return rv;
	return 0;
}

/*
 * Before select: apply the transitions that are due (the FIN, the local
 * close, the end), then add what the session waits on to the sets and
 * bring *deadline down to when it must be stepped without traffic.
 * Returns -1 while the session goes on, else the exit status it ended with.
 */
int
relay_prepare(struct relay_session *s, fd_set *rfds, fd_set *wfds,
    int *maxfd, long long *deadline)
{
	const struct opts *o = s->o;
	long long t, now, wake;
	int rv, status;

	if (dir_done(&s->up) && s->stdin_done_at < 0)
		s->stdin_done_at = now_ms();
	if ((rv = maybe_send_fin(s)) != 0 || (rv = close_local(s)) != 0)
		return rv;
	if (finished(s))
		return EXIT_OK;

	now = now_ms();
	rate_refill(s, &s->up, now);
	rate_refill(s, &s->down, now);
	if (s->progress_every > 0 && now >= s->next_progress)
		report_progress(s, false);

	status = EXIT_OK;
	t = next_deadline(s, &status);
	wake = next_wakeup(s);
	if (wake >= 0 && (t < 0 || wake < t)) {
		t = wake;
		status = -1;
	}
	if (o->send_only && s->fin_sent) {
		/* Nothing signals the last acknowledgement: poll. */
		now = now_ms();
		if (t < 0 || t > now + UNSENT_POLL_MS) {
			t = now + UNSENT_POLL_MS;
			status = -1;
		}
	}
	if (t >= 0 && t <= now_ms()) {
		if (status == EXIT_TIMEOUT) {
			clear_progress(s);
			say_idle_timeout(o, s->remote->name);
			return EXIT_TIMEOUT;
		}
		if (status == EXIT_OK)
			return drain_arrived(s);
	}
	/*
	 * Only a session that goes on adds to the sets: one that ended has
	 * its descriptors closed by the caller before select sees them.
	 */
	watch(s, &s->up, now, rfds, wfds, maxfd);
	watch(s, &s->down, now, rfds, wfds, maxfd);
	if (s->fin_waits)
		note_fd(end_watch(s->remote, false, rfds, wfds), maxfd);
	/* Bytes an endpoint holds already need no select. */
	if (ready_now(s, &s->up) || ready_now(s, &s->down))
		t = now_ms();
	if (t >= 0 && (*deadline < 0 || t < *deadline))
		*deadline = t;
	return -1;
}

/*
 * After select: move what it found ready, both ways. Returns -1 while the
 * session goes on, else its exit status.
 */
int
relay_step(struct relay_session *s, const fd_set *rfds, const fd_set *wfds)
{
	int rv;

	if ((rv = move(s, &s->up, rfds, wfds)) != 0 ||
	    (rv = move(s, &s->down, rfds, wfds)) != 0)
		return rv;
	return -1;
}

void
relay_counts(const struct relay_session *s, unsigned long long *up,
    unsigned long long *down)
{
	*up = s->up.bytes;
	*down = s->down.bytes;
}

const struct end *
relay_failed(const struct relay_session *s, int *error)
{
	*error = s->failed_errno;
	return s->failed;
}

/* Wait in select until the deadline (-1: none) or readiness. */
static int
wait_ready(struct relay_session *s, fd_set *rfds, fd_set *wfds, int maxfd,
    long long deadline)
{
	struct timeval tv, *tvp = NULL;
	long long left;

	if (deadline >= 0) {
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		tv.tv_sec = left / 1000;
		tv.tv_usec = (left % 1000) * 1000;
		tvp = &tv;
	}
	if (select(maxfd + 1, rfds, wfds, NULL, tvp) == -1) {
		if (errno == EINTR) {
			FD_ZERO(rfds);
			FD_ZERO(wfds);
			return 0;
		}
		clear_progress(s);
		warn("select");
		return EXIT_LOCAL;
	}
	return 0;
}

/* One session alone: prepare, select, step, until it ends. */
static int
relay_loop(struct relay_session *s)
{
	fd_set rfds, wfds;
	long long deadline;
	int maxfd, rv;

	for (;;) {
		FD_ZERO(&rfds);
		FD_ZERO(&wfds);
		maxfd = -1;
		deadline = -1;
		if ((rv = relay_prepare(s, &rfds, &wfds, &maxfd,
		    &deadline)) != -1)
			return rv;
		if ((rv = wait_ready(s, &rfds, &wfds, maxfd, deadline)) != 0)
			return rv;
		if ((rv = relay_step(s, &rfds, &wfds)) != -1)
			return rv;
	}
}

/* How many bytes a regular-file stdin still holds; else -1. */
static long long
file_left(int fd)
{
	struct stat st;
	off_t pos;

	if (fd < 0 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		return -1;
	if ((pos = lseek(fd, 0, SEEK_CUR)) == -1 || pos > st.st_size)
		return -1;
	return (long long)(st.st_size - pos);
}

#ifdef HAVE_SPLICE
/*
 * A pipe on the local side is enlarged as the relay's own pipes are: the
 * process on its other end then blocks less often, and each move takes
 * more at once (measured, README "Performance"). Only the size changes;
 * the flags the pipe shares with the shell stay as they are.
 */
static void
widen_pipe(int fd)
{
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, PIPE_BUFSIZE);
}
#endif

/* Give d its ends and a buffer. Returns -1 (said) if there is no memory. */
static int
dir_init(struct relay_session *s, struct dir *d, struct end *src, struct end *sink,
    size_t cap)
{
	memset(d, 0, sizeof(*d));
	d->src = src;
	d->sink = sink;
	d->pipe[0] = d->pipe[1] = -1;
	d->cap = cap;
	d->credit_at = s->start;
	if ((d->buf = malloc(STREAM_BUFSIZE)) == NULL) {
		warn("relay buffer");
		return -1;
	}
	d->way = choose_way(s, d);
	return 0;
}

static void
dir_free(struct dir *d)
{
	end_splice(d);
	free(d->buf);
	d->buf = NULL;
}

/* select(2) cannot watch a descriptor at or above FD_SETSIZE. */
static bool
fits_select(const struct end *e)
{
	if (e->rfd < FD_SETSIZE && e->wfd < FD_SETSIZE)
		return true;
	warnx("descriptor %d is too large for select", e->rfd > e->wfd ?
	    e->rfd : e->wfd);
	return false;
}

/* The -v summary line (sock(1), DIAGNOSTICS). */
static void
say_summary(const struct relay_session *s)
{
	long long elapsed = now_ms() - s->start;
	double rate;
	char secs[32];

	format_seconds(elapsed, secs, sizeof(secs));
	rate = elapsed > 0 ? (double)(s->up.bytes + s->received) /
	    (double)elapsed / 1000.0 : 0.0;
	warnx("sent %llu bytes, received %llu bytes in %s s (%.1f MB/s)",
	    s->up.bytes, s->received, secs, rate);
}

struct relay_session *
relay_open(const struct opts *o, struct end *local_in, struct end *local_out,
    struct end *remote, struct conn *c, struct relay_io *io)
{
	struct relay_session *s;

	if (!fits_select(local_in) || !fits_select(local_out) ||
	    !fits_select(remote))
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		warn("relay session");
		return NULL;
	}
	s->o = o;
	s->io = io;
	s->c = c;
	s->remote = remote;
	s->local_out = local_out;
	s->dgram = c != NULL && c->dgram;
	s->start = s->last_activity = s->last_recv = now_ms();
	s->stdin_done_at = -1;
	s->stdin_size = file_left(local_in->rfd);
	if (o->progress == PROGRESS_ALWAYS && !isatty(STDERR_FILENO))
		s->progress_every = PROGRESS_LOG_MS;
	else if (o->progress != PROGRESS_OFF && isatty(STDERR_FILENO))
		s->progress_every = PROGRESS_TTY_MS;
	s->progress_t = s->start;
	s->next_progress = s->start + s->progress_every;
	s->up.pipe[0] = s->up.pipe[1] = s->down.pipe[0] = s->down.pipe[1] = -1;

	if (dir_init(s, &s->up, local_in, remote, STREAM_BUFSIZE) == -1 ||
	    dir_init(s, &s->down, remote, local_out, s->dgram ? DGRAM_BUFSIZE :
	    STREAM_BUFSIZE) == -1) {
		relay_close(s);
		return NULL;
	}
	if (o->recv_only)
		s->up.eof = true;	/* -d: stdin is never read */
#ifdef HAVE_SPLICE
	if (!s->dgram) {
		widen_pipe(local_in->rfd);
		widen_pipe(local_out->wfd);
	}
#endif
	return s;
}

void
relay_close(struct relay_session *s)
{
	if (s == NULL)
		return;
	dir_free(&s->up);
	dir_free(&s->down);
	free(s);
}

int
relay_ends(const struct opts *o, struct end *local_in, struct end *local_out,
    struct end *remote, struct conn *c, struct relay_io *io)
{
	struct relay_session *s;
	int status, rv;

	if ((s = relay_open(o, local_in, local_out, remote, c, io)) == NULL)
		return local_in->rfd >= FD_SETSIZE || local_out->wfd >= FD_SETSIZE ||
		    remote->rfd >= FD_SETSIZE ? EXIT_NET : EXIT_LOCAL;
	status = relay_loop(s);
	/*
	 * A FIN held back for an empty stdin goes at the end all the same, as close(2)
	 * would send it: over TLS, a close without close_notify would look to
	 * the peer like a cut.
	 */
	if (status == EXIT_OK && !s->fin_sent && !s->dgram)
		(void)s->remote->ops->shutdown(s->remote);
	/* What had arrived before a failure is still delivered. */
	if ((status == EXIT_NET || status == EXIT_TIMEOUT) &&
	    (rv = flush_down(s)) != 0)
		status = rv;
	end_splice(&s->up);
	end_splice(&s->down);
	if (s->progress_every > 0)
		report_progress(s, true);
	if (io->hexdump != NULL && !io->dump_failed &&
	    fflush(io->hexdump) == EOF) {
		clear_progress(s);
		warn("write to hex dump");
		io->dump_failed = true;
		if (status == EXIT_OK)
			status = EXIT_LOCAL;
	}
	if (o->verbose > 0)
		say_summary(s);
	relay_close(s);
	return status;
}

int
relay(const struct opts *o, struct conn *c, struct relay_io *io)
{
	struct end in, out, remote;
	int status;

	end_stdin(&in);
	end_stdout(&out);
	end_socket(&remote, c);
	status = relay_ends(o, &in, &out, &remote, c, io);
	remote.ops->free(&remote);
	return status;
}
