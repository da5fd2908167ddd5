/* SPDX-License-Identifier: ISC */
/*
 * format_hex_line (-o): any bytes, any count, any offset. The line must
 * fit HEXLINE_MAX, have its fixed layout (marker, offset, 16 hex columns,
 * |ASCII|, newline) and say exactly the bytes it was given.
 */
#include "fuzz.h"
#include "../parse.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[HEXLINE_MAX + 16];
	unsigned long long off = 0;
	const unsigned char *b;
	size_t n, len, i, bar;
	unsigned hi, lo;

	if (size < 9)
		return 0;
	memcpy(&off, data, 8);
	n = data[8] % 17;	/* 0-16 bytes a line */
	b = data + 9;
	if (n > size - 9)
		n = size - 9;
	memset(line, 'Z', sizeof(line));
	len = format_hex_line(line, size % 2 ? '>' : '<', off, b, n);
	CHECK(len < HEXLINE_MAX && line[len] == '\0' && line[len - 1] == '\n');
	CHECK(strlen(line) == len);
	CHECK(line[0] == (size % 2 ? '>' : '<') && line[1] == ' ');
	/* The hex columns start after "M " + offset + two spaces. */
	bar = strlen(line) - n - 3;
	CHECK(line[bar] == '|' && line[len - 2] == '|');
	for (i = 0; i < n; i++) {
		const char *h = line + bar - 1 - 16 * 3 - 1 + i * 3 +
		    (i >= 8);

		CHECK(sscanf(h, "%1x%1x", &hi, &lo) == 2);
		CHECK((hi << 4 | lo) == b[i]);
		CHECK(line[bar + 1 + i] == (b[i] >= 0x20 && b[i] < 0x7f ?
		    (char)b[i] : '.'));
	}
	return 0;
}
