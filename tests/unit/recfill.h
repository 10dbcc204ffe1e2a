/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fills every field of a record from the schema's descriptors, for the
 * round-trip tests of the IPFIX codec and of the collector's store: all
 * numbers set (64-bit ones across their whole range), times at microsecond
 * grain, addresses of the chosen family (4, 6, or 0 for none), strings of
 * a chosen length made of ASCII, quotes, control bytes, valid UTF-8 and
 * bytes that are not UTF-8, and lists of a chosen length, sub-records
 * included.
 */
#ifndef MT_RECFILL_H
#define MT_RECFILL_H

#include <stdlib.h>

#include "record.h"

static uint64_t recfill_state = 0x9e3779b97f4a7c15ull;

static inline uint64_t recfill_rand(void)
{
	recfill_state ^= recfill_state << 13;
	recfill_state ^= recfill_state >> 7;
	recfill_state ^= recfill_state << 17;
	return recfill_state;
}

static inline void recfill(struct mt_rec *r, uint8_t *base, const struct mt_rtype_desc *rt,
			   int ipver, size_t slen, unsigned items)
{
	static const char nasty[] =
		"a\"b\\c\n\t\x01\x7f\xc3\xa9\xff\xfe\xe2\x82\xac/\xed\xa0\x80z";

	for (unsigned i = 0; i < rt->nfields; i++) {
		const struct mt_field_desc *f = &rt->fields[i];
		uint8_t *p = base + f->offset;
		char s[700];
		uint64_t v = recfill_rand();

		for (size_t k = 0; k < sizeof(s); k++)
			s[k] = nasty[(k + i) % (sizeof(nasty) - 1)];
		switch (f->type) {
		case MT_FT_U8:
		case MT_FT_FLAGS8:
			*p = (uint8_t)v;
			break;
		case MT_FT_PROTO:
			*p = (uint8_t)(v & 1 ? 6 : 132);
			break;
		case MT_FT_APP:
			*p = MT_APP_IMAP;
			break;
		case MT_FT_REASON:
			*p = 3;
			break;
		case MT_FT_TUNNEL:
			*p = 4;
			break;
		case MT_FT_BOOL:
			*p = 1;
			break;
		case MT_FT_U16: {
			uint16_t x = (uint16_t)v;

			memcpy(p, &x, 2);
			break;
		}
		case MT_FT_U32: {
			uint32_t x = (uint32_t)v;

			memcpy(p, &x, 4);
			break;
		}
		case MT_FT_U64:
			memcpy(p, &v, 8);
			break;
		case MT_FT_TIME: {
			uint64_t t = 1700000000ull * MT_NS_PER_SEC +
				     (v % 1000000000ull) / 1000 * 1000;

			memcpy(p, &t, 8);
			break;
		}
		case MT_FT_IP: {
			struct mt_ipaddr *ip = (struct mt_ipaddr *)p;

			memset(ip, 0, sizeof(*ip));
			ip->ver = (uint8_t)ipver;
			for (int k = 0; k < (ipver == 6 ? 16 : ipver == 4 ? 4 : 0); k++)
				ip->a[k] = (uint8_t)(recfill_rand() | 1);
			break;
		}
		case MT_FT_STR:
		case MT_FT_HEX: {
			struct mt_sref sr;

			mt_rec_set_str(r, &sr, s, MT_MIN(slen, sizeof(s)));
			memcpy(p, &sr, sizeof(sr));
			break;
		}
		case MT_FT_STRLIST:
		case MT_FT_U16LIST:
		case MT_FT_U64LIST:
		case MT_FT_SUBLIST: {
			struct mt_lref l;

			memcpy(&l, p, sizeof(l));
			for (unsigned k = 0; k < items; k++) {
				if (f->type == MT_FT_U16LIST) {
					mt_rec_list_add_u16(r, &l, (uint16_t)(k + 65530));
				} else if (f->type == MT_FT_U64LIST) {
					mt_rec_list_add_u64(r, &l, UINT64_MAX - k);
				} else if (f->type == MT_FT_STRLIST) {
					mt_rec_list_add(r, &l, s, k + 1);
				} else {
					uint8_t item[MT_SUB_MAX_SIZE] __attribute__((aligned(8)));

					memset(item, 0, sizeof(item));
					recfill(r, item, &mt_stypes[f->sub - 1], ipver, 10 + k, 0);
					mt_rec_list_add(r, &l, item, MT_SUB_MAX_SIZE);
				}
			}
			memcpy(p, &l, sizeof(l));
			break;
		}
		default:
			abort(); /* a new field type: teach the filler */
		}
	}
}

#endif
