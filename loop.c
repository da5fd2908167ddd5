/* SPDX-License-Identifier: ISC */
/*
 * loop.c: time, and the one place that waits (loop.h): select(2) for the
 * one-connection relay, epoll(7) or poll(2) for the many-client modes.
 * It touches only the loop its caller hands it: no messages, no exits.
 */
#include <sys/types.h>
#include <sys/select.h>
#include <sys/time.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "opts.h"
#include "loop.h"

#ifdef HAVE_LINUX_CALLS
#include <sys/epoll.h>
#endif

enum { BACKEND_SELECT, BACKEND_POLL, BACKEND_EPOLL };

#define WANT_READ	1
#define WANT_WRITE	2
#define HAS_ALWAYS	4	/* epoll: a file it refuses, always ready */
#define HELD		8	/* wants: loop_hold's, kept across rounds */
#define EVENTS_MAX	1024	/* ready descriptors taken per wait */

long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned char
bit(bool writing)
{
	return writing ? WANT_WRITE : WANT_READ;
}

int
loop_open(struct loop *l, enum loop_kind kind)
{
	memset(l, 0, sizeof(*l));
	l->epfd = -1;
	l->maxfd = -1;
	l->deadline = -1;
	l->shared = true;
	l->backend = BACKEND_SELECT;
	if (kind == LOOP_FEW)
		return 0;
	l->backend = BACKEND_POLL;
	if (kind == LOOP_BRIEF)
		return 0;
#ifdef HAVE_LINUX_CALLS
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	l->backend = BACKEND_EPOLL;
#endif
	return 0;
}

void
loop_close(struct loop *l)
{
	free(l->wants);
	free(l->has);
	free(l->found);
	free(l->now);
	free(l->before);
	free(l->hits);
	free(l->held);
	free(l->heldat);
	free(l->events);
	if (l->epfd != -1)
		close(l->epfd);
	memset(l, 0, sizeof(*l));
	l->epfd = -1;
}

/* No result yet: a step before the first wait finds nothing ready. */
static void
forget_found(struct loop *l)
{
	int i;

	if (l->backend == BACKEND_SELECT) {
		FD_ZERO(&l->got[0]);
		FD_ZERO(&l->got[1]);
		return;
	}
	for (i = 0; i < l->nhits; i++)
		l->found[l->hits[i]] = 0;
	l->nhits = 0;
}

void
loop_begin(struct loop *l)
{
	int *t, i;

	l->deadline = -1;
	forget_found(l);
	if (l->backend == BACKEND_SELECT) {
		FD_ZERO(&l->want[0]);
		FD_ZERO(&l->want[1]);
		l->maxfd = -1;
		return;
	}
	/*
	 * This round starts from nothing; the last one is kept to diff. A
	 * descriptor closed and reused since for loop_hold stays held.
	 */
	for (i = 0; i < l->nnow; i++)
		if ((l->wants[l->now[i]] & HELD) == 0)
			l->wants[l->now[i]] = 0;
	t = l->before;
	l->before = l->now;
	l->nbefore = l->nnow;
	l->now = t;
	l->nnow = 0;
	l->broken = false;
}

/* Grow an array of n elements of size sz to m, the new ones zeroed. */
static int
grow(void *pp, size_t sz, int n, int m)
{
	void **p = pp;
	char *q;

	if ((q = realloc(*p, (size_t)m * sz)) == NULL)
		return -1;
	memset(q + (size_t)n * sz, 0, (size_t)(m - n) * sz);
	*p = q;
	return 0;
}

/* Room for descriptor fd in the per-descriptor arrays. */
static int
make_room(struct loop *l, int fd)
{
	int m = l->cap > 0 ? l->cap : 256;

	while (m <= fd)
		m = m < INT_MAX / 2 ? m * 2 : INT_MAX;
	if (m == l->cap)
		return 0;
	if (grow(&l->wants, 1, l->cap, m) == -1 ||
	    grow(&l->has, 1, l->cap, m) == -1 ||
	    grow(&l->found, 1, l->cap, m) == -1 ||
	    grow(&l->now, sizeof(int), l->cap, m) == -1 ||
	    grow(&l->before, sizeof(int), l->cap, m) == -1 ||
	    grow(&l->hits, sizeof(int), l->cap, m) == -1 ||
	    grow(&l->held, sizeof(int), l->cap, m) == -1 ||
	    grow(&l->heldat, sizeof(int), l->cap, m) == -1)
		return -1;
	l->cap = m;
	return 0;
}

int
loop_watch(struct loop *l, int fd, bool writing)
{
	if (fd < 0)
		return fd;
	if (l->backend == BACKEND_SELECT) {
		FD_SET(fd, &l->want[writing]);
		if (fd > l->maxfd)
			l->maxfd = fd;
		return fd;
	}
	if (fd >= l->cap && make_room(l, fd) == -1) {
		l->broken = true;
		return fd;
	}
	if (l->wants[fd] == 0)
		l->now[l->nnow++] = fd;
	l->wants[fd] |= bit(writing);
	return fd;
}

void
loop_until(struct loop *l, long long t)
{
	if (t >= 0 && (l->deadline < 0 || t < l->deadline))
		l->deadline = t;
}

/* The deadline as milliseconds from now (-1: none; a past one polls). */
static long long
left_ms(const struct loop *l)
{
	long long left;

	if (l->deadline < 0)
		return -1;
	left = l->deadline - now_ms();
	return left < 0 ? 0 : left;
}

static int
wait_select(struct loop *l)
{
	struct timeval tv, *tvp = NULL;
	long long left = left_ms(l);

	if (left >= 0) {
		tv.tv_sec = left / 1000;
		tv.tv_usec = left % 1000 * 1000;
		tvp = &tv;
	}
	l->got[0] = l->want[0];
	l->got[1] = l->want[1];
	if (select(l->maxfd + 1, &l->got[0], &l->got[1], NULL, tvp) == -1) {
		forget_found(l);
		return -1;
	}
	return 0;
}

/* The wait's answer for fd: what it wanted of bits (an error: all). */
static void
hit(struct loop *l, int fd, unsigned char bits)
{
	bits &= l->wants[fd];
	if (bits == 0)
		return;
	if (l->found[fd] == 0)
		l->hits[l->nhits++] = fd;
	l->found[fd] |= bits;
}

/* poll's and epoll's timeout: whole milliseconds, at most INT_MAX. */
static int
timeout_arg(const struct loop *l)
{
	long long left = left_ms(l);

	return left > INT_MAX ? INT_MAX : (int)left;
}

static int
wait_poll(struct loop *l)
{
	struct pollfd *p;
	int i, n, all = l->nnow + l->nheld;
	unsigned char w;

	if (all > l->nevents) {
		if ((p = realloc(l->events, (size_t)all * sizeof(*p))) ==
		    NULL)
			return -1;
		l->events = p;
		l->nevents = all;
	}
	p = l->events;
	for (i = 0; i < all; i++) {
		p[i].fd = i < l->nnow ? l->now[i] : l->held[i - l->nnow];
		w = l->wants[p[i].fd];
		p[i].events = (short)((w & WANT_READ ? POLLIN : 0) |
		    (w & WANT_WRITE ? POLLOUT : 0));
		p[i].revents = 0;
	}
	if ((n = poll(p, (nfds_t)all, timeout_arg(l))) == -1)
		return -1;
	for (i = 0; i < all && n > 0; i++) {
		if (p[i].revents == 0)
			continue;
		n--;
		/* As select, an error or hang-up is readable and writable. */
		if (p[i].revents & (POLLERR | POLLHUP | POLLNVAL))
			hit(l, p[i].fd, WANT_READ | WANT_WRITE);
		else
			hit(l, p[i].fd, (p[i].revents & POLLIN ? WANT_READ : 0) |
			    (p[i].revents & POLLOUT ? WANT_WRITE : 0));
	}
	return 0;
}

#ifdef HAVE_LINUX_CALLS
/* Tell the kernel fd's interest, w (0: none). 0, or -1 with errno. */
static int
epoll_set(struct loop *l, int fd, unsigned char w)
{
	struct epoll_event ev;
	int op;

	memset(&ev, 0, sizeof(ev));
	ev.events = (w & WANT_READ ? EPOLLIN : 0) |
	    (w & WANT_WRITE ? EPOLLOUT : 0);
	ev.data.fd = fd;
	op = w == 0 ? EPOLL_CTL_DEL : l->has[fd] != 0 ? EPOLL_CTL_MOD :
	    EPOLL_CTL_ADD;
	if (epoll_ctl(l->epfd, op, fd, &ev) == -1) {
		/* The kernel knew better (a descriptor closed and reused). */
		if (op == EPOLL_CTL_MOD && errno == ENOENT)
			op = EPOLL_CTL_ADD;
		else if (op == EPOLL_CTL_ADD && errno == EEXIST)
			op = EPOLL_CTL_MOD;
		else if (op == EPOLL_CTL_ADD && errno == EPERM) {
			/* A regular file: always ready, as select says. */
			l->has[fd] = HAS_ALWAYS;
			return 0;
		} else if (errno == EBADF || errno == ENOENT) {
			/* Closed already: nothing to register or remove. */
			l->has[fd] = 0;
			return 0;
		} else
			return -1;
		if (epoll_ctl(l->epfd, op, fd, &ev) == -1)
			return -1;
	}
	l->has[fd] = w;
	return 0;
}

/* Bring the kernel's registrations in line with this round's interest. */
static int
epoll_sync(struct loop *l, bool *always)
{
	int i, fd;

	*always = false;
	/* A file epoll refused stays one until it is closed (forgotten). */
	for (i = 0; i < l->nbefore; i++) {
		fd = l->before[i];
		if (l->wants[fd] == 0 && l->has[fd] != 0 &&
		    l->has[fd] != HAS_ALWAYS && epoll_set(l, fd, 0) == -1)
			return -1;
	}
	for (i = 0; i < l->nnow; i++) {
		fd = l->now[i];
		if (l->has[fd] == HAS_ALWAYS)
			*always = true;
		else if (l->wants[fd] != l->has[fd] &&
		    epoll_set(l, fd, l->wants[fd]) == -1)
			return -1;
		else if (l->has[fd] == HAS_ALWAYS)
			*always = true;
	}
	return 0;
}

static int
wait_epoll(struct loop *l)
{
	struct epoll_event *ev;
	bool always;
	int i, n;

	if (l->events == NULL) {
		if ((l->events = calloc(EVENTS_MAX, sizeof(*ev))) == NULL)
			return -1;
		l->nevents = EVENTS_MAX;
	}
	if (epoll_sync(l, &always) == -1)
		return -1;
	ev = l->events;
	if ((n = epoll_wait(l->epfd, ev, l->nevents, always ? 0 :
	    timeout_arg(l))) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			hit(l, ev[i].data.fd, WANT_READ | WANT_WRITE);
		else
			hit(l, ev[i].data.fd,
			    (ev[i].events & EPOLLIN ? WANT_READ : 0) |
			    (ev[i].events & EPOLLOUT ? WANT_WRITE : 0));
	}
	for (i = 0; always && i < l->nnow; i++)
		if (l->has[l->now[i]] == HAS_ALWAYS)
			hit(l, l->now[i], WANT_READ | WANT_WRITE);
	return 0;
}
#endif

int
loop_wait(struct loop *l)
{
	int rv = -1;

	forget_found(l);
	if (l->backend == BACKEND_SELECT)
		return wait_select(l);
	if (l->broken)
		errno = ENOMEM;
	else if (l->backend == BACKEND_POLL)
		rv = wait_poll(l);
#ifdef HAVE_LINUX_CALLS
	else
		rv = wait_epoll(l);
#endif
	if (rv == -1)
		forget_found(l);
	return rv;
}

bool
loop_ready(const struct loop *l, int fd, bool writing)
{
	if (l == NULL || fd < 0)
		return false;
	if (l->backend == BACKEND_SELECT)
		return loop_fits(fd) && FD_ISSET(fd, &l->got[writing]);
	return fd < l->cap && (l->found[fd] & bit(writing)) != 0;
}

void
loop_forget(struct loop *l, int fd)
{
	if (l == NULL || fd < 0 || l->backend == BACKEND_SELECT ||
	    fd >= l->cap)
		return;
	l->found[fd] = 0;
	if (l->wants[fd] & HELD) {
		/* The last held takes its place. */
		l->held[l->heldat[fd]] = l->held[--l->nheld];
		l->heldat[l->held[l->heldat[fd]]] = l->heldat[fd];
		l->wants[fd] = 0;
	}
#ifdef HAVE_LINUX_CALLS
	/* Else close(2) takes it out of epoll's set by itself. */
	if (l->backend == BACKEND_EPOLL && l->shared && l->has[fd] != 0 &&
	    l->has[fd] != HAS_ALWAYS)
		(void)epoll_set(l, fd, 0);
#endif
	l->has[fd] = 0;
}

int
loop_hold(struct loop *l, int fd)
{
	if (l->backend == BACKEND_SELECT || fd < 0) {
		errno = EINVAL;
		return -1;
	}
	if (fd >= l->cap && make_room(l, fd) == -1)
		return -1;
#ifdef HAVE_LINUX_CALLS
	if (l->backend == BACKEND_EPOLL && epoll_set(l, fd, WANT_READ) == -1)
		return -1;
#endif
	l->wants[fd] = WANT_READ | HELD;
	l->heldat[fd] = l->nheld;
	l->held[l->nheld++] = fd;
	return 0;
}

int
loop_found(const struct loop *l, const int **fds)
{
	*fds = l->hits;
	return l->backend == BACKEND_SELECT ? 0 : l->nhits;
}

void
loop_share(struct loop *l, bool shared)
{
	l->shared = shared;
}

bool
loop_fits(int fd)
{
	return fd < FD_SETSIZE;
}

int
wait_fd(int fd, bool writable, long long deadline)
{
	struct pollfd p;
	long long left;

	for (;;) {
		left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		p.fd = fd;
		p.events = writable ? POLLOUT : POLLIN;
		p.revents = 0;
		switch (poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left)) {
		case -1:
			if (errno != EINTR)
				return -1;
			break;
		case 1:
			return 0;
		}
	}
}
