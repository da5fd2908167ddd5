/* SPDX-License-Identifier: ISC */
/*
 * hook.c: what watches or changes the relay's bytes on the way (hook.h):
 * -o, -C, -t, -i, --raw's ~. escape, --limit-rate, --send-only's discarding, -W, a datagram
 * listener's --allow/--deny, --progress and the -v summary. Each is set up
 * once per direction when a session opens; the relay calls them at fixed
 * points and never asks which direction it is. Prints only -v lines, the
 * progress line and a failed dump.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"
#include "end.h"
#include "net.h"
#include "parse.h"
#include "rules.h"
#include "hook.h"

#define CRLF_RAW_MAX	(64 * 1024)	/* -C: one read, before CRs are added */
#define ESCAPE_RAW_MAX	4096	/* --raw: one read of what is typed */
#define PROGRESS_TTY_MS	250	/* --progress redraws on a terminal */
#define PROGRESS_LOG_MS	1000	/* --progress=always: a line a second */
#define RATE_BURST_MS	50	/* --limit-rate: credit saved up at most */
#define RATE_CHUNK	16384	/* --limit-rate: the least worth a wakeup */

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

void
meter_open(struct meter *m, enum progress p, int stdin_fd, long long start)
{
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->stdin_size = file_left(stdin_fd);
	if (p == PROGRESS_ALWAYS && !isatty(STDERR_FILENO))
		m->every = PROGRESS_LOG_MS;
	else if (p != PROGRESS_OFF && isatty(STDERR_FILENO))
		m->every = PROGRESS_TTY_MS;
	m->last_t = start;
	m->next = start + m->every;
}

void
meter_clear(struct meter *m)
{
	if (m->drawn)
		write_all(STDERR_FILENO, "\r\033[K", 4);
	m->drawn = false;
}

long long
meter_next(const struct meter *m)
{
	return m->every > 0 ? m->next : -1;
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
void
meter_report(struct meter *m, unsigned long long sent,
    unsigned long long received, bool final)
{
	unsigned long long total;
	long long now = now_ms(), elapsed = now - m->start;
	bool tty = m->every == PROGRESS_TTY_MS;
	char line[256], a[32], b[32], cur[32], avg[32], el[32], eta[48];
	double rate, mean;
	int len;

	total = sent + received;
	rate = now > m->last_t ? (double)(total - m->last_bytes) *
	    1000.0 / (double)(now - m->last_t) : 0;
	mean = elapsed > 0 ? (double)total * 1000.0 / (double)elapsed : 0;
	m->last_t = now;
	m->last_bytes = total;
	m->next = now + m->every;
	if (final && tty) {
		meter_clear(m);
		return;
	}
	human_bytes((double)sent, a, sizeof(a));
	human_bytes((double)received, b, sizeof(b));
	human_bytes(rate, cur, sizeof(cur));
	human_bytes(mean, avg, sizeof(avg));
	clock_text(elapsed, el, sizeof(el));
	eta[0] = '\0';
	if (m->stdin_size > 0 && sent > 0 && elapsed > 0) {
		unsigned long long left = sent < (unsigned long long)m->stdin_size ?
		    (unsigned long long)m->stdin_size - sent : 0;
		double send_rate = (double)sent / (double)elapsed;
		char t[32];

		/* What is left of stdin, at the pace it has been sent. */
		clock_text((long long)((double)left / send_rate), t, sizeof(t));
		snprintf(eta, sizeof(eta), ", %.0f%%, ETA %s",
		    100.0 * (double)sent / (double)m->stdin_size, t);
	}
	len = snprintf(line, sizeof(line), "%ssock: sent %s, received %s, "
	    "%s/s (average %s/s), %s%s%s", tty ? "\r" : "", a, b, cur, avg, el,
	    eta, tty ? "\033[K" : "\n");
	if (len > 0)
		write_all(STDERR_FILENO, line, (size_t)len < sizeof(line) ?
		    (size_t)len : sizeof(line) - 1);
	m->drawn = tty;
}

bool
meter_end(struct meter *m, struct relay_io *io, int verbose,
    unsigned long long sent, unsigned long long received)
{
	long long elapsed;
	bool failed = false;
	double rate;
	char secs[32];

	if (m->every > 0)
		meter_report(m, sent, received, true);
	if (io->hexdump != NULL && !io->dump_failed &&
	    fflush(io->hexdump) == EOF) {
		meter_clear(m);
		warn("write to hex dump");
		io->dump_failed = failed = true;
	}
	if (verbose > 0) {
		/* The -v summary line (sock(1), DIAGNOSTICS). */
		elapsed = now_ms() - m->start;
		format_seconds(elapsed, secs, sizeof(secs));
		rate = elapsed > 0 ? (double)(sent + received) /
		    (double)elapsed / 1000.0 : 0.0;
		warnx("sent %llu bytes, received %llu bytes in %s s (%.1f MB/s)",
		    sent, received, secs, rate);
	}
	return failed;
}

void
hooks_open(struct hook *up, struct hook *down, const struct relay_rules *r,
    struct relay_io *io, struct meter *m, struct conn *c, struct end *remote,
    const bool *fin_sent)
{
	struct hook *h;

	for (h = up; h != NULL; h = h == up ? down : NULL) {
		memset(h, 0, sizeof(*h));
		h->io = io;
		h->meter = m;
		h->dgram = c != NULL && c->dgram;
		h->dump = -1;
		h->interval_ms = -1;
		h->verbose = r->verbose;
		h->rate = r->rate_limit;
		h->credit_at = m->start;
	}
	if (io->hexdump != NULL) {
		up->dump = 0;
		down->dump = 1;
	}
	up->crlf = r->crlf;
	/* Typed at a terminal only: a pipe's bytes go as they are. */
	up->escape = r->escape && io->stdin_tty;
	up->line_start = true;
	up->interval_ms = r->interval_ms;
	down->discard = r->send_only;
	down->telnet = r->telnet;
	down->reply = remote;
	down->replies_end = fin_sent;
	down->quota = r->recv_limit;
	down->sender = down->dgram ? c : NULL;	/* a -k datagram listener */
	down->allow = r->allow;
	down->deny = r->deny;
}

bool
hook_sees(const struct hook *h)
{
	return h->dump >= 0 || h->crlf || h->interval_ms >= 0 || h->discard ||
	    h->telnet || h->escape;
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
rate_chunk(const struct hook *h)
{
	double burst = h->rate * RATE_BURST_MS / 1000.0;

	if (burst < 1)
		burst = 1;
	return burst < RATE_CHUNK ? burst : RATE_CHUNK;
}

/* --limit-rate: bring the credit up to now. */
static void
hook_refill(struct hook *h, long long now)
{
	double burst;

	if (h->rate <= 0)
		return;
	burst = h->rate * RATE_BURST_MS / 1000.0;
	if (burst < rate_chunk(h))
		burst = rate_chunk(h);
	h->credit += h->rate * (double)(now - h->credit_at) / 1000.0;
	if (h->credit > burst)
		h->credit = burst;
	h->credit_at = now;
}

void
hooks_tick(struct hook *up, struct hook *down, struct meter *m, long long now,
    unsigned long long sent, unsigned long long received)
{
	hook_refill(up, now);
	hook_refill(down, now);
	if (meter_next(m) >= 0 && now >= meter_next(m))
		meter_report(m, sent, received, false);
}

static bool
rate_allows(const struct hook *h)
{
	return h->rate <= 0 || h->credit >= rate_chunk(h);
}

bool
hook_may_read(const struct hook *h)
{
	return rate_allows(h) && !(h->quota > 0 && h->datagrams >= h->quota) &&
	    !h->quit;
}

size_t
hook_room(const struct hook *h, size_t room)
{
	if (h->rate > 0 && (double)room > h->credit)
		room = (size_t)h->credit;
	return room;
}

/*
 * -C: read with each LF that is not already preceded by a CR sent as
 * CRLF. At most half the room is read, since every byte may grow to two.
 */
static ssize_t
read_crlf(struct hook *h, struct end *src, char *out, size_t room)
{
	char raw[CRLF_RAW_MAX];
	size_t want = room / 2 < sizeof(raw) ? room / 2 : sizeof(raw);
	char *p = out;
	ssize_t n, i;

	if (want == 0) {
		errno = EAGAIN;
		return -1;
	}
	if ((n = src->ops->read(src, raw, want)) <= 0)
		return n;
	for (i = 0; i < n; i++) {
		if (raw[i] == '\n' && !h->after_cr)
			*p++ = '\r';
		*p++ = raw[i];
		h->after_cr = raw[i] == '\r';
	}
	return p - out;
}

/*
 * --raw: ssh's escape. At the start of a line (the session's start, or
 * after a CR or LF) a ~ is held back until the next byte: . ends the
 * session (with what came before it sent), ~ sends one ~, anything else
 * goes after the ~. At most room - 1 bytes are read, since a ~ held back
 * from the last read may come first.
 */
static ssize_t
read_escape(struct hook *h, struct end *src, char *out, size_t room)
{
	char raw[ESCAPE_RAW_MAX];
	size_t want = room > 0 ? room - 1 : 0;
	char *p = out;
	ssize_t n, i;

	if (want > sizeof(raw))
		want = sizeof(raw);
	if (want == 0) {
		errno = EAGAIN;
		return -1;
	}
	if ((n = src->ops->read(src, raw, want)) == -1)
		return -1;
	if (n == 0 && h->tilde) {
		h->tilde = false;
		*out = '~';
		return 1;	/* the end comes at the next read */
	}
	for (i = 0; i < n && !h->quit; i++) {
		if (h->tilde) {
			h->tilde = false;
			if (raw[i] == '.') {
				h->quit = true;
				break;
			}
			*p++ = '~';
			if (raw[i] == '~') {
				h->line_start = false;
				continue;
			}
		} else if (h->line_start && raw[i] == '~') {
			h->tilde = true;
			continue;
		}
		*p++ = raw[i];
		h->line_start = raw[i] == '\r' || raw[i] == '\n';
	}
	/* Nothing to send is not the end of stdin: the relay asks again. */
	if (p == out && n > 0) {
		errno = EAGAIN;
		return -1;
	}
	return p - out;
}

ssize_t
hook_read(struct hook *h, struct end *src, char *p, size_t room)
{
	if (h->escape)
		return read_escape(h, src, p, room);
	if (h->crlf)
		return read_crlf(h, src, p, room);
	return src->ops->read(src, p, room);
}

bool
hook_admits(struct hook *h)
{
	struct conn *c = h->sender;

	if (c == NULL || c->connected)
		return true;
	if (!acl_admits(h->allow, h->deny, (struct sockaddr *)&c->from)) {
		if (h->verbose > 1) {
			meter_clear(h->meter);
			warnx("dropped a datagram refused by --allow/--deny");
		}
		return false;
	}
	memcpy(&c->peer, &c->from, c->fromlen);
	c->peerlen = c->fromlen;
	return true;
}

void
hook_spent(struct hook *h, size_t n)
{
	h->credit -= (double)n;
	if (h->dgram)
		h->datagrams++;
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
		hook_dump_flush(io);
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
			hook_dump_flush(io);
	}
}

void
hook_dump_flush(struct relay_io *io)
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
	struct hook *h = arg;
	unsigned char reply[3] = { TELNET_IAC, answer, opt };

	if (*h->replies_end)
		return;
	/* A lost refusal only makes the peer wait for an answer. */
	(void)h->reply->ops->write(h->reply, reply, sizeof(reply));
	if (h->io->hexdump != NULL)
		dump_bytes(h->io, 0, (const char *)reply, sizeof(reply));
}

size_t
hook_took(struct hook *h, char *p, size_t n)
{
	if (h->dump == 1)
		dump_bytes(h->io, 1, p, n);
	if (h->discard)
		return 0;	/* what arrives is thrown away */
	if (h->telnet)
		n = telnet_filter(&h->tn, p, n, telnet_refuse, h);
	return n;
}

size_t
hook_ready(const struct hook *h, const char *p, size_t len, bool last)
{
	const char *nl;

	if (h->interval_ms < 0 || h->dgram)
		return len;
	if ((nl = memchr(p, '\n', len)) != NULL)
		return (size_t)(nl - p) + 1;
	return last ? len : 0;
}

bool
hook_paused(const struct hook *h)
{
	return h->interval_ms >= 0 && h->next_send_at > now_ms();
}

bool
hook_holds(const struct hook *h, long long now, size_t ready)
{
	return h->interval_ms >= 0 && (h->next_send_at > now || ready == 0);
}

void
hook_gave(struct hook *h, const char *p, size_t n, bool all, long long now)
{
	if (h->dump == 0)
		dump_bytes(h->io, 0, p, n);
	if (h->interval_ms >= 0 && all)
		h->next_send_at = now + h->interval_ms;
}

long long
hook_wakeup(const struct hook *h, bool waiting, bool eof)
{
	long long t = -1, w;
	double need;

	/* A pause that is over wakes nobody: the loop waits for the socket. */
	if (waiting && h->interval_ms >= 0 && h->next_send_at > now_ms())
		t = h->next_send_at;
	if (h->rate <= 0 || eof || rate_allows(h))
		return t;
	/* --limit-rate: when the credit for the next read will be there. */
	need = rate_chunk(h) - h->credit;
	w = h->credit_at + 1 + (long long)(need * 1000.0 / h->rate);
	return t < 0 || w < t ? w : t;
}

bool
hook_quit(const struct hook *h)
{
	return h->quit;
}

bool
hook_quota_met(const struct hook *h)
{
	return h->quota > 0 && h->datagrams >= h->quota;
}
