/* SPDX-License-Identifier: ISC */
/*
 * term.c: --raw, the local terminal in raw mode for a session (no echo,
 * no line editing, no signal keys: ^C, ^Z and ^\ go to the peer as
 * bytes), and its mode given back on every way out. The escape that ends
 * such a session (~.) is the relay's up hook (hook.c). Never prints or
 * exits.
 */
#ifndef TERM_H
#define TERM_H

#include <signal.h>
#include <stdbool.h>
#include <termios.h>

/* A terminal sock put in raw mode, and the mode to give back. */
struct term {
	bool		 raw;		/* in raw mode now */
	int		 fd;
	struct termios	 saved;		/* its mode before */
	struct sigaction old_tstp;	/* SIGTSTP's action before */
};

/*
 * Put the terminal fd in raw mode, remembering its mode in t (and for
 * term_restore_signal). Until term_restore, a SIGTSTP (sent by another
 * process: ^Z is a byte now) gives the terminal its mode back while sock
 * is stopped, and raw mode again once it is continued; a crash (SIGSEGV,
 * SIGBUS, SIGILL, SIGFPE, SIGABRT) gives it back before sock dies of it
 * (the default action, from then on). Returns 0, or -1
 * with errno (ENOTTY: fd is not a terminal; t is then left not raw).
 */
int	term_raw(struct term *t, int fd);

/* Give the terminal its mode back, if term_raw changed it. */
void	term_restore(struct term *t);

/*
 * term_restore for the terminal last put in raw mode, from a signal
 * handler or atexit: async-signal-safe, and a no-op when none is raw.
 */
void	term_restore_signal(void);

/* The window size of terminal fd: 0, or -1 with errno. */
int	term_size(int fd, int *rows, int *cols);

#endif /* TERM_H */
