/* SPDX-License-Identifier: ISC */
/*
 * exec.c: -e and -c, a program on the connection. Starts it with the
 * SOCK_* variables, waits for it, and over TLS relays between it and the
 * TLS endpoint; says why when it cannot, and returns an exit status.
 */
#ifndef EXEC_H
#define EXEC_H

#include <sys/types.h>

#include "opts.h"

struct conn;
struct end;
struct relay_io;

/* The most words -e's "prog args" may have. */
#define EXEC_WORDS_MAX	63

/* How many words -e's "prog args" splits into (0: none). */
int	check_exec_args(const char *prog);

/*
 * Start the -e/-c program with c's socket as its stdin and stdout and the
 * SOCK_* variables describing c (its socket's addresses, or those of its
 * PROXY header). Returns its pid, or -1 after saying why. The caller
 * still owns (and should close) the socket.
 */
pid_t	spawn_program(const struct opts *, const struct conn *c);

/*
 * spawn_program with fd as the program's stdin and stdout and the SOCK_*
 * variables describing another socket, described: the connection, when
 * fd is sock's own socket pair to a program that speaks through sock
 * (--tls).
 */
pid_t	spawn_program_on(const struct opts *, int fd,
	    const struct conn *described);

/*
 * -e/-c over TLS or with -w: the program speaks on a socket pair of
 * sock's, relayed to the endpoint e of connection c (TLS, or the plain
 * socket, so that -w sees it go idle); with --pty, on a new
 * pseudo-terminal, in a session of its own, whose master is relayed the
 * same way. Returns the program's status, unless the connection failed.
 */
int	run_program_relayed(const struct opts *, struct conn *c, struct end *e,
	    struct relay_io *io);

/* sock's view of a program's wait status: its exit code, or 128 + signal. */
int	program_status(int wstatus);

/*
 * Run the program on c's socket (closed here), wait for it and return
 * program_status.
 */
int	run_program(const struct opts *, const struct conn *c);

#endif /* EXEC_H */
