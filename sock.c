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
#include <limits.h>
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
	OPT_VERSION,
	OPT_WAIT,
	OPT_BROKER,
	OPT_CHAT,
	OPT_MAX_CONNS,
	OPT_ALLOW,
	OPT_DENY,
	OPT_ALLOWFILE,
	OPT_DENYFILE,
	OPT_PROGRESS,
	OPT_NODELAY,
	OPT_KEEPALIVE,
	OPT_FORWARD,
	OPT_PROXY_SERVER,
	OPT_PROXY_AUTH
};

static const struct option longopts[] = {
	{ "allow",		required_argument, NULL, OPT_ALLOW },
	{ "allowfile",		required_argument, NULL, OPT_ALLOWFILE },
	{ "broker",		no_argument,	NULL,	OPT_BROKER },
	{ "chat",		no_argument,	NULL,	OPT_CHAT },
	{ "deny",		required_argument, NULL, OPT_DENY },
	{ "denyfile",		required_argument, NULL, OPT_DENYFILE },
	{ "help",		no_argument,	NULL,	'h' },
	{ "forward",		required_argument, NULL, OPT_FORWARD },
	{ "hex-dump",		required_argument, NULL, 'o' },
	{ "keepalive",		no_argument,	NULL,	OPT_KEEPALIVE },
	{ "max-conns",		required_argument, NULL, OPT_MAX_CONNS },
	{ "no-shutdown",	no_argument,	NULL,	OPT_NO_SHUTDOWN },
	{ "nodelay",		no_argument,	NULL,	OPT_NODELAY },
	{ "progress",		optional_argument, NULL, OPT_PROGRESS },
	{ "proxy-auth",		required_argument, NULL, OPT_PROXY_AUTH },
	{ "proxy-server",	no_argument,	NULL,	OPT_PROXY_SERVER },
	{ "recv-only",		no_argument,	NULL,	OPT_RECV_ONLY },
	{ "send-only",		no_argument,	NULL,	OPT_SEND_ONLY },
	{ "version",		no_argument,	NULL,	OPT_VERSION },
	{ "wait",		required_argument, NULL, OPT_WAIT },
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
"       sock -z [options] host ports       scan: 22, 20-25, 22,80,8000-8100\n"
"\n"
"Connection:\n"
"  -4, -6           use IPv4 only, IPv6 only\n"
"  -l               listen for a connection instead of connecting\n"
"  -k               keep listening: serve clients concurrently (with -l)\n"
"  -p port          with -l: port to listen on; else: local source port\n"
"  -s addr          local source address (with -l: address to listen on)\n"
"  -u               UDP\n"
"  -U               Unix-domain socket (with -u: datagram)\n"
"  -n               numeric addresses and ports only: no DNS or service names\n"
"  -w secs          connect timeout and idle timeout (exit 3 when it expires)\n"
"  --wait secs      retry connecting until it works or secs pass (exit 3)\n"
"End of stream:\n"
"  -q secs          after stdin ends, quit once secs pass with nothing received\n"
"  -N               send the FIN after stdin ends even if stdin was empty\n"
"  --no-shutdown    never send a FIN before the end\n"
"  -d, --recv-only  do not read stdin; finish when the peer closes\n"
"  --send-only      discard what arrives; exit once stdin is sent\n"
"Servers:\n"
"  -e 'prog args'   run prog (split on blanks, no shell) on the connection\n"
"  -c 'command'     run command with /bin/sh -c on the connection\n"
"  --broker         relay every client's data to all other clients (-k)\n"
"  --chat           --broker with a <userN> prefix on each line\n"
"  --max-conns n    refuse clients beyond n at once (default 100)\n"
"  --allow list     admit only these addresses/CIDR blocks (comma-separated)\n"
"  --deny list      refuse these addresses/CIDR blocks\n"
"  --allowfile f    --allow, one entry a line from f (# comments)\n"
"  --denyfile f     --deny, one entry a line from f\n"
"Forwarding:\n"
"  --forward target relay each connection to its own connection to target\n"
"                   (host:port, [v6addr]:port, unix:path)\n"
"  --proxy-server   with -l: serve SOCKS4, SOCKS4a, SOCKS5 and HTTP proxy\n"
"                   clients (loopback only unless a host is given)\n"
"  --proxy-auth user  require user and $SOCK_PROXY_PASSWORD of clients\n"
"Scanning:\n"
"  -z               report which ports accept connections\n"
"  -r               scan the ports in random order\n"
"  -i secs          pause between lines sent, or between ports scanned\n"
"Observation:\n"
"  -v               verbose: events and a summary (-vv: more)\n"
"  --progress[=always] live transfer status on stderr (a terminal, or always)\n"
"  -o, --hex-dump file  hex dump of the traffic to file\n"
"  -C               send CRLF for each LF from stdin\n"
"  -t               refuse telnet option negotiation\n"
"Socket options:\n"
"  -I len, -O len   receive and send buffer sizes\n"
"  -T tos           lowdelay, throughput, reliability, DSCP name, or number\n"
"  -M ttl           IP TTL / IPv6 hop limit\n"
"  -b               allow UDP broadcast\n"
"  --nodelay        disable Nagle's algorithm (TCP_NODELAY)\n"
"  --keepalive      enable TCP keepalives\n"
"  -h, --help       print this help and exit\n"
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
	o->wait_ms = -1;
	o->interval_ms = -1;
	o->fin = FIN_AFTER_DATA;
	o->max_conns = DEFAULT_MAX_CONNS;
	o->sockopts.rcvbuf = o->sockopts.sndbuf = -1;
	o->sockopts.tos = o->sockopts.ttl = -1;
}

/* A duration that must be more than zero (-w, -i, --wait). */
static long long
positive_duration(const char *opt, const char *arg)
{
	long long ms;

	if (parse_duration(arg, &ms) == -1 || ms == 0)
		usage_error("invalid %s value \"%s\": must be a number of "
		    "seconds greater than 0", opt, arg);
	return ms;
}

/* Add the comma-separated address blocks of list to acl. */
static void
acl_add_list(struct acl *acl, const char *opt, const char *list)
{
	struct cidr c;
	char *copy, *p, *entry;

	if ((copy = strdup(list)) == NULL)
		err(EXIT_LOCAL, "strdup");
	for (p = copy; (entry = strsep(&p, ",")) != NULL;) {
		if (parse_cidr(entry, &c) == -1)
			usage_error("invalid address \"%s\" in %s: must be an "
			    "IPv4 or IPv6 address or CIDR block", entry, opt);
		if (acl_add(acl, &c) == -1)
			err(EXIT_LOCAL, "%s", opt);
	}
	free(copy);
}

/*
 * Add the address blocks listed in file (one a line, blank lines and #
 * comments ignored) to acl. A file that cannot be read is a runtime
 * failure; a bad entry is a usage error that names the file and line.
 */
static void
acl_add_file(struct acl *acl, const char *opt, const char *file)
{
	struct cidr c;
	FILE *fp;
	char *line = NULL, *p, *end;
	size_t size = 0;
	unsigned long lineno = 0;

	if ((fp = fopen(file, "r")) == NULL)
		err(EXIT_NET, "%s %s", opt, file);
	while (getline(&line, &size, fp) != -1) {
		lineno++;
		line[strcspn(line, "#\r\n")] = '\0';
		p = line + strspn(line, " \t");
		end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*p == '\0')
			continue;
		if (parse_cidr(p, &c) == -1)
			usage_error("invalid address \"%s\" in %s line %lu: must "
			    "be an IPv4 or IPv6 address or CIDR block", p, file,
			    lineno);
		if (acl_add(acl, &c) == -1)
			err(EXIT_LOCAL, "%s", opt);
	}
	if (ferror(fp))
		err(EXIT_NET, "%s %s", opt, file);
	free(line);
	fclose(fp);
}

/* A socket option's size or count: a whole number from min to max. */
static int
int_option(const char *opt, const char *arg, long min, long max)
{
	int v;

	if (parse_int(arg, min, max, &v) == -1)
		usage_error("invalid %s value \"%s\": must be a number from %ld "
		    "to %ld", opt, arg, min, max);
	return v;
}

/* What parse_args saw that later checks need but opts does not keep. */
struct seen {
	const char	*p_arg;		/* -p */
	const char	*s_arg;		/* -s */
	bool		 opt4, opt6;
	bool		 force_fin;	/* -N */
	bool		 no_fin;	/* --no-shutdown */
	bool		 max_conns;	/* --max-conns */
	bool		 acl;		/* any of --allow, --deny, ... */
};

static void
parse_option(int ch, struct opts *o, struct seen *seen, char *argv[])
{
	switch (ch) {
	case '4':
		seen->opt4 = true;
		o->family = AF_INET;
		break;
	case '6':
		seen->opt6 = true;
		o->family = AF_INET6;
		break;
	case 'b':
		o->sockopts.broadcast = true;
		break;
	case 'C':
		o->crlf = true;
		break;
	case 'c':
		o->exec_shell = optarg;
		break;
	case 'd':
	case OPT_RECV_ONLY:
		o->recv_only = true;
		break;
	case 'e':
		o->exec_prog = optarg;
		break;
	case 'h':
		usage(stdout);
		exit(EXIT_OK);
	case 'I':
		o->sockopts.rcvbuf = int_option("-I", optarg, 1, INT_MAX / 2);
		break;
	case 'i':
		o->interval_ms = positive_duration("-i", optarg);
		break;
	case 'k':
		o->keep_open = true;
		break;
	case 'l':
		o->listen = true;
		break;
	case 'M':
		o->sockopts.ttl = int_option("-M", optarg, 1, 255);
		break;
	case 'N':
		seen->force_fin = true;
		break;
	case 'n':
		o->numeric = true;
		break;
	case 'O':
		o->sockopts.sndbuf = int_option("-O", optarg, 1, INT_MAX / 2);
		break;
	case 'o':
		if (*optarg == '\0')
			usage_error("invalid -o value \"\": must be a file name");
		o->hexdump_path = optarg;
		break;
	case 'p':
		seen->p_arg = optarg;
		break;
	case 'q':
		if (parse_duration(optarg, &o->quit_ms) == -1)
			usage_error("invalid -q value \"%s\": must be a number "
			    "of seconds, 0 or more", optarg);
		break;
	case 'r':
		o->random_order = true;
		break;
	case 's':
		seen->s_arg = optarg;
		break;
	case 'T':
		if (parse_tos(optarg, &o->sockopts.tos) == -1)
			usage_error("invalid -T value \"%s\": must be lowdelay, "
			    "throughput, reliability, mincost, a DSCP name "
			    "(af11-af43, cs0-cs7, ef, va, le) or 0-255", optarg);
		break;
	case 't':
		o->telnet = true;
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
		o->timeout_ms = positive_duration("-w", optarg);
		break;
	case 'z':
		o->scan = true;
		break;
	case OPT_ALLOW:
		seen->acl = true;
		acl_add_list(&o->allow, "--allow", optarg);
		break;
	case OPT_ALLOWFILE:
		seen->acl = true;
		acl_add_file(&o->allow, "--allowfile", optarg);
		break;
	case OPT_BROKER:
		o->broker = true;
		break;
	case OPT_CHAT:
		o->chat = true;
		break;
	case OPT_DENY:
		seen->acl = true;
		acl_add_list(&o->deny, "--deny", optarg);
		break;
	case OPT_DENYFILE:
		seen->acl = true;
		acl_add_file(&o->deny, "--denyfile", optarg);
		break;
	case OPT_FORWARD:
		o->forward = optarg;
		if (parse_forward_target(optarg, &o->forward_to) == -1)
			usage_error("invalid --forward target \"%s\": must be "
			    "host:port, [v6addr]:port or unix:path", optarg);
		break;
	case OPT_KEEPALIVE:
		o->sockopts.keepalive = true;
		break;
	case OPT_MAX_CONNS:
		seen->max_conns = true;
		o->max_conns = int_option("--max-conns", optarg, 1,
		    MAX_CONNS_LIMIT);
		break;
	case OPT_NODELAY:
		o->sockopts.nodelay = true;
		break;
	case OPT_NO_SHUTDOWN:
		seen->no_fin = true;
		break;
	case OPT_PROGRESS:
		if (optarg == NULL || strcmp(optarg, "auto") == 0)
			o->progress = PROGRESS_TTY;
		else if (strcmp(optarg, "always") == 0)
			o->progress = PROGRESS_ALWAYS;
		else
			usage_error("invalid --progress value \"%s\": must be "
			    "auto or always", optarg);
		break;
	case OPT_PROXY_AUTH:
		if (*optarg == '\0')
			usage_error("invalid --proxy-auth value \"\": must be a "
			    "user name");
		o->proxy_user = optarg;
		break;
	case OPT_PROXY_SERVER:
		o->proxy_server = true;
		break;
	case OPT_SEND_ONLY:
		o->send_only = true;
		break;
	case OPT_VERSION:
		printf("sock %s\n", SOCK_VERSION);
		exit(EXIT_OK);
	case OPT_WAIT:
		o->wait_ms = positive_duration("--wait", optarg);
		break;
	case ':':
		/* A long option's optopt is its code, not a letter. */
		if (optopt > 0 && optopt < 128)
			usage_error("option -%c needs a value", optopt);
		usage_error("option %.*s needs a value",
		    (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
	default:
		if (optopt != 0)
			usage_error("unknown option -%c", optopt);
		usage_error("unknown option %.*s",
		    (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
	}
}

/*
 * --forward and --proxy-server relay two sockets: the options that act on
 * stdin and stdout, or make something else of the connection, conflict.
 */
static void
check_forward(struct opts *o, const struct seen *seen)
{
	const char *opt = o->forward != NULL ? "--forward" : "--proxy-server";

	if (o->exec_prog != NULL || o->exec_shell != NULL)
		usage_error("%s cannot be used with -%c", opt,
		    o->exec_prog != NULL ? 'e' : 'c');
	if (o->broker || o->chat)
		usage_error("%s cannot be used with --%s", opt,
		    o->chat ? "chat" : "broker");
	if (o->scan)
		usage_error("%s cannot be used with -z", opt);
	if (o->udp)
		usage_error("%s cannot be used with -u", opt);
	if (o->proxy_server && !o->listen)
		usage_error("--proxy-server needs -l");
	if (o->recv_only || o->send_only || o->hexdump_path != NULL ||
	    o->crlf || o->telnet || o->progress != PROGRESS_OFF ||
	    o->quit_ms >= 0 || o->interval_ms >= 0 || seen->force_fin ||
	    seen->no_fin)
		usage_error("%s cannot be used with -d, --send-only, "
		    "--recv-only, -N, --no-shutdown, -q, -i, -o, -C, -t or "
		    "--progress: it relays two sockets, not stdin and stdout",
		    opt);
}

/*
 * Reject combinations that cannot work or that would leave an option
 * without effect: one rule, one message.
 */
static void
check_conflicts(struct opts *o, const struct seen *seen)
{
	bool server = o->broker || o->chat;
	bool exec = o->exec_prog != NULL || o->exec_shell != NULL;

	if (seen->opt4 && seen->opt6)
		usage_error("-4 and -6 cannot be used together");
	if (o->scan && o->listen)
		usage_error("-z and -l cannot be used together");
	if (o->scan && o->unix_domain)
		usage_error("-z cannot be used with -U");
	if (o->random_order && !o->scan)
		usage_error("-r needs -z");
	if (o->forward != NULL && o->proxy_server)
		usage_error("--forward and --proxy-server cannot be used "
		    "together");
	if (o->forward != NULL || o->proxy_server)
		check_forward(o, seen);
	if (o->wait_ms >= 0 && o->listen && o->forward == NULL &&
	    !o->proxy_server)
		usage_error("--wait cannot be used with -l (except with "
		    "--forward or --proxy-server)");
	if (server && !o->listen)
		usage_error("--%s needs -l", o->chat ? "chat" : "broker");
	if (server && o->udp)
		usage_error("--%s cannot be used with -u", o->chat ?
		    "chat" : "broker");
	if (o->broker && o->chat)
		usage_error("--broker and --chat cannot be used together");
	if (server)
		o->keep_open = true;
	if (o->keep_open && !o->listen)
		usage_error("-k needs -l");
	if (seen->acl && !o->listen)
		usage_error("--allow and --deny need -l");
	if (seen->acl && o->unix_domain)
		usage_error("--allow and --deny cannot be used with -U");
	if (o->exec_prog != NULL && o->exec_shell != NULL)
		usage_error("-e and -c cannot be used together");
	if (exec && server)
		usage_error("-%c cannot be used with --%s", o->exec_prog ?
		    'e' : 'c', o->chat ? "chat" : "broker");
	if (exec && (o->recv_only || o->send_only || o->hexdump_path ||
	    o->crlf || o->telnet || o->progress != PROGRESS_OFF ||
	    o->quit_ms >= 0 || o->interval_ms >= 0 || seen->force_fin ||
	    seen->no_fin))
		usage_error("-%c cannot be used with -d, --send-only, "
		    "--recv-only, -N, --no-shutdown, -q, -i, -o, -C, -t or "
		    "--progress: the program talks to the peer directly",
		    o->exec_prog ? 'e' : 'c');
	if (exec && o->scan)
		usage_error("-%c cannot be used with -z", o->exec_prog ? 'e' : 'c');
	if (exec && o->keep_open && o->udp)
		usage_error("-%c cannot be used with -k -u: a datagram socket "
		    "has no connections to hand out", o->exec_prog ? 'e' : 'c');
	if (o->scan && (o->recv_only || o->send_only || seen->force_fin ||
	    seen->no_fin || o->quit_ms >= 0 || o->hexdump_path != NULL ||
	    o->crlf || o->telnet || o->progress != PROGRESS_OFF))
		usage_error("-z cannot be used with -d, --send-only, "
		    "--recv-only, -N, --no-shutdown, -q, -o, -C, -t or "
		    "--progress: a scan sends and receives nothing");
	if (seen->max_conns && (!o->keep_open || o->udp))
		usage_error("--max-conns needs -k (or --broker, --chat) on a "
		    "stream socket");
	if (o->exec_prog != NULL && check_exec_args(o->exec_prog) == 0)
		usage_error("-e needs a program to run");
	if (o->exec_prog != NULL &&
	    check_exec_args(o->exec_prog) > EXEC_WORDS_MAX)
		usage_error("-e takes at most %d words; use -c for more",
		    EXEC_WORDS_MAX);
	if (o->keep_open && !o->udp && (o->crlf || o->telnet ||
	    o->interval_ms >= 0 || o->hexdump_path != NULL ||
	    o->progress != PROGRESS_OFF))
		usage_error("-k, --broker and --chat cannot be used with -C, "
		    "-t, -i, -o or --progress");
	if (o->recv_only && o->send_only)
		usage_error("-d and --send-only cannot be used together");
	if (seen->force_fin && seen->no_fin)
		usage_error("-N and --no-shutdown cannot be used together");
	if (seen->force_fin && o->recv_only)
		usage_error("-N and -d cannot be used together");
	if (o->udp && seen->force_fin)
		usage_error("-N cannot be used with -u");
	if (o->udp && seen->no_fin)
		usage_error("--no-shutdown cannot be used with -u");
	if (o->sockopts.broadcast && !o->udp)
		usage_error("-b needs -u");
	if (o->unix_domain) {
		if (seen->opt4 || seen->opt6)
			usage_error("-U cannot be used with -%c",
			    seen->opt4 ? '4' : '6');
		if (seen->p_arg != NULL)
			usage_error("-U cannot be used with -p");
		if (seen->s_arg != NULL)
			usage_error("-U cannot be used with -s");
		if (o->sockopts.tos >= 0 || o->sockopts.ttl >= 0 || o->sockopts.broadcast)
			usage_error("-U cannot be used with -T, -M or -b");
	}
	if ((o->sockopts.nodelay || o->sockopts.keepalive) && (o->udp || o->unix_domain))
		usage_error("--%s works on TCP only", o->sockopts.nodelay ?
		    "nodelay" : "keepalive");
	if (o->telnet && o->udp)
		usage_error("-t cannot be used with -u");
	if (o->proxy_user != NULL && !o->proxy_server)
		usage_error("--proxy-auth needs --proxy-server");
	if (o->proxy_user != NULL &&
	    (o->proxy_password = getenv("SOCK_PROXY_PASSWORD")) == NULL)
		usage_error("--proxy-auth needs the password in "
		    "SOCK_PROXY_PASSWORD");
	o->fin = seen->force_fin ? FIN_ALWAYS : seen->no_fin ? FIN_NEVER :
	    FIN_AFTER_DATA;
}

/* The operands, by mode. */
static void
parse_operands(int n, char **rest, struct opts *o, const struct seen *seen)
{
	if (o->unix_domain) {
		if (n < 1)
			usage_error("missing socket path");
		if (n > 1)
			usage_error("too many operands: \"%s\"", rest[1]);
		o->path = rest[0];
	} else if (o->listen) {
		if (seen->p_arg != NULL) {
			if (n > 1 || (n == 1 &&
			    strspn(rest[0], "0123456789") == strlen(rest[0])))
				usage_error("-p and a port operand cannot both "
				    "be given");
			o->port = seen->p_arg;
			o->host = n == 1 ? rest[0] : NULL;
		} else {
			if (n < 1)
				usage_error("missing port to listen on");
			if (n > 2)
				usage_error("too many operands: \"%s\"", rest[2]);
			o->port = rest[n - 1];
			o->host = n == 2 ? rest[0] : NULL;
		}
		if (seen->s_arg != NULL) {
			if (o->host != NULL)
				usage_error("-s and a host operand cannot both "
				    "be given with -l");
			o->host = seen->s_arg;
		}
	} else {
		if (n < 1)
			usage_error(o->scan ? "missing host and ports" :
			    "missing host and port");
		if (n < 2)
			usage_error(o->scan ? "missing ports" : "missing port");
		if (n > 2)
			usage_error("too many operands: \"%s\"", rest[2]);
		o->host = rest[0];
		if (o->scan) {
			const char *why;

			o->ports = rest[1];
			if (parse_port_list(o->ports, o->numeric, o->udp,
			    &o->scan_ports, &o->scan_nports, &why) == -1)
				usage_error("invalid port list \"%s\": %s",
				    o->ports, why);
		} else
			o->port = rest[1];
		o->source_addr = seen->s_arg;
		o->source_port = seen->p_arg;
	}
}

static void
parse_args(int argc, char *argv[], struct opts *o)
{
	struct seen seen;
	int ch;

	memset(&seen, 0, sizeof(seen));
	opterr = 0;
	while ((ch = getopt_long(argc, argv,
	    ":46bCc:de:hI:i:klM:NnO:o:p:q:rs:T:tUuvw:z", longopts,
	    NULL)) != -1)
		parse_option(ch, o, &seen, argv);
	check_conflicts(o, &seen);
	parse_operands(argc - optind, argv + optind, o, &seen);
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

	if (o->forward != NULL && !o->forward_to.is_unix) {
		check_port(o, o->forward_to.port);
		if (parse_port_number(o->forward_to.port, &num) == 0 &&
		    num == 0)
			usage_error("invalid --forward target \"%s\": port 0",
			    o->forward);
		if (o->numeric && !is_numeric_addr(o->forward_to.host,
		    o->family))
			usage_error("-n requires a numeric address: \"%s\"",
			    o->forward_to.host);
	}
	if (o->unix_domain) {
		if (*o->path == '\0')
			usage_error("invalid Unix socket path \"\"");
		if (strlen(o->path) >= sizeof(cleanup_path))
			usage_error("Unix socket path too long (%zu bytes, at "
			    "most %zu): \"%s\"", strlen(o->path),
			    sizeof(cleanup_path) - 1, o->path);
		return;
	}
	if (!o->scan)
		check_port(o, o->port);
	if (!o->listen && !o->scan && parse_port_number(o->port, &num) == 0 &&
	    num == 0)
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
catch_unless_ignored(int sig, const struct sigaction *sa)
{
	struct sigaction old;

	if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
		return;
	sigaction(sig, sa, NULL);
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
	/*
	 * A signal the caller ignores stays ignored: a script's background
	 * job is started with SIGINT ignored so that ^C spares it.
	 */
	catch_unless_ignored(SIGINT, &sa);
	catch_unless_ignored(SIGTERM, &sa);
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

/* The protocol of the mode's sockets, for -v. */
static const char *
proto_name(const struct opts *o)
{
	return sock_proto(o->unix_domain, o->udp);
}

/*
 * Relay over c (or hand it to the -e/-c program) and close it. Returns
 * the exit status.
 */
static int
serve(const struct opts *o, struct conn *c, struct relay_io *io)
{
	int status;

	if (o->exec_prog != NULL || o->exec_shell != NULL)
		return run_program(o, c->fd, c->name);
	if (o->forward != NULL)
		return serve_forward(o, NULL, 0, c);
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
	/* check_opts made sure the path fits, NUL included. */
	memcpy(sun->sun_path, path, strnlen(path, sizeof(sun->sun_path) - 1));
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

/*
 * connect_any for -U: the one path. A datagram client binds an address of
 * its own first (made once, and freed again before every try).
 */
static int
connect_unix(const struct opts *o, struct conn *c, long long timeout_ms,
    int *status, int *why)
{
	static struct sockaddr_un self;
	static struct addrinfo selfai;
	static bool have_self;
	struct sockaddr_un sun;
	struct addrinfo ai;

	snprintf(c->name, sizeof(c->name), "%s", o->path);
	unix_addrinfo(o->path, o->udp ? SOCK_DGRAM : SOCK_STREAM, &sun, &ai);
	if (o->udp && !have_self) {
		if (unix_client_addr(&self, &selfai) == -1) {
			*why = errno;
			*status = EXIT_LOCAL;
			return -1;
		}
		have_self = true;
	} else if (o->udp)
		unlink(self.sun_path);	/* left by the last try */
	if ((c->fd = connect_addr(&ai, o->udp ? &selfai : NULL, timeout_ms,
	    &o->sockopts)) == -1) {
		*why = errno;
		*status = errno == ETIMEDOUT ? EXIT_TIMEOUT : EXIT_NET;
		return -1;
	}
	c->dgram = o->udp;
	c->connected = true;
	return c->fd;
}

/*
 * Try every address host resolves to, in order, until one connects, each
 * try bounded by timeout_ms. Returns the socket with *c filled in, or -1
 * with *status (timeout only if every address timed out), *why (an errno,
 * or a getaddrinfo code if *why_gai) and c->name (the last address) set.
 */
static int
connect_any(const struct opts *o, struct conn *c, long long timeout_ms,
    int *status, int *why, bool *why_gai)
{
	struct addrinfo *res, *ai, *src;
	int gai, fd = -1, socktype;
	bool all_timed_out = true;

	*why_gai = false;
	*status = EXIT_NET;
	if (o->unix_domain)
		return connect_unix(o, c, timeout_ms, status, why);
	snprintf(c->name, sizeof(c->name), "%s port %s", o->host, o->port);
	socktype = o->udp ? SOCK_DGRAM : SOCK_STREAM;
	if ((gai = resolve(o->host, o->port, o->family, socktype, o->numeric,
	    false, &res)) != 0) {
		*why = gai == EAI_SYSTEM ? errno : gai;
		*why_gai = gai != EAI_SYSTEM;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		format_addr(ai->ai_addr, ai->ai_addrlen, c->name,
		    sizeof(c->name));
		src = NULL;
		if ((o->source_addr != NULL || o->source_port != NULL) &&
		    (gai = resolve(o->source_addr, o->source_port != NULL ?
		    o->source_port : "0", ai->ai_family, socktype, o->numeric,
		    true, &src)) != 0) {
			*why = EADDRNOTAVAIL;
			all_timed_out = false;
			if (o->verbose > 1)
				warnx("source %s for %s: %s", o->source_addr ?
				    o->source_addr : "*", c->name,
				    gai_strerror(gai));
			continue;
		}
		if (o->verbose > 1)
			warnx("trying %s (%s)", c->name, proto_name(o));
		fd = connect_addr(ai, src, timeout_ms, &o->sockopts);
		*why = errno;
		if (src != NULL)
			freeaddrinfo(src);
		if (fd != -1)
			break;
		if (*why != ETIMEDOUT)
			all_timed_out = false;
		if (o->verbose > 1 && ai->ai_next != NULL)
			warnx("connect to %s: %s", c->name, strerror(*why));
	}
	freeaddrinfo(res);
	if (fd == -1) {
		*status = all_timed_out ? EXIT_TIMEOUT : EXIT_NET;
		return -1;
	}
	c->fd = fd;
	c->dgram = o->udp;
	c->connected = true;
	return fd;
}

static const char *
why_text(int why, bool why_gai)
{
	return why_gai ? gai_strerror(why) : strerror(why);
}

/*
 * --wait: try again, with a growing pause, until a connection works or
 * wait_ms passes. Each try is bounded by -w and by the time that is left.
 */
static int
connect_waiting(const struct opts *o, struct conn *c, int *status)
{
	long long deadline = now_ms() + o->wait_ms, left, pause = 50, limit;
	char secs[32];
	bool why_gai;
	int why;

	for (;;) {
		left = deadline - now_ms();
		limit = o->timeout_ms >= 0 && o->timeout_ms < left ?
		    o->timeout_ms : left;
		if (connect_any(o, c, limit > 0 ? limit : 1, status, &why,
		    &why_gai) != -1)
			return c->fd;
		left = deadline - now_ms();
		if (left <= 0)
			break;
		if (o->verbose > 1)
			warnx("connect to %s: %s; trying again", c->name,
			    why_text(why, why_gai));
		usleep((useconds_t)(pause < left ? pause : left) * 1000);
		pause = pause * 2 < 500 ? pause * 2 : 500;
	}
	format_seconds(o->wait_ms, secs, sizeof(secs));
	warnx("gave up waiting for %s after %s s: %s", c->name, secs,
	    why_text(why, why_gai));
	*status = EXIT_TIMEOUT;
	return -1;
}

static int
run_connect(const struct opts *o, struct relay_io *io)
{
	struct conn c;
	bool why_gai;
	int status, why;

	memset(&c, 0, sizeof(c));
	if (o->wait_ms >= 0) {
		if (connect_waiting(o, &c, &status) == -1)
			return status;
	} else if (connect_any(o, &c, o->timeout_ms, &status, &why,
	    &why_gai) == -1) {
		if (why_gai)
			warnx("resolve %s: %s", o->host, gai_strerror(why));
		else
			warnx("connect to %s: %s", c.name, strerror(why));
		return status;
	}
	if (o->verbose > 0)
		warnx("connected to %s (%s)", c.name, proto_name(o));
	return serve(o, &c, io);
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
		if ((fds[n] = listen_addr(ai, v6only, &o->sockopts)) == -1) {
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
 * A proxy server without a host operand: 127.0.0.1 and ::1 (as -4 and -6
 * allow), on one port. Returns how many sockets, or -1 after saying why.
 */
static int
open_loopback(const struct opts *o, int *fds)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct opts lo = *o;
	char host[INET6_ADDRSTRLEN], port[8];
	int n = 0, m, p;

	if (o->family != AF_INET6) {
		lo.host = "127.0.0.1";
		if ((n = listen_family(&lo, AF_INET, true, fds)) < 0)
			n = 0;
		if (n > 0 && getsockname(fds[0], (struct sockaddr *)&ss,
		    &sslen) == 0 && addr_port((struct sockaddr *)&ss, sslen,
		    host, sizeof(host), &p) == 0) {
			/* Port 0: ::1 gets the port the kernel gave 127.0.0.1. */
			snprintf(port, sizeof(port), "%d", p);
			lo.port = port;
		}
	}
	if (o->family != AF_INET) {
		lo.host = "::1";
		if ((m = listen_family(&lo, AF_INET6, true, fds + n)) > 0)
			n += m;
	}
	if (n <= 0) {
		warnx("listen on loopback port %s: no address to listen on",
		    o->port);
		return -1;
	}
	if (o->verbose > 0)
		warnx("proxy server on loopback only: name an address to "
		    "serve others");
	return n;
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

	if (o->proxy_server && o->host == NULL)
		return open_loopback(o, fds);
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
	for (;;) {
		if ((c.fd = wait_listeners(fds, n)) == -1)
			return EXIT_NET;
		c.peerlen = sizeof(c.peer);
		r = recvfrom(c.fd, &byte, 1, MSG_PEEK,
		    (struct sockaddr *)&c.peer, &c.peerlen);
		if (r == -1) {
			warn("read from %s", o->path != NULL ? o->path :
			    "socket");
			close_all(fds, n);
			return EXIT_NET;
		}
		if (o->unix_domain ||
		    acl_admits(&o->allow, &o->deny, (struct sockaddr *)&c.peer))
			break;
		/* A refused sender's datagram is taken off and dropped. */
		(void)recv(c.fd, &byte, 1, 0);
		if (o->verbose > 0) {
			format_addr((struct sockaddr *)&c.peer, c.peerlen,
			    c.name, sizeof(c.name));
			warnx("refused %s: not allowed by --allow/--deny",
			    c.name);
		}
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
 * A stream listener. Many clients at once (-k, --broker, --chat) are the
 * server's; a single client is accepted (the listening sockets closed
 * then) and relayed, or handed to the -e/-c program.
 */
static int
serve_streams(const struct opts *o, int *fds, int n, struct relay_io *io)
{
	struct conn c;
	int lfd, fd;

	if (o->forward != NULL || o->proxy_server)
		return serve_forward(o, fds, n, NULL);
	if (o->keep_open)
		return serve_clients(o, fds, n, io);
	do {
		if ((lfd = wait_listeners(fds, n)) == -1)
			return EXIT_NET;
		/* A client --allow/--deny refuses does not count. */
		if ((fd = admit_client(o, lfd, 0, &c)) == -2)
			return EXIT_NET;
	} while (fd == -1);
	close_all(fds, n);
	return serve(o, &c, io);
}

static int
run_listen(const struct opts *o, struct relay_io *io)
{
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
		return serve_datagrams(o, fds, n, io);
	return serve_streams(o, fds, n, io);
}

static int
run_unix_listen(const struct opts *o, struct relay_io *io)
{
	struct sockaddr_un sun;
	struct addrinfo ai;
	int fd;

	unix_addrinfo(o->path, o->udp ? SOCK_DGRAM : SOCK_STREAM, &sun, &ai);
	if ((fd = listen_addr(&ai, false, &o->sockopts)) == -1) {
		warn("bind to %s", o->path);
		return EXIT_NET;
	}
	/* From here on the file is ours to remove. */
	memcpy(cleanup_path, sun.sun_path, sizeof(cleanup_path));
	if (o->verbose > 0)
		warnx("listening on %s (%s)", o->path, proto_name(o));
	if (o->udp)
		return serve_datagrams(o, &fd, 1, io);
	return serve_streams(o, &fd, 1, io);
}

/*
 * Messages start with "sock: " whatever the binary is called (a test
 * build, a link named nc): err(3) takes the name from here.
 */
static void
set_program_name(void)
{
#if defined(__GLIBC__)
	static char name[] = "sock";

	program_invocation_short_name = name;
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
	setprogname("sock");
#endif
}

/* What the relay keeps across connections; -o's file is opened here. */
static void
open_io(const struct opts *o, struct relay_io *io)
{
	memset(io, 0, sizeof(*io));
	io->stdin_tty = isatty(STDIN_FILENO);
	if (o->hexdump_path != NULL &&
	    (io->hexdump = fopen(o->hexdump_path, "w")) == NULL)
		err(EXIT_LOCAL, "-o %s", o->hexdump_path);
}

/*
 * Finish the dump. A dump that could not be written is a local failure
 * (said once: the relay may have said it already).
 */
static int
close_io(struct relay_io *io)
{
	bool failed;

	if (io->hexdump == NULL)
		return EXIT_OK;
	relay_dump_flush(io);
	errno = EIO;	/* ferror() keeps the flag of a write, not errno */
	failed = ferror(io->hexdump) != 0;
	if (fclose(io->hexdump) == EOF)
		failed = true;
	io->hexdump = NULL;
	if (!failed)
		return EXIT_OK;
	if (!io->dump_failed)
		warn("write to hex dump");
	return EXIT_LOCAL;
}

int
main(int argc, char *argv[])
{
	struct relay_io io;
	struct opts o;
	int status;

	set_program_name();
	open_std_fds();
	init_opts(&o);
	parse_args(argc, argv, &o);
	check_opts(&o);
	install_signals();

	if (o.scan)
		status = scan(&o);
	else {
		open_io(&o, &io);
		if (o.unix_domain && o.listen)
			status = run_unix_listen(&o, &io);
		else
			status = o.listen ? run_listen(&o, &io) :
			    run_connect(&o, &io);
		if (close_io(&io) != EXIT_OK && status == EXIT_OK)
			status = EXIT_LOCAL;
	}
	exit(status);
}
