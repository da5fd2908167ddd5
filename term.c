/* SPDX-License-Identifier: ISC */
/*
 * term.c: --raw (term.h). The local terminal in raw mode for the session,
 * as ssh and socat's raw,echo=0 leave it, and its mode given back however
 * the session ends: by the caller at the end, by term_restore_signal
 * from sock's signal handlers and atexit, and by its own handler when
 * sock crashes. Mechanism only: touches the
 * terminal it is given, never prints or exits.
 */
#include <sys/types.h>
#include <sys/ioctl.h>

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

/*
 * The mode to give back from a signal handler (SIGTERM, SIGHUP, SIGINT
 * sent by another process) or atexit (an error exit anywhere): file
 * scope, since a handler is given nothing else. signal_fd is -1 while no
 * terminal is raw; it is set last and cleared first, so that a handler
 * never sees a half-written mode.
 */
static struct termios		signal_saved;
static struct termios		signal_raw;	/* to put back after a stop */
static volatile sig_atomic_t	signal_fd = -1;

/*
 * SIGTSTP: the terminal as it was while sock is stopped, then raw again
 * when it is continued (in the foreground: in the background the
 * tcsetattr stops it again with SIGTTOU, as for any terminal program).
 * Only async-signal-safe calls.
 */
static void
on_stop(int sig)
{
	struct sigaction sa, mine;
	sigset_t set;
	int fd = signal_fd, saved_errno = errno;

	if (fd >= 0)
		(void)tcsetattr(fd, TCSADRAIN, &signal_saved);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(sig, &sa, &mine);
	sigemptyset(&set);
	sigaddset(&set, sig);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	(void)raise(sig);
	/* Continued. */
	(void)sigaction(sig, &mine, NULL);
	if (fd >= 0 && signal_fd == fd)
		(void)tcsetattr(fd, TCSADRAIN, &signal_raw);
	errno = saved_errno;
}

/*
 * A crash, a fault or an abort: the terminal's mode first, then the
 * signal's default action, which ends sock as it would have (a core
 * where the limits allow one). A fault's instruction runs again on
 * return and meets the default action; the raised signal is delivered
 * once the handler returns.
 */
static void
on_crash(int sig)
{
	struct sigaction sa;

	term_restore_signal();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(sig, &sa, NULL);
	(void)raise(sig);
}

int
term_raw(struct term *t, int fd)
{
	static const int crashes[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE,
	    SIGABRT };
	size_t i;
	struct sigaction sa;
	struct termios raw;

	memset(t, 0, sizeof(*t));
	t->fd = fd;
	if (!isatty(fd) || tcgetattr(fd, &t->saved) == -1)
		return -1;
	raw = t->saved;
	/* cfmakeraw(3), spelled out: it is not POSIX. */
	raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
	    ICRNL | IXON | IXOFF);
	raw.c_oflag &= ~OPOST;
	raw.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cflag &= ~(CSIZE | PARENB);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	signal_saved = t->saved;
	signal_raw = raw;
	signal_fd = fd;
	if (tcsetattr(fd, TCSADRAIN, &raw) == -1) {
		signal_fd = -1;
		return -1;
	}
	t->raw = true;
	/* A SIGTSTP the caller ignores (no job control) stays ignored. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGTSTP, NULL, &t->old_tstp) == 0 &&
	    t->old_tstp.sa_handler != SIG_IGN)
		(void)sigaction(SIGTSTP, &sa, NULL);
	sa.sa_handler = on_crash;
	sa.sa_flags = 0;
	for (i = 0; i < sizeof(crashes) / sizeof(crashes[0]); i++)
		(void)sigaction(crashes[i], &sa, NULL);
	return 0;
}

void
term_restore(struct term *t)
{
	if (!t->raw)
		return;
	(void)sigaction(SIGTSTP, &t->old_tstp, NULL);
	signal_fd = -1;
	(void)tcsetattr(t->fd, TCSADRAIN, &t->saved);
	t->raw = false;
}

void
term_restore_signal(void)
{
	int fd = signal_fd;

	if (fd >= 0) {
		signal_fd = -1;
		(void)tcsetattr(fd, TCSADRAIN, &signal_saved);
	}
}

int
term_size(int fd, int *rows, int *cols)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == -1)
		return -1;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return 0;
}
