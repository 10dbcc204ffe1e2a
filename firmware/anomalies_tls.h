/* SPDX-License-Identifier: BSD-3-Clause */
/* TLS analyzer anomalies (ids 320-349). */
#ifndef MT_ANOMALIES_TLS_H
#define MT_ANOMALIES_TLS_H

#define MT_ANOMALIES_TLS(C)                                                    \
	C(320, anomaly, tls_bad_record, "TLS record header invalid (type, version or length)") \
	C(321, anomaly, tls_handshake_too_large, "handshake message larger than the reassembly cap") \
	C(322, anomaly, tls_bad_handshake, "handshake message whose lengths do not add up") \
	C(323, anomaly, tls_bad_certificate, "server certificate that mbedTLS cannot parse") \
	C(324, anomaly, tls_bad_extension, "ClientHello or ServerHello extension overrunning its block")

#endif
