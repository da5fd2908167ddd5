/* SPDX-License-Identifier: ISC */
/*
 * util.c, the text half: option values parsed, durations and hex dump
 * lines formatted, and the byte-level pieces of protocols (telnet's
 * commands, base64, HTTP tokens). Pure functions of their arguments: none
 * prints, exits or reads the options.
 */
#ifndef PARSE_H
#define PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "opts.h"

/*
 * Option values
 */

/*
 * Parse a whole number (decimal, or 0x hex) from min to max. Returns -1
 * with EINVAL (not a number) or ERANGE.
 */
int	parse_int(const char *s, long min, long max, int *out);

/* Parse a port number 0-65535. Returns -1 (EINVAL or ERANGE) otherwise. */
int	parse_port_number(const char *s, int *port);

/*
 * Parse a duration in decimal seconds ("1", "0.5", ".25") into
 * milliseconds, rounding a fraction up. Rejects signs, exponents, hex, inf,
 * nan and values over a million seconds.
 */
int	parse_duration(const char *s, long long *ms);

/*
 * Parse a rate in bytes a second: a decimal number (fractions allowed)
 * with an optional K, M or G suffix of 1024. Rejects zero, signs,
 * exponents, hex, inf, nan and values over 2^50 bytes a second.
 */
int	parse_rate(const char *s, double *bytes_per_sec);

/* Parse an IP TOS: lowdelay, throughput, reliability, a DSCP name, 0-255. */
int	parse_tos(const char *s, int *tos);

/*
 * Parse a --forward target into t; host and port are copied, a Unix path
 * points into s. Returns -1 if it is malformed or a part does not fit.
 */
int	parse_forward_target(const char *s, struct fwd_target *t);

/*
 * Text for people
 */

/* Format a duration in ms as seconds without trailing zeros ("1", "0.5"). */
void	format_seconds(long long ms, char *buf, size_t len);

/* Room format_hex_line needs, its newline and NUL included. */
#define HEXLINE_MAX	128

/*
 * Format one line of a hex dump, hexdump -C style: marker ('>' sent, '<'
 * received), the offset in that direction, up to 16 bytes in hex and as
 * printable ASCII. Writes a newline-terminated string into out (at least
 * HEXLINE_MAX bytes) and returns its length.
 */
size_t	format_hex_line(char *out, char marker, unsigned long long off,
	    const unsigned char *b, size_t n);

/*
 * Protocol bytes
 */

/* Room base64_encode needs for n bytes, its NUL included. */
#define BASE64_LEN(n)	(((n) + 2) / 3 * 4 + 1)

/* Standard base64 (RFC 4648, padded) of in[0..n) into out, NUL-ended. */
void	base64_encode(const unsigned char *in, size_t n, char *out);

/* Is c a tchar of RFC 9110, what a method or a field name is made of? */
bool	http_tchar(unsigned char c);

/* Telnet (RFC 854) bytes that -t must recognise. */
enum {
	TELNET_SE = 240,
	TELNET_SB = 250,
	TELNET_WILL = 251,
	TELNET_WONT = 252,
	TELNET_DO = 253,
	TELNET_DONT = 254,
	TELNET_IAC = 255
};

/* -t: where the filter is in a command that may span reads; zeroed: none. */
struct telnet {
	enum {
		TN_DATA,		/* plain data */
		TN_IAC,			/* after IAC */
		TN_OPTION,		/* after IAC WILL/WONT/DO/DONT */
		TN_SB,			/* inside a subnegotiation */
		TN_SB_IAC		/* IAC inside a subnegotiation */
	}		 state;
	unsigned char	 cmd;		/* the WILL/WONT/DO/DONT being read */
};

/* Answer the peer: IAC answer (TELNET_WONT or TELNET_DONT) opt. */
typedef void	telnet_refuse_fn(void *arg, unsigned char answer,
		    unsigned char opt);

/*
 * -t: strip telnet commands from the n bytes at p in place, calling refuse
 * with WONT for each option the peer asks for (DO) and DONT for each it
 * offers (WILL), and return how many data bytes remain at p. The state in
 * t carries over between calls, so a command may be split anywhere.
 */
size_t	telnet_filter(struct telnet *t, char *p, size_t n,
	    telnet_refuse_fn *refuse, void *arg);

#endif /* PARSE_H */
