/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Index of the protocol anomaly lists. Each analyzer defines its own list
 * (anomalies_PROTO.h) in counter form: C(id, anomaly, PROTO_event, help).
 * The first entry of MT_ANOMALIES must stay app_unknown_protocol
 * (MT_ANOMALY_FIRST in counters.h).
 */
#ifndef MT_ANOMALIES_H
#define MT_ANOMALIES_H

#define MT_ANOMALIES_APP(C)                                                    \
	C(350, anomaly, app_unknown_protocol, "no mail or TLS protocol recognised on a mail port") \
	C(351, anomaly, app_starttls_cleartext, "cleartext where a TLS handshake must follow an accepted STARTTLS") \
	C(352, anomaly, app_data_before_starttls_reply, "client data pipelined after STARTTLS before the server's reply")

#include "anomalies_imap.h"
#include "anomalies_mime.h"
#include "anomalies_pop3.h"
#include "anomalies_smtp.h"
#include "anomalies_tls.h"

#define MT_ANOMALIES(C)          \
	MT_ANOMALIES_APP(C)      \
	MT_ANOMALIES_SMTP(C)     \
	MT_ANOMALIES_MIME(C)     \
	MT_ANOMALIES_IMAP(C)     \
	MT_ANOMALIES_POP3(C)     \
	MT_ANOMALIES_TLS(C)

#endif
