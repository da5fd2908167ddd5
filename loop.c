/* SPDX-License-Identifier: ISC */
/*
 * loop.c: time, and the one place that waits (loop.h), on select(2).
 * It touches only the loop its caller hands it: no messages, no exits.
 */
#include <sys/types.h>
#include <sys/select.h>
#include <sys/time.h>

#include <errno.h>
#include <time.h>

#include "loop.h"

long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* No result yet: a step before the first wait finds nothing ready. */
static void
forget(struct loop *l)
{
	FD_ZERO(&l->got[0]);
	FD_ZERO(&l->got[1]);
}

void
loop_begin(struct loop *l)
{
	FD_ZERO(&l->want[0]);
	FD_ZERO(&l->want[1]);
	forget(l);
	l->maxfd = -1;
	l->deadline = -1;
}

int
loop_watch(struct loop *l, int fd, bool writing)
{
	if (fd < 0)
		return fd;
	FD_SET(fd, &l->want[writing]);
	if (fd > l->maxfd)
		l->maxfd = fd;
	return fd;
}

void
loop_until(struct loop *l, long long t)
{
	if (t >= 0 && (l->deadline < 0 || t < l->deadline))
		l->deadline = t;
}

int
loop_wait(struct loop *l)
{
	struct timeval tv, *tvp = NULL;
	long long left;

	if (l->deadline >= 0) {
		/* A deadline that has passed polls once. */
		if ((left = l->deadline - now_ms()) < 0)
			left = 0;
		tv.tv_sec = left / 1000;
		tv.tv_usec = left % 1000 * 1000;
		tvp = &tv;
	}
	l->got[0] = l->want[0];
	l->got[1] = l->want[1];
	if (select(l->maxfd + 1, &l->got[0], &l->got[1], NULL, tvp) == -1) {
		forget(l);
		return -1;
	}
	return 0;
}

bool
loop_ready(const struct loop *l, int fd, bool writing)
{
	return l != NULL && fd >= 0 && loop_fits(fd) &&
	    FD_ISSET(fd, &l->got[writing]);
}

bool
loop_fits(int fd)
{
	return fd < FD_SETSIZE;
}

int
wait_fd(int fd, bool writable, long long deadline)
{
	struct loop l;

	if (!loop_fits(fd)) {
		errno = EMFILE;
		return -1;
	}
	for (;;) {
		if (deadline >= 0 && deadline - now_ms() <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		loop_begin(&l);
		loop_watch(&l, fd, writable);
		loop_until(&l, deadline);
		if (loop_wait(&l) == -1 && errno != EINTR)
			return -1;
		if (loop_ready(&l, fd, writable))
			return 0;
	}
}
