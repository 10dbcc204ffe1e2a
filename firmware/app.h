/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Application layer: which protocol a TCP flow speaks (by port hint and by
 * content), a per-flow analyzer session from a fixed pool, and the small
 * interface every protocol analyzer implements. Analyzers see reassembled,
 * in-order bytes per direction, may be handed any number of bytes at a
 * time (a line, a literal or a TLS record split anywhere), and produce
 * records and anomaly events through struct mt_app_env.
 */
#ifndef MT_APP_H
#define MT_APP_H

#include "counters.h"
#include "flow.h"
#include "record.h"

#define MT_DIR_C2S 0 /* MT_DIR_TOSERVER */
#define MT_DIR_S2C 1 /* MT_DIR_TOCLIENT */

/* Bytes buffered per direction while the protocol is being recognised. */
#define MT_APP_DETECT_BYTES 64

/* A server's greeting bytes held while a greeting that does not name its
 * protocol waits for the client's first command (unlisted ports only). */
#define MT_APP_HOLD_BYTES 1024

/* Or-ed into mt_app_probe()'s answer: a greeting shape ("220 ", "* OK",
 * "+OK") that does not name its protocol; the client's first command must
 * confirm it before the flow is analysed. */
#define MT_APP_TENTATIVE 0x80

typedef void (*mt_app_emit_fn)(void *ctx, const struct mt_rec *r);

/* Limits and switches of the analyzers, from the [analyzers] section. */
struct mt_app_config {
	uint8_t port_app[65536];     /* server port -> enum mt_app hint */
	bool detect_other_ports;
	uint32_t max_sessions;       /* per worker */
	uint32_t smtp_reply_max;     /* reply line cap (commands: RFC 5321's 512) */
	uint32_t smtp_rcpt_max;      /* recipients stored per transaction */
	uint32_t imap_line_max;
	uint64_t imap_literal_max;   /* literals announced beyond this are anomalies */
	uint32_t pop3_line_max;
	uint32_t mime_header_max;    /* one (unfolded) header field */
	uint32_t mime_headers_max;   /* header fields per part */
	uint32_t mime_depth_max;     /* multipart nesting */
	uint32_t mime_parts_max;     /* parts per message */
	uint32_t tls_handshake_max;  /* handshake message reassembly */
};

struct mt_app_session;

/* What an analyzer callback may use. Valid only during the callback. */
struct mt_app_env {
	struct mt_flow *flow;
	uint64_t now_ns;              /* packet time */
	struct mt_counters *ctr;
	const struct mt_app_config *cfg;
	struct mt_rec *rec;           /* scratch record (mt_app_rec) */
	struct mt_app_session *sess;
	mt_app_emit_fn emit;
	void *emit_ctx;
};

struct mt_analyzer {
	uint8_t app;                  /* enum mt_app */
	/* Bytes of per-session state, which may depend on configured caps
	 * (line buffers live after the analyzer's struct). */
	uint32_t (*state_size)(const struct mt_app_config *cfg);
	/* Leading bytes of that state zeroed before open() (NULL: all of it).
	 * Buffers the analyzer tracks by length need not be: zeroing a 20 KiB
	 * slot for every short session cost more than parsing it. */
	uint32_t (*state_clear)(const struct mt_app_config *cfg);
	/* Session starts; `st` is zeroed. `after_starttls` for TLS. */
	void (*open)(void *st, struct mt_app_env *env, bool after_starttls);
	/*
	 * In-order bytes of one direction. Returns how many were consumed:
	 * all of them, unless the analyzer called mt_app_switch(), in which
	 * case the rest goes to the next analyzer.
	 */
	size_t (*data)(void *st, struct mt_app_env *env, int dir,
		       const uint8_t *p, size_t n);
	/* `len` bytes of this direction were lost. */
	void (*gap)(void *st, struct mt_app_env *env, int dir, uint32_t len);
	/* The flow (or this analyzer's part of it) is over: write records. */
	void (*close)(void *st, struct mt_app_env *env);
};

extern const struct mt_analyzer mt_smtp_analyzer;
extern const struct mt_analyzer mt_imap_analyzer;
extern const struct mt_analyzer mt_pop3_analyzer;
extern const struct mt_analyzer mt_tls_analyzer;

/* ---- for analyzers ---- */

/* Connection fields of any record type that starts with them, from the
 * flow (client as source). Used for flow records too. */
void mt_app_conn(struct mt_rec *r, const struct mt_flow *f);

/* Starts the scratch record of a type with the connection fields filled
 * and `timestamp` set to the current packet time. */
struct mt_rec *mt_app_rec(struct mt_app_env *env, enum mt_rtype type);

/* Writes the scratch record. */
void mt_app_emit(struct mt_app_env *env);

/*
 * Counts an anomaly (a counter of group "anomaly") and, the first time
 * this flow shows it, writes an `anomaly` record with up to 64 bytes of
 * evidence. `dir` is MT_DIR_C2S, MT_DIR_S2C or -1.
 */
void mt_app_anomaly(struct mt_app_env *env, enum mt_ctr which, int dir,
		    const uint8_t *evidence, size_t len);

/* Whether any packet of the server's direction was captured. "Client spoke
 * before the greeting" needs it: a one-sided capture (only the client's
 * half on the tap) never shows a greeting at all. */
static inline bool mt_app_server_seen(const struct mt_app_env *env)
{
	return env->flow->pkts[MT_DIR_TOCLIENT] > 0;
}

/* Hands the flow to another analyzer (TLS after an accepted STARTTLS) once
 * the current data callback returns: the current analyzer is closed, the
 * new one opened, and the bytes not consumed go to it. */
void mt_app_switch(struct mt_app_env *env, enum mt_app to);

/* Whether `mech` sends a reusable secret readable on the wire (PLAIN,
 * LOGIN, USER/PASS, IMAP LOGIN, XOAUTH2, OAUTHBEARER). */
bool mt_app_mech_is_cleartext(const char *mech, size_t len);

/* One `auth` record. Strings are views (copied into the record). */
void mt_app_auth(struct mt_app_env *env, struct mt_view mech, struct mt_view user,
		 const char *result, struct mt_view reply, uint16_t attempt);

/* ---- for the worker ---- */

struct mt_apps {
	const struct mt_app_config *cfg;
	uint8_t *slots;               /* max_sessions slots of slot_size bytes */
	uint32_t slot_size;
	uint32_t nslots;
	uint32_t free_head;
	struct mt_counters *ctr;
	mt_app_emit_fn emit;
	void *emit_ctx;
	struct mt_rec rec;
};

/* Fills the defaults and the port table from the configuration strings. */
int mt_app_config_init(struct mt_app_config *cfg, const char *smtp_ports,
		       const char *imap_ports, const char *pop3_ports,
		       const char *tls_ports, char *err, size_t errlen);

int mt_apps_init(struct mt_apps *a, const struct mt_app_config *cfg,
		 struct mt_counters *ctr, mt_app_emit_fn emit, void *emit_ctx);
void mt_apps_free(struct mt_apps *a);

/* Port hint of a server port (enum mt_app, MT_APP_NONE when unlisted). */
static inline uint8_t mt_app_port_hint(const struct mt_apps *a, uint16_t port)
{
	return a->cfg->port_app[port];
}

/*
 * For flows on unlisted ports: does this first payload look like a mail
 * protocol or TLS? Returns the app; the app | MT_APP_TENTATIVE for a server
 * greeting of the right shape that does not name its protocol (FTP also
 * greets with "220 "): the flow is then reassembled and its greeting held,
 * and it is analysed only if the client's first command speaks the same
 * protocol; MT_APP_NONE for anything else. A TLS ClientHello is accepted
 * only with a sane record and handshake header.
 */
uint8_t mt_app_probe(const uint8_t *p, size_t n, int dir);

/* Starts analyzer `app` on a flow without recognition (tests, fuzzers).
 * Returns false when no session slot is free. */
bool mt_app_force(struct mt_apps *a, struct mt_flow *f, enum mt_app app,
		  uint64_t now_ns);

void mt_app_data(struct mt_apps *a, struct mt_flow *f, int dir,
		 const uint8_t *p, size_t n, uint64_t now_ns);
void mt_app_gap(struct mt_apps *a, struct mt_flow *f, int dir, uint32_t len,
		uint64_t now_ns);
/* Flow over: the analyzer writes its records, the session is freed. */
void mt_app_close(struct mt_apps *a, struct mt_flow *f, uint64_t now_ns);

#endif
