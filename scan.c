/* SPDX-License-Identifier: ISC */
/*
 * scan.c: port scanning (-z). Parse the port list, probe many ports at
 * once with non-blocking sockets waited on in the loop (loop.c), and
 * report in nc.openbsd's words. The entry points are parse_port_list and
 * scan (scan.h); it touches only the probes it makes and returns an exit
 * status.
 *
 * A TCP probe is a connect: accepted means open, a reset means closed, no
 * answer within the probe timeout means filtered ("Connection timed out").
 * A UDP probe sends an empty datagram on a connected socket: a reply means
 * open, an ICMP port unreachable (ECONNREFUSED) means closed, and silence
 * until the timeout is uncertain -- open, or a firewall that drops the
 * probe. Like nc.openbsd, sock reports silence as "succeeded".
 */
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "opts.h"
#include "loop.h"
#include "net.h"
#include "parse.h"
#include "proxy.h"
#include "scan.h"

#define MAX_PORT	65535
#define PROBE_MS	2000	/* probe timeout without -w: 2 s */
#define WINDOW_MAX	1000	/* probes in flight at once, at most */
#define FD_SPARE	16	/* descriptors kept for everything else */
#define BACKOFF_MIN_MS	50	/* --wait: first pause between rounds */
#define BACKOFF_MAX_MS	500	/* --wait: longest pause between rounds */
#define SERVICE_MAX	64	/* longer names are no service */
#define SHOWN_MAX	32	/* bytes of a bad entry quoted in a message */

/*
 * Port lists
 */

/* parse_port_list's messages: static, so the caller may keep the pointer. */
static char	why_buf[160];

/* Set *why to a formatted message and fail. */
static int __attribute__((format(printf, 2, 3)))
list_error(const char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
	*why = why_buf;
	return -1;
}

/* Copy the entry p[0..len) into buf for a message, cut short if long. */
static void
show_entry(const char *p, size_t len, char *buf, size_t size)
{
	if (len > SHOWN_MAX)
		snprintf(buf, size, "%.*s...", SHOWN_MAX, p);
	else
		snprintf(buf, size, "%.*s", (int)len, p);
}

/* Are p[0..len) all decimal digits, and is there at least one? */
static bool
all_digits(const char *p, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/*
 * The value of the digits p[0..len), or MAX_PORT + 1 for anything larger:
 * saturating, so a string of a thousand digits cannot overflow.
 */
static long
digits_value(const char *p, size_t len)
{
	long v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		v = v * 10 + (p[i] - '0');
		if (v > MAX_PORT)
			return MAX_PORT + 1;
	}
	return v;
}

/* Check one port number of the list, parsed from digits[0..len). */
static int
check_port_value(long v, const char *digits, size_t len, const char **why)
{
	char shown[SHOWN_MAX + 4];

	if (v == 0)
		return list_error(why, "port 0 cannot be scanned (ports are "
		    "1-65535)");
	if (v > MAX_PORT) {
		show_entry(digits, len, shown, sizeof(shown));
		return list_error(why, "port %s is out of range (ports are "
		    "1-65535)", shown);
	}
	return 0;
}

/* Mark ports lo to hi (1 <= lo <= hi <= MAX_PORT) in the bitmap. */
static void
mark_range(unsigned char *map, long lo, long hi)
{
	/* Whole bytes at once: a list of many "1-65535" stays cheap. */
	for (; lo <= hi && lo % 8 != 0; lo++)
		map[lo / 8] |= 1u << (lo % 8);
	if (hi - lo + 1 >= 8) {
		memset(map + lo / 8, 0xff, (size_t)(hi - lo + 1) / 8);
		lo += (hi - lo + 1) / 8 * 8;
	}
	for (; lo <= hi; lo++)
		map[lo / 8] |= 1u << (lo % 8);
}

/*
 * Parse one entry of the list, p[0..len): a port, a range of two ports, or
 * (unless numeric) a service name; mark its ports in map. whole: the entry
 * is the whole list, which the caller's message already quotes.
 */
static int
parse_entry(const char *p, size_t len, bool whole, bool numeric, bool udp,
    unsigned char *map, const char **why)
{
	char shown[SHOWN_MAX + 4], at[SHOWN_MAX + 8], name[SERVICE_MAX + 1];
	const char *dash;
	struct servent *se;
	long lo, hi;
	size_t i, left, right;

	if (len == 0)
		return list_error(why, "empty entry (a comma too many)");
	show_entry(p, len, shown, sizeof(shown));
	/* Where the entry is one of several, messages name it. */
	if (whole)
		at[0] = '\0';
	else
		snprintf(at, sizeof(at), "\"%s\": ", shown);
	for (i = 0; i < len; i++) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' ||
		    p[i] == '\r' || p[i] == '\v' || p[i] == '\f')
			return list_error(why, "%sspaces are not allowed", at);
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
			return list_error(why, "%sunexpected character", at);
	}
	if (p[0] == '-' || p[0] == '+')
		return list_error(why, "%sa port has no sign", at);
	if (all_digits(p, len)) {
		lo = digits_value(p, len);
		if (check_port_value(lo, p, len, why) == -1)
			return -1;
		mark_range(map, lo, lo);
		return 0;
	}
	/* A range: digits, one dash, digits. */
	dash = memchr(p, '-', len);
	left = dash != NULL ? (size_t)(dash - p) : 0;
	right = dash != NULL ? len - left - 1 : 0;
	if (dash != NULL && all_digits(p, left) &&
	    all_digits(dash + 1, right)) {
		lo = digits_value(p, left);
		hi = digits_value(dash + 1, right);
		if (check_port_value(lo, p, left, why) == -1 ||
		    check_port_value(hi, dash + 1, right, why) == -1)
			return -1;
		if (lo > hi)
			return list_error(why, "range %s runs backwards", shown);
		mark_range(map, lo, hi);
		return 0;
	}
	/* Service names may contain dashes ("netbios-ns"): try them first. */
	if (!numeric && len <= SERVICE_MAX) {
		memcpy(name, p, len);
		name[len] = '\0';
		if ((se = getservbyname(name, udp ? "udp" : "tcp")) != NULL) {
			lo = ntohs((uint16_t)se->s_port);
			if (lo == 0)
				return list_error(why, "%sservice port 0 "
				    "cannot be scanned", at);
			mark_range(map, lo, lo);
			return 0;
		}
	}
	if (dash != NULL && (all_digits(p, left) ||
	    all_digits(dash + 1, right)))
		return list_error(why, "%sa range needs a port number at each "
		    "end", at);
	if (numeric)
		return list_error(why, "%snot a number (-n forbids service "
		    "names)", at);
	return list_error(why, "unknown %s service \"%s\"", udp ? "udp" :
	    "tcp", shown);
}

int
parse_port_list(const char *s, bool numeric, bool udp, int **ports,
    size_t *n, const char **why)
{
	/* One bit a port: sorts and drops repeats, and bounds the result. */
	unsigned char map[(MAX_PORT + 1) / 8];
	const char *p, *comma;
	size_t count = 0, i;
	long port;
	int *v;

	if (*s == '\0')
		return list_error(why, "the list is empty");
	memset(map, 0, sizeof(map));
	for (p = s;; p = comma + 1) {
		comma = strchr(p, ',');
		if (parse_entry(p, comma != NULL ? (size_t)(comma - p) :
		    strlen(p), p == s && comma == NULL, numeric, udp, map,
		    why) == -1)
			return -1;
		if (comma == NULL)
			break;
	}
	for (port = 1; port <= MAX_PORT; port++)
		if (map[port / 8] & (1u << (port % 8)))
			count++;
	if ((v = malloc(count * sizeof(*v))) == NULL)
		return list_error(why, "%s", strerror(errno));
	for (port = 1, i = 0; port <= MAX_PORT; port++)
		if (map[port / 8] & (1u << (port % 8)))
			v[i++] = (int)port;
	*ports = v;
	*n = count;
	return 0;
}

/*
 * Probing
 */

/* What became of one port in a round. */
struct port_result {
	unsigned	 left;		/* its probes not finished yet */
	bool		 open;		/* an address accepted or answered */
	bool		 silent;	/* UDP: an address stayed silent */
	bool		 has_err;
	int		 err;		/* why the first failing address failed */
	size_t		 err_addr;	/* ... and which address that was */
};

/* A probe in flight: a socket waiting for its connect (or UDP answer). */
struct probe {
	int		 fd;
	size_t		 task;		/* port index * naddrs + address */
	long long	 deadline;	/* when it counts as timed out */
};

/* How a probe ended. */
enum outcome {
	PROBE_OPEN,		/* accepted (TCP) or answered (UDP) */
	PROBE_SILENT,		/* UDP: neither answer nor ICMP error */
	PROBE_FAILED,		/* refused, timed out, unreachable: err */
	PROBE_SKIPPED		/* not run: another address already answered */
};

/* The whole state of one scan; rounds repeat for --wait. */
struct scanner {
	const struct opts *o;
	struct addrinfo	*res;		/* the target's addresses */
	struct addrinfo	**addrs;	/* ... as an array */
	struct addrinfo	**srcs;		/* the source for each, or NULL */
	size_t		 naddrs;
	size_t		*order;		/* tasks in probing order */
	size_t		 ntasks;
	struct port_result *results;	/* one per o->scan_ports entry */
	struct probe	*probes;	/* in flight: the first inflight slots */
	size_t		 inflight;
	size_t		 window;	/* at most this many in flight */
	long long	 probe_ms;	/* each probe's timeout */
	long long	 stop_at;	/* --wait's deadline, or -1 */
	long long	 next_start;	/* -i: no new probe before this time */
	size_t		 reported;	/* ports reported, in port order */
	bool		 stream;	/* report during the round */
	size_t		 nopen;		/* open ports in this round */
	struct loop	 loop;		/* where the probes wait */
};

static const char *
proto(const struct opts *o)
{
	return o->udp ? "udp" : "tcp";
}

/* Print what -v and -vv ask for about port index i. */
static void
report_port(const struct scanner *sc, size_t i)
{
	const struct opts *o = sc->o;
	const struct port_result *r = &sc->results[i];
	int port = o->scan_ports[i];
	struct servent *se;

	if (r->open || r->silent) {
		if (o->verbose < 1)
			return;
		se = o->numeric ? NULL : getservbyport(htons((uint16_t)port),
		    proto(o));
		warnx("Connection to %s %d port [%s/%s] succeeded!", o->host,
		    port, proto(o), se != NULL ? se->s_name : "*");
	} else if (o->verbose > 1)
		warnx("connect to %s port %d (%s) failed: %s", o->host, port,
		    proto(o), strerror(r->err));
}

/* Is port index i finished: known open, or every probe done? */
static bool
port_done(const struct port_result *r)
{
	return r->open || r->left == 0;
}

/* Record how task ended; report the ports now finished, in order. */
static void
record(struct scanner *sc, size_t task, enum outcome how, int err)
{
	size_t pi = task / sc->naddrs, ai = task % sc->naddrs;
	struct port_result *r = &sc->results[pi];
	bool was_done = port_done(r);

	r->left--;
	switch (how) {
	case PROBE_OPEN:
		r->open = true;
		break;
	case PROBE_SILENT:
		r->silent = true;
		break;
	case PROBE_FAILED:
		/* The preferred (first) address's error is the one shown. */
		if (!r->has_err || ai < r->err_addr) {
			r->has_err = true;
			r->err = err;
			r->err_addr = ai;
		}
		break;
	case PROBE_SKIPPED:
		break;
	}
	if (!was_done && port_done(r) && (r->open || r->silent))
		sc->nopen++;
	if (!sc->stream)
		return;
	while (sc->reported < sc->o->scan_nports &&
	    port_done(&sc->results[sc->reported]))
		report_port(sc, sc->reported++);
}

/* The target address of task, with its port filled in. */
static socklen_t
task_addr(const struct scanner *sc, size_t task, struct sockaddr_storage *ss)
{
	const struct addrinfo *ai = sc->addrs[task % sc->naddrs];
	uint16_t port = htons((uint16_t)sc->o->scan_ports[task / sc->naddrs]);

	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = port;
	else
		((struct sockaddr_in6 *)ss)->sin6_port = port;
	return ai->ai_addrlen;
}

/*
 * Is fd connected to itself? On loopback, a probe of a port nobody listens
 * on can get that very port as its own ephemeral port; TCP's simultaneous
 * open then "connects", and an empty UDP datagram comes back as a reply.
 * Neither is a listener.
 */
static bool
self_connected(int fd, const struct sockaddr_storage *peer, socklen_t len)
{
	struct sockaddr_storage self;
	socklen_t selflen = sizeof(self);

	if (getsockname(fd, (struct sockaddr *)&self, &selflen) == -1 ||
	    selflen != len || self.ss_family != peer->ss_family)
		return false;
	if (self.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&self;
		const struct sockaddr_in *b = (const struct sockaddr_in *)peer;

		return a->sin_port == b->sin_port &&
		    a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (self.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&self;
		const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)peer;

		return a->sin6_port == b->sin6_port &&
		    memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
	}
	return false;
}

/* Is errno a shortage of descriptors or memory, worth a smaller window? */
static bool
out_of_resources(int e)
{
	return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

/*
 * Start the probe for task. Returns 0 with the probe in flight, 1 if it
 * ended at once (recorded), -2 if descriptors or memory ran short (errno
 * set, nothing recorded: try again later), or -1 after saying why the scan
 * cannot go on.
 */
static int
start_probe(struct scanner *sc, size_t task, long long now)
{
	const struct addrinfo *ai = sc->addrs[task % sc->naddrs];
	const struct addrinfo *src = sc->srcs[task % sc->naddrs];
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct probe *pr;
	const char *what;
	int fd, e, on = 1;

	if ((fd = new_socket(ai->ai_family, ai->ai_socktype,
	    socket_protocol(ai, &sc->o->sockopts))) == -1) {
		if (out_of_resources(errno))
			return -2;
		/* E.g. IPv6 switched off: this address fails, not the scan. */
		record(sc, task, PROBE_FAILED, errno);
		return 1;
	}
	/* -I, -O, -T, -M, --nodelay, ... apply to probes too. */
	if (set_sockopts(fd, ai->ai_family, ai->ai_socktype,
	    &sc->o->sockopts, &what) == -1) {
		warn("setsockopt %s", what);
		close(fd);
		return -1;
	}
	if (src != NULL) {
		/* The source port may still be in TIME_WAIT from a probe. */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, src->ai_addr, src->ai_addrlen) == -1) {
			char name[128];

			e = errno;
			format_addr(src->ai_addr, src->ai_addrlen, name,
			    sizeof(name));
			errno = e;
			warn("bind to %s", name);
			close(fd);
			return -1;
		}
	}
	sslen = task_addr(sc, task, &ss);
	if (connect(fd, (struct sockaddr *)&ss, sslen) == -1 &&
	    errno != EINPROGRESS && errno != EINTR) {
		e = errno;
		close(fd);
		if (out_of_resources(e)) {
			errno = e;
			return -2;
		}
		record(sc, task, PROBE_FAILED, e);
		return 1;
	}
	if (ai->ai_socktype == SOCK_DGRAM) {
		/* An empty datagram: a valid probe that carries no command. */
		if (self_connected(fd, &ss, sslen)) {
			close(fd);
			record(sc, task, PROBE_FAILED, ECONNREFUSED);
			return 1;
		}
		if (send(fd, "", 0, 0) == -1) {
			e = errno;
			close(fd);
			record(sc, task, PROBE_FAILED, e);
			return 1;
		}
	}
	/* A TCP connect that finished at once is still checked by select. */
	pr = &sc->probes[sc->inflight++];
	pr->fd = fd;
	pr->task = task;
	pr->deadline = now + sc->probe_ms;
	if (sc->stop_at >= 0 && pr->deadline > sc->stop_at)
		pr->deadline = sc->stop_at;
	return 0;
}

/*
 * Finish the probe in slot i if it is over: ready says select saw it
 * ready, else it timed out. Closes and records it, and moves the last
 * probe into slot i. Returns false if it goes on (a spurious wake-up).
 */
static bool
finish_probe(struct scanner *sc, size_t i, bool ready, long long now)
{
	struct probe *pr = &sc->probes[i];
	struct sockaddr_storage ss;
	socklen_t len, sslen;
	enum outcome how = PROBE_FAILED;
	int err = 0;
	char byte;

	if (!ready) {
		/* Silence: a filtered TCP port, or an uncertain UDP one. */
		if (sc->o->udp)
			how = PROBE_SILENT;
		err = ETIMEDOUT;
	} else if (sc->o->udp) {
		if (recv(pr->fd, &byte, sizeof(byte), 0) >= 0)
			how = PROBE_OPEN;
		else if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR)
			return false;
		else
			err = errno;	/* ECONNREFUSED: ICMP port unreachable */
	} else {
		len = sizeof(err);
		if (getsockopt(pr->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err == 0) {
			sslen = task_addr(sc, pr->task, &ss);
			if (self_connected(pr->fd, &ss, sslen))
				err = ECONNREFUSED;
			else
				how = PROBE_OPEN;
		}
	}
	loop_forget(&sc->loop, pr->fd);
	close(pr->fd);
	record(sc, pr->task, how, err);
	*pr = sc->probes[--sc->inflight];
	if (sc->o->interval_ms >= 0)
		sc->next_start = now + sc->o->interval_ms;
	return true;
}

/*
 * Wait for the probes in flight (and, with -i, for the next start time if
 * a probe is waiting to go), then finish those that are ready or late.
 * Returns 0, or -1 after saying why.
 */
static int
wait_probes(struct scanner *sc, bool more)
{
	struct loop *l = &sc->loop;
	long long now, until = -1;
	size_t i;

	loop_begin(l);
	for (i = 0; i < sc->inflight; i++) {
		loop_watch(l, sc->probes[i].fd, !sc->o->udp);
		if (until < 0 || sc->probes[i].deadline < until)
			until = sc->probes[i].deadline;
	}
	if (more && sc->inflight < sc->window &&
	    (until < 0 || sc->next_start < until))
		until = sc->next_start;
	now = now_ms();
	if (until < now)
		until = now;
	loop_until(l, until);
	if (loop_wait(l) == -1) {
		if (errno == EINTR)
			return 0;
		warn("poll");
		return -1;
	}
	now = now_ms();
	/* Walk down: finishing slot i moves the last probe into it. */
	for (i = sc->inflight; i-- > 0;) {
		int fd = sc->probes[i].fd;

		if (loop_ready(l, fd, !sc->o->udp) &&
		    finish_probe(sc, i, true, now))
			continue;
		if (now >= sc->probes[i].deadline)
			finish_probe(sc, i, false, now);
	}
	return 0;
}

/* A small, fast generator for -r; not for secrets. */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Put the tasks in a random order (Fisher-Yates). */
static void
shuffle(size_t *v, size_t n)
{
	struct timespec ts;
	uint64_t state;
	size_t i, j, t;

	clock_gettime(CLOCK_REALTIME, &ts);
	state = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
	    ((uint64_t)getpid() << 32);
	for (i = n; i > 1; i--) {
		j = (size_t)(next_random(&state) % i);
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/*
 * Probe every port on every address once. Returns 0, or an exit status
 * after saying why the scan cannot go on.
 */
static int
run_round(struct scanner *sc)
{
	size_t next = 0, i;
	long long now;
	int rv;

	for (i = 0; i < sc->o->scan_nports; i++) {
		memset(&sc->results[i], 0, sizeof(sc->results[i]));
		sc->results[i].left = (unsigned)sc->naddrs;
	}
	sc->reported = 0;
	sc->nopen = 0;
	sc->next_start = 0;
	for (;;) {
		now = now_ms();
		while (sc->inflight < sc->window && next < sc->ntasks &&
		    now >= sc->next_start) {
			size_t task = sc->order[next];

			if (sc->results[task / sc->naddrs].open) {
				record(sc, task, PROBE_SKIPPED, 0);
				next++;
				continue;
			}
			if ((rv = start_probe(sc, task, now)) == -1)
				return EXIT_NET;
			if (rv == -2) {
				/* Out of descriptors: go on with fewer. */
				if (sc->inflight == 0) {
					warn("socket");
					return EXIT_LOCAL;
				}
				sc->window = sc->inflight;
				break;
			}
			next++;
			if (rv == 1 && sc->o->interval_ms >= 0)
				sc->next_start = now + sc->o->interval_ms;
		}
		if (sc->inflight == 0 && next >= sc->ntasks)
			return 0;
		if (wait_probes(sc, next < sc->ntasks) == -1)
			return EXIT_LOCAL;
	}
}

/*
 * How many probes may be in flight: one with -i (nc.openbsd's pacing) or
 * with -p (every probe would need the same source port), else WINDOW_MAX,
 * within the descriptor limit (raised at start).
 */
static size_t
window_size(const struct opts *o)
{
	size_t w = WINDOW_MAX;

	if (o->interval_ms >= 0 || o->source_port != NULL)
		return 1;
	if (o->fd_limit < (int)w + FD_SPARE)
		w = o->fd_limit > FD_SPARE ? (size_t)(o->fd_limit - FD_SPARE) :
		    1;
	return w;
}

/* Sleep ms milliseconds, through signals. */
static void
pause_ms(long long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Resolve the target, and the source (-s/-p) for each of its addresses;
 * addresses the source has no match for are dropped. Returns 0, or an exit
 * status after saying why.
 */
static int
resolve_all(struct scanner *sc)
{
	const struct opts *o = sc->o;
	struct addrinfo *ai, *src;
	int gai, socktype = o->udp ? SOCK_DGRAM : SOCK_STREAM, srcgai = 0;
	size_t n = 0;

	if ((gai = resolve(o->host, "0", o->family, socktype, o->numeric,
	    false, &sc->res)) != 0) {
		warnx("resolve %s: %s", o->host, gai == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(gai));
		return EXIT_NET;
	}
	for (ai = sc->res; ai != NULL; ai = ai->ai_next)
		n++;
	sc->addrs = calloc(n, sizeof(*sc->addrs));
	sc->srcs = calloc(n, sizeof(*sc->srcs));
	if (sc->addrs == NULL || sc->srcs == NULL) {
		warn("calloc");
		return EXIT_LOCAL;
	}
	for (ai = sc->res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		src = NULL;
		if ((o->source_addr != NULL || o->source_port != NULL) &&
		    (srcgai = resolve(o->source_addr, o->source_port != NULL ?
		    o->source_port : "0", ai->ai_family, socktype, o->numeric,
		    true, &src)) != 0)
			continue;
		sc->srcs[sc->naddrs] = src;
		sc->addrs[sc->naddrs++] = ai;
	}
	if (sc->naddrs == 0) {
		if (srcgai != 0)
			warnx("source %s for %s: %s", o->source_addr != NULL ?
			    o->source_addr : "*", o->host, srcgai == EAI_SYSTEM ?
			    strerror(errno) : gai_strerror(srcgai));
		else
			warnx("resolve %s: %s", o->host,
			    strerror(EAFNOSUPPORT));
		return EXIT_NET;
	}
	return 0;
}

static void
free_scanner(struct scanner *sc)
{
	size_t i;

	for (i = 0; i < sc->inflight; i++)
		close(sc->probes[i].fd);
	sc->inflight = 0;
	loop_close(&sc->loop);
	if (sc->srcs != NULL)
		for (i = 0; i < sc->naddrs; i++)
			if (sc->srcs[i] != NULL)
				freeaddrinfo(sc->srcs[i]);
	if (sc->res != NULL)
		freeaddrinfo(sc->res);
	free(sc->addrs);
	free(sc->srcs);
	free(sc->order);
	free(sc->results);
	free(sc->probes);
}

/*
 * --wait ran out: say how long sock waited and the last port's error (the
 * last in port order, as -vv lists them).
 */
static void
report_wait_expired(const struct scanner *sc)
{
	const struct opts *o = sc->o;
	char secs[32];
	size_t i, last = 0;

	format_seconds(o->wait_ms, secs, sizeof(secs));
	for (i = 0; i < o->scan_nports; i++)
		if (sc->results[i].has_err)
			last = i;
	if (o->scan_nports == 1)
		warnx("waited %s s for %s port %d (%s) to open: %s", secs,
		    o->host, o->scan_ports[0], proto(o),
		    strerror(sc->results[0].err));
	else
		warnx("waited %s s for a port of %s in %s (%s) to open: port "
		    "%d: %s", secs, o->host, o->ports, proto(o),
		    o->scan_ports[last], strerror(sc->results[last].err));
}

/*
 * -z through the -x proxies: each probe is a whole proxy handshake, so
 * the ports are probed one after another. A port the last hop cannot
 * reach (or that it stays silent about until the probe's timeout) is
 * closed; any other failure of the chain ends the scan, since it says
 * nothing about the target -- or, with --wait, ends the round, since the
 * proxy may be coming up too. Returns the exit status, or -1 when the
 * ports are to be reported.
 */
static int
scan_proxied(struct scanner *sc, long long deadline)
{
	const struct opts *o = sc->o;
	struct proxy_error pe;
	long long backoff = BACKOFF_MIN_MS, left, until;
	char port[8], secs[32], last[sizeof(pe.msg)] = "";
	size_t i, k;
	int fd;
	bool chain_failed = false;

	sc->naddrs = 1;
	sc->ntasks = o->scan_nports;
	sc->order = calloc(sc->ntasks, sizeof(*sc->order));
	sc->results = calloc(o->scan_nports, sizeof(*sc->results));
	if (sc->order == NULL || sc->results == NULL) {
		warn("calloc");
		return EXIT_LOCAL;
	}
	for (i = 0; i < sc->ntasks; i++)
		sc->order[i] = i;
	for (;;) {
		if (o->random_order)
			shuffle(sc->order, sc->ntasks);
		for (i = 0; i < o->scan_nports; i++) {
			memset(&sc->results[i], 0, sizeof(sc->results[i]));
			sc->results[i].left = 1;
		}
		sc->reported = 0;
		sc->nopen = 0;
		chain_failed = false;
		for (k = 0; k < sc->ntasks; k++) {
			i = sc->order[k];
			if (k > 0 && o->interval_ms >= 0)
				pause_ms(o->interval_ms);
			snprintf(port, sizeof(port), "%d", o->scan_ports[i]);
			until = now_ms() + sc->probe_ms;
			if (deadline >= 0 && until > deadline)
				until = deadline;
			if ((fd = proxy_connect(o, o->host, port, until,
			    &pe)) != -1) {
				close(fd);
				record(sc, i, PROBE_OPEN, 0);
			} else if (pe.target_failed)
				record(sc, i, PROBE_FAILED, pe.err);
			else if (deadline < 0) {
				warnx("%s", pe.msg);
				return pe.status;
			} else {
				/* A try cut short by the wait's end says less. */
				if (last[0] == '\0' || pe.status != EXIT_TIMEOUT ||
				    until != deadline)
					memcpy(last, pe.msg, sizeof(last));
				chain_failed = true;
				break;
			}
		}
		if (sc->nopen > 0 || deadline < 0)
			break;
		if ((left = deadline - now_ms()) <= 0)
			break;
		if (chain_failed && o->verbose > 1)
			warnx("%s; trying again", pe.msg);
		pause_ms(backoff < (left + 1) / 2 ? backoff : (left + 1) / 2);
		if (backoff < BACKOFF_MAX_MS)
			backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 :
			    BACKOFF_MAX_MS;
	}
	if (chain_failed) {
		format_seconds(o->wait_ms, secs, sizeof(secs));
		warnx("gave up waiting for %s port %s after %s s: %s", o->host,
		    o->ports, secs, last);
		return EXIT_TIMEOUT;
	}
	return -1;
}

int
scan(const struct opts *o)
{
	struct scanner sc;
	long long deadline, left, backoff = BACKOFF_MIN_MS;
	size_t i;
	int status;

	memset(&sc, 0, sizeof(sc));
	sc.o = o;
	sc.probe_ms = o->timeout_ms >= 0 ? o->timeout_ms : PROBE_MS;
	deadline = o->wait_ms >= 0 ? now_ms() + o->wait_ms : -1;
	sc.stop_at = deadline;
	/* With --wait only the last round is reported, so it waits. */
	sc.stream = deadline < 0;
	sc.window = window_size(o);
	if (loop_open(&sc.loop, LOOP_BRIEF) == -1) {
		warn("poll");
		return EXIT_LOCAL;
	}
	if (o->nproxies > 0) {
		if ((status = scan_proxied(&sc, deadline)) != -1)
			goto out;
		goto report;
	}
	if ((status = resolve_all(&sc)) != 0)
		goto out;
	sc.ntasks = o->scan_nports * sc.naddrs;
	sc.order = calloc(sc.ntasks, sizeof(*sc.order));
	sc.results = calloc(o->scan_nports, sizeof(*sc.results));
	sc.probes = calloc(sc.window, sizeof(*sc.probes));
	if (sc.order == NULL || sc.results == NULL || sc.probes == NULL) {
		warn("calloc");
		status = EXIT_LOCAL;
		goto out;
	}
	/* Port by port, each port's addresses in getaddrinfo's order. */
	for (i = 0; i < sc.ntasks; i++)
		sc.order[i] = i;
	for (;;) {
		if (o->random_order)
			shuffle(sc.order, sc.ntasks);
		if ((status = run_round(&sc)) != 0)
			goto out;
		if (sc.nopen > 0 || deadline < 0)
			break;
		if ((left = deadline - now_ms()) <= 0)
			break;
		/*
		 * Back off, but never past the deadline: halving what is
		 * left gives a last try just before it.
		 */
		pause_ms(backoff < (left + 1) / 2 ? backoff : (left + 1) / 2);
		if (backoff < BACKOFF_MAX_MS)
			backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 :
			    BACKOFF_MAX_MS;
	}
report:
	if (!sc.stream)
		for (i = 0; i < o->scan_nports; i++)
			report_port(&sc, i);
	if (sc.nopen > 0)
		status = EXIT_OK;
	else if (deadline >= 0) {
		report_wait_expired(&sc);
		status = EXIT_TIMEOUT;
	} else
		status = EXIT_NET;
out:
	free_scanner(&sc);
	return status;
}
