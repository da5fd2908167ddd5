/*
 * sock - a netcat that never loses a byte.
 *
 * The program: usage, option parsing and checks, the modes (connect,
 * listen, Unix), and every decision to print or exit. The mechanism lives
 * in util.c, the copying in relay.c.
 */
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

#define MAX_LISTENERS	16	/* addresses one listen host may resolve to */

/*
 * Files sock created and must remove at exit or on SIGINT/SIGTERM: a Unix
 * socket it bound, and the directory of a datagram client's own address.
 * Globals because the signal handler needs them.
 */
static char	cleanup_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char	cleanup_dir[sizeof(cleanup_path)];

enum {
	OPT_NO_SHUTDOWN = 256,
	OPT_SEND_ONLY,
	OPT_RECV_ONLY,
	OPT_VERSION
};

static const struct option longopts[] = {
	{ "help",		no_argument,	NULL,	'h' },
	{ "no-shutdown",	no_argument,	NULL,	OPT_NO_SHUTDOWN },
	{ "recv-only",		no_argument,	NULL,	OPT_RECV_ONLY },
	{ "send-only",		no_argument,	NULL,	OPT_SEND_ONLY },
	{ "version",		no_argument,	NULL,	OPT_VERSION },
	{ NULL,			0,		NULL,	0 }
};

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: sock [options] host port           connect\n"
"       sock -l [options] [host] port      listen (port 0: the kernel picks)\n"
"       sock -l -p port [options] [host]   listen, traditional spelling\n"
"       sock -U [-l] [options] path        Unix-domain socket\n"
"\n"
"  -4               use IPv4 only\n"
"  -6               use IPv6 only\n"
"  -d               do not read stdin; finish when the peer closes\n"
"  -h, --help       print this help and exit\n"
"  -k               keep listening: serve clients one after another (with -l)\n"
"  -l               listen for a connection instead of connecting\n"
"  -N               send the FIN after stdin ends even if stdin was empty\n"
"  -n               numeric addresses and ports only: no DNS or service names\n"
"  -p port          with -l: port to listen on; else: local source port\n"
"  -q secs          after stdin ends, quit once secs pass with nothing received\n"
"  -s addr          local source address (with -l: address to listen on)\n"
"  -U               Unix-domain socket (with -u: datagram)\n"
"  -u               UDP\n"
"  -v               verbose: connection events and a summary (-vv: more)\n"
"  -w secs          connect timeout and idle timeout (exit 3 when it expires)\n"
"  --no-shutdown    never send a FIN before the end\n"
"  --recv-only      the same as -d\n"
"  --send-only      discard what arrives; exit once stdin is sent\n"
"  --version        print the version and exit\n"
"\n"
"Durations are seconds and may have a fraction (-w 0.5).\n"
"Exit status: 0 success, 1 network failure, 2 usage, 3 timeout,\n"
"4 local I/O failure, 141 stdout's reader went away.\n");
}

/* Report a usage error the same way every time and exit 2. */
static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	warnx("see 'sock --help' for usage");
	exit(EXIT_USAGE);
}

static void
init_opts(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->family = AF_UNSPEC;
	o->timeout_ms = -1;
	o->quit_ms = -1;
	o->fin = FIN_AFTER_DATA;
}

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	const char *p_arg = NULL, *s_arg = NULL;
	bool opt4 = false, opt6 = false, force_fin = false, no_fin = false;
	int ch, n;
	char **rest;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":46dhklNnp:q:s:Uuvw:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case '4':
			opt4 = true;
			o->family = AF_INET;
			break;
		case '6':
			opt6 = true;
			o->family = AF_INET6;
			break;
		case 'd':
		case OPT_RECV_ONLY:
			o->recv_only = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		case 'k':
			o->keep_open = true;
			break;
		case 'l':
			o->listen = true;
			break;
		case 'N':
			force_fin = true;
			break;
		case 'n':
			o->numeric = true;
			break;
		case 'p':
			p_arg = optarg;
			break;
		case 'q':
			if (parse_duration(optarg, &o->quit_ms) == -1)
				usage_error("invalid -q value \"%s\": must be a "
				    "number of seconds, 0 or more", optarg);
			break;
		case 's':
			s_arg = optarg;
			break;
		case 'U':
			o->unix_domain = true;
			break;
		case 'u':
			o->udp = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'w':
			if (parse_duration(optarg, &o->timeout_ms) == -1 ||
			    o->timeout_ms == 0)
				usage_error("invalid -w value \"%s\": must be a "
				    "number of seconds greater than 0", optarg);
			break;
		case OPT_NO_SHUTDOWN:
			no_fin = true;
			break;
		case OPT_SEND_ONLY:
			o->send_only = true;
			break;
		case OPT_VERSION:
			printf("sock %s\n", SOCK_VERSION);
			exit(EXIT_OK);
		case ':':
			usage_error("option -%c needs a value", optopt);
		default:
			if (optopt != 0)
				usage_error("unknown option -%c", optopt);
			usage_error("unknown option %.*s",
			    (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
		}
	}
	rest = argv + optind;
	n = argc - optind;

	/* Conflicts between options, one message per rule. */
	if (opt4 && opt6)
		usage_error("-4 and -6 cannot be used together");
	if (o->keep_open && !o->listen)
		usage_error("-k needs -l");
	if (o->recv_only && o->send_only)
		usage_error("-d and --send-only cannot be used together");
	if (force_fin && no_fin)
		usage_error("-N and --no-shutdown cannot be used together");
	if (force_fin && o->recv_only)
		usage_error("-N and -d cannot be used together");
	if (o->udp && force_fin)
		usage_error("-N cannot be used with -u");
	if (o->udp && no_fin)
		usage_error("--no-shutdown cannot be used with -u");
	if (o->unix_domain) {
		if (opt4 || opt6)
			usage_error("-U cannot be used with -%c", opt4 ? '4' : '6');
		if (p_arg != NULL)
			usage_error("-U cannot be used with -p");
		if (s_arg != NULL)
			usage_error("-U cannot be used with -s");
	}
	o->fin = force_fin ? FIN_ALWAYS : no_fin ? FIN_NEVER : FIN_AFTER_DATA;

	/* Operands, by mode. */
	if (o->unix_domain) {
		if (n < 1)
			usage_error("missing socket path");
		if (n > 1)
			usage_error("too many operands: \"%s\"", rest[1]);
		o->path = rest[0];
	} else if (o->listen) {
		if (p_arg != NULL) {
			if (n > 1 || (n == 1 &&
			    strspn(rest[0], "0123456789") == strlen(rest[0])))
				usage_error("-p and a port operand cannot both "
				    "be given");
			o->port = p_arg;
			o->host = n == 1 ? rest[0] : NULL;
		} else {
			if (n < 1)
				usage_error("missing port to listen on");
			if (n > 2)
				usage_error("too many operands: \"%s\"", rest[2]);
			o->port = rest[n - 1];
			o->host = n == 2 ? rest[0] : NULL;
		}
		if (s_arg != NULL) {
			if (o->host != NULL)
				usage_error("-s and a host operand cannot both "
				    "be given with -l");
			o->host = s_arg;
		}
	} else {
		if (n < 1)
			usage_error("missing host and port");
		if (n < 2)
			usage_error("missing port");
		if (n > 2)
			usage_error("too many operands: \"%s\"", rest[2]);
		o->host = rest[0];
		o->port = rest[1];
		o->source_addr = s_arg;
		o->source_port = p_arg;
	}
}

/* A port operand or -p value: a number 0-65535 or, without -n, a service. */
static void
check_port(const struct opts *o, const char *port)
{
	int num;

	if (parse_port_number(port, &num) == 0)
		return;
	if (errno == ERANGE)
		usage_error("invalid port \"%s\": must be 0-65535", port);
	if (o->numeric)
		usage_error("invalid port \"%s\": not a number (-n forbids "
		    "service names)", port);
	if (*port == '\0' || getservbyname(port, o->udp ? "udp" : "tcp") == NULL)
		usage_error("unknown service \"%s\"", port);
}

static bool
is_numeric_addr(const char *s, int family)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (family != AF_INET6 && inet_pton(AF_INET, s, &a4) == 1)
		return true;
	return family != AF_INET && inet_pton(AF_INET6, s, &a6) == 1;
}

/* Checks of values that need the whole command line. */
static void
check_opts(const struct opts *o)
{
	int num;

	if (o->unix_domain) {
		if (*o->path == '\0')
			usage_error("invalid Unix socket path \"\"");
		if (strlen(o->path) >= sizeof(cleanup_path))
			usage_error("Unix socket path too long (%zu bytes, at "
			    "most %zu): \"%s\"", strlen(o->path),
			    sizeof(cleanup_path) - 1, o->path);
		return;
	}
	check_port(o, o->port);
	if (!o->listen && parse_port_number(o->port, &num) == 0 && num == 0)
		usage_error("invalid port \"%s\": port 0 is only valid with -l",
		    o->port);
	if (o->source_port != NULL)
		check_port(o, o->source_port);
	if (o->numeric && o->host != NULL && !is_numeric_addr(o->host,
	    o->family))
		usage_error("-n requires a numeric address: \"%s\"", o->host);
	if (o->numeric && o->source_addr != NULL &&
	    !is_numeric_addr(o->source_addr, o->family))
		usage_error("invalid address \"%s\" for -s", o->source_addr);
}

static void
cleanup(void)
{
	if (cleanup_path[0] != '\0')
		unlink(cleanup_path);
	if (cleanup_dir[0] != '\0')
		rmdir(cleanup_dir);
}

/*
 * SIGINT/SIGTERM: remove what sock created, then die of the same signal so
 * that the shell sees what happened. Only async-signal-safe calls here.
 */
static void
on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* A write to a closed socket or pipe is reported as EPIPE instead. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	atexit(cleanup);
}

/*
 * A closed descriptor 0, 1 or 2 would be handed to the next socket sock
 * opens, and the relay would then read from or write to the network by
 * mistake. Point each closed one at /dev/null: an empty stdin, a stdout
 * that discards.
 */
static void
open_std_fds(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
			exit(EXIT_LOCAL);	/* nowhere to even report it */
	}
}

static const char *
proto_name(const struct opts *o)
{
	if (o->unix_domain)
		return o->udp ? "unixgram" : "unix";
	return o->udp ? "udp" : "tcp";
}

/* Relay over c, close it, and say goodbye. Returns the relay's status. */
static int
serve(const struct opts *o, struct conn *c, struct relay_io *io)
{
	int status;

	status = relay(o, c, io);
	close(c->fd);
	return status;
}

/* Fill in a Unix address as an addrinfo, for the shared connect/listen. */
static void
unix_addrinfo(const char *path, int socktype, struct sockaddr_un *sun,
    struct addrinfo *ai)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	strncpy(sun->sun_path, path, sizeof(sun->sun_path) - 1);
	memset(ai, 0, sizeof(*ai));
	ai->ai_family = AF_UNIX;
	ai->ai_socktype = socktype;
	ai->ai_addr = (struct sockaddr *)sun;
	ai->ai_addrlen = sizeof(*sun);
}

/*
 * A Unix datagram client needs an address of its own, or the server cannot
 * answer: a fresh private directory holds it, and both go at exit.
 */
static int
unix_client_addr(struct sockaddr_un *sun, struct addrinfo *ai)
{
	const char *tmp = getenv("TMPDIR");
	char dir[sizeof(cleanup_dir)], path[sizeof(cleanup_path)];

	if (tmp == NULL || *tmp == '\0' || strlen(tmp) > sizeof(dir) - 20)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/sock.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		warn("mkdtemp %s", dir);
		return -1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/s", dir) >= sizeof(path)) {
		warnx("temporary directory name too long: %s", dir);
		rmdir(dir);
		return -1;
	}
	memcpy(cleanup_dir, dir, sizeof(dir));
	memcpy(cleanup_path, path, sizeof(path));
	unix_addrinfo(path, SOCK_DGRAM, sun, ai);
	return 0;
}

static int
run_unix_connect(const struct opts *o)
{
	struct sockaddr_un sun, self;
	struct addrinfo ai, selfai;
	struct relay_io io = { isatty(STDIN_FILENO), false };
	struct conn c;

	unix_addrinfo(o->path, o->udp ? SOCK_DGRAM : SOCK_STREAM, &sun, &ai);
	if (o->udp && unix_client_addr(&self, &selfai) == -1)
		return EXIT_LOCAL;
	memset(&c, 0, sizeof(c));
	if ((c.fd = connect_addr(&ai, o->udp ? &selfai : NULL,
	    o->timeout_ms)) == -1) {
		warn("connect to %s", o->path);
		return errno == ETIMEDOUT ? EXIT_TIMEOUT : EXIT_NET;
	}
	c.dgram = o->udp;
	c.connected = true;
	snprintf(c.name, sizeof(c.name), "%s", o->path);
	if (o->verbose > 0)
		warnx("connected to %s (%s)", c.name, proto_name(o));
	return serve(o, &c, &io);
}

/*
 * Try every address host resolves to, in order, until one connects. Returns
 * the socket with *c filled in, or an exit status (negated) after saying
 * why the last address failed.
 */
static int
connect_any(const struct opts *o, struct conn *c)
{
	struct addrinfo *res, *ai, *src;
	int gai, fd = -1, saved = 0, socktype;
	bool all_timed_out = true;
	char name[sizeof(c->name)];

	socktype = o->udp ? SOCK_DGRAM : SOCK_STREAM;
	if ((gai = resolve(o->host, o->port, o->family, socktype, o->numeric,
	    false, &res)) != 0) {
		warnx("resolve %s: %s", o->host, gai == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(gai));
		return -EXIT_NET;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		format_addr(ai->ai_addr, ai->ai_addrlen, name, sizeof(name));
		src = NULL;
		if ((o->source_addr != NULL || o->source_port != NULL) &&
		    (gai = resolve(o->source_addr, o->source_port != NULL ?
		    o->source_port : "0", ai->ai_family, socktype, o->numeric,
		    true, &src)) != 0) {
			saved = EADDRNOTAVAIL;
			all_timed_out = false;
			if (o->verbose > 1)
				warnx("source %s for %s: %s", o->source_addr ?
				    o->source_addr : "*", name,
				    gai_strerror(gai));
			continue;
		}
		if (o->verbose > 1)
			warnx("trying %s (%s)", name, proto_name(o));
		fd = connect_addr(ai, src, o->timeout_ms);
		saved = errno;
		if (src != NULL)
			freeaddrinfo(src);
		if (fd != -1)
			break;
		if (saved != ETIMEDOUT)
			all_timed_out = false;
		if (o->verbose > 1 && ai->ai_next != NULL)
			warnx("connect to %s: %s", name, strerror(saved));
	}
	freeaddrinfo(res);
	if (fd == -1) {
		warnx("connect to %s: %s", name, strerror(saved));
		return all_timed_out ? -EXIT_TIMEOUT : -EXIT_NET;
	}
	c->fd = fd;
	c->dgram = o->udp;
	c->connected = true;
	memcpy(c->name, name, sizeof(name));
	return fd;
}

static int
run_connect(const struct opts *o)
{
	struct relay_io io = { isatty(STDIN_FILENO), false };
	struct conn c;
	int rv;

	memset(&c, 0, sizeof(c));
	if ((rv = connect_any(o, &c)) < 0)
		return -rv;
	if (o->verbose > 0)
		warnx("connected to %s (%s)", c.name, proto_name(o));
	return serve(o, &c, &io);
}

static void
close_all(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* Point an IPv4 or IPv6 address at port. */
static void
set_port(struct sockaddr *sa, int port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons(port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

/*
 * Listen on every address o->host resolves to in family, all on one port
 * (with port 0, the one the kernel gave the first). Returns how many
 * sockets were opened into fds, -2 if the system lacks the family (said
 * nothing), or -1 after saying why.
 */
static int
listen_family(const struct opts *o, int family, bool v6only, int *fds)
{
	struct addrinfo *res, *ai;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char name[128], host[INET6_ADDRSTRLEN];
	int gai, n = 0, port = -1, saved = EAFNOSUPPORT;

	if ((gai = resolve(o->host, o->port, family, o->udp ? SOCK_DGRAM :
	    SOCK_STREAM, o->numeric, true, &res)) != 0) {
		if (gai == EAI_FAMILY)
			return -2;
		warnx("resolve %s: %s", o->host != NULL ? o->host : "*",
		    gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL && n < MAX_LISTENERS; ai = ai->ai_next) {
		if (port >= 0)
			set_port(ai->ai_addr, port);
		format_addr(ai->ai_addr, ai->ai_addrlen, name, sizeof(name));
		if ((fds[n] = listen_addr(ai, v6only)) == -1) {
			saved = errno;
			/* An address family the system lacks is not fatal. */
			if (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)
				continue;
			warn("bind to %s", name);
			goto fail;
		}
		sslen = sizeof(ss);
		if (getsockname(fds[n], (struct sockaddr *)&ss, &sslen) == -1 ||
		    addr_port((struct sockaddr *)&ss, sslen, host, sizeof(host),
		    &port) == -1) {
			warn("getsockname");
			n++;
			goto fail;
		}
		n++;
		format_addr((struct sockaddr *)&ss, sslen, name, sizeof(name));
		if (o->verbose > 0)
			warnx("listening on %s (%s)", name, proto_name(o));
	}
	freeaddrinfo(res);
	if (n > 0)
		return n;
	if (saved == EAFNOSUPPORT)
		return -2;
	errno = saved;
	warn("bind to %s", name);
	return -1;
fail:
	freeaddrinfo(res);
	close_all(fds, n);
	return -1;
}

/*
 * Open the listening sockets for o: one dual-stack IPv6 socket when no
 * host or family is given (IPv4 alone where the system has no IPv6), else
 * one per address of the host. Returns how many, or -1 after saying why.
 */
static int
open_listeners(const struct opts *o, int *fds)
{
	int n;

	if (o->host == NULL && o->family == AF_UNSPEC) {
		if ((n = listen_family(o, AF_INET6, false, fds)) != -2)
			return n;
		n = listen_family(o, AF_INET, true, fds);
	} else
		n = listen_family(o, o->family, true, fds);
	if (n == -2) {
		warnx("listen on %s port %s: %s", o->host != NULL ? o->host :
		    "*", o->port, strerror(EAFNOSUPPORT));
		return -1;
	}
	return n;
}

/*
 * Wait until one of the n listening sockets is readable and return it
 * (a pending connection or, for UDP, a first datagram), or -1.
 */
static int
wait_listeners(const int *fds, int n)
{
	fd_set rfds;
	int i, maxfd = -1;

	for (;;) {
		FD_ZERO(&rfds);
		for (i = 0; i < n; i++) {
			FD_SET(fds[i], &rfds);
			if (fds[i] > maxfd)
				maxfd = fds[i];
		}
		if (select(maxfd + 1, &rfds, NULL, NULL, NULL) == -1) {
			if (errno == EINTR)
				continue;
			warn("select");
			return -1;
		}
		for (i = 0; i < n; i++)
			if (FD_ISSET(fds[i], &rfds))
				return fds[i];
	}
}

/*
 * A datagram listener: wait for the first datagram (however long it
 * takes), then answer its sender; connect() to it so that only that peer
 * is heard, unless -k keeps the socket open to everyone.
 */
static int
serve_datagrams(const struct opts *o, int *fds, int n, struct relay_io *io)
{
	struct conn c;
	char byte;
	ssize_t r;
	int i;

	memset(&c, 0, sizeof(c));
	if ((c.fd = wait_listeners(fds, n)) == -1)
		return EXIT_NET;
	c.peerlen = sizeof(c.peer);
	r = recvfrom(c.fd, &byte, 1, MSG_PEEK, (struct sockaddr *)&c.peer,
	    &c.peerlen);
	if (r == -1) {
		warn("read from %s", o->path != NULL ? o->path : "socket");
		close_all(fds, n);
		return EXIT_NET;
	}
	format_addr((struct sockaddr *)&c.peer, c.peerlen, c.name,
	    sizeof(c.name));
	if (o->verbose > 0)
		warnx("connection from %s (%s)", c.name, proto_name(o));
	for (i = 0; i < n; i++)
		if (fds[i] != c.fd)
			close(fds[i]);
	c.dgram = true;
	c.connected = false;
	/* An unnamed Unix sender cannot be connected to (or answered). */
	if (!o->keep_open && c.peerlen > offsetof(struct sockaddr_un, sun_path)) {
		if (connect(c.fd, (struct sockaddr *)&c.peer, c.peerlen) == -1) {
			warn("connect to %s", c.name);
			close(c.fd);
			return EXIT_NET;
		}
		c.connected = true;
	}
	return serve(o, &c, io);
}

/*
 * A stream listener: accept a client and relay; with -k go back for the
 * next one, reporting a client's failure and going on, unless stdout
 * itself failed.
 */
static int
serve_streams(const struct opts *o, int *fds, int n, struct relay_io *io)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct conn c;
	char from[sizeof(c.name)];
	int lfd, status;

	for (;;) {
		if ((lfd = wait_listeners(fds, n)) == -1)
			return EXIT_NET;
		memset(&c, 0, sizeof(c));
		sslen = sizeof(ss);
		if ((c.fd = accept_conn(lfd, (struct sockaddr *)&ss,
		    &sslen)) == -1) {
			if (errno == ECONNABORTED || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			warn("accept");
			return EXIT_NET;
		}
		if (c.fd >= FD_SETSIZE) {
			warnx("descriptor %d is too large for select", c.fd);
			close(c.fd);
			continue;
		}
		if (!o->keep_open)
			close_all(fds, n);
		format_addr((struct sockaddr *)&ss, sslen, from, sizeof(from));
		if (o->verbose > 0)
			warnx("connection from %s (%s)", from, proto_name(o));
		/* Messages name the far end; a Unix client is rarely named. */
		snprintf(c.name, sizeof(c.name), "%s", o->unix_domain ?
		    o->path : from);
		c.connected = true;
		status = serve(o, &c, io);
		if (!o->keep_open || status == EXIT_LOCAL ||
		    status == EXIT_PIPE)
			return status;
	}
}

static int
run_listen(const struct opts *o)
{
	struct relay_io io = { isatty(STDIN_FILENO), false };
	int fds[MAX_LISTENERS], i, n;

	if ((n = open_listeners(o, fds)) == -1)
		return EXIT_NET;
	for (i = 0; i < n; i++) {
		if (fds[i] >= FD_SETSIZE) {
			warnx("descriptor %d is too large for select", fds[i]);
			close_all(fds, n);
			return EXIT_NET;
		}
	}
	if (o->udp)
		return serve_datagrams(o, fds, n, &io);
	return serve_streams(o, fds, n, &io);
}

static int
run_unix_listen(const struct opts *o)
{
	struct relay_io io = { isatty(STDIN_FILENO), false };
	struct sockaddr_un sun;
	struct addrinfo ai;
	int fd;

	unix_addrinfo(o->path, o->udp ? SOCK_DGRAM : SOCK_STREAM, &sun, &ai);
	if ((fd = listen_addr(&ai, false)) == -1) {
		warn("bind to %s", o->path);
		return EXIT_NET;
	}
	/* From here on the file is ours to remove. */
	memcpy(cleanup_path, sun.sun_path, sizeof(cleanup_path));
	if (o->verbose > 0)
		warnx("listening on %s (%s)", o->path, proto_name(o));
	if (o->udp)
		return serve_datagrams(o, &fd, 1, &io);
	return serve_streams(o, &fd, 1, &io);
}

int
main(int argc, char *argv[])
{
	struct opts o;
	int status;

	open_std_fds();
	init_opts(&o);
	parse_args(argc, argv, &o);
	check_opts(&o);
	install_signals();

	if (o.unix_domain)
		status = o.listen ? run_unix_listen(&o) : run_unix_connect(&o);
	else
		status = o.listen ? run_listen(&o) : run_connect(&o);
	exit(status);
}
