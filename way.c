/* SPDX-License-Identifier: ISC */
/*
 * way.c: how a direction of the relay moves its bytes (way.h): the
 * choice, and splice(2) and sendfile(2) with their pipe. The only file of
 * the relay that calls them, or reads and writes a descriptor itself;
 * where they are missing (make PORTABLE=1, not Linux) every direction
 * copies. Never prints or exits.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"
#include "end.h"
#include "way.h"

#if defined(HAVE_LINUX_CALLS) && defined(SPLICE_F_NONBLOCK)
#include <sys/sendfile.h>
#define HAVE_SPLICE	1
#endif

#define PIPE_BUFSIZE	(1024 * 1024)	/* asked of F_SETPIPE_SZ */
#define SPLICE_MIN	(32 * 1024)	/* a read this large means bulk */
#define POOL_PIPES_MAX	32		/* pipes one loop's sessions share */

#ifdef HAVE_SPLICE
/*
 * Can fd be spliced from (or, writing, to)? Pipes, sockets and regular
 * files can; a file opened for appending cannot be written by splice, and
 * of the devices only /dev/null is known to take it (terminals do not).
 */
static bool
can_splice(int fd, bool writing)
{
	struct stat st, null;
	int fl;

	if (fstat(fd, &st) == -1)
		return false;
	if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return true;
	if (S_ISREG(st.st_mode))
		return !writing || ((fl = fcntl(fd, F_GETFL)) != -1 &&
		    (fl & O_APPEND) == 0);
	return writing && S_ISCHR(st.st_mode) && stat("/dev/null", &null) == 0 &&
	    st.st_rdev == null.st_rdev;
}
#endif

static bool
zero_copy_disabled(void)
{
	const char *no = getenv("SOCK_NOSPLICE");

	return no != NULL && *no != '\0' && strcmp(no, "0") != 0;
}

/*
 * The one place a direction's way is chosen. Bytes that must be seen or
 * changed on the way, datagrams (which keep their boundaries only in a
 * buffer) and an endpoint that is not a plain descriptor (TLS) take the
 * buffer. Of the rest, a regular file to a stream socket goes with
 * sendfile(2), and the others (sockets, pipes, a file or /dev/null as the
 * sink) with splice(2): measured against a 128 KiB copy on the same run,
 * splice with the local pipes enlarged (way_widen) moved pipe -> sock ->
 * sock -> pipe faster and for less CPU (README, "Performance").
 */
static enum way_kind
choose(const struct end *src, const struct end *sink, bool must_copy)
{
	struct stat st_src, st_sink;

	if (must_copy || !src->raw || !sink->raw || zero_copy_disabled())
		return WAY_COPY;
#ifdef HAVE_SPLICE
	/* Two sockets (a forwarded pair): known without a call. */
	if (src->socket && sink->socket)
		return WAY_SPLICE;
#endif
	if (fstat(src->rfd, &st_src) == -1 || fstat(sink->wfd, &st_sink) == -1)
		return WAY_COPY;
#ifdef HAVE_SPLICE
	if (S_ISREG(st_src.st_mode) && S_ISSOCK(st_sink.st_mode))
		return WAY_SENDFILE;
	if (!can_splice(src->rfd, false) || !can_splice(sink->wfd, true))
		return WAY_COPY;
	return WAY_SPLICE;
#else
	return WAY_COPY;
#endif
}

void
way_choose(struct way *w, const struct end *src, const struct end *sink,
    bool must_copy, struct way_pool *pool)
{
	memset(w, 0, sizeof(*w));
	w->pipe[0] = w->pipe[1] = -1;
	w->pool = pool;
	w->kind = choose(src, sink, must_copy);
}

bool
way_piping(const struct way *w)
{
	return w->kind == WAY_SPLICE && w->pipe[0] != -1;
}

bool
way_unpiping(const struct way *w)
{
	return w->kind == WAY_COPY && w->inpipe > 0;
}

size_t
way_room(const struct way *w)
{
	return w->pipe_full ? 0 : w->pipecap - w->inpipe;
}

void
way_saw(struct way *w, size_t n)
{
	if (w->kind == WAY_SPLICE && n >= SPLICE_MIN)
		w->bulk = true;
}

int
way_pool_pipes(int fd_limit)
{
	int n = fd_limit / 64;

	return n < 1 ? 1 : n > POOL_PIPES_MAX ? POOL_PIPES_MAX : n;
}

char *
way_buffer(struct way_pool *p)
{
	return p->nbufs > 0 ? p->bufs[--p->nbufs] : malloc(WAY_BUFSIZE);
}

void
way_buffer_back(struct way_pool *p, char *buf)
{
	if (buf != NULL && p->nbufs < WAY_SPARES)
		p->bufs[p->nbufs++] = buf;
	else
		free(buf);
}

void
way_pool_free(struct way_pool *p)
{
	while (p->nspare > 0) {
		p->nspare--;
		close(p->spare[p->nspare].fd[0]);
		close(p->spare[p->nspare].fd[1]);
		p->pipes--;
	}
	while (p->nbufs > 0)
		free(p->bufs[--p->nbufs]);
}

/*
 * Give w a pipe: a spare, or a new one as large as the system lets us
 * (fewer, larger moves; measured, see README) while the pool is under
 * its bound. False: none, and this read copies.
 */
static bool
take_pipe(struct way *w)
{
#ifdef HAVE_SPLICE
	struct way_pool *p = w->pool;
	int size;

	if (p->nspare > 0) {
		p->nspare--;
		w->pipe[0] = p->spare[p->nspare].fd[0];
		w->pipe[1] = p->spare[p->nspare].fd[1];
		w->pipecap = p->spare[p->nspare].cap;
		return true;
	}
	if (p->max > 0 && p->pipes >= p->max)
		return false;
	if (pipe2(w->pipe, O_CLOEXEC) == -1) {
		w->pipe[0] = w->pipe[1] = -1;
		return false;
	}
	p->pipes++;
	fcntl(w->pipe[1], F_SETPIPE_SZ, PIPE_BUFSIZE);
	if ((size = fcntl(w->pipe[1], F_GETPIPE_SZ)) <= 0)
		size = 65536;
	w->pipecap = (size_t)size;
	return true;
#else
	w->kind = WAY_COPY;
	return false;
#endif
}

bool
way_pipe_next(struct way *w, size_t buffered)
{
	if (w->kind != WAY_SPLICE || !w->bulk || buffered != 0)
		return false;
	return w->pipe[0] != -1 || take_pipe(w);
}

void
way_idle(struct way *w)
{
	if (w->pipe[0] != -1 && w->inpipe == 0)
		way_end(w);
}

/* The way failed on a descriptor that refuses it: copy from now on. */
static ssize_t
fall_back(struct way *w)
{
	w->kind = WAY_COPY;
	errno = EAGAIN;
	return -1;
}

ssize_t
way_splice_in(struct way *w, struct end *src, size_t room)
{
#ifdef HAVE_SPLICE
	ssize_t n;

	n = splice(src->rfd, NULL, w->pipe[1], NULL, room,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n == -1 && errno == EINVAL && w->inpipe == 0) {
		/* The source refuses splice after all. */
		way_end(w);
		return fall_back(w);
	}
	/*
	 * A pipe holds a number of buffers, not of bytes: spliced socket data
	 * can fill every slot long before inpipe reaches pipecap. The source
	 * was ready, so the pipe is full: stop reading until the sink takes
	 * something, or the relay would spin.
	 */
	if (n == -1 && errno == EAGAIN && w->inpipe > 0)
		w->pipe_full = true;
	if (n > 0)
		w->inpipe += (size_t)n;
	return n;
#else
	(void)src;
	(void)room;
	return fall_back(w);
#endif
}

/*
 * A sink that refuses splice although it looked able to gets the rest
 * through the buffer, in the relay like any other write (way_unpiping).
 */
ssize_t
way_splice_out(struct way *w, struct end *sink)
{
#ifdef HAVE_SPLICE
	ssize_t n;

	n = splice(w->pipe[0], NULL, sink->wfd, NULL, w->inpipe,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n == -1 && errno == EINVAL)
		return fall_back(w);
	if (n > 0)
		w->inpipe -= (size_t)n;
	return n;
#else
	(void)sink;
	return fall_back(w);
#endif
}

ssize_t
way_unpipe(struct way *w, void *buf, size_t len)
{
	ssize_t n;

	if ((n = read(w->pipe[0], buf, len < w->inpipe ? len : w->inpipe)) <= 0)
		return n;
	w->inpipe -= (size_t)n;
	if (w->inpipe == 0)
		way_end(w);
	return n;
}

/*
 * What the socket takes now, straight from the file, with nothing in
 * between, so nothing ever waits in the direction.
 */
ssize_t
way_send_file(struct way *w, struct end *src, struct end *sink, size_t chunk)
{
#ifdef HAVE_SPLICE
	ssize_t n;

	if ((n = sendfile(sink->wfd, src->rfd, NULL, chunk)) != -1 ||
	    errno == EINTR || errno == EAGAIN)
		return n;
	if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN ||
	    errno == ETIMEDOUT || errno == ECONNABORTED ||
	    errno == EHOSTUNREACH || errno == ENETUNREACH || errno == ENETDOWN)
		return -1;
	/*
	 * Anything else (no sendfile here, a stdin that cannot be read, ...)
	 * goes the copy way, which reports a failed read as the read it is.
	 */
	return fall_back(w);
#else
	(void)src;
	(void)sink;
	(void)chunk;
	return fall_back(w);
#endif
}

/*
 * A pipe on the local side is enlarged as the relay's own pipes are: the
 * process on its other end then blocks less often, and each move takes
 * more at once (measured, README "Performance").
 */
void
way_widen(int fd)
{
#ifdef HAVE_SPLICE
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, PIPE_BUFSIZE);
#else
	(void)fd;
#endif
}

void
way_end(struct way *w)
{
	struct way_pool *p = w->pool;

	if (w->pipe[0] == -1)
		return;
	if (w->inpipe == 0 && p->nspare < WAY_SPARES) {
		p->spare[p->nspare].fd[0] = w->pipe[0];
		p->spare[p->nspare].fd[1] = w->pipe[1];
		p->spare[p->nspare].cap = w->pipecap;
		p->nspare++;
	} else {
		close(w->pipe[0]);
		close(w->pipe[1]);
		p->pipes--;
	}
	w->pipe[0] = w->pipe[1] = -1;
	w->inpipe = 0;
	w->pipe_full = false;
}
