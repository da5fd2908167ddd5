/* SPDX-License-Identifier: ISC */
/*
 * telnet_filter (-t), fed any bytes from the peer. Contracts: the data
 * left is never longer than what came; bytes with no IAC pass unchanged
 * and unanswered; every answer is WONT or DONT; the input fed in two
 * pieces cut anywhere, or a byte at a time, gives the same data and the
 * same answers as fed whole. And, read as pairs of (what, value), the
 * input builds a stream of data (255 escaped) mixed with commands
 * (IAC DO/WILL/DONT/WONT opt, IAC SB ... IAC SE, IAC NOP and the like):
 * filtering it must give back exactly the data, with WONT for each DO and
 * DONT for each WILL, in order.
 */
#include "fuzz.h"
#include "../parse.h"

/* What one filtering said: the data left and the answers, in order. */
struct outcome {
	char		*data;
	size_t		 len;
	unsigned char	*answers;	/* answer, option; answer, option... */
	size_t		 nanswers;	/* pairs */
};

/* The refusal callback: record the answer. */
static void
record(void *arg, unsigned char answer, unsigned char opt)
{
	struct outcome *o = arg;

	CHECK(answer == TELNET_WONT || answer == TELNET_DONT);
	if ((o->answers = realloc(o->answers, 2 * (o->nanswers + 1))) == NULL)
		abort();
	o->answers[2 * o->nanswers] = answer;
	o->answers[2 * o->nanswers + 1] = opt;
	o->nanswers++;
}

/* Filter in in pieces of at most step bytes (0: at once), cut first at cut. */
static void
run(const unsigned char *in, size_t size, size_t cut, size_t step,
    struct outcome *o)
{
	struct telnet t;
	size_t off = 0, n, got;

	memset(&t, 0, sizeof(t));
	memset(o, 0, sizeof(*o));
	if ((o->data = malloc(size + 1)) == NULL)
		abort();
	while (off < size) {
		n = step != 0 ? step : off < cut ? cut - off : size - off;
		if (n > size - off)
			n = size - off;
		memcpy(o->data + o->len, in + off, n);
		got = telnet_filter(&t, o->data + o->len, n, record, o);
		CHECK(got <= n);
		o->len += got;
		off += n;
	}
}

static bool
same(const struct outcome *a, const struct outcome *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0 &&
	    a->nanswers == b->nanswers &&
	    (a->nanswers == 0 ||
	    memcmp(a->answers, b->answers, 2 * a->nanswers) == 0);
}

static void
done(struct outcome *o)
{
	free(o->data);
	free(o->answers);
}

/* Append b to the stream s, with 255 doubled as data must be. */
static void
put_escaped(unsigned char *s, size_t *n, unsigned char b)
{
	s[(*n)++] = b;
	if (b == TELNET_IAC)
		s[(*n)++] = TELNET_IAC;
}

/*
 * Build a stream from (what, value) pairs into s (room for 8 bytes a pair),
 * the data it carries into want, the answers it asks for into answers.
 */
static void
build(const uint8_t *data, size_t size, unsigned char *s, size_t *n,
    struct outcome *want)
{
	size_t i;
	unsigned char v;

	*n = 0;
	for (i = 0; i + 1 < size; i += 2) {
		v = data[i + 1];
		switch (data[i] % 7) {
		case 0:
		case 1:
			put_escaped(s, n, v);
			want->data[want->len++] = (char)v;
			break;
		case 2:
		case 3:
			s[(*n)++] = TELNET_IAC;
			s[(*n)++] = data[i] % 7 == 2 ? TELNET_DO : TELNET_WILL;
			s[(*n)++] = v;
			want->answers[2 * want->nanswers] = data[i] % 7 == 2 ?
			    TELNET_WONT : TELNET_DONT;
			want->answers[2 * want->nanswers + 1] = v;
			want->nanswers++;
			break;
		case 4:
			s[(*n)++] = TELNET_IAC;
			s[(*n)++] = v % 2 ? TELNET_DONT : TELNET_WONT;
			s[(*n)++] = v;
			break;
		case 5:
			/* A subnegotiation of two values, 255 escaped in it. */
			s[(*n)++] = TELNET_IAC;
			s[(*n)++] = TELNET_SB;
			put_escaped(s, n, v);
			put_escaped(s, n, (unsigned char)(v + data[i]));
			s[(*n)++] = TELNET_IAC;
			s[(*n)++] = TELNET_SE;
			break;
		case 6:
			/* A two-byte command, 241 (NOP) to 249 (GA). */
			s[(*n)++] = TELNET_IAC;
			s[(*n)++] = (unsigned char)(241 + v % 9);
			break;
		}
	}
}

/* The stream built from the input filters back to its data and answers. */
static void
check_built(const uint8_t *data, size_t size)
{
	struct outcome want, got;
	unsigned char *s;
	size_t n;

	if ((s = malloc(4 * size + 1)) == NULL)
		abort();
	memset(&want, 0, sizeof(want));
	if ((want.data = malloc(size + 1)) == NULL ||
	    (want.answers = malloc(size + 1)) == NULL)
		abort();
	build(data, size, s, &n, &want);
	CHECK(n <= 4 * size);
	run(s, n, n / 2, 0, &got);
	CHECK(same(&got, &want));
	done(&got);
	done(&want);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, split, bytes;
	size_t cut;

	cut = size < 2 ? 0 : (data[0] | (size_t)data[1] << 8) % (size + 1);
	run(data, size, size, 0, &whole);
	CHECK(whole.len <= size);
	CHECK(whole.nanswers <= size / 3);
	if (memchr(data, TELNET_IAC, size) == NULL)
		CHECK(whole.len == size && whole.nanswers == 0 &&
		    (size == 0 || memcmp(whole.data, data, size) == 0));
	run(data, size, cut, 0, &split);
	CHECK(same(&whole, &split));
	run(data, size, 0, 1, &bytes);
	CHECK(same(&whole, &bytes));
	done(&whole);
	done(&split);
	done(&bytes);
	check_built(data, size);
	return 0;
}
