/* SPDX-License-Identifier: BSD-3-Clause */
/* TLS analyzer anomalies (ids 320-349). */
#ifndef MT_ANOMALIES_TLS_H
#define MT_ANOMALIES_TLS_H

#define MT_ANOMALIES_TLS(C)                                                    \
	C(320, anomaly, tls_bad_record, "TLS record header invalid (type, version or length)") \
	C(321, anomaly, tls_handshake_too_large, "handshake message larger than the reassembly cap") \
	C(322, anomaly, tls_bad_handshake, "handshake message whose lengths do not add up") \
	C(323, anomaly, tls_bad_certificate, "server certificate that mbedTLS cannot parse") \
	C(324, anomaly, tls_bad_extension, "ClientHello or ServerHello extension overrunning its block") \
	C(325, anomaly, tls_too_many_extensions, "hello with more extensions than are fingerprinted (128): no JA3/JA3S/JA4") \
	C(326, anomaly, tls_interleaved_handshake, "both directions reassembling a handshake message at once: the later one is skipped")

#endif
