/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EVE-style JSON lines, written from any record by walking its field
 * descriptors: top-level `timestamp`, `flow_id`, `event_type`, addresses
 * and ports, then one object per dotted path prefix (`flow.*`, `tcp.*`).
 */
#ifndef MT_JSON_H
#define MT_JSON_H

#include "buf.h"
#include "record.h"

/* Appends one JSON object and a newline to `b`. */
void mt_json_record(struct mt_buf *b, const struct mt_rec *r);

/* JSON string body (no quotes) with escapes; invalid UTF-8 bytes as \u00XX. */
void mt_json_escape(struct mt_buf *b, const uint8_t *p, size_t n);

/* "2024-05-01T10:00:00.123456+0000" */
void mt_json_time(char out[96], uint64_t ns);

const char *mt_tunnel_name(unsigned t);

#endif
