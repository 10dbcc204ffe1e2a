/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals shared by the detection engine (detect.c) and its detector
 * families (detect_auth.c, detect_starttls.c, detect_exfil.c,
 * detect_abuse.c): bounded LRU tables, sliding windows, capped distinct
 * sets, alert episodes and the alert builder. Main thread only.
 */
#ifndef MT_DETECT_IMPL_H
#define MT_DETECT_IMPL_H

#include "detect.h"

#define DW_SLOTS 10     /* slices of a sliding window */
#define DSET_MAX 32     /* exact distinct-set capacity; beyond it, saturated */
#define DFLOWS 8        /* related flow ids kept per key */
#define DNAME_MAX 64    /* bytes of a user name kept in a key */
#define DQUEUE 16       /* alerts one record may raise before they are dropped */
#define DLIST_MAX 128   /* entries per allow-list */

enum ddet {
	DET_BRUTEFORCE,
	DET_SPRAYING,
	DET_STUFFING,
	DET_CLEARTEXT,
	DET_STARTTLS,
	DET_EXFIL,
	DET_EXPLOIT,
	DET_RELAY,
	DET_SCAN,
	DET__COUNT
};

/* Every signature: S(enum name, id, detector, severity, category, title). */
#define DSIGS(S)                                                               \
	S(BF_SOURCE, 8600101, BRUTEFORCE, 2, "Attempted User Privilege Gain", "brute force") \
	S(BF_PREFIX, 8600102, BRUTEFORCE, 2, "Attempted User Privilege Gain", "brute force from a network") \
	S(BF_SUCCESS, 8600103, BRUTEFORCE, 1, "Successful User Privilege Gain", "login success after brute force") \
	S(BF_PREFIX_SUCCESS, 8600104, BRUTEFORCE, 1, "Successful User Privilege Gain", "login success after brute force from a network") \
	S(SPRAY, 8600201, SPRAYING, 2, "Attempted User Privilege Gain", "password spraying") \
	S(SPRAY_SUCCESS, 8600202, SPRAYING, 1, "Successful User Privilege Gain", "login success after password spraying") \
	S(STUFF, 8600301, STUFFING, 2, "Attempted User Privilege Gain", "credential stuffing") \
	S(STUFF_SUCCESS, 8600302, STUFFING, 1, "Successful User Privilege Gain", "login success after credential stuffing") \
	S(CLEARTEXT, 8600401, CLEARTEXT, 3, "Potential Corporate Privacy Violation", "credentials in cleartext") \
	S(TLS_NOT_OFFERED, 8600501, STARTTLS, 2, "Attempted Information Leak", "STARTTLS no longer offered") \
	S(TLS_MANGLED, 8600502, STARTTLS, 2, "Attempted Information Leak", "STARTTLS capability mangled") \
	S(TLS_REFUSED, 8600503, STARTTLS, 2, "Attempted Information Leak", "STARTTLS refused") \
	S(TLS_CLEARTEXT_AFTER, 8600504, STARTTLS, 1, "Attempted Information Leak", "cleartext after accepted STARTTLS") \
	S(TLS_INJECTION, 8600505, STARTTLS, 2, "Attempted Administrator Privilege Gain", "STARTTLS command injection") \
	S(TLS_CREDS_KNOWN, 8600506, STARTTLS, 2, "Attempted Information Leak", "cleartext credentials to a STARTTLS server") \
	S(EXFIL_VOLUME, 8600601, EXFIL, 2, "Attempted Information Leak", "mass download") \
	S(EXFIL_MAILBOX, 8600602, EXFIL, 2, "Attempted Information Leak", "whole-mailbox download") \
	S(EXFIL_DELETE, 8600603, EXFIL, 2, "Misc Activity", "mass deletion") \
	S(EXP_SMTP_EXPANSION, 8600701, EXPLOIT, 1, "Attempted Administrator Privilege Gain", "expansion string") \
	S(EXP_SMTP_TOO_LONG, 8600702, EXPLOIT, 2, "Attempted Administrator Privilege Gain", "overlong command line") \
	S(EXP_SMTP_NUL, 8600703, EXPLOIT, 2, "Attempted Administrator Privilege Gain", "NUL byte in a command") \
	S(EXP_SMTP_NON_ASCII, 8600704, EXPLOIT, 3, "Potentially Bad Traffic", "non-ASCII bytes in a command") \
	S(EXP_SMTP_EARLY, 8600705, EXPLOIT, 3, "Potentially Bad Traffic", "command before greeting") \
	S(EXP_SMTP_SMUGGLING, 8600706, EXPLOIT, 2, "Potentially Bad Traffic", "SMTP smuggling") \
	S(EXP_IMAP_LITERAL, 8600711, EXPLOIT, 2, "Attempted Administrator Privilege Gain", "absurd literal size") \
	S(EXP_IMAP_TOO_LONG, 8600712, EXPLOIT, 2, "Attempted Administrator Privilege Gain", "overlong command line") \
	S(EXP_IMAP_NUL, 8600713, EXPLOIT, 2, "Attempted Administrator Privilege Gain", "NUL byte in a command") \
	S(EXP_IMAP_NON_ASCII, 8600714, EXPLOIT, 3, "Potentially Bad Traffic", "non-ASCII bytes in a command") \
	S(EXP_IMAP_EARLY, 8600715, EXPLOIT, 3, "Potentially Bad Traffic", "command before greeting") \
	S(EXP_POP3_TOO_LONG, 8600722, EXPLOIT, 2, "Attempted Administrator Privilege Gain", "overlong command line") \
	S(EXP_POP3_NUL, 8600723, EXPLOIT, 2, "Attempted Administrator Privilege Gain", "NUL byte in a command") \
	S(EXP_POP3_NON_ASCII, 8600724, EXPLOIT, 3, "Potentially Bad Traffic", "non-ASCII bytes in a command") \
	S(EXP_POP3_EARLY, 8600725, EXPLOIT, 3, "Potentially Bad Traffic", "command before greeting") \
	S(RELAY_RCPT, 8600801, RELAY, 2, "Misc Activity", "relay abuse") \
	S(RELAY_SENDERS, 8600802, RELAY, 3, "Misc Activity", "many envelope senders") \
	S(SCAN, 8600901, SCAN, 3, "Detection of a Network Scan", "mail-port scan")

enum dsig {
#define DSIG_ENUM(n, id, det, sev, cat, title) SIG_##n,
	DSIGS(DSIG_ENUM)
#undef DSIG_ENUM
	SIG__COUNT
};

struct dsig_desc {
	uint32_t id;
	uint8_t det;        /* enum ddet */
	uint8_t severity;
	const char *category;
	const char *title;
};

extern const struct dsig_desc mt_detect_sigs[SIG__COUNT];
extern const char *const mt_detect_names[DET__COUNT];

/* ---- keys (zeroed before they are filled: compared with memcmp) ---- */

struct daddr {
	uint8_t ver;        /* 4 or 6 */
	uint8_t plen;       /* prefix length; 0 for a whole address */
	uint8_t a[16];
};

struct dname {
	uint8_t len;
	char s[DNAME_MAX];
};

struct dserver {
	struct daddr a;
	uint16_t port;
};

/* ---- bounded LRU table ---- */

struct dtab {
	const char *name;
	uint8_t *mem;        /* cap entries of esize bytes */
	uint32_t *bucket;    /* chain heads, DNIL when empty */
	uint32_t mask;
	uint32_t cap;
	uint32_t used;
	uint32_t esize;
	uint32_t ksize;
	uint32_t voff;       /* value offset within an entry */
	uint32_t head;       /* most recently used */
	uint32_t tail;       /* least recently used */
	uint64_t idle_ns;    /* older entries are stale: reused without an eviction */
	enum mt_ctr evict_ctr;
	size_t bytes;
};

#define DNIL UINT32_MAX

/* ---- windows, sets, flows, alert episodes ---- */

/* Sliding sum over DW_SLOTS slices of window/DW_SLOTS each, aligned to
 * absolute packet time: an event counts for between 90% and 100% of the
 * window after it happened. */
struct dwin {
	uint64_t head;       /* slice index of v[head % DW_SLOTS] */
	uint64_t v[DW_SLOTS];
};

/* Distinct items (32-bit keyed hashes) with the second each was last seen;
 * exact up to DSET_MAX, then the oldest is replaced and the count stays at
 * DSET_MAX (reported as "at least"). */
struct dset {
	uint32_t h[DSET_MAX];
	uint32_t t[DSET_MAX];
	uint8_t n;
};

struct dflows {
	uint64_t id[DFLOWS];
	uint8_t n;
	uint8_t pos;         /* next slot to overwrite once full */
};

/* One alert's episode: it starts with the first evidence and ends when the
 * key has been quiet for a whole window; update counts the alert records
 * written for it after the first. */
struct dalert {
	uint64_t first;
	uint64_t last;
	uint64_t emitted;    /* packet time of the last alert record, 0: none */
	uint64_t count_at;   /* evidence count in that record */
	uint16_t update;
};

struct dallow {
	struct mt_config_cidr src[DLIST_MAX];
	struct mt_config_cidr srv[DLIST_MAX];
	struct dname user[DLIST_MAX];
	uint16_t nsrc, nsrv, nuser;
};

struct dcfg {
	uint64_t update_ns;
	uint64_t compromise_ns;
	bool det_on[DET__COUNT];
	uint32_t bf_failures;
	uint64_t bf_window;
	uint8_t bf_prefix4;
	uint8_t bf_prefix6;
	uint32_t spray_users;
	uint64_t spray_window;
	uint32_t stuff_sources;
	uint64_t stuff_window;
	bool clear_failures;
	uint64_t clear_window;
	uint64_t tls_memory;
	uint64_t tls_window;
	uint32_t exfil_messages;
	uint64_t exfil_bytes;
	uint64_t exfil_window;
	uint32_t exfil_percent;
	uint32_t exfil_min;
	uint32_t exfil_deletions;
	uint64_t exploit_window;
	uint32_t relay_rcpts;
	uint32_t relay_senders;
	uint64_t relay_window;
	uint32_t scan_targets;
	uint64_t scan_window;
	uint8_t scan_ports[8192];
};

enum dtab_id {
	T_AUTH_SRC,
	T_AUTH_PREFIX,
	T_AUTH_USER,
	T_EXFIL,
	T_RELAY,
	T_SCAN,
	T_SERVERS,
	T_EVENTS,
	T__COUNT
};

struct mt_detect {
	struct dcfg cfg;
	struct dallow allow_all;
	struct dallow allow[DET__COUNT];
	mt_detect_emit_fn emit;
	void *emit_ctx;
	uint64_t now;        /* newest record time seen */
	uint64_t seed[2];    /* hash key: table placement cannot be aimed at */
	bool names_in_text;  /* user names may appear in signature and evidence */
	struct dtab tab[T__COUNT];
	struct mt_counters ctr;
	struct mt_rec *queue;    /* DQUEUE alert records */
	unsigned nqueue;
	struct mt_rec *stats;    /* stats copy with our counters added */
	size_t mem;
};

/* The record under examination, with what every detector needs of it. */
struct devent {
	const struct mt_rec *r;
	const struct mt_body_flow *c;   /* connection fields */
	struct daddr src;
	struct dserver srv;
};

/* ---- engine services (detect.c) ---- */

uint64_t mt_detect_hash(const struct mt_detect *d, const void *p, size_t n);

/* Finds `key` (ksize bytes), refreshing it; creates it (zeroed value,
 * evicting the least recently used entry when full) when `create`. An
 * entry found idle past the table's longest window comes back zeroed, as
 * a new one would. NULL when absent and not created, or when the table
 * has no capacity. */
void *mt_detect_tab_get(struct mt_detect *d, enum dtab_id t, const void *key, bool create);

uint64_t mt_detect_win_add(struct dwin *w, uint64_t window, uint64_t now, uint64_t n);
unsigned mt_detect_set_add(struct dset *s, uint32_t h, uint64_t now, uint64_t window);
unsigned mt_detect_set_count(struct dset *s, uint64_t now, uint64_t window);
void mt_detect_flows_add(struct dflows *f, uint64_t id);

/* Notes evidence at `now`; a key quiet for longer than `window` starts a
 * new episode (a new alert, update 0). */
void mt_detect_alert_touch(struct dalert *a, uint64_t now, uint64_t window);
/*
 * Whether an alert record is due for an episode whose evidence count is
 * now `count`: the first one, then an update when the count grew and
 * either update_interval passed since the last record or the count at
 * least doubled. Returns the update number, or -1.
 */
int mt_detect_alert_due(const struct mt_detect *d, const struct dalert *a, uint64_t count);

void mt_detect_name_set(struct mt_detect *d, struct dname *n, struct mt_view v);
void mt_detect_addr_from_ip(struct daddr *a, const struct mt_ipaddr *ip);
void mt_detect_addr_prefix(struct daddr *dst, const struct daddr *src, unsigned plen);
void mt_detect_server_from(struct dserver *s, const struct mt_ipaddr *ip, uint16_t port);

/* Whether detector `det` skips this event (counted when it does). Any of
 * src, srv, user may be NULL. */
bool mt_detect_allowed(struct mt_detect *d, enum ddet det, const struct daddr *src,
	      const struct dserver *srv, const struct dname *user);

/* Text forms for messages. */
void mt_detect_addr_str(const struct daddr *a, char *out, size_t len);
void mt_detect_server_str(const struct dserver *s, char *out, size_t len);
const char *mt_detect_app_upper(uint8_t app);
/* The user for a message: the name when names may be shown, else "a user". */
void mt_detect_user_str(const struct mt_detect *d, const struct dname *n, char *out, size_t len);
/* Escapes bytes for evidence: printable ASCII kept, the rest \xNN; cut at
 * `len` - 1 with "..." when longer. */
void mt_detect_escape(const uint8_t *p, size_t n, char *out, size_t len);
void mt_detect_bytes_str(uint64_t b, char *out, size_t len);
/* snprintf that may cut: messages and evidence are capped on purpose. */
void mt_detect_fmt(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void mt_detect_secs_str(uint64_t ns, char *out, size_t len);

/* What an alert says; detectors fill it, mt_detect_emit writes the record. */
struct dalert_out {
	enum dsig sig;
	int update;
	uint8_t severity;               /* 0: the signature's own */
	const struct devent *ev;        /* connection fields come from here */
	struct dalert *st;              /* first/last; marked emitted */
	uint64_t count;                 /* evidence count for update pacing */
	const struct dflows *flows;
	char source[64];
	const struct dname *user;
	char server[64];
	uint32_t attempts, failures, successes, distinct_users, distinct_sources;
	uint32_t distinct_senders; /* relay: distinct MAIL FROM addresses */
	uint64_t messages, bytes;
	char evidence[256];
	char msg[320];
};

void mt_detect_out_init(struct dalert_out *o, enum dsig sig, int update,
		     const struct devent *ev, struct dalert *st, uint64_t count,
		     const struct dflows *flows);
void mt_detect_emit(struct mt_detect *d, struct dalert_out *o);

/* ---- detector families ---- */

void mt_detect_auth(struct mt_detect *d, const struct devent *ev);
void mt_detect_starttls_session(struct mt_detect *d, const struct devent *ev);
void mt_detect_starttls_tls(struct mt_detect *d, const struct devent *ev);
bool mt_detect_starttls_anomaly(struct mt_detect *d, const struct devent *ev);
void mt_detect_exfil(struct mt_detect *d, const struct devent *ev);
void mt_detect_exploit(struct mt_detect *d, const struct devent *ev);
void mt_detect_relay(struct mt_detect *d, const struct devent *ev);
void mt_detect_scan(struct mt_detect *d, const struct devent *ev);

/* Value sizes of the tables, for the engine to allocate them. */
extern const uint32_t mt_detect_auth_src_size, mt_detect_auth_prefix_size,
	mt_detect_auth_user_size, mt_detect_exfil_size, mt_detect_relay_size,
	mt_detect_scan_size, mt_detect_server_size, mt_detect_event_size;

/* Key of the events table: one-off alerts keyed by signature and a mix of
 * server, source and user. */
struct devkey {
	uint16_t sig;
	struct dserver srv;
	struct daddr src;
	struct dname user;
};

/* Value of the events table. */
struct devval {
	struct dalert a;
	uint32_t count;
	struct dflows flows;
};

/* Key of the exfiltration and relay tables: a user or, without one, a
 * source address. */
struct dukey {
	uint8_t kind;        /* 1 user, 2 source */
	struct daddr src;
	struct dname user;
};

#endif
