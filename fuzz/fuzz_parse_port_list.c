/* SPDX-License-Identifier: ISC */
/*
 * parse_port_list (scan.c; the -z ports operand): "22", "20-25",
 * "22,80,8000-8100", service names unless numeric. The first input byte
 * picks numeric and udp, the rest is the list. Checked on success: at
 * least one port, ascending, no repeats, all 1-65535; on failure: a reason.
 * A list made only of digits, commas and dashes is also checked against a
 * reference where the answer is not a matter of taste: a list of plain
 * numbers and low-high ranges gives exactly their union; a range that runs
 * backwards or a number over 65535 is refused.
 */
#include "fuzz.h"
#include "../scan.h"

#define NPORTS	65536

enum ref { REF_OK, REF_INVALID, REF_UNKNOWN };

/* A number of 1-5 digits without a leading zero; -1 if not, -2 if > 65535. */
static long
number(const char *s, size_t len)
{
	long v = 0;
	size_t i;

	if (len == 0 || (s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v <= 65535)
			v = v * 10 + (s[i] - '0');
	}
	return v > 65535 ? -2 : v;
}

/*
 * The ports of s by the reference, marked in set with the stamp run (so
 * that set never needs clearing); *count: how many distinct ports.
 */
static enum ref
reference(const char *s, uint32_t *set, uint32_t run, size_t *count)
{
	const char *item = s, *comma, *dash;
	size_t len;
	long lo, hi, p;
	enum ref r = REF_OK;

	*count = 0;
	if (*s == '\0')
		return REF_INVALID;
	if (s[strspn(s, "0123456789,-")] != '\0')
		return REF_UNKNOWN;
	for (;;) {
		comma = strchr(item, ',');
		len = comma != NULL ? (size_t)(comma - item) : strlen(item);
		dash = memchr(item, '-', len);
		if (dash == NULL) {
			lo = hi = number(item, len);
		} else {
			if (memchr(dash + 1, '-', len - (size_t)(dash - item) - 1))
				return REF_UNKNOWN;
			lo = number(item, (size_t)(dash - item));
			hi = number(dash + 1, len - (size_t)(dash - item) - 1);
		}
		if (lo == -2 || hi == -2)
			return REF_INVALID;	/* over 65535 */
		if (lo == -1 || hi == -1)
			r = REF_UNKNOWN;	/* empty, 0, leading zero */
		else if (lo > hi)
			return REF_INVALID;	/* backwards */
		else
			for (p = lo; p <= hi; p++)
				if (set[p] != run) {
					set[p] = run;
					(*count)++;
				}
		if (comma == NULL)
			break;
		item = comma + 1;
	}
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint32_t set[NPORTS], run;
	const char *why = NULL;
	int *ports = NULL;
	size_t n = 0, i, count;
	bool numeric, udp;
	enum ref r;
	char *s;
	int rv;

	if (size < 1)
		return 0;
	numeric = data[0] & 1;
	udp = data[0] & 2;
	s = fuzz_cstr(data + 1, size - 1);
	rv = parse_port_list(s, numeric, udp, &ports, &n, &why);
	if (rv == 0) {
		CHECK(ports != NULL && n >= 1 && n <= 65535);
		for (i = 0; i < n; i++) {
			CHECK(ports[i] >= 1 && ports[i] <= 65535);
			if (i > 0)
				CHECK(ports[i] > ports[i - 1]);
		}
	} else {
		CHECK(rv == -1);
		CHECK(why != NULL && *why != '\0');
	}
	if (++run == 0) {
		memset(set, 0, sizeof(set));
		run = 1;
	}
	r = reference(s, set, run, &count);
	if (r == REF_INVALID)
		CHECK(rv == -1);
	if (r == REF_OK) {
		CHECK(rv == 0);
		CHECK(n == count);
		for (i = 0; i < n; i++)
			CHECK(set[ports[i]] == run);
	}
	if (rv == 0)
		free(ports);
	free(s);
	return 0;
}
