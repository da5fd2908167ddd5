/* SPDX-License-Identifier: ISC */
/*
 * loop.c: the one place that waits. Time (now_ms), and a loop that every
 * mode hands the descriptors and deadlines of one round to: begin, watch
 * and until (what each part wants), wait once, then ready (what the wait
 * found). The only caller of select(2), and the only place a deadline
 * becomes a timeout. Mechanism only: never prints or exits.
 *
 * The backend is select(2), behind this interface as haproxy's pollers
 * and nginx's event actions are behind theirs. Callers rebuild their
 * interest every round (prepare, wait, step), so a backend that keeps its
 * registrations in the kernel (epoll, poll's array) implements the same
 * calls by diffing this round's interest against what it registered: no
 * caller changes when one is added.
 */
#ifndef LOOP_H
#define LOOP_H

#include <sys/select.h>

#include <stdbool.h>

/* One round's interest and the last wait's answer (select's sets). */
struct loop {
	fd_set		 want[2];	/* this round: [0] readable, [1] writable */
	fd_set		 got[2];	/* what the last wait found */
	int		 maxfd;		/* the highest watched, or -1 */
	long long	 deadline;	/* now_ms() time to wake by; -1: none */
};

/* Milliseconds on a monotonic clock. */
long long now_ms(void);

/* A new round: nothing watched, no deadline, nothing ready. */
void	loop_begin(struct loop *);

/*
 * Wait for fd (-1: nothing) to be readable, or writable (writing), this
 * round. Returns fd. The caller has checked it with loop_fits.
 */
int	loop_watch(struct loop *, int fd, bool writing);

/* Wake no later than t (a now_ms() time; -1: no change). */
void	loop_until(struct loop *, long long t);

/*
 * Wait once for what was watched, or until the deadline: 0, or -1 with
 * errno (EINTR: a signal came, and nothing is ready).
 */
int	loop_wait(struct loop *);

/*
 * Did the last wait find fd readable, or writable (writing)? False for a
 * NULL loop (no wait yet) and for fd -1.
 */
bool	loop_ready(const struct loop *, int fd, bool writing);

/* Can this backend watch fd (select: below FD_SETSIZE)? */
bool	loop_fits(int fd);

/*
 * Wait until fd is readable (or writable) or the deadline (now_ms; -1:
 * none) passes, retrying EINTR: 0, or -1 with errno (ETIMEDOUT when the
 * time ran out, EMFILE when the backend cannot watch fd).
 */
int	wait_fd(int fd, bool writable, long long deadline);

#endif /* LOOP_H */
