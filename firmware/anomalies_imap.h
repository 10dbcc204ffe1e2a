/* SPDX-License-Identifier: BSD-3-Clause */
/* IMAP analyzer anomalies (ids 270-299). */
#ifndef MT_ANOMALIES_IMAP_H
#define MT_ANOMALIES_IMAP_H

#define MT_ANOMALIES_IMAP(C)                                                   \
	C(270, anomaly, imap_line_too_long, "IMAP line over the configured cap")   \
	C(271, anomaly, imap_literal_too_large, "IMAP literal size beyond the configured limit") \
	C(272, anomaly, imap_nul_in_command, "NUL byte in an IMAP command")     \
	C(273, anomaly, imap_non_ascii_command, "non-ASCII byte in an IMAP command outside literals and quoted strings") \
	C(274, anomaly, imap_command_before_greeting, "client spoke before the server's greeting") \
	C(275, anomaly, imap_unknown_tag, "tagged completion for no pending command") \
	C(276, anomaly, imap_bad_literal, "malformed literal announcement")      \
	C(277, anomaly, imap_too_many_pending, "pipelined commands beyond the pending cap") \
	C(278, anomaly, imap_bad_base64, "AUTHENTICATE exchange that is not valid base64") \
	C(279, anomaly, imap_invalid_command, "client line that is not tag SP command") \
	C(280, anomaly, imap_invalid_response, "server line that is not an untagged, continuation or tagged response") \
	C(281, anomaly, imap_login_after_logindisabled, "LOGIN sent although the server announced LOGINDISABLED")

#endif
