/* SPDX-License-Identifier: ISC */
/*
 * end.c: endpoints. The relay and the servers move every byte through
 * these operations and never touch a descriptor's data themselves; tls.c
 * adds one more kind. Nothing here prints or exits: failures come back as
 * -1 with errno, and e->why where errno cannot say it.
 */
#ifndef END_H
#define END_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>

struct loop;

/* One connected (or, for a -k UDP listener, bound) socket and its peer. */
struct conn {
	int		 fd;
	bool		 dgram;		/* UDP or Unix datagram */
	bool		 connected;	/* false: reply to the last sender */
	struct sockaddr_storage peer;	/* where replies go if !connected */
	socklen_t	 peerlen;
	struct sockaddr_storage from;	/* the sender of the last datagram */
	socklen_t	 fromlen;
	char		 name[128];	/* the peer, for messages */
	bool		 proxied;	/* --accept-proxy: peer is the address
					   a PROXY header gave ... */
	struct sockaddr_storage self;	/* ... and this the one the client
					   reached (selflen 0: the socket's) */
	socklen_t	 selflen;
};

/* How an endpoint waits before its operation can go on. */
enum end_wait {
	END_WAIT_READ,		/* until its descriptor is readable */
	END_WAIT_WRITE		/* until it is writable */
};

struct end;

/* What an endpoint kind does; the relay calls nothing else. */
struct end_ops {
	/*
	 * Read up to len bytes: the count, 0 at the end of the stream, or -1
	 * with errno (EAGAIN: call again once e->rfd is ready as
	 * e->read_wait says; anything else is a failure, e->why may say it).
	 */
	ssize_t	(*read)(struct end *e, void *buf, size_t len);
	/* Write up to len bytes: the count or -1 as for read (e->write_wait). */
	ssize_t	(*write)(struct end *e, const void *buf, size_t len);
	/*
	 * End the sending side (a FIN; close_notify first over TLS): 0, or
	 * -1 as for write.
	 */
	int	(*shutdown)(struct end *e);
	/* Bytes read can return now without waiting for the descriptor. */
	size_t	(*pending)(const struct end *e);
	/* Free the kind's own state; the descriptors stay the caller's. */
	void	(*free)(struct end *e);
};

struct end {
	const struct end_ops *ops;
	int		 rfd;		/* what read waits on */
	int		 wfd;		/* what write and shutdown wait on */
	int		 also_rfd;	/* watched with rfd while reading, and its
					   readiness is the read's too (a SOCKS5
					   UDP association's control connection);
					   0: none (descriptor 0 is stdin's) */
	enum end_wait	 read_wait;	/* set by read when it gives EAGAIN */
	enum end_wait	 write_wait;	/* set by write/shutdown likewise */
	bool		 raw;		/* rfd/wfd carry the bytes themselves:
					   splice and sendfile may use them */
	bool		 socket;	/* rfd/wfd are a socket (end_socket): no
					   need to fstat them */
	int		 fail_status;	/* EXIT_NET or EXIT_LOCAL */
	const char	*name;		/* "stdin", "stdout" or the peer */
	char		 why[256];	/* the last failure, when errno cannot say it */
	void		*impl;		/* the kind's own state */
};

/*
 * A socket endpoint for c (its fd, its name; an unconnected datagram
 * socket answers c->peer and records each sender in c->from).
 */
void	end_socket(struct end *e, struct conn *c);

/* Stdin (read only), and stdout (its shutdown closes it: the peer's end). */
void	end_stdin(struct end *e);
void	end_stdout(struct end *e);

/* A pipe or any plain descriptor pair, failing as local I/O. */
void	end_pipe(struct end *e, int rfd, int wfd, const char *name);

/*
 * A pseudo-terminal's master, fd master, for both ways (--pty): its end
 * (EIO once the program's side has closed) reads as the end of stream,
 * and its shutdown hangs up on the session *session leads (SIGHUP).
 */
void	end_pty(struct end *e, int master, const pid_t *session,
	    const char *name);

/*
 * Watch, this round of l, the descriptor e's read (reading) or write waits
 * on, for what that wait asks. Returns that descriptor, or -1 if e has
 * none that way.
 */
int	end_watch(const struct end *e, bool reading, struct loop *l);

/*
 * Can e's read (reading) or write go on, by what l's last wait found
 * (NULL: no wait yet) or what e holds already?
 */
bool	end_ready(const struct end *e, bool reading, const struct loop *l);

/*
 * Make the close of e's socket a reset (SO_LINGER 0), to pass on a reset
 * that came from the other side. Returns 0 or -1 with errno.
 */
int	end_abort(struct end *e);

/*
 * Bytes sent on e's socket and not yet acknowledged by the peer, or -1
 * where the system cannot tell.
 */
int	end_unacked(const struct end *e);

#endif /* END_H */
