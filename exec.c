/* SPDX-License-Identifier: ISC */
/*
 * -e and -c: run a program with the connection as its stdin and stdout,
 * inetd-style. The socket itself is handed over, so no byte passes
 * through sock, except over TLS or with -w, where sock relays a socket
 * pair to the connection, and with --pty, the master of the program's
 * new pseudo-terminal. In a file of its own because connect mode, the
 * single listener and the -k server all start programs the same way. It
 * touches the connection and the processes it starts, says why when it
 * fails, and returns an exit status.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "opts.h"
#include "end.h"
#include "net.h"
#include "exec.h"
#include "relay.h"

#define MAX_EXEC_ARGS	(EXEC_WORDS_MAX + 1)	/* and the NULL */
#define PTY_ROWS	24	/* --pty's window, until stty changes it */
#define PTY_COLS	80
#define PTY_TERM	"xterm"	/* --pty's TERM when sock has none */

/*
 * Split "prog args" on blanks into argv (no shell, no quoting, so nothing
 * in the arguments can be interpreted). Returns the count; 0 if empty.
 */
static int
split_args(char *s, char **argv, int max)
{
	int n = 0;
	char *tok;

	while (n < max - 1 && (tok = strsep(&s, " \t")) != NULL)
		if (*tok != '\0')
			argv[n++] = tok;
	argv[n] = NULL;
	return n;
}

int
check_exec_args(const char *prog)
{
	const char *p = prog;
	int n = 0;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0')
			return n;
		n++;
		p += strcspn(p, " \t");
	}
}

/* Describe one end of fd in the child's environment (NAME_ADDR, NAME_PORT). */
static void
export_addr(const char *addrvar, const char *portvar, struct sockaddr *sa,
    socklen_t len)
{
	char host[ADDR_STRLEN], port[16];
	int num;

	host[0] = port[0] = '\0';
	if (sa->sa_family == AF_UNIX)
		format_addr(sa, len, host, sizeof(host));
	else if (addr_port(sa, len, host, sizeof(host), &num) == 0)
		snprintf(port, sizeof(port), "%d", num);
	setenv(addrvar, strcmp(host, "(unnamed)") == 0 ? "" : host, 1);
	setenv(portvar, port, 1);
}

/*
 * Leave the child with a message: _exit, since exit would run sock's
 * atexit cleanup and remove the parent's Unix socket file.
 */
static void __attribute__((noreturn))
child_fail(int status, const char *what)
{
	warn("%s", what);
	_exit(status);
}

/*
 * --pty, in the child: a session of its own with the terminal whose side
 * fd is as its controlling terminal (so that ^C and ^Z typed at the other
 * end reach the program as signals), in a sane mode, 80x24, TERM set.
 */
static void
become_terminal(int fd)
{
	struct winsize ws;
	struct termios t;

	if (setsid() == -1)
		child_fail(126, "setsid");
	if (ioctl(fd, TIOCSCTTY, 0) == -1)
		child_fail(126, "TIOCSCTTY");
	/* What stty sane gives, from the system's own defaults. */
	if (tcgetattr(fd, &t) == 0) {
		t.c_iflag &= ~(IGNBRK | INLCR | IGNCR | IXOFF);
		t.c_iflag |= BRKINT | ICRNL | IXON;
		t.c_oflag |= OPOST | ONLCR;
		t.c_cflag |= CREAD;
		t.c_lflag &= ~(ECHONL | NOFLSH | TOSTOP);
		t.c_lflag |= ISIG | ICANON | IEXTEN | ECHO | ECHOE | ECHOK;
#ifdef ECHOCTL
		t.c_lflag |= ECHOCTL;
#endif
#ifdef ECHOKE
		t.c_lflag |= ECHOKE;
#endif
		t.c_cc[VINTR] = 003;	/* ^C */
		t.c_cc[VQUIT] = 034;	/* ^\ */
		t.c_cc[VERASE] = 0177;	/* DEL */
		t.c_cc[VKILL] = 025;	/* ^U */
		t.c_cc[VEOF] = 004;	/* ^D */
		t.c_cc[VSUSP] = 032;	/* ^Z */
		t.c_cc[VSTART] = 021;	/* ^Q */
		t.c_cc[VSTOP] = 023;	/* ^S */
		(void)tcsetattr(fd, TCSANOW, &t);
	}
	memset(&ws, 0, sizeof(ws));
	ws.ws_row = PTY_ROWS;
	ws.ws_col = PTY_COLS;
	(void)ioctl(fd, TIOCSWINSZ, &ws);
	if (getenv("TERM") == NULL || *getenv("TERM") == '\0')
		setenv("TERM", PTY_TERM, 1);
	/*
	 * A terminal's program expects its keys' and its line's signals,
	 * whatever sock inherited (nohup, a background job of a shell
	 * without job control).
	 */
	signal(SIGHUP, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGTSTP, SIG_DFL);
	signal(SIGTTIN, SIG_DFL);
	signal(SIGTTOU, SIG_DFL);
}

/*
 * In the child, with every signal blocked: set up signals, descriptors and
 * environment, then exec. tty: fd is a terminal's side (--pty), which is
 * stderr too.
 */
static void __attribute__((noreturn))
run_child(const struct opts *o, int fd, const struct conn *described,
    const sigset_t *mask, bool tty)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int type;
	char *copy, *argv[MAX_EXEC_ARGS];

	/* --accept-proxy: the addresses of the PROXY header stand. */
	len = sizeof(ss);
	if (described->proxied) {
		memcpy(&ss, &described->peer, described->peerlen);
		export_addr("SOCK_REMOTE_ADDR", "SOCK_REMOTE_PORT",
		    (struct sockaddr *)&ss, described->peerlen);
	} else if (getpeername(described->fd, (struct sockaddr *)&ss,
	    &len) == 0)
		export_addr("SOCK_REMOTE_ADDR", "SOCK_REMOTE_PORT",
		    (struct sockaddr *)&ss, len);
	len = sizeof(ss);
	if (described->proxied && described->selflen > 0) {
		memcpy(&ss, &described->self, described->selflen);
		export_addr("SOCK_LOCAL_ADDR", "SOCK_LOCAL_PORT",
		    (struct sockaddr *)&ss, described->selflen);
	} else if (getsockname(described->fd, (struct sockaddr *)&ss,
	    &len) == 0)
		export_addr("SOCK_LOCAL_ADDR", "SOCK_LOCAL_PORT",
		    (struct sockaddr *)&ss, len);
	len = sizeof(type);
	if (getsockopt(described->fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
		type = SOCK_STREAM;
	setenv("SOCK_PROTO", o->unix_domain ?
	    (type == SOCK_DGRAM ? "unixgram" : "unix") :
	    (type == SOCK_DGRAM ? "udp" : "tcp"), 1);
	/* A program run per client must not learn the proxy password. */
	unsetenv("SOCK_PROXY_PASSWORD");
	/* Nor live with sock's raised descriptor limit: select(2) programs. */
	lower_fd_limit(o->fd_soft);

	/* The program expects ordinary signals and blocking descriptors. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (tty)
		become_terminal(fd);
	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fd, STDOUT_FILENO) == -1 ||
	    (tty && dup2(fd, STDERR_FILENO) == -1))
		child_fail(126, "dup2");
	if (fd > STDERR_FILENO)
		close(fd);
	set_nonblock(STDIN_FILENO, false);

	if (o->exec_shell != NULL) {
		execl("/bin/sh", "sh", "-c", o->exec_shell, (char *)NULL);
		child_fail(127, "exec /bin/sh");
	}
	if ((copy = strdup(o->exec_prog)) == NULL)
		child_fail(126, "strdup");
	split_args(copy, argv, MAX_EXEC_ARGS);
	execvp(argv[0], argv);
	child_fail(errno == ENOENT ? 127 : 126, argv[0]);
}

pid_t
spawn_program(const struct opts *o, const struct conn *c)
{
	return spawn_program_on(o, c->fd, c);
}

/* spawn_program_on, and with tty the program's terminal (--pty). */
static pid_t
spawn(const struct opts *o, int fd, const struct conn *described, bool tty)
{
	sigset_t all, old;
	pid_t pid;

	/* No signal handler of sock's may run in the child. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		run_child(o, fd, described, &old, tty);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid == -1)
		warn("fork");
	return pid;
}

pid_t
spawn_program_on(const struct opts *o, int fd, const struct conn *described)
{
	return spawn(o, fd, described, false);
}

/*
 * A new pseudo-terminal: its master (returned, close-on-exec, or -1 after
 * saying why) and its other side, *slave, opened here so that the master
 * never reads as hung up before the program has it.
 */
static int
open_pty(int *slave)
{
	const char *name;
	int master;

	if ((master = posix_openpt(O_RDWR | O_NOCTTY)) == -1) {
		warn("posix_openpt");
		return -1;
	}
	if (grantpt(master) == -1 || unlockpt(master) == -1 ||
	    (name = ptsname(master)) == NULL) {
		warn("pseudo-terminal");
		close(master);
		return -1;
	}
	if ((*slave = open(name, O_RDWR | O_NOCTTY)) == -1) {
		warn("%s", name);
		close(master);
		return -1;
	}
	set_cloexec(master);
	set_cloexec(*slave);
	return master;
}

/*
 * --pty, the session over: as linger_close, without the close (the
 * caller's). Keystrokes still arriving must not turn the close into a
 * reset, which could destroy the program's last output on its way.
 */
static void
linger_open(int fd, long long ms)
{
	long long deadline = now_ms() + ms;
	char scrap[4096];
	ssize_t n;

	while (wait_fd(fd, false, deadline) == 0) {
		n = read(fd, scrap, sizeof(scrap));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			break;
	}
}

int
program_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return EXIT_LOCAL;
}

int
run_program(const struct opts *o, const struct conn *c)
{
	const char *name = c->name;
	pid_t pid;
	int wstatus, status, fd = c->fd;

	if ((pid = spawn_program(o, c)) == -1) {
		close(fd);
		return EXIT_LOCAL;
	}
	while (waitpid(pid, &wstatus, 0) == -1)
		if (errno != EINTR) {
			warn("waitpid");
			close(fd);
			return EXIT_LOCAL;
		}
	/*
	 * sock kept its copy of the socket so that a program which did not
	 * read everything cannot reset its own answer away: see server.c.
	 */
	linger_close(fd, LINGER_MS);
	status = program_status(wstatus);
	if (o->verbose > 0)
		warnx("program %ld for %s exited with status %d", (long)pid,
		    name, status);
	return status;
}

/*
 * -e/-c over TLS or with -w: the program speaks on a socket pair of
 * sock's, and the relay carries it to the endpoint (TLS, or the plain
 * socket, so that -w sees the connection go idle), by the same rules as
 * any two endpoints. Returns the program's status, unless the connection
 * failed.
 */
int
run_program_relayed(const struct opts *o, struct conn *c, struct end *tls,
    struct relay_io *io)
{
	struct relay_io pio = *io;
	struct relay_rules r;
	struct conn pc;
	struct end pe;
	int sp[2], status, wstatus;
	pid_t pid;

	if (o->pty) {
		if ((sp[0] = open_pty(&sp[1])) == -1)
			return EXIT_LOCAL;
	} else if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1) {
		warn("socketpair");
		return EXIT_LOCAL;
	} else {
		set_cloexec(sp[0]);
		set_cloexec(sp[1]);
	}
	pid = spawn(o, sp[1], c, o->pty);
	/* The program's side is the program's alone: see end_pty. */
	close(sp[1]);
	if (pid == -1) {
		close(sp[0]);
		return EXIT_LOCAL;
	}
	memset(&pc, 0, sizeof(pc));
	pc.fd = sp[0];
	pc.connected = true;
	snprintf(pc.name, sizeof(pc.name), "program %ld", (long)pid);
	set_nonblock(pc.fd, true);
	if (o->pty)
		end_pty(&pe, pc.fd, &pid, pc.name);
	else
		end_socket(&pe, &pc);
	pio.stdin_tty = false;	/* the local side is the program */
	relay_rules_from_opts(o, &r);
	status = relay_ends(&r, &pe, &pe, tls, c, &pio);
	if (o->pty && status == EXIT_OK)
		linger_open(c->fd, LINGER_MS);	/* the FIN is sent */
	close(pc.fd);
	/*
	 * A terminal's program that outlived the session (the peer left
	 * while it ignored the hangup) hears it again, now that the master
	 * is closed; a program that ignores even that is waited for.
	 */
	if (o->pty) {
		(void)kill(-pid, SIGHUP);
		(void)kill(-pid, SIGCONT);
	}
	while (waitpid(pid, &wstatus, 0) == -1)
		if (errno != EINTR) {
			warn("waitpid");
			return EXIT_LOCAL;
		}
	if (o->verbose > 0)
		warnx("program %ld for %s exited with status %d", (long)pid,
		    c->name, program_status(wstatus));
	return status == EXIT_NET || status == EXIT_TIMEOUT ? status :
	    program_status(wstatus);
}
