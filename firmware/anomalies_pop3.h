/* SPDX-License-Identifier: BSD-3-Clause */
/* POP3 analyzer anomalies (ids 300-319). */
#ifndef MT_ANOMALIES_POP3_H
#define MT_ANOMALIES_POP3_H

#define MT_ANOMALIES_POP3(C)                                                   \
	C(300, anomaly, pop3_line_too_long, "POP3 line over the configured cap")   \
	C(301, anomaly, pop3_nul_in_command, "NUL byte in a POP3 command")      \
	C(302, anomaly, pop3_non_ascii_command, "non-ASCII byte in a POP3 command") \
	C(303, anomaly, pop3_command_before_greeting, "client spoke before the server's +OK greeting") \
	C(304, anomaly, pop3_reply_without_command, "status reply with no command waiting for it") \
	C(305, anomaly, pop3_invalid_reply, "reply not starting with +OK, -ERR or +") \
	C(306, anomaly, pop3_unknown_command, "command not known to the analyzer") \
	C(307, anomaly, pop3_bad_base64, "AUTH exchange that is not valid base64") \
	C(308, anomaly, pop3_too_many_pending, "pipelined commands beyond the pending cap")

#endif
