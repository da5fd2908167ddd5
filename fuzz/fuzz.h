/* SPDX-License-Identifier: ISC */
/*
 * Shared by the libFuzzer harnesses in this folder: turn the fuzzer's
 * bytes into a C string of exactly the right size (so that AddressSanitizer
 * sees any read past its end), and abort with a message when a parser
 * breaks its own contract (as its header states it).
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../opts.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The input as a malloc'd C string; an embedded NUL ends it early. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A contract check: print what failed and where, then crash. */
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: contract violated: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#endif /* FUZZ_H */
