/* SPDX-License-Identifier: ISC */
/*
 * sock.c: the program. Usage, option parsing and the checks between
 * options, connect and listen mode for one peer (TCP, UDP, Unix), and
 * every decision to exit: main is the only place sock ends. The other
 * modes (scan.h, server.h, forward.h, exec.h) and the relay do the rest;
 * it may use any header, and nothing calls back into it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

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
#include "end.h"
#include "loop.h"
#include "net.h"
#include "parse.h"
#include "connect.h"
#include "tls.h"
#include "proxy.h"
#include "exec.h"
#include "admit.h"
#include "server.h"
#include "proxyhdr.h"
#include "forward.h"
#include "udpfwd.h"
#include "scan.h"
#include "relay.h"
#include "term.h"

#ifdef HAVE_TLS
#include <openssl/opensslv.h>	/* OPENSSL_VERSION_TEXT for --version */
#endif

#define MAX_LISTENERS	16	/* addresses one listen host may resolve to */

/*
 * Files sock created and must remove at exit or on SIGINT/SIGTERM: a Unix
 * socket it bound, and the directory of a datagram client's own address.
 * Globals because the signal handler needs them.
 */
static char	cleanup_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char	cleanup_dir[sizeof(cleanup_path)];

/*
 * BEGIN OPTION TABLE. test/options.bats reads options[] and rules[] from
 * between these markers, so keep one row a line (however long) and this
 * form. It checks that every rule holds and that usage(), man/sock.1 and
 * completions/ name exactly these options.
 *
 * To add an option: an id in enum optid (sock.h), a row in options[],
 * its case in parse_option, its rules in rules[], and its line in
 * usage(), man/sock.1 and each file in completions/.
 */
static const struct optdef options[OPT_COUNT] = {
	/* id		   short	long		value taken	its name */
	[OPT_IPV4]	= { "-4",	NULL,		no_argument,	NULL },
	[OPT_IPV6]	= { "-6",	NULL,		no_argument,	NULL },
	[OPT_BROADCAST]	= { "-b",	NULL,		no_argument,	NULL },
	[OPT_CRLF]	= { "-C",	NULL,		no_argument,	NULL },
	[OPT_SHELL]	= { "-c",	NULL,		required_argument, "command" },
	[OPT_RECV_ONLY]	= { "-d",	"--recv-only",	no_argument,	NULL },
	[OPT_EXEC]	= { "-e",	NULL,		required_argument, "prog args" },
	[OPT_HELP]	= { "-h",	"--help",	no_argument,	NULL },
	[OPT_RCVBUF]	= { "-I",	NULL,		required_argument, "len" },
	[OPT_INTERVAL]	= { "-i",	NULL,		required_argument, "secs" },
	[OPT_KEEP_OPEN]	= { "-k",	NULL,		no_argument,	NULL },
	[OPT_LISTEN]	= { "-l",	NULL,		no_argument,	NULL },
	[OPT_TTL]	= { "-M",	NULL,		required_argument, "ttl" },
	[OPT_FORCE_FIN]	= { "-N",	NULL,		no_argument,	NULL },
	[OPT_NUMERIC]	= { "-n",	NULL,		no_argument,	NULL },
	[OPT_SNDBUF]	= { "-O",	NULL,		required_argument, "len" },
	[OPT_HEXDUMP]	= { "-o",	"--hex-dump",	required_argument, "file" },
	[OPT_PORT]	= { "-p",	NULL,		required_argument, "port" },
	[OPT_QUIT]	= { "-q",	NULL,		required_argument, "secs" },
	[OPT_RANDOM]	= { "-r",	NULL,		no_argument,	NULL },
	[OPT_SOURCE]	= { "-s",	NULL,		required_argument, "addr" },
	[OPT_TOS]	= { "-T",	NULL,		required_argument, "tos" },
	[OPT_TELNET]	= { "-t",	NULL,		no_argument,	NULL },
	[OPT_UNIX]	= { "-U",	NULL,		no_argument,	NULL },
	[OPT_UDP]	= { "-u",	NULL,		no_argument,	NULL },
	[OPT_VERBOSE]	= { "-v",	NULL,		no_argument,	NULL },
	[OPT_TIMEOUT]	= { "-w",	NULL,		required_argument, "secs" },
	[OPT_SCAN]	= { "-z",	NULL,		no_argument,	NULL },
	[OPT_ALLOW]	= { NULL,	"--allow",	required_argument, "list" },
	[OPT_ALLOWFILE]	= { NULL,	"--allowfile",	required_argument, "file" },
	[OPT_BROKER]	= { NULL,	"--broker",	no_argument,	NULL },
	[OPT_CHAT]	= { NULL,	"--chat",	no_argument,	NULL },
	[OPT_DENY]	= { NULL,	"--deny",	required_argument, "list" },
	[OPT_DENYFILE]	= { NULL,	"--denyfile",	required_argument, "file" },
	[OPT_KEEPALIVE]	= { NULL,	"--keepalive",	no_argument,	NULL },
	[OPT_MAX_CONNS]	= { NULL,	"--max-conns",	required_argument, "n" },
	[OPT_MAX_PER_SOURCE] = { NULL,	"--max-conns-per-source", required_argument, "n" },
	[OPT_NO_SHUTDOWN] = { NULL,	"--no-shutdown", no_argument,	NULL },
	[OPT_NODELAY]	= { NULL,	"--nodelay",	no_argument,	NULL },
	[OPT_PROGRESS]	= { NULL,	"--progress",	optional_argument, "auto|always" },
	[OPT_SEND_ONLY]	= { NULL,	"--send-only",	no_argument,	NULL },
	[OPT_VERSION]	= { NULL,	"--version",	no_argument,	NULL },
	[OPT_WAIT]	= { NULL,	"--wait",	required_argument, "secs" },
	[OPT_DEBUG]	= { "-D",	NULL,		no_argument,	NULL },
	[OPT_FDPASS]	= { "-F",	NULL,		no_argument,	NULL },
	[OPT_MINTTL]	= { "-m",	NULL,		required_argument, "minttl" },
	[OPT_PROXY_USER] = { "-P",	NULL,		required_argument, "user" },
	[OPT_RECV_LIMIT] = { "-W",	NULL,		required_argument, "count" },
	[OPT_PROXY_TYPE] = { "-X",	NULL,		required_argument, "4|4a|5|connect" },
	[OPT_PROXY]	= { "-x",	NULL,		required_argument, "proxy" },
	[OPT_LIMIT_RATE] = { NULL,	"--limit-rate",	required_argument, "rate" },
	[OPT_MPTCP]	= { NULL,	"--mptcp",	no_argument,	NULL },
	[OPT_TLS]	= { NULL,	"--tls",	no_argument,	NULL },
	[OPT_SSL]	= { NULL,	"--ssl",	no_argument,	NULL },
	[OPT_TLS_ALPN]	= { NULL,	"--tls-alpn",	required_argument, "list" },
	[OPT_TLS_CA]	= { NULL,	"--tls-ca",	required_argument, "file" },
	[OPT_TLS_CERT]	= { NULL,	"--tls-cert",	required_argument, "file" },
	[OPT_TLS_INSECURE] = { NULL,	"--tls-insecure", no_argument,	NULL },
	[OPT_TLS_KEY]	= { NULL,	"--tls-key",	required_argument, "file" },
	[OPT_TLS_MIN]	= { NULL,	"--tls-min",	required_argument, "1.2|1.3" },
	[OPT_TLS_PIN]	= { NULL,	"--tls-pin",	required_argument, "fingerprint" },
	[OPT_TLS_SERVERNAME] = { NULL,	"--tls-servername", required_argument, "name" },
	[OPT_TLS_VERIFY_CLIENT] = { NULL, "--tls-verify-client", no_argument, NULL },
	[OPT_FORWARD]	= { NULL,	"--forward",	required_argument, "target" },
	[OPT_PROXY_SERVER] = { NULL,	"--proxy-server", no_argument,	NULL },
	[OPT_PROXY_AUTH] = { NULL,	"--proxy-auth",	required_argument, "user" },
	[OPT_LISTEN_FD]	= { NULL,	"--listen-fd",	required_argument, "fd" },
	[OPT_SEND_PROXY] = { NULL,	"--send-proxy",	no_argument,	NULL },
	[OPT_SEND_PROXY_V2] = { NULL,	"--send-proxy-v2", no_argument,	NULL },
	[OPT_ACCEPT_PROXY] = { NULL,	"--accept-proxy", no_argument,	NULL },
	[OPT_PTY]	= { NULL,	"--pty",	no_argument,	NULL },
	[OPT_RAW]	= { NULL,	"--raw",	no_argument,	NULL },
};

/* Checked in this order; the first rule broken is the one reported. */
static const struct rule rules[] = {
	/* option		requires	excludes	why */
	{ OPT_IPV4,		{ 0 },	{ OPT_IPV6 },	NULL },
	{ OPT_IPV6,		{ 0 },	{ OPT_IPV4 },	NULL },
	{ OPT_SCAN,		{ 0 },	{ OPT_LISTEN, OPT_UNIX },	NULL },
	{ OPT_LISTEN,		{ 0 },	{ OPT_SCAN },	NULL },
	{ OPT_RANDOM,		{ OPT_SCAN },	{ 0 },	NULL },
	{ OPT_BROKER,		{ OPT_LISTEN },	{ OPT_UDP, OPT_CHAT },	NULL },
	{ OPT_CHAT,		{ OPT_LISTEN },	{ OPT_UDP, OPT_BROKER },	NULL },
	{ OPT_KEEP_OPEN,	{ OPT_LISTEN },	{ 0 },	NULL },
	{ OPT_ALLOW,		{ OPT_LISTEN },	{ OPT_UNIX },	NULL },
	{ OPT_ALLOWFILE,	{ OPT_LISTEN },	{ OPT_UNIX },	NULL },
	{ OPT_DENY,		{ OPT_LISTEN },	{ OPT_UNIX },	NULL },
	{ OPT_DENYFILE,		{ OPT_LISTEN },	{ OPT_UNIX },	NULL },
	{ OPT_PTY,		{ OPT_EXEC, OPT_SHELL },	{ OPT_UDP, OPT_BROKER, OPT_CHAT, OPT_FORWARD, OPT_PROXY_SERVER },	NULL },
	{ OPT_EXEC,		{ 0 },	{ OPT_SHELL, OPT_BROKER, OPT_CHAT, OPT_SCAN },	NULL },
	{ OPT_SHELL,		{ 0 },	{ OPT_EXEC, OPT_BROKER, OPT_CHAT, OPT_SCAN },	NULL },
	{ OPT_EXEC,		{ 0 },	{ OPT_RECV_ONLY, OPT_SEND_ONLY, OPT_FORCE_FIN, OPT_NO_SHUTDOWN, OPT_QUIT, OPT_INTERVAL, OPT_HEXDUMP, OPT_CRLF, OPT_TELNET, OPT_PROGRESS },	"the program talks to the peer directly" },
	{ OPT_SHELL,		{ 0 },	{ OPT_RECV_ONLY, OPT_SEND_ONLY, OPT_FORCE_FIN, OPT_NO_SHUTDOWN, OPT_QUIT, OPT_INTERVAL, OPT_HEXDUMP, OPT_CRLF, OPT_TELNET, OPT_PROGRESS },	"the program talks to the peer directly" },
	{ OPT_SCAN,		{ 0 },	{ OPT_RECV_ONLY, OPT_SEND_ONLY, OPT_FORCE_FIN, OPT_NO_SHUTDOWN, OPT_QUIT, OPT_HEXDUMP, OPT_CRLF, OPT_TELNET, OPT_PROGRESS },	"a scan sends and receives nothing" },
	{ OPT_MAX_CONNS,	{ OPT_KEEP_OPEN, OPT_BROKER, OPT_CHAT, OPT_FORWARD },	{ 0 },	NULL },
	{ OPT_MAX_PER_SOURCE,	{ OPT_KEEP_OPEN, OPT_BROKER, OPT_CHAT, OPT_FORWARD },	{ 0 },	NULL },
	{ OPT_MAX_PER_SOURCE,	{ 0 },	{ OPT_UNIX },	"it counts the connections of each IP address" },
	{ OPT_BROKER,		{ 0 },	{ OPT_CRLF, OPT_TELNET, OPT_INTERVAL, OPT_HEXDUMP, OPT_PROGRESS },	NULL },
	{ OPT_CHAT,		{ 0 },	{ OPT_CRLF, OPT_TELNET, OPT_INTERVAL, OPT_HEXDUMP, OPT_PROGRESS },	NULL },
	{ OPT_RECV_ONLY,	{ 0 },	{ OPT_SEND_ONLY, OPT_FORCE_FIN },	NULL },
	{ OPT_SEND_ONLY,	{ 0 },	{ OPT_RECV_ONLY },	NULL },
	{ OPT_FORCE_FIN,	{ 0 },	{ OPT_NO_SHUTDOWN, OPT_RECV_ONLY, OPT_UDP },	NULL },
	{ OPT_NO_SHUTDOWN,	{ 0 },	{ OPT_FORCE_FIN, OPT_UDP },	NULL },
	{ OPT_BROADCAST,	{ OPT_UDP },	{ 0 },	NULL },
	{ OPT_UNIX,		{ 0 },	{ OPT_IPV4, OPT_IPV6, OPT_PORT, OPT_SOURCE, OPT_TOS, OPT_TTL, OPT_BROADCAST },	NULL },
	{ OPT_NODELAY,		{ 0 },	{ OPT_UDP, OPT_UNIX },	"it works on TCP only" },
	{ OPT_KEEPALIVE,	{ 0 },	{ OPT_UDP, OPT_UNIX },	"it works on TCP only" },
	{ OPT_TELNET,		{ 0 },	{ OPT_UDP },	NULL },
	{ OPT_MPTCP,		{ 0 },	{ OPT_UDP, OPT_UNIX },	"it works on TCP only" },
	{ OPT_MINTTL,		{ 0 },	{ OPT_UDP, OPT_UNIX },	"Linux checks it on TCP only" },
	{ OPT_PROXY,		{ 0 },	{ OPT_UNIX },	NULL },
	{ OPT_PROXY_TYPE,	{ OPT_PROXY },	{ 0 },	NULL },
	{ OPT_PROXY_USER,	{ OPT_PROXY },	{ 0 },	NULL },
	{ OPT_FDPASS,		{ 0 },	{ OPT_LISTEN, OPT_SCAN, OPT_UDP, OPT_UNIX, OPT_EXEC, OPT_SHELL },	NULL },
	{ OPT_FDPASS,		{ 0 },	{ OPT_RECV_ONLY, OPT_SEND_ONLY, OPT_FORCE_FIN, OPT_NO_SHUTDOWN, OPT_QUIT, OPT_INTERVAL, OPT_HEXDUMP, OPT_CRLF, OPT_TELNET, OPT_PROGRESS, OPT_LIMIT_RATE },	"the socket goes to another program" },
	{ OPT_RECV_LIMIT,	{ OPT_UDP },	{ OPT_SCAN, OPT_EXEC, OPT_SHELL },	NULL },
	{ OPT_LIMIT_RATE,	{ 0 },	{ OPT_SCAN, OPT_EXEC, OPT_SHELL, OPT_BROKER, OPT_CHAT },	NULL },
	{ OPT_TLS,		{ 0 },	{ OPT_SCAN, OPT_FDPASS },	NULL },
	{ OPT_TLS_ALPN,		{ OPT_TLS },	{ 0 },	NULL },
	{ OPT_TLS_CA,		{ OPT_TLS },	{ 0 },	NULL },
	{ OPT_TLS_CA,		{ 0 },	{ OPT_TLS_INSECURE, OPT_TLS_PIN },	"no chain is verified" },
	{ OPT_TLS_CERT,		{ OPT_TLS },	{ 0 },	NULL },
	{ OPT_TLS_INSECURE,	{ OPT_TLS },	{ OPT_TLS_PIN },	NULL },
	{ OPT_TLS_INSECURE,	{ 0 },	{ OPT_LISTEN },	"a listener verifies nothing unless asked to" },
	{ OPT_TLS_KEY,		{ OPT_TLS_CERT },	{ 0 },	NULL },
	{ OPT_TLS_MIN,		{ OPT_TLS },	{ 0 },	NULL },
	{ OPT_TLS_PIN,		{ OPT_TLS },	{ OPT_TLS_INSECURE },	NULL },
	{ OPT_TLS_SERVERNAME,	{ OPT_TLS },	{ OPT_LISTEN },	NULL },
	{ OPT_TLS_VERIFY_CLIENT, { OPT_LISTEN },	{ 0 },	NULL },
	{ OPT_TLS_VERIFY_CLIENT, { OPT_TLS_CA },	{ 0 },	NULL },
	{ OPT_FORWARD,		{ 0 },	{ OPT_EXEC, OPT_SHELL, OPT_BROKER, OPT_CHAT, OPT_SCAN, OPT_PROXY_SERVER },	NULL },
	{ OPT_PROXY_SERVER,	{ OPT_LISTEN },	{ OPT_EXEC, OPT_SHELL, OPT_BROKER, OPT_CHAT, OPT_UDP, OPT_FORWARD },	NULL },
	{ OPT_FORWARD,		{ 0 },	{ OPT_RECV_ONLY, OPT_SEND_ONLY, OPT_FORCE_FIN, OPT_NO_SHUTDOWN, OPT_QUIT, OPT_INTERVAL, OPT_HEXDUMP, OPT_CRLF, OPT_TELNET, OPT_PROGRESS, OPT_LIMIT_RATE },	"it relays two sockets, not stdin and stdout" },
	{ OPT_PROXY_SERVER,	{ 0 },	{ OPT_RECV_ONLY, OPT_SEND_ONLY, OPT_FORCE_FIN, OPT_NO_SHUTDOWN, OPT_QUIT, OPT_INTERVAL, OPT_HEXDUMP, OPT_CRLF, OPT_TELNET, OPT_PROGRESS, OPT_LIMIT_RATE },	"it relays two sockets, not stdin and stdout" },
	{ OPT_PROXY_AUTH,	{ OPT_PROXY_SERVER },	{ 0 },	NULL },
	{ OPT_LISTEN_FD,	{ OPT_LISTEN },	{ 0 },	NULL },
	{ OPT_LISTEN_FD,	{ 0 },	{ OPT_PORT, OPT_SOURCE },	"it serves a socket that is bound already" },
	{ OPT_SEND_PROXY,	{ 0 },	{ OPT_UDP, OPT_SCAN, OPT_SEND_PROXY_V2 },	NULL },
	{ OPT_SEND_PROXY_V2,	{ 0 },	{ OPT_UDP, OPT_SCAN },	NULL },
	{ OPT_ACCEPT_PROXY,	{ OPT_LISTEN },	{ OPT_UDP },	"a PROXY header starts a stream a listener accepts" },
	{ OPT_RAW,		{ 0 },	{ OPT_KEEP_OPEN, OPT_SCAN, OPT_FORWARD, OPT_PROXY_SERVER, OPT_BROKER, OPT_CHAT, OPT_FDPASS },	NULL },
	{ OPT_RAW,		{ 0 },	{ OPT_EXEC, OPT_SHELL, OPT_RECV_ONLY, OPT_CRLF, OPT_INTERVAL },	"it is for what is typed at a terminal" },
};
/* END OPTION TABLE */

/* getopt_long's code for a long option: past every char a short one is. */
#define LONG_CODE(id)	(256 + (id))

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
"  --listen-fd fd   with -l: serve the listening socket fd (or the LISTEN_FDS\n"
"                   socket of that LISTEN_FDNAMES name) instead of binding\n"
"  -k               keep listening: serve clients concurrently (with -l)\n"
"  -p port          with -l: port to listen on; else: local source port\n"
"  -s addr          local source address (with -l: address to listen on)\n"
"  -u               UDP\n"
"  -U               Unix-domain socket (with -u: datagram)\n"
"  -n               numeric addresses and ports only: no DNS or service names\n"
"  -w secs          connect timeout and idle timeout (exit 3 when it expires)\n"
"  --wait secs      retry connecting until it works or secs pass (exit 3)\n"
"  --mptcp          Multipath TCP for every TCP socket (Linux)\n"
"  --limit-rate rate  at most rate bytes a second each way (K, M, G: of 1024)\n"
"  -W count         quit after receiving count datagrams (-u)\n"
"Proxies:\n"
"  -x [type://][user@]host[:port]  connect through this proxy; repeat for a\n"
"                   chain, first hop first (types socks4, socks4a, socks5, http)\n"
"  -X 4|4a|5|connect  proxy type of the hops that name none (default 5)\n"
"  -P user          proxy user (password: SOCK_PROXY_PASSWORD, or asked)\n"
"  -F               pass the connected socket to stdout (ssh ProxyUseFdpass)\n"
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
"  --max-conns n    refuse clients beyond n at once (default 100; forwarding:\n"
"                   what the descriptor limit allows)\n"
"  --max-conns-per-source n  refuse an address's clients beyond n at once\n"
"  --allow list     admit only these addresses/CIDR blocks (comma-separated)\n"
"  --deny list      refuse these addresses/CIDR blocks\n"
"  --allowfile f    --allow, one entry a line from f (# comments)\n"
"  --denyfile f     --deny, one entry a line from f\n"
"Terminals:\n"
"  --pty            run the -e/-c program on a new terminal (80x24, TERM\n"
"                   from sock's or xterm; stty rows R cols C changes it)\n"
"  --raw            a terminal stdin in raw mode: ^C, ^Z go to the peer;\n"
"                   ~. at the start of a line ends, ~~ sends ~\n"
"Forwarding:\n"
"  --forward target relay each connection to its own connection to target\n"
"                   (host:port, [v6addr]:port, unix:path); with -u, each\n"
"                   sender's datagrams, a session ending after -w (60 s)\n"
"  --proxy-server   with -l: serve SOCKS4, SOCKS4a, SOCKS5 and HTTP proxy\n"
"                   clients (loopback only unless a host is given)\n"
"  --proxy-auth user  require user and $SOCK_PROXY_PASSWORD of clients\n"
"  --send-proxy     first on each target connection, a PROXY protocol v1\n"
"                   header with the client's address (connecting: ours)\n"
"  --send-proxy-v2  the same in version 2 (binary)\n"
"                   (with either: --tls for the clients, -x for the targets)\n"
"  --accept-proxy   with -l: require a PROXY header (v1 or v2) first from each\n"
"                   client; its address then stands for the client's\n"
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
"  -m minttl        drop TCP packets arriving with a lower TTL / hop limit\n"
"  -D               socket debugging (SO_DEBUG; Linux: root only)\n"
"  -b               allow UDP broadcast\n"
"  --nodelay        disable Nagle's algorithm (TCP_NODELAY)\n"
"  --keepalive      enable TCP keepalives\n"
"TLS:\n"
"  --tls, --ssl     TLS over the connection; the server's certificate and\n"
"                   name are verified against the system's trust store\n"
"                   (with -u: DTLS 1.2, each datagram one record)\n"
"  --tls-ca file    also trust these CA certificates (a file or a directory;\n"
"                   -l: the CA a client certificate must come from)\n"
"  --tls-insecure   verify nothing (connect mode)\n"
"  --tls-servername name  SNI and the name verified (connect mode)\n"
"  --tls-pin fingerprint  accept exactly the certificate with this SHA-256\n"
"                   fingerprint instead\n"
"  --tls-cert file, --tls-key file  own certificate and key (default for -l:\n"
"                   a temporary self-signed one, its fingerprint shown by -v)\n"
"  --tls-verify-client  -l: require a client certificate from --tls-ca\n"
"  --tls-min 1.2|1.3  oldest TLS version accepted (default 1.2)\n"
"  --tls-alpn list  ALPN protocols, comma-separated (h2,http/1.1)\n"
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

/*
 * --version: the version, then one line each on how this binary was built,
 * so that a bug report says which TLS library and which ways of moving
 * and waiting for bytes were in it.
 */
static void
print_version(void)
{
	printf("sock %s\n", SOCK_VERSION);
#if defined(HAVE_TLS) && defined(TLS_DLOPEN)
	printf("TLS: built with %s, libssl.so.3 loaded when --tls is "
	    "used\n", OPENSSL_VERSION_TEXT);
#elif defined(HAVE_TLS)
	printf("TLS: built with %s, linked in\n", OPENSSL_VERSION_TEXT);
#else
	printf("TLS: none (built with TLS=no)\n");
#endif
#ifdef HAVE_LINUX_CALLS
	printf("zero-copy: splice(2) and sendfile(2)\n");
#else
	printf("zero-copy: none (portable build: read(2) and write(2))\n");
#endif
#ifdef HAVE_LINUX_CALLS
	printf("waiting: epoll(7) for many connections, select(2) for one\n");
#else
	printf("waiting: poll(2) for many connections, select(2) for one\n");
#endif
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
	o->max_conns = 0;	/* set_conn_limit: the default */
	o->listen_fd = -1;
	o->fd_soft = -1;
	o->sockopts.rcvbuf = o->sockopts.sndbuf = -1;
	o->sockopts.tos = o->sockopts.ttl = o->sockopts.minttl = -1;
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

/* What parse_args saw: which options, spelled how, and values opts lacks. */
struct seen {
	const char	*typed[OPT_COUNT];	/* as first typed; NULL: not given */
	int		 order[OPT_COUNT];	/* when first typed, from 1 */
	int		 count;			/* options typed so far */
	const char	*p_arg;			/* -p */
	const char	*s_arg;			/* -s */
};

/* The --tls-* options (--tls itself: parse_option). */
static void
parse_tls_option(enum optid id, struct tls_opts *t)
{
	const char *why;

	switch (id) {
	case OPT_TLS_ALPN:
		free(t->alpn);
		if ((t->alpn = malloc(strlen(optarg) + 1)) == NULL)
			err(EXIT_LOCAL, "--tls-alpn");
		if (tls_parse_alpn(optarg, t->alpn, &t->alpn_len, &why) == -1)
			usage_error("invalid --tls-alpn value \"%s\": %s",
			    optarg, why);
		break;
	case OPT_TLS_CA:
		t->ca = optarg;
		break;
	case OPT_TLS_CERT:
		t->cert = optarg;
		break;
	case OPT_TLS_INSECURE:
		t->insecure = true;
		break;
	case OPT_TLS_KEY:
		t->key = optarg;
		break;
	case OPT_TLS_MIN:
		if (strcmp(optarg, "1.2") == 0)
			t->min_version = 12;
		else if (strcmp(optarg, "1.3") == 0)
			t->min_version = 13;
		else
			usage_error("invalid --tls-min value \"%s\": must be 1.2 "
			    "or 1.3", optarg);
		break;
	case OPT_TLS_PIN:
		if (tls_parse_pin(optarg, t->pin, &why) == -1)
			usage_error("invalid --tls-pin value \"%s\": %s", optarg,
			    why);
		t->have_pin = true;
		break;
	case OPT_TLS_SERVERNAME:
		if (*optarg == '\0')
			usage_error("invalid --tls-servername value \"\": must "
			    "be a host name");
		t->servername = optarg;
		break;
	default:
		t->verify_client = true;	/* OPT_TLS_VERIFY_CLIENT */
		break;
	}
}

/* One -x: a hop at the end of the chain. */
static void
add_proxy(struct opts *o, const char *arg)
{
	struct proxy_hop *hops;
	char why[PROXY_WHY_MAX];

	if (o->nproxies == PROXY_HOPS_MAX)
		usage_error("too many proxies: at most %d -x", PROXY_HOPS_MAX);
	if ((hops = realloc(o->proxies, (o->nproxies + 1) *
	    sizeof(*hops))) == NULL)
		err(EXIT_LOCAL, "realloc");
	o->proxies = hops;
	/* A value with a user may hold a password by mistake: not echoed. */
	if (parse_proxy_url(arg, &hops[o->nproxies], why, sizeof(why)) == -1) {
		if (strchr(arg, '@') != NULL)
			usage_error("invalid -x value: %s", why);
		usage_error("invalid -x value \"%.64s\": %s", arg, why);
	}
	o->nproxies++;
}

static void
parse_option(enum optid id, struct opts *o, struct seen *seen)
{
	switch (id) {
	case OPT_IPV4:
		o->family = AF_INET;
		break;
	case OPT_IPV6:
		o->family = AF_INET6;
		break;
	case OPT_BROADCAST:
		o->sockopts.broadcast = true;
		break;
	case OPT_CRLF:
		o->crlf = true;
		break;
	case OPT_SHELL:
		o->exec_shell = optarg;
		break;
	case OPT_RECV_ONLY:
		o->recv_only = true;
		break;
	case OPT_EXEC:
		o->exec_prog = optarg;
		break;
	case OPT_HELP:
		usage(stdout);
		exit(EXIT_OK);
	case OPT_RCVBUF:
		o->sockopts.rcvbuf = int_option("-I", optarg, 1, INT_MAX / 2);
		break;
	case OPT_INTERVAL:
		o->interval_ms = positive_duration("-i", optarg);
		break;
	case OPT_KEEP_OPEN:
		o->keep_open = true;
		break;
	case OPT_LISTEN:
		o->listen = true;
		break;
	case OPT_TTL:
		o->sockopts.ttl = int_option("-M", optarg, 1, 255);
		break;
	case OPT_FORCE_FIN:
	case OPT_NO_SHUTDOWN:
		break;		/* o->fin: see derive_opts */
	case OPT_NUMERIC:
		o->numeric = true;
		break;
	case OPT_SNDBUF:
		o->sockopts.sndbuf = int_option("-O", optarg, 1, INT_MAX / 2);
		break;
	case OPT_HEXDUMP:
		if (*optarg == '\0')
			usage_error("invalid -o value \"\": must be a file name");
		o->hexdump_path = optarg;
		break;
	case OPT_PORT:
		seen->p_arg = optarg;
		break;
	case OPT_QUIT:
		if (parse_duration(optarg, &o->quit_ms) == -1)
			usage_error("invalid -q value \"%s\": must be a number "
			    "of seconds, 0 or more", optarg);
		break;
	case OPT_RANDOM:
		o->random_order = true;
		break;
	case OPT_SOURCE:
		seen->s_arg = optarg;
		break;
	case OPT_TOS:
		if (parse_tos(optarg, &o->sockopts.tos) == -1)
			usage_error("invalid -T value \"%s\": must be lowdelay, "
			    "throughput, reliability, mincost, a DSCP name "
			    "(af11-af43, cs0-cs7, ef, va, le) or 0-255", optarg);
		break;
	case OPT_TELNET:
		o->telnet = true;
		break;
	case OPT_UNIX:
		o->unix_domain = true;
		break;
	case OPT_UDP:
		o->udp = true;
		break;
	case OPT_VERBOSE:
		o->verbose++;
		break;
	case OPT_TIMEOUT:
		o->timeout_ms = positive_duration("-w", optarg);
		break;
	case OPT_SCAN:
		o->scan = true;
		break;
	case OPT_ALLOW:
		acl_add_list(&o->allow, "--allow", optarg);
		break;
	case OPT_ALLOWFILE:
		acl_add_file(&o->allow, "--allowfile", optarg);
		break;
	case OPT_BROKER:
		o->broker = true;
		break;
	case OPT_CHAT:
		o->chat = true;
		break;
	case OPT_DENY:
		acl_add_list(&o->deny, "--deny", optarg);
		break;
	case OPT_DENYFILE:
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
		o->max_conns = int_option("--max-conns", optarg, 1,
		    MAX_CONNS_MAX);
		break;
	case OPT_MAX_PER_SOURCE:
		o->max_per_source = int_option("--max-conns-per-source",
		    optarg, 1, MAX_CONNS_MAX);
		break;
	case OPT_NODELAY:
		o->sockopts.nodelay = true;
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
		o->proxy_auth_user = optarg;
		break;
	case OPT_SEND_PROXY:
		o->send_proxy = 1;
		break;
	case OPT_SEND_PROXY_V2:
		o->send_proxy = 2;
		break;
	case OPT_ACCEPT_PROXY:
		o->accept_proxy = true;
		break;
	case OPT_LISTEN_FD:
		if (*optarg == '\0')
			usage_error("invalid --listen-fd value \"\": must be a "
			    "descriptor number or a LISTEN_FDNAMES name");
		o->listen_fd_arg = optarg;
		break;
	case OPT_PROXY_SERVER:
		o->proxy_server = true;
		break;
	case OPT_SEND_ONLY:
		o->send_only = true;
		break;
	case OPT_PTY:
		o->pty = true;
		break;
	case OPT_RAW:
		o->raw = true;
		break;
	case OPT_VERSION:
		print_version();
		exit(EXIT_OK);
	case OPT_WAIT:
		o->wait_ms = positive_duration("--wait", optarg);
		break;
	case OPT_DEBUG:
		o->sockopts.debug = true;
		break;
	case OPT_FDPASS:
		o->fdpass = true;
		break;
	case OPT_MINTTL:
		o->sockopts.minttl = int_option("-m", optarg, 1, 255);
		break;
	case OPT_PROXY_USER:
		o->proxy_user = optarg;
		break;
	case OPT_RECV_LIMIT:
		o->recv_limit = int_option("-W", optarg, 1, INT_MAX);
		break;
	case OPT_PROXY_TYPE:
		if (parse_proxy_type(optarg, &o->proxy_type) == -1)
			usage_error("invalid -X value \"%s\": must be 4, 4a, 5 "
			    "or connect", optarg);
		break;
	case OPT_PROXY:
		add_proxy(o, optarg);
		break;
	case OPT_LIMIT_RATE:
		if (parse_rate(optarg, &o->rate_limit) == -1)
			usage_error("invalid --limit-rate value \"%s\": must be "
			    "a number of bytes a second, at least 1, with an "
			    "optional K, M or G (of 1024)", optarg);
		break;
	case OPT_MPTCP:
		o->sockopts.mptcp = true;
		break;
	case OPT_TLS:
	case OPT_SSL:
		o->tls.enabled = true;
		break;
	case OPT_TLS_ALPN:
	case OPT_TLS_CA:
	case OPT_TLS_CERT:
	case OPT_TLS_INSECURE:
	case OPT_TLS_KEY:
	case OPT_TLS_MIN:
	case OPT_TLS_PIN:
	case OPT_TLS_SERVERNAME:
	case OPT_TLS_VERIFY_CLIENT:
		parse_tls_option(id, &o->tls);
		break;
	case OPT_NONE:
	case OPT_COUNT:
		break;
	}
}

/*
 * The strings getopt_long takes, made from options[]: shortopts needs
 * room for 2 + 3 * OPT_COUNT chars, longopts for OPT_COUNT + 1 entries.
 */
static void
getopt_tables(char *shortopts, struct option *longopts)
{
	const struct optdef *d;
	int id, n = 0;

	*shortopts++ = ':';	/* a missing value is ':', not '?' */
	for (id = OPT_NONE + 1; id < OPT_COUNT; id++) {
		d = &options[id];
		if (d->short_name != NULL) {
			*shortopts++ = d->short_name[1];
			if (d->has_arg != no_argument)
				*shortopts++ = ':';
			if (d->has_arg == optional_argument)
				*shortopts++ = ':';
		}
		if (d->long_name != NULL) {
			memset(&longopts[n], 0, sizeof(longopts[n]));
			longopts[n].name = d->long_name + 2;
			longopts[n].has_arg = d->has_arg;
			longopts[n].val = LONG_CODE(id);
			n++;
		}
	}
	*shortopts = '\0';
	memset(&longopts[n], 0, sizeof(longopts[n]));
}

/* The option getopt_long returned ch for, or OPT_NONE for an error. */
static enum optid
option_id(int ch)
{
	int id;

	if (ch >= LONG_CODE(OPT_NONE + 1) && ch < LONG_CODE(OPT_COUNT))
		return (enum optid)(ch - LONG_CODE(0));
	for (id = OPT_NONE + 1; id < OPT_COUNT; id++)
		if (options[id].short_name != NULL &&
		    options[id].short_name[1] == ch)
			return (enum optid)id;
	return OPT_NONE;
}

/* getopt_long's ':' (a value missing) or '?' (an unknown option). */
static void __attribute__((noreturn))
bad_option(int ch, char *argv[])
{
	/* A long option's optopt is its code, not a letter. */
	if (ch == ':' && optopt > 0 && optopt < 128)
		usage_error("option -%c needs a value", optopt);
	if (ch == ':')
		usage_error("option %.*s needs a value",
		    (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
	if (optopt != 0)
		usage_error("unknown option -%c", optopt);
	usage_error("unknown option %.*s",
	    (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
}

/* An option's name where the user typed none: the short one, if any. */
static const char *
canonical_name(enum optid id)
{
	return options[id].short_name != NULL ? options[id].short_name :
	    options[id].long_name;
}

/* Does some rule of a exclude b? */
static bool
excludes(enum optid a, enum optid b)
{
	size_t r, i;

	for (r = 0; r < sizeof(rules) / sizeof(rules[0]); r++)
		for (i = 0; rules[r].option == a && i < RULE_EXCLUDES &&
		    rules[r].excludes[i] != OPT_NONE; i++)
			if (rules[r].excludes[i] == b)
				return true;
	return false;
}

/* Report rule r broken by other, naming both as the user typed them. */
static void __attribute__((noreturn))
conflict(const struct seen *seen, const struct rule *r, enum optid other)
{
	const char *a = seen->typed[r->option], *b = seen->typed[other];
	const char *colon = r->why != NULL ? ": " : "";
	const char *why = r->why != NULL ? r->why : "";

	if (!excludes(other, r->option))
		usage_error("%s cannot be used with %s%s%s", a, b, colon, why);
	if (seen->order[other] < seen->order[r->option]) {
		a = seen->typed[other];
		b = seen->typed[r->option];
	}
	usage_error("%s and %s cannot be used together%s%s", a, b, colon, why);
}

/* Report that r->option lacks all of r->requires: "-r needs -z". */
static void __attribute__((noreturn))
lacks(const struct seen *seen, const struct rule *r)
{
	char list[256];
	size_t i, n, len = 0;

	for (n = 0; n < RULE_REQUIRES && r->requires[n] != OPT_NONE; n++)
		continue;
	list[0] = '\0';
	for (i = 0; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ",
		    canonical_name(r->requires[i]));
	usage_error("%s needs %s%s%s", seen->typed[r->option], list,
	    r->why != NULL ? ": " : "", r->why != NULL ? r->why : "");
}

/*
 * The combinations rules[] forbids; the first rule broken, in table
 * order, is the one reported.
 */
static void
check_rules(const struct seen *seen)
{
	const struct rule *r;
	size_t i;
	bool met;

	for (r = rules; r < rules + sizeof(rules) / sizeof(rules[0]); r++) {
		if (seen->typed[r->option] == NULL)
			continue;
		met = r->requires[0] == OPT_NONE;
		for (i = 0; i < RULE_REQUIRES && r->requires[i] != OPT_NONE; i++)
			if (seen->typed[r->requires[i]] != NULL)
				met = true;
		if (!met)
			lacks(seen, r);
		for (i = 0; i < RULE_EXCLUDES && r->excludes[i] != OPT_NONE; i++)
			if (seen->typed[r->excludes[i]] != NULL)
				conflict(seen, r, r->excludes[i]);
	}
}

/*
 * --tls -u is DTLS (tls: the option as typed): one conversation, over
 * UDP, DTLS 1.2 only.
 */
static void
check_dtls(const struct opts *o, const struct seen *seen, const char *tls)
{
	const char *many = seen->typed[OPT_KEEP_OPEN] != NULL ?
	    seen->typed[OPT_KEEP_OPEN] : seen->typed[OPT_FORWARD];

	if (many != NULL)
		usage_error("%s %s cannot be used with %s: DTLS serves "
		    "one conversation", tls, seen->typed[OPT_UDP], many);
	if (seen->typed[OPT_UNIX] != NULL)
		usage_error("%s %s cannot be used with %s: DTLS runs "
		    "over UDP only", tls, seen->typed[OPT_UDP],
		    seen->typed[OPT_UNIX]);
	if (seen->typed[OPT_PROXY] != NULL)
		usage_error("%s %s cannot be used with %s: DTLS does "
		    "not run through a proxy's UDP relay", tls,
		    seen->typed[OPT_UDP], seen->typed[OPT_PROXY]);
	if (o->tls.min_version == 13)
		usage_error("%s 1.3 cannot be used with %s: OpenSSL "
		    "has no DTLS 1.3", seen->typed[OPT_TLS_MIN],
		    seen->typed[OPT_UDP]);
}

/*
 * The checks that are not a pair of options, run after rules[] holds:
 * what depends on a third option (-k conflicts only on a stream socket,
 * -e/-c only with both -k and -u) or on a value (-e's word count).
 */
static void
check_combinations(const struct opts *o, const struct seen *seen)
{
	static const enum optid relay_only[] = {
		OPT_CRLF, OPT_TELNET, OPT_INTERVAL, OPT_HEXDUMP, OPT_PROGRESS,
		OPT_LIMIT_RATE
	};
	const char *exec = seen->typed[OPT_EXEC] != NULL ?
	    seen->typed[OPT_EXEC] : seen->typed[OPT_SHELL];
	const char *tls = seen->typed[OPT_TLS];
	size_t i;
	int words;

	/* --wait retries an outgoing connection: a forwarder has one. */
	if (seen->typed[OPT_WAIT] != NULL && seen->typed[OPT_LISTEN] != NULL &&
	    seen->typed[OPT_FORWARD] == NULL &&
	    seen->typed[OPT_PROXY_SERVER] == NULL)
		usage_error("--wait cannot be used with -l (except with "
		    "--forward or --proxy-server)");

	/* A listener's header goes to the targets it forwards to. */
	for (i = OPT_SEND_PROXY; i <= OPT_SEND_PROXY_V2; i++)
		if (seen->typed[i] != NULL && seen->typed[OPT_LISTEN] != NULL &&
		    seen->typed[OPT_FORWARD] == NULL &&
		    seen->typed[OPT_PROXY_SERVER] == NULL)
			usage_error("%s cannot be used with -l (except with "
			    "--forward or --proxy-server)", seen->typed[i]);

	/* A listener's -x proxies are for the targets it forwards to. */
	if (seen->typed[OPT_PROXY] != NULL && seen->typed[OPT_LISTEN] != NULL &&
	    seen->typed[OPT_FORWARD] == NULL &&
	    seen->typed[OPT_PROXY_SERVER] == NULL)
		usage_error("-x cannot be used with -l (except with "
		    "--forward or --proxy-server)");
	if (seen->typed[OPT_PROXY] != NULL && o->forward != NULL &&
	    o->forward_to.is_unix)
		usage_error("-x cannot be used with a unix: --forward target");

	/* A listener checks a client's chain only when asked to. */
	if (seen->typed[OPT_LISTEN] != NULL && seen->typed[OPT_TLS_CA] != NULL &&
	    seen->typed[OPT_TLS_VERIFY_CLIENT] == NULL)
		usage_error("--tls-ca with -l needs --tls-verify-client");
	if (tls != NULL && seen->typed[OPT_UNIX] != NULL &&
	    seen->typed[OPT_LISTEN] == NULL &&
	    seen->typed[OPT_TLS_SERVERNAME] == NULL &&
	    seen->typed[OPT_TLS_PIN] == NULL &&
	    seen->typed[OPT_TLS_INSECURE] == NULL)
		usage_error("%s with -U needs --tls-servername, --tls-pin or "
		    "--tls-insecure: a socket path is no name to verify", tls);

	if (tls != NULL && seen->typed[OPT_UDP] != NULL)
		check_dtls(o, seen, tls);

	if (exec != NULL && seen->typed[OPT_KEEP_OPEN] != NULL &&
	    seen->typed[OPT_UDP] != NULL)
		usage_error("%s cannot be used with %s %s: a datagram socket "
		    "has no connections to hand out", exec,
		    seen->typed[OPT_KEEP_OPEN], seen->typed[OPT_UDP]);
	if (seen->typed[OPT_KEEP_OPEN] != NULL && seen->typed[OPT_UDP] == NULL)
		for (i = 0; i < sizeof(relay_only) / sizeof(relay_only[0]); i++)
			if (seen->typed[relay_only[i]] != NULL)
				usage_error("%s cannot be used with %s on a "
				    "stream socket", seen->typed[OPT_KEEP_OPEN],
				    seen->typed[relay_only[i]]);
	if (o->exec_prog != NULL) {
		words = check_exec_args(o->exec_prog);
		if (words == 0)
			usage_error("-e needs a program to run");
		if (words > EXEC_WORDS_MAX)
			usage_error("-e takes at most %d words; use -c for more",
			    EXEC_WORDS_MAX);
	}
}

/*
 * The session limits, and what -u --forward (sock(1), "Forwarding
 * datagrams") cannot do: it relays plain datagrams between each sender
 * and its own socket to a UDP port.
 */
static void
check_udp_forward(const struct opts *o, const struct seen *seen)
{
	static const enum optid limits[] = {
		OPT_MAX_CONNS, OPT_MAX_PER_SOURCE
	};
	const char *udp = seen->typed[OPT_UDP], *fwd = seen->typed[OPT_FORWARD];
	const char *lim;
	size_t i;

	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		if ((lim = seen->typed[limits[i]]) == NULL)
			continue;
		if (udp != NULL && fwd == NULL)
			usage_error("%s cannot be used with %s (except with "
			    "--forward)", lim, udp);
		if (fwd != NULL && seen->typed[OPT_LISTEN] == NULL)
			usage_error("%s cannot be used with --forward in "
			    "connect mode: it forwards one connection", lim);
		if (fwd != NULL && udp == NULL &&
		    seen->typed[OPT_KEEP_OPEN] == NULL)
			usage_error("%s with --forward needs -k on a stream "
			    "socket", lim);
	}
	if (udp == NULL || fwd == NULL)
		return;
	if (seen->typed[OPT_UNIX] != NULL)
		usage_error("--forward cannot be used with %s %s: it forwards "
		    "UDP", udp, seen->typed[OPT_UNIX]);
	if (o->forward_to.is_unix)
		usage_error("a unix: --forward target cannot be used with %s: "
		    "it forwards to a UDP port", udp);
	if (seen->typed[OPT_TLS] != NULL)
		usage_error("%s cannot be used with %s --forward: it relays "
		    "plain datagrams (no DTLS termination)",
		    seen->typed[OPT_TLS], udp);
	if (seen->typed[OPT_PROXY] != NULL)
		usage_error("-x cannot be used with %s --forward: it sends "
		    "datagrams to the target directly", udp);
	if (seen->typed[OPT_WAIT] != NULL)
		usage_error("--wait cannot be used with %s --forward: a UDP "
		    "target has no connection to wait for", udp);
	if (seen->typed[OPT_RECV_LIMIT] != NULL)
		usage_error("-W cannot be used with --forward: it relays two "
		    "sockets, not stdin and stdout");
}

/* Settings that follow from others, once the checks have passed. */
static void
derive_opts(struct opts *o, const struct seen *seen)
{
	if (o->broker || o->chat)
		o->keep_open = true;
	o->fin = seen->typed[OPT_FORCE_FIN] != NULL ? FIN_ALWAYS :
	    seen->typed[OPT_NO_SHUTDOWN] != NULL ? FIN_NEVER : FIN_AFTER_DATA;
	/* -X and -P give the type and user of the hops that name none. */
	if (proxy_apply_defaults(o->proxies, o->nproxies, o->proxy_type,
	    o->proxy_user) == -1)
		usage_error("invalid -P value: must be 1-%d bytes, without ':' "
		    "or control characters", PROXY_NAME_MAX);

	/* UDP ASSOCIATE: one SOCKS5 proxy relays the datagrams. */
	if (seen->typed[OPT_PROXY] != NULL && seen->typed[OPT_UDP] != NULL) {
		if (o->nproxies > 1)
			usage_error("%s cannot be used with several -x proxies: "
			    "a UDP association goes through one SOCKS5 proxy",
			    seen->typed[OPT_UDP]);
		if (o->proxies[0].type != PROXY_SOCKS5)
			usage_error("%s cannot be used with a %s proxy: only "
			    "SOCKS5 relays datagrams (UDP ASSOCIATE)",
			    seen->typed[OPT_UDP],
			    proxy_type_name(o->proxies[0].type));
		if (seen->typed[OPT_SCAN] != NULL)
			usage_error("%s cannot be used with -x and %s: a scan "
			    "through a proxy is of TCP ports",
			    seen->typed[OPT_UDP], seen->typed[OPT_SCAN]);
	}
}

/* The operands, by mode. */
/*
 * The listening sockets a service manager passed to this process
 * (systemd's LISTEN_FDS and LISTEN_PID, sd_listen_fds(3)): how many, from
 * descriptor 3; 0 when none are meant for us.
 */
static int
activated_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int p, n;

	if (pid == NULL || fds == NULL || parse_int(pid, 1, INT_MAX, &p) == -1 ||
	    p != (int)getpid() || parse_int(fds, 1, FD_LIMIT_MAX, &n) == -1)
		return 0;
	return n;
}

/* --listen-fd's name: its place in LISTEN_FDNAMES, from descriptor 3. */
static int
activated_fd_named(const char *name)
{
	const char *names = getenv("LISTEN_FDNAMES"), *p, *end;
	size_t len = strlen(name);
	int i, n = activated_fds();

	if (n == 0 || names == NULL)
		usage_error("invalid --listen-fd value \"%s\": no socket of "
		    "that name was passed (LISTEN_FDNAMES)", name);
	for (i = 0, p = names; i < n && p != NULL; i++, p = end) {
		end = strchr(p, ':');
		if ((size_t)(end != NULL ? end - p : (ptrdiff_t)strlen(p)) ==
		    len && strncmp(p, name, len) == 0)
			return 3 + i;
		if (end != NULL)
			end++;
	}
	usage_error("invalid --listen-fd value \"%s\": no socket of that "
	    "name was passed (LISTEN_FDNAMES)", name);
}

/*
 * The descriptor --listen-fd names (sock(1), "Service managers"), checked
 * to be a socket of the kind the options ask for, listening (a stream) or
 * bound (a datagram socket). The service manager's variables are unset,
 * so that no -e/-c program sees them.
 */
static void
set_listen_fd(struct opts *o)
{
	const char *arg = o->listen_fd_arg, *kind;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = -1, type, listening = 0;
	int want = o->udp ? SOCK_DGRAM : SOCK_STREAM;

	if (arg != NULL && strspn(arg, "0123456789") == strlen(arg)) {
		if (parse_int(arg, 0, FD_LIMIT_MAX, &fd) == -1)
			fd = -1;
	} else if (arg != NULL)
		fd = activated_fd_named(arg);
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	if (arg == NULL)
		return;
	kind = o->unix_domain ? (o->udp ? "Unix datagram" : "Unix stream") :
	    o->udp ? "UDP" : "TCP";
	if (fd < 0 || fcntl(fd, F_GETFD) == -1)
		usage_error("--listen-fd %s: not an open descriptor", arg);
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
		usage_error("--listen-fd %s: not a socket", arg);
	len = sizeof(listening);
	if (type == SOCK_STREAM && getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN,
	    &listening, &len) == -1)
		listening = 0;
	len = sizeof(ss);
	if (type != want || (want == SOCK_STREAM && !listening) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    (o->unix_domain ? ss.ss_family != AF_UNIX :
	    ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		usage_error("--listen-fd %s: not a %s %s socket", arg,
		    want == SOCK_STREAM ? "listening" : "bound", kind);
	(void)set_cloexec(fd);
	o->listen_fd = fd;
	if (o->unix_domain) {
		/* Its name stands for the clients in messages, as -U's path. */
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
		size_t plen = len > offsetof(struct sockaddr_un, sun_path) ?
		    len - offsetof(struct sockaddr_un, sun_path) : 0;

		if (plen > 0 && sun->sun_path[0] != '\0' &&
		    plen < sizeof(sun->sun_path))
			o->path = strndup(sun->sun_path, plen);
		if (o->path == NULL)
			o->path = "(an unnamed Unix socket)";
	}
}

static void
parse_operands(int n, char **rest, struct opts *o, const struct seen *seen)
{
	if (o->unix_domain && !(o->listen && (o->listen_fd_arg != NULL ||
	    (n == 0 && activated_fds() > 0)))) {
		if (n < 1)
			usage_error("missing socket path");
		if (n > 1)
			usage_error("too many operands: \"%s\"", rest[1]);
		o->path = rest[0];
	} else if (o->listen && (o->listen_fd_arg != NULL ||
	    (n == 0 && activated_fds() > 0))) {
		/* Bound already: by the caller, or systemd's first socket. */
		if (n > 0)
			usage_error("--listen-fd and a %s operand cannot both be "
			    "given", o->unix_domain ? "path" : "port");
		if (o->listen_fd_arg == NULL)
			o->listen_fd_arg = "3";
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
	char shortopts[2 + 3 * OPT_COUNT];
	struct option longopts[OPT_COUNT + 1];
	struct seen seen;
	const char *spelled;
	enum optid id;
	int ch;

	memset(&seen, 0, sizeof(seen));
	getopt_tables(shortopts, longopts);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
	    -1) {
		if ((id = option_id(ch)) == OPT_NONE)
			bad_option(ch, argv);
		spelled = ch >= LONG_CODE(0) ? options[id].long_name :
		    options[id].short_name;
		/* --ssl is --tls by another name: the rules name only --tls. */
		if (id == OPT_SSL)
			id = OPT_TLS;
		/* The spelling the messages use: the first one typed. */
		if (seen.typed[id] == NULL) {
			seen.typed[id] = spelled;
			seen.order[id] = ++seen.count;
		}
		parse_option(id, o, &seen);
	}
	check_rules(&seen);
	check_combinations(o, &seen);
	check_udp_forward(o, &seen);
	derive_opts(o, &seen);
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

/* An IPv4 or IPv6 address, the latter with or without a %scope. */
static bool
is_numeric_addr(const char *s, int family)
{
	struct in6_addr a6;
	struct in_addr a4;
	char addr[INET6_ADDRSTRLEN];
	const char *scope;

	if (family != AF_INET6 && inet_pton(AF_INET, s, &a4) == 1)
		return true;
	if (family == AF_INET)
		return false;
	/* getaddrinfo reads fe80::1%lo as numeric; inet_pton does not. */
	if ((scope = strchr(s, '%')) != NULL) {
		if (scope[1] == '\0' || (size_t)(scope - s) >= sizeof(addr))
			return false;
		memcpy(addr, s, (size_t)(scope - s));
		addr[scope - s] = '\0';
		s = addr;
	}
	return inet_pton(AF_INET6, s, &a6) == 1;
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
	if (o->listen_fd_arg != NULL)
		return;		/* no address or port: set_listen_fd checks */
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
	for (num = 0; (size_t)num < o->nproxies; num++)
		if (o->numeric && !is_numeric_addr(o->proxies[num].host,
		    o->family))
			usage_error("-n requires a numeric proxy address: "
			    "\"%s\"", o->proxies[num].host);
#ifndef HAVE_TLS
	/* Last, so that a bad command line says first what else is wrong. */
	if (o->tls.enabled)
		usage_error("--tls is not available: sock was built without TLS");
#endif
}

/*
 * -P: the password for the hops with a user, from SOCK_PROXY_PASSWORD or
 * else asked on the terminal; never from the command line.
 */
static void
get_proxy_password(struct opts *o)
{
	static char buf[PROXY_NAME_MAX + 1];
	const char *pw;
	char prompt[PROXY_NAME_MAX + 32];
	size_t i;

	if (!proxy_needs_password(o->proxies, o->nproxies))
		return;
	if ((pw = getenv("SOCK_PROXY_PASSWORD")) == NULL) {
		for (i = 0; o->proxies[i].user[0] == '\0' ||
		    o->proxies[i].type == PROXY_SOCKS4 ||
		    o->proxies[i].type == PROXY_SOCKS4A; i++)
			;
		snprintf(prompt, sizeof(prompt), "Proxy password for %s: ",
		    o->proxies[i].user);
		if (proxy_read_password(prompt, buf, sizeof(buf)) == -1) {
			if (errno == ENXIO)
				usage_error("no proxy password for user %s: set "
				    "SOCK_PROXY_PASSWORD (there is no terminal "
				    "to ask on)", o->proxies[i].user);
			if (errno == EMSGSIZE)
				usage_error("proxy password too long: at most "
				    "%d bytes", PROXY_NAME_MAX);
			err(EXIT_LOCAL, "read proxy password from /dev/tty");
		}
		pw = buf;
	}
	if (strlen(pw) > PROXY_NAME_MAX)
		usage_error("proxy password too long (%zu bytes, at most %d)",
		    strlen(pw), PROXY_NAME_MAX);
	for (i = 0; i < o->nproxies; i++)
		if (*pw == '\0' && o->proxies[i].type == PROXY_SOCKS5 &&
		    o->proxies[i].user[0] != '\0')
			usage_error("empty proxy password: SOCKS5 needs 1-%d "
			    "bytes", PROXY_NAME_MAX);
	o->proxy_password = pw;
}

/*
 * --mptcp where the system has no MPTCP: say so once, before any socket,
 * and exit 1, whatever the mode.
 */
static void
check_mptcp(const struct opts *o)
{
	if (!o->sockopts.mptcp || mptcp_available() == 0)
		return;
	if (errno == ENOPROTOOPT)
		errx(EXIT_NET, "MPTCP is not available: %s (sysctl "
		    "net.mptcp.enabled is 0)", strerror(errno));
	err(EXIT_NET, "MPTCP is not available");
}

/* Also on the way out of a signal: only async-signal-safe calls here. */
static void
cleanup(void)
{
	term_restore_signal();	/* --raw: the terminal's mode back */
	if (cleanup_path[0] != '\0')
		unlink(cleanup_path);
	if (cleanup_dir[0] != '\0')
		rmdir(cleanup_dir);
}

/*
 * SIGINT/SIGTERM/SIGHUP: remove what sock created (and give a --raw
 * terminal its mode back), then die of the same signal so that the shell
 * sees what happened. Only async-signal-safe calls here.
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
	catch_unless_ignored(SIGHUP, &sa);
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
 * --raw: stdin in raw mode for the session, if it is a terminal, and what
 * that means said with -v (sock(1), DIAGNOSTICS); term_restore gives its
 * mode back, and cleanup does on any other way out.
 */
static void
raw_begin(const struct opts *o, struct term *t)
{
	int rows, cols;

	memset(t, 0, sizeof(*t));
	if (!o->raw)
		return;
	if (!isatty(STDIN_FILENO)) {
		if (o->verbose > 0)
			warnx("--raw: stdin is not a terminal: nothing changed");
		return;
	}
	if (o->verbose > 0) {
		warnx("--raw: escape character is '~': ~. at the start of a "
		    "line ends the session, ~~ sends ~");
		if (term_size(STDIN_FILENO, &rows, &cols) == 0 && rows > 0 &&
		    cols > 0)
			warnx("--raw: window %d rows %d columns (on the other "
			    "side: stty rows %d cols %d)", rows, cols, rows,
			    cols);
	}
	if (term_raw(t, STDIN_FILENO) == -1)
		warn("--raw: stdin");
}

/*
 * The relay between stdin/stdout and the endpoint e of c, with --raw's
 * terminal mode around it.
 */
static int
relay_stdio(const struct opts *o, struct end *e, struct conn *c,
    struct relay_io *io)
{
	struct relay_rules r;
	struct end in, out;
	struct term t;
	int status;

	end_stdin(&in);
	end_stdout(&out);
	relay_rules_from_opts(o, &r);
	raw_begin(o, &t);
	status = relay_ends(&r, &in, &out, e, c, io);
	term_restore(&t);
	return status;
}

/*
 * --tls on c: the handshake, bounded by -w, its -v lines, then the relay
 * (or the program) through the TLS endpoint. Closes c.
 */
static int
serve_tls(const struct opts *o, struct conn *c, struct relay_io *io)
{
	struct end e;
	int status;

	if ((status = tls_session_start(o, c, io->tls, &e)) != EXIT_OK) {
		close(c->fd);
		return status;
	}
	/*
	 * The first datagram's sender need not be the client that got in:
	 * c becomes the client the DTLS end connected its socket to.
	 */
	if (c->dgram && o->listen) {
		c->peerlen = sizeof(c->peer);
		if (getpeername(c->fd, (struct sockaddr *)&c->peer,
		    &c->peerlen) == 0)
			format_addr((struct sockaddr *)&c->peer, c->peerlen,
			    c->name, sizeof(c->name));
		if (o->verbose > 0)
			warnx("DTLS client: %s (proven by the cookie exchange)",
			    c->name);
	}
	if (o->exec_prog != NULL || o->exec_shell != NULL)
		status = run_program_relayed(o, c, &e, io);
	else
		status = relay_stdio(o, &e, c, io);
	/* DTLS: the relay sent no FIN; close_notify tells the end. */
	if (c->dgram)
		(void)e.ops->shutdown(&e);
	e.ops->free(&e);
	close(c->fd);
	return status;
}

/*
 * --send-proxy in connect mode: a PROXY header for sock's own connection
 * (sock(1), "Service managers"), first, before TLS too, as a server
 * behind haproxy expects it. Returns 0, or -1 after saying why.
 */
static int
send_own_header(const struct opts *o, const struct conn *c)
{
	struct sockaddr_storage self, peer;
	socklen_t len = sizeof(self), plen = sizeof(peer);
	unsigned char hdr[PROXYHDR_MAX];
	size_t n;

	if (getsockname(c->fd, (struct sockaddr *)&self, &len) == -1)
		self.ss_family = AF_UNSPEC;
	if (getpeername(c->fd, (struct sockaddr *)&peer, &plen) == -1)
		peer.ss_family = AF_UNSPEC;
	n = proxyhdr_make(o->send_proxy, (struct sockaddr *)&self,
	    (struct sockaddr *)&peer, hdr);
	if (write_all(c->fd, hdr, n) == -1) {
		warn("write to %s", c->name);
		return -1;
	}
	return 0;
}

/*
 * Relay over c (or hand it to the -e/-c program) and close it. Returns
 * the exit status.
 */
static int
serve(const struct opts *o, struct conn *c, struct relay_io *io)
{
	struct end e;
	int status;

	if (o->send_proxy > 0 && !o->listen && o->forward == NULL &&
	    send_own_header(o, c) == -1) {
		close(c->fd);
		return EXIT_NET;
	}
	if (o->forward != NULL && o->udp)
		return serve_udp_forward(o, NULL, 0, c);
	if (o->forward != NULL)
		return serve_forward(o, NULL, 0, c, io->tls);
	if (io->tls != NULL)
		return serve_tls(o, c, io);
	if ((o->exec_prog != NULL || o->exec_shell != NULL) &&
	    o->timeout_ms <= 0 && !o->pty)
		return run_program(o, c);
	if (o->exec_prog != NULL || o->exec_shell != NULL) {
		/*
		 * -w: only a relay sees the program's connection go idle;
		 * --pty: the program's terminal is sock's to relay.
		 */
		end_socket(&e, c);
		status = run_program_relayed(o, c, &e, io);
		e.ops->free(&e);
		close(c->fd);
		return status;
	}
	end_socket(&e, c);
	status = relay_stdio(o, &e, c, io);
	e.ops->free(&e);
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
 * Connect to o's host and port, or its Unix path, within timeout_ms.
 * Returns the socket with *c filled in, or -1 with *status, *why and
 * *why_gai as connect_host sets them.
 */
static int
connect_any(const struct opts *o, struct conn *c, long long timeout_ms,
    int *status, int *why, bool *why_gai)
{
	struct attempt_words w = { .o = o, .role = "", .proto = proto_name(o),
	    .source = true };
	struct connect_error ce;
	int fd;

	*why_gai = false;
	*status = EXIT_NET;
	if (o->unix_domain)
		return connect_unix(o, c, timeout_ms, status, why);
	fd = connect_host(o, o->host, o->port, o->udp ? SOCK_DGRAM :
	    SOCK_STREAM, timeout_ms, &w, c, &ce);
	*status = ce.status;
	*why = ce.why;
	*why_gai = ce.why_gai;
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

/*
 * The connection through the -x proxies, tried again with --wait until it
 * works or the wait runs out (each try bounded by -w and by what is left).
 * Returns the tunnel in c, or -1 with *status after saying why.
 */
static int
connect_proxied(const struct opts *o, struct conn *c, int *status,
    struct proxy_udp *pu)
{
	struct proxy_error pe;
	long long wait_end = o->wait_ms >= 0 ? now_ms() + o->wait_ms : -1;
	long long deadline, left, pause = 50;
	char secs[32], last[sizeof(pe.msg)] = "";

	snprintf(c->name, sizeof(c->name), "%s port %s", o->host, o->port);
	for (;;) {
		deadline = o->timeout_ms >= 0 ? now_ms() + o->timeout_ms : -1;
		if (wait_end >= 0 && (deadline < 0 || deadline > wait_end))
			deadline = wait_end;
		if (pu != NULL && proxy_udp_associate(o, o->host, o->port,
		    deadline, pu, &pe) == 0) {
			c->fd = pu->fd;
			c->dgram = true;
			c->connected = true;
			return c->fd;
		}
		if (pu == NULL && (c->fd = proxy_connect(o, o->host, o->port,
		    deadline, &pe)) != -1) {
			c->dgram = false;
			c->connected = true;
			return c->fd;
		}
		if (wait_end < 0 || pe.status == EXIT_USAGE) {
			warnx("%s", pe.msg);
			*status = pe.status;
			return -1;
		}
		/* A try cut short by the wait's end says less than the last. */
		if (last[0] == '\0' || pe.status != EXIT_TIMEOUT ||
		    deadline != wait_end)
			memcpy(last, pe.msg, sizeof(last));
		if ((left = wait_end - now_ms()) <= 0)
			break;
		if (o->verbose > 1)
			warnx("%s; trying again", pe.msg);
		usleep((useconds_t)(pause < left ? pause : left) * 1000);
		pause = pause * 2 < 500 ? pause * 2 : 500;
	}
	format_seconds(o->wait_ms, secs, sizeof(secs));
	warnx("gave up waiting for %s after %s s: %s", c->name, secs, last);
	*status = EXIT_TIMEOUT;
	return -1;
}

/* -vv: a datagram the SOCKS5 UDP association dropped. */
static int	assoc_verbose;

static void
say_assoc_drop(const char *why)
{
	if (assoc_verbose > 1)
		warnx("%s", why);
}

/*
 * -u -x: the relay (or the program) through the SOCKS5 UDP association
 * (sock(1), "Connecting through proxies"), which ends with the control
 * connection.
 */
static int
run_associated(const struct opts *o, struct relay_io *io)
{
	struct proxy_udp pu;
	struct conn c;
	struct end e;
	int status;

	memset(&c, 0, sizeof(c));
	if (connect_proxied(o, &c, &status, &pu) == -1)
		return status;
	if (o->verbose > 0)
		warnx("connected to %s (udp)", c.name);
	assoc_verbose = o->verbose;
	if (end_socks5_udp(&e, pu.fd, pu.ctl, (struct sockaddr *)&pu.relay,
	    pu.relaylen, &pu.t, c.name, pu.proxy, say_assoc_drop) == -1) {
		warn("SOCKS5 UDP association");
		proxy_udp_close(&pu);
		return EXIT_LOCAL;
	}
	if (o->exec_prog != NULL || o->exec_shell != NULL)
		status = run_program_relayed(o, &c, &e, io);
	else
		status = relay_stdio(o, &e, &c, io);
	e.ops->free(&e);
	proxy_udp_close(&pu);
	return status;
}

/* -F: hand the connection to the program on the other end of stdout. */
static int
pass_socket(struct conn *c)
{
	int status = EXIT_OK;

	if (send_fd(STDOUT_FILENO, c->fd) == -1) {
		warn("-F: pass the socket to standard output");
		status = EXIT_LOCAL;
	}
	close(c->fd);
	return status;
}

static int
run_connect(const struct opts *o, struct relay_io *io)
{
	struct conn c;
	bool why_gai;
	int status, why;

	memset(&c, 0, sizeof(c));
	if (o->fdpass && !is_unix_socket(STDOUT_FILENO)) {
		warnx("-F: standard output is not a Unix-domain socket");
		return EXIT_LOCAL;
	}
	/* A forwarder's proxies are for its target (sock(1), "Forwarding"). */
	if (o->nproxies > 0 && o->forward == NULL && o->udp)
		return run_associated(o, io);
	if (o->nproxies > 0 && o->forward == NULL) {
		if (connect_proxied(o, &c, &status, NULL) == -1)
			return status;
	} else if (o->wait_ms >= 0) {
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
	if (o->fdpass)
		return pass_socket(&c);
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
	char name[128], host[ADDR_STRLEN];
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
	char host[ADDR_STRLEN], port[8];
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
	struct loop l;
	int i;

	(void)loop_open(&l, LOOP_FEW);
	for (;;) {
		loop_begin(&l);
		for (i = 0; i < n; i++)
			loop_watch(&l, fds[i], false);
		if (loop_wait(&l) == -1) {
			if (errno == EINTR)
				continue;
			warn("select");
			return -1;
		}
		for (i = 0; i < n; i++)
			if (loop_ready(&l, fds[i], false))
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
		format_addr((struct sockaddr *)&c.peer, c.peerlen, c.name,
		    sizeof(c.name));
		if (o->unix_domain ||
		    client_allowed(o, (struct sockaddr *)&c.peer, c.name))
			break;
		/* A refused sender's datagram is taken off and dropped. */
		(void)recv(c.fd, &byte, 1, 0);
	}
	if (o->verbose > 0)
		warnx("connection from %s (%s)", c.name, proto_name(o));
	for (i = 0; i < n; i++)
		if (fds[i] != c.fd)
			close(fds[i]);
	c.dgram = true;
	c.connected = false;
	/*
	 * DTLS connects the socket itself, to the client that passes the
	 * cookie exchange: the first datagram's sender is not yet proven.
	 */
	if (io->tls != NULL)
		c.connected = true;
	/* An unnamed Unix sender cannot be connected to (or answered). */
	else if (!o->keep_open &&
	    c.peerlen > offsetof(struct sockaddr_un, sun_path)) {
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
		return serve_forward(o, fds, n, NULL, io->tls);
	if (o->keep_open)
		return serve_clients(o, fds, n, io);
	do {
		if ((lfd = wait_listeners(fds, n)) == -1)
			return EXIT_NET;
		/*
		 * A client --allow/--deny refuses does not count; a bad
		 * PROXY header (--accept-proxy) ends it, as a failed TLS
		 * handshake would.
		 */
		if ((fd = admit_client(o, lfd, 0, NULL, NULL, NULL, &c)) == -2)
			return EXIT_NET;
		if (fd == -4)
			return EXIT_TIMEOUT;
	} while (fd == -1 || fd == -3);
	close_all(fds, n);
	return serve(o, &c, io);
}

/* --listen-fd: the one listener, bound already (set_listen_fd). */
static int
inherited_listener(const struct opts *o, int *fds)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char name[128];

	fds[0] = o->listen_fd;
	if (o->verbose == 0)
		return 1;
	if (o->unix_domain)
		snprintf(name, sizeof(name), "%s", o->path);
	else if (getsockname(o->listen_fd, (struct sockaddr *)&ss, &len) == 0)
		format_addr((struct sockaddr *)&ss, len, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "?");
	warnx("listening on %s (%s, descriptor %d)", name, proto_name(o),
	    o->listen_fd);
	return 1;
}

static int
run_listen(const struct opts *o, struct relay_io *io)
{
	int fds[MAX_LISTENERS], i, n;

	if (o->listen_fd >= 0)
		n = inherited_listener(o, fds);
	else if ((n = open_listeners(o, fds)) == -1)
		return EXIT_NET;
	for (i = 0; i < n; i++) {
		if (!loop_fits(fds[i])) {
			warnx("descriptor %d is too large for select", fds[i]);
			close_all(fds, n);
			return EXIT_NET;
		}
	}
	if (o->udp && o->forward != NULL)
		return serve_udp_forward(o, fds, n, NULL);
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

	if (o->listen_fd >= 0) {
		/* Not ours to remove: whoever bound it does. */
		(void)inherited_listener(o, &fd);
		return o->udp ? serve_datagrams(o, &fd, 1, io) :
		    serve_streams(o, &fd, 1, io);
	}
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
#if defined(__GLIBC__) || defined(__linux__)	/* glibc and musl */
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
	hook_dump_flush(io);
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

/*
 * The TLS context, before any socket is opened (a file that cannot be
 * used is exit 1); a listener's -v line gives its certificate's
 * fingerprint, the value a client's --tls-pin takes.
 */
static void
open_tls(const struct opts *o, struct relay_io *io)
{
	char buf[512];

	/* Without the library --tls cannot be used, as if not built in. */
	if (tls_ready(buf, sizeof(buf)) == -1)
		errx(EXIT_USAGE, "%s", buf);
	if ((io->tls = tls_ctx_new(o, buf, sizeof(buf))) == NULL)
		errx(EXIT_NET, "%s", buf);
	if (o->listen && o->verbose > 0) {
		tls_ctx_describe(io->tls, buf, sizeof(buf));
		if (buf[0] != '\0')
			warnx("%s", buf);
	}
}

/*
 * --max-conns against the descriptor limit, raised first (sock(1), "Many
 * connections"): a value the limit cannot serve is a usage error; without
 * one, -k keeps its default and a forwarder takes all the limit allows
 * (a UDP forwarder's session takes one descriptor, a pair two).
 */
static void
set_conn_limit(struct opts *o)
{
	bool many = o->forward != NULL || o->proxy_server;
	bool pairs = o->proxy_server || (o->forward != NULL && !o->udp);
	int most;

	o->fd_limit = raise_fd_limit(&o->fd_soft);
	most = conns_allowed(o->fd_limit, pairs);
	if (o->max_conns > most)
		usage_error("--max-conns %d: the descriptor limit of %d "
		    "(ulimit -n) serves at most %d %s at once", o->max_conns,
		    o->fd_limit, most, pairs ? "pairs" : many ? "sessions" :
		    "clients");
	if (o->max_conns == 0)
		o->max_conns = many || most < DEFAULT_MAX_CONNS ? most :
		    DEFAULT_MAX_CONNS;
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
	set_listen_fd(&o);
	set_conn_limit(&o);
	check_mptcp(&o);
	get_proxy_password(&o);
	if (o.proxy_auth_user != NULL &&
	    (o.proxy_auth_password = getenv("SOCK_PROXY_PASSWORD")) == NULL)
		usage_error("--proxy-auth needs the password in "
		    "SOCK_PROXY_PASSWORD");
	install_signals();

	if (o.scan)
		status = scan(&o);
	else {
		open_io(&o, &io);
		if (o.tls.enabled)
			open_tls(&o, &io);
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
