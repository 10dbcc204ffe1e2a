/* SPDX-License-Identifier: BSD-3-Clause */
/* Base64 decoders (see b64.h). */
#include "b64.h"

/* Stored as value + 1 so that the zero of unlisted bytes means invalid:
 * 1-64: value; 65: white space (skipped by the stream decoder); 66: '='. */
static const uint8_t dec1[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
	['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
	['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
	['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
	['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
	['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
	['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
	[' '] = 65, ['\t'] = 65, ['\r'] = 65, ['\n'] = 65, ['='] = 66,
};

/* 0-63: value; 64: white space; 65: '='; 255: invalid. */
static inline uint8_t dec(uint8_t c)
{
	return (uint8_t)(dec1[c] - 1);
}

long mt_b64_decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t o = 0, pad = 0, chars = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t v = dec(in[i]);

		if (v == 65) {
			pad++;
			continue;
		}
		if (v > 63 || pad)
			return -1; /* not a base64 char, or data after padding */
		acc = acc << 6 | v;
		chars++;
		if (chars % 4 == 0) {
			if (o + 3 > cap)
				return -1;
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
			out[o++] = (uint8_t)acc;
			acc = 0;
		}
	}
	switch (chars % 4) {
	case 0:
		break;
	case 1:
		return -1;
	case 2:
		if (o + 1 > cap)
			return -1;
		out[o++] = (uint8_t)(acc >> 4);
		break;
	case 3:
		if (o + 2 > cap)
			return -1;
		out[o++] = (uint8_t)(acc >> 10);
		out[o++] = (uint8_t)(acc >> 2);
		break;
	}
	if (pad > 2 || (pad && (chars + pad) % 4 != 0))
		return -1;
	return (long)o;
}

size_t mt_b64_stream_feed(struct mt_b64_stream *s, const uint8_t *in, size_t n,
			  uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t v = dec(in[i]);

		if (v == 64)
			continue;
		if (v == 65) {
			/* Padding: flush the partial quantum once. */
			if (!s->ended) {
				if (s->nchars == 2)
					out[o++] = (uint8_t)(s->acc >> 4);
				else if (s->nchars == 3) {
					out[o++] = (uint8_t)(s->acc >> 10);
					out[o++] = (uint8_t)(s->acc >> 2);
				}
				s->acc = 0;
				s->nchars = 0;
				s->ended = 1;
			}
			continue;
		}
		if (v > 63) {
			s->bad = 1;
			continue;
		}
		/* Data after padding: a new base64 run (concatenated parts). */
		s->ended = 0;
		s->acc = s->acc << 6 | v;
		if (++s->nchars == 4) {
			out[o++] = (uint8_t)(s->acc >> 16);
			out[o++] = (uint8_t)(s->acc >> 8);
			out[o++] = (uint8_t)s->acc;
			s->acc = 0;
			s->nchars = 0;
		}
	}
	return o;
}
