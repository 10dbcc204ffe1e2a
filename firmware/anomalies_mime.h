/* SPDX-License-Identifier: BSD-3-Clause */
/* MIME parser anomalies (ids 240-269). */
#ifndef MT_ANOMALIES_MIME_H
#define MT_ANOMALIES_MIME_H

#define MT_ANOMALIES_MIME(C)                                                   \
	C(240, anomaly, mime_header_too_long, "header field longer than the cap (truncated)") \
	C(241, anomaly, mime_too_many_headers, "more header fields than the cap")  \
	C(242, anomaly, mime_nesting_too_deep, "multipart nesting deeper than the cap") \
	C(243, anomaly, mime_too_many_parts, "more parts than the cap")            \
	C(244, anomaly, mime_bad_base64, "invalid characters in base64 content")   \
	C(245, anomaly, mime_missing_boundary, "multipart without a usable boundary") \
	C(246, anomaly, mime_line_too_long, "body line over 998 bytes")             \
	C(247, anomaly, mime_bad_encoded_word, "malformed RFC 2047 encoded word")   \
	C(248, anomaly, mime_store_full, "header values, addresses or file entries beyond the per-message store (dropped)")

#endif
