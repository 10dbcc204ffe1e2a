/* SPDX-License-Identifier: BSD-3-Clause */
/* SMTP analyzer anomalies (ids 200-239). */
#ifndef MT_ANOMALIES_SMTP_H
#define MT_ANOMALIES_SMTP_H

#define MT_ANOMALIES_SMTP(C)                                                   \
	C(200, anomaly, smtp_command_too_long, "SMTP command line over 512 bytes") \
	C(201, anomaly, smtp_reply_too_long, "SMTP reply line over the cap")    \
	C(202, anomaly, smtp_nul_in_command, "NUL byte in an SMTP command")     \
	C(203, anomaly, smtp_non_ascii_command, "non-ASCII byte in an SMTP command verb or argument") \
	C(204, anomaly, smtp_command_before_greeting, "client spoke before the server's 220 greeting") \
	C(205, anomaly, smtp_reply_without_command, "reply with no command waiting for it") \
	C(206, anomaly, smtp_invalid_reply, "reply line not of the form NNN[ -]text") \
	C(207, anomaly, smtp_unknown_command, "command verb not known to the analyzer") \
	C(208, anomaly, smtp_expansion_string, "${...} expansion string in a command argument (CVE-2019-10149 style)") \
	C(209, anomaly, smtp_too_many_recipients, "recipients beyond the per-transaction cap (counted, not stored)") \
	C(210, anomaly, smtp_bad_base64, "AUTH exchange that is not valid base64") \
	C(211, anomaly, smtp_bdat_bad_size, "BDAT without a valid chunk size") \
	C(212, anomaly, smtp_too_many_commands_pipelined, "pipelined commands beyond the pending-reply cap") \
	C(213, anomaly, smtp_data_smuggling, "end-of-data look-alike with a bare LF or CR in message data, or a server ending the data elsewhere (SMTP smuggling, CVE-2023-51764/51765/51766)") \
	C(214, anomaly, smtp_capabilities_truncated, "EHLO reply with more capability lines than are kept (32, 64 bytes each)") \
	C(215, anomaly, smtp_bdat_without_chunking, "BDAT after an EHLO reply that did not offer CHUNKING")

#endif
