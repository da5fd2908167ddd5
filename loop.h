/* SPDX-License-Identifier: ISC */
/*
 * loop.c: the one place that waits. Time (now_ms), and a loop that every
 * mode hands the descriptors and deadlines of one round to: begin, watch
 * and until (what each part wants), wait once, then ready (what the wait
 * found). The only caller of select(2), poll(2) and epoll(7), and the
 * only place a deadline becomes a timeout. Mechanism only: never prints
 * or exits.
 *
 * Kinds of loop (sock(1), "Many connections"). The one-connection relay
 * watches a handful of descriptors on select(2), as the design card has
 * it. The many-client modes watch thousands: epoll(7) on Linux, poll(2)
 * elsewhere (make PORTABLE=1), with no FD_SETSIZE ceiling; a scan's
 * probes, which come and go each round, poll(2). Callers rebuild their
 * interest every round (prepare, wait, step); epoll keeps registrations
 * in the kernel, so the loop registers only what changed since the last
 * round, and a caller tells it (loop_forget) before it closes a
 * descriptor it has watched, so that a new socket given the same number
 * is not mistaken for one already registered. A mode with thousands of
 * descriptors that only ever wait to be read (UDP forwarding's sessions)
 * holds them instead (loop_hold): epoll keeps them from round to round,
 * and the caller learns which were found ready (loop_found) without
 * asking about each.
 */
#ifndef LOOP_H
#define LOOP_H

#include <sys/select.h>

#include <stdbool.h>

/* One round's interest and the last wait's answer. */
struct loop {
	int		 backend;	/* select, poll or epoll (loop.c) */
	long long	 deadline;	/* now_ms() time to wake by; -1: none */
	/* select(2): */
	fd_set		 want[2];	/* this round: [0] readable, [1] writable */
	fd_set		 got[2];	/* what the last wait found */
	int		 maxfd;		/* the highest watched, or -1 */
	/* poll(2) and epoll(7), per descriptor number: */
	unsigned char	*wants;		/* this round's interest (bits) */
	unsigned char	*has;		/* epoll: what the kernel holds */
	unsigned char	*found;		/* what the last wait found */
	int		 cap;		/* the arrays' size */
	int		*now;		/* the descriptors watched this round */
	int		 nnow;
	int		*before;	/* epoll: ... and in the last round */
	int		 nbefore;
	int		*hits;		/* the descriptors found ready */
	int		 nhits;
	int		*held;		/* watched every round (loop_hold) */
	int		 nheld;
	int		*heldat;	/* per descriptor: its place in held */
	void		*events;	/* poll's or epoll's array */
	int		 nevents;	/* its size */
	int		 epfd;		/* epoll's descriptor, or -1 */
	bool		 shared;	/* epoll: a child may hold a copy of a
					   descriptor (loop_share) */
	bool		 broken;	/* a watch could not be recorded */
};

/* Milliseconds on a monotonic clock. */
long long now_ms(void);

/*
 * The kinds of loop, by what they watch: a few descriptors (select); many
 * that live long, most of them idle (epoll; poll without it); many that
 * each live a round or two, such as scan probes, where registering each
 * with epoll would cost two calls a descriptor (poll).
 */
enum loop_kind { LOOP_FEW, LOOP_MANY, LOOP_BRIEF };

/* Make l a loop of that kind: 0, or -1 with errno. loop_close frees it. */
int	loop_open(struct loop *, enum loop_kind);
void	loop_close(struct loop *);

/* A new round: nothing watched, no deadline, nothing ready. */
void	loop_begin(struct loop *);

/*
 * Wait for fd (-1: nothing) to be readable, or writable (writing), this
 * round. Returns fd. A select loop takes only descriptors that fit
 * (loop_fits).
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

/*
 * fd, watched before, is about to be closed: the loop lets go of it and
 * of what the last wait found for it. NULL loop or fd -1: nothing to do.
 */
void	loop_forget(struct loop *, int fd);

/*
 * A many-client loop (poll or epoll) watches fd for reading in every
 * round from now on, until loop_forget, without loop_watch (which must
 * not be given it): epoll then spends nothing a round on thousands of
 * idle descriptors (UDP forwarding's sessions), poll(2) still lists them.
 * 0, or -1 with errno.
 */
int	loop_hold(struct loop *, int fd);

/*
 * The descriptors the last wait of a many-client loop found ready (a
 * select loop: none): their number, with *fds pointed at them until the
 * next round. One forgotten since is among them: ask loop_ready.
 */
int	loop_found(const struct loop *, const int **fds);

/*
 * Tell the loop whether children (programs) may hold copies of the
 * descriptors it watches (the default: yes). A descriptor closed here
 * stays registered with epoll while a copy lives on, and a busy one would
 * then wake the loop for nothing, so loop_forget takes it out first; a
 * loop whose descriptors nobody else holds saves those calls (a forwarded
 * pair closes two sockets: sock(1), "Many connections").
 */
void	loop_share(struct loop *, bool shared);

/* Can a select loop watch fd (below FD_SETSIZE)? */
bool	loop_fits(int fd);

/*
 * Wait until fd is readable (or writable) or the deadline (now_ms; -1:
 * none) passes, retrying EINTR: 0, or -1 with errno (ETIMEDOUT when the
 * time ran out). Any descriptor (poll(2)).
 */
int	wait_fd(int fd, bool writable, long long deadline);

#endif /* LOOP_H */
