/* SPDX-License-Identifier: ISC */
/*
 * way.h: the ways a direction of the relay moves its bytes (way.c),
 * chosen once per direction (way_choose; sock(1), "How bytes move"): a
 * copy through the direction's buffer, which the relay does itself through
 * the endpoints' ops; splice(2) through a pipe once the reads are large;
 * sendfile(2) from a regular file to a stream socket. The calls are
 * Linux's; elsewhere (make PORTABLE=1) every direction copies. Each call
 * returns what it moved, or -1 with errno; EAGAIN also when the way gave
 * up on a descriptor that refused it and the direction now copies.
 */
#ifndef WAY_H
#define WAY_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

struct end;

#define WAY_BUFSIZE	(128 * 1024)	/* a direction's buffer */
#define WAY_DGRAM_MAX	65536		/* ... for datagrams that come in */
#define WAY_STDIN_DGRAM	16384		/* one stdin read, one datagram */
#define WAY_SENDFILE_CHUNK (4 * 1024 * 1024) /* one sendfile(2) at most */
#define WAY_SPARES	8		/* pipes and buffers kept for reuse */

/*
 * The pipes and buffers that the directions of one loop's sessions share
 * (sock(1), "Many connections"): a direction takes them when bytes flow
 * and gives them back once it has drained, so an idle session holds
 * neither. At most max pipes exist at once (0: no bound); when none is
 * left to take, a direction copies that read through its buffer instead
 * of waiting. A few of each are kept for the next taker.
 */
struct way_pool {
	struct {
		int	 fd[2];
		size_t	 cap;
	}		 spare[WAY_SPARES];
	int		 nspare;
	int		 pipes;		/* pipes open, spares included */
	int		 max;
	char		*bufs[WAY_SPARES];
	int		 nbufs;
};

/* The pipes a pool may hold when the descriptor limit is fd_limit. */
int	way_pool_pipes(int fd_limit);

/* A buffer of WAY_BUFSIZE bytes (NULL: out of memory), and back. */
char	*way_buffer(struct way_pool *);
void	way_buffer_back(struct way_pool *, char *);

/* Close the spare pipes and free the spare buffers. */
void	way_pool_free(struct way_pool *);

enum way_kind {
	WAY_COPY,		/* read into the buffer, write from it */
	WAY_SPLICE,		/* the same until the first large read, then
				   splice(2) through a pipe */
	WAY_SENDFILE		/* a regular file to a stream socket */
};

/*
 * One direction's way. On the splice way, bytes wait in the pipe (inpipe
 * of them) rather than in the buffer.
 */
struct way {
	enum way_kind	 kind;
	struct way_pool	*pool;		/* where its pipe comes from */
	int		 pipe[2];	/* -1 while not splicing */
	size_t		 pipecap;
	size_t		 inpipe;	/* bytes waiting in the pipe */
	bool		 bulk;		/* WAY_SPLICE: a large read was seen */
	bool		 pipe_full;	/* out of pipe slots, whatever inpipe says */
};

/*
 * Choose w's way from src to sink: a copy when the bytes must go through
 * the buffer (must_copy: they are seen or changed on the way, or are
 * datagrams), when an end is not a plain descriptor (TLS), or when
 * SOCK_NOSPLICE is set.
 */
void	way_choose(struct way *w, const struct end *src,
	    const struct end *sink, bool must_copy, struct way_pool *);

/* Moving through the pipe now (rather than the buffer)? */
bool	way_piping(const struct way *w);

/*
 * What the pipe still holds after the sink refused splice goes through
 * the buffer first, ahead of anything newer from the source.
 */
bool	way_unpiping(const struct way *w);

/* Room left in the pipe. */
size_t	way_room(const struct way *w);

/* A read of n bytes into the buffer was seen: bulk enough to splice? */
void	way_saw(struct way *w, size_t n);

/*
 * Should the next read go into the pipe? Yes on the splice way, once bulk,
 * with nothing in the buffer (buffered 0), if the pool has a pipe to give.
 */
bool	way_pipe_next(struct way *w, size_t buffered);

/* The pipe has drained: give it back to the pool. */
void	way_idle(struct way *w);

/* Splice up to room bytes from src into the pipe (0: the source ended). */
ssize_t	way_splice_in(struct way *w, struct end *src, size_t room);

/* Splice what waits in the pipe to sink. */
ssize_t	way_splice_out(struct way *w, struct end *sink);

/* Move up to len bytes of the pipe's rest into buf (way_unpiping). */
ssize_t	way_unpipe(struct way *w, void *buf, size_t len);

/* Send up to chunk bytes of the file src to the socket sink. */
ssize_t	way_send_file(struct way *w, struct end *src, struct end *sink,
	    size_t chunk);

/*
 * Enlarge fd's pipe (a pipe on the local side) as the relay's own are:
 * only the size changes, never the flags it shares with the shell.
 */
void	way_widen(int fd);

/* Give the pipe back (closed if anything still waits in it). */
void	way_end(struct way *w);

#endif
