/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Spool files and their bookkeeping (see spool.h). Each class is a queue
 * of files, oldest first; each file keeps an in-memory index of its
 * messages (8 bytes each: sequence number, length, records), and two
 * cursors walk each queue: the first message not yet acknowledged and the
 * next one to send. Sending merges the three classes by sequence number,
 * so the collector sees one stream in the order messages were numbered.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipfix.h"

#define STATE_NAME "state"
#define STATE_TMP "state.tmp"
#define STATE_MAGIC "mailtap-spool 1"
#define STATE_MAX 4096         /* the state file, counters included */
#define STATE_UNREPORTED "unreported "
#define NAME_MAX_LEN 64
/* The in-memory index of a file stays below 512 KiB: a file of many tiny
 * messages (a quiet link, flushed every second) is closed at this count. */
#define SEG_MSGS_MAX 65536

const char *const mt_prio_names[MT_PRIO__COUNT] = { "high", "normal", "low" };

static const enum mt_ctr dropped_ctr[MT_PRIO__COUNT] = {
	MT_CTR_export_spool_dropped_high,
	MT_CTR_export_spool_dropped_normal,
	MT_CTR_export_spool_dropped_low,
};

struct msgidx {
	uint32_t seq;
	uint16_t len;
	uint16_t nrec;
};

struct seg {
	uint64_t serial;       /* orders files; part of the name */
	uint64_t size;         /* bytes in the file */
	uint64_t nrec;         /* data records in the file */
	uint32_t data_start;   /* offset of the first data message */
	uint32_t nmsg;
	uint32_t cap;
	int fd;                /* open for appending (and reading), else -1 */
	bool open;             /* the class's current append target */
	bool dirty;            /* written since the last fdatasync */
	bool sync_pending;     /* closed, fd kept until the next mt_spool_sync */
	struct msgidx *idx;
};

/* A position in a class: message `msg` of file `seg`, at byte `off`. */
struct cur {
	unsigned seg;
	uint32_t msg;
	uint64_t off;
};

struct cls {
	struct seg **segs;     /* oldest first */
	unsigned nseg;
	unsigned cap;
	struct cur ack;        /* first message not acknowledged */
	struct cur send;       /* next message to hand out */
	int rfd;               /* read descriptor of a closed file being sent */
	uint64_t rfd_serial;
};

struct mt_spool {
	struct mt_spool_cfg cfg;
	char *dir;
	int dirfd;
	struct mt_counters *ctr;
	struct cls c[MT_PRIO__COUNT];
	uint32_t next_seq;
	uint32_t acked;
	bool confirmed;        /* a collector has seen this counter */
	bool state_dirty;
	bool ready;            /* opened: ours to write state and remove files */
	bool full_warned;
	unsigned sync_pending; /* closed files not yet synced */
	uint64_t unacked_msgs; /* kept as they change: asked on every turn */
	uint64_t unacked_recs;
	uint64_t serial;
	uint64_t bytes;
	unsigned files;
	uint8_t *hdr;          /* the template message opening every file */
	size_t hdr_len;
	uint8_t *scan;         /* one message, for start-up checks and renumbering */
	uint64_t *unreported;  /* MT_CTR__COUNT drop counts no stats record carried */
};

static void __attribute__((format(printf, 2, 3))) warn(struct mt_spool *sp,
						      const char *fmt, ...)
{
	va_list ap;

	if (sp->cfg.quiet)
		return;
	fprintf(stderr, "mailtapd: spool %s: ", sp->dir);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void gauges(struct mt_spool *sp)
{
	sp->ctr->v[MT_CTR_export_spool_bytes] = sp->bytes;
	sp->ctr->v[MT_CTR_export_spool_files] = sp->files;
}

static void seg_name(char *out, size_t n, enum mt_prio p, uint64_t serial)
{
	snprintf(out, n, "%s-%016llx.ipfix", mt_prio_names[p], (unsigned long long)serial);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int pread_all(int fd, uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ENODATA;
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* ---- state file ---- */

/*
 * The state file: five lines an older mailtapd reads too, then one line
 * `unreported GROUP.NAME COUNT` per counter with drops that no stats
 * record has carried yet (an older mailtapd ignores them).
 */
static int write_state(struct mt_spool *sp)
{
	char text[STATE_MAX];
	int fd, n, rc;

	n = snprintf(text, sizeof(text),
		     STATE_MAGIC "\ndomain %u\nnext %u\nacked %u\nconfirmed %d\n",
		     sp->cfg.domain, sp->next_seq, sp->acked, sp->confirmed ? 1 : 0);
	for (unsigned i = 0; sp->unreported && i < MT_CTR__COUNT; i++) {
		int k;

		if (!sp->unreported[i])
			continue;
		k = snprintf(text + n, sizeof(text) - (size_t)n, STATE_UNREPORTED "%s.%s %llu\n",
			     mt_counter_desc[i].group, mt_counter_desc[i].name,
			     (unsigned long long)sp->unreported[i]);
		if (k < 0 || (size_t)k >= sizeof(text) - (size_t)n) {
			/* Cannot happen with the exporter's few drop counters. */
			warn(sp, "%s: no room for counter %s.%s", STATE_NAME,
			     mt_counter_desc[i].group, mt_counter_desc[i].name);
			break;
		}
		n += k;
	}
	fd = openat(sp->dirfd, STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		warn(sp, "cannot write %s: %s", STATE_TMP, strerror(errno));
		return rc;
	}
	rc = write_all(fd, (const uint8_t *)text, (size_t)n);
	if (rc == 0 && fdatasync(fd) != 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && renameat(sp->dirfd, STATE_TMP, sp->dirfd, STATE_NAME) != 0)
		rc = -errno;
	if (rc == 0)
		fsync(sp->dirfd);
	if (rc) {
		warn(sp, "cannot write %s: %s", STATE_NAME, strerror(-rc));
		return rc;
	}
	sp->state_dirty = false;
	return 0;
}

/* The `unreported` lines of a state file. A counter this mailtapd does not
 * know (a newer one wrote the file) is skipped with a warning. */
static void read_unreported(struct mt_spool *sp, const char *text)
{
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		char name[96];
		unsigned long long v;
		bool known = false;

		if (strncmp(l, STATE_UNREPORTED, strlen(STATE_UNREPORTED)) != 0 ||
		    sscanf(l + strlen(STATE_UNREPORTED), "%95s %llu", name, &v) != 2)
			continue;
		for (unsigned i = 0; i < MT_CTR__COUNT; i++) {
			const struct mt_counter_desc *c = &mt_counter_desc[i];
			size_t g = strlen(c->group);

			if (strncmp(name, c->group, g) == 0 && name[g] == '.' &&
			    strcmp(name + g + 1, c->name) == 0) {
				sp->unreported[i] = v;
				known = true;
				break;
			}
		}
		if (!known)
			warn(sp, "%s: unknown counter %s (%llu unreported drops) ignored",
			     STATE_NAME, name, v);
	}
}

/* 1 when a state file was read, 0 when there is none, -errno when it is
 * unusable or belongs to another observation domain. */
static int read_state(struct mt_spool *sp, char *err, size_t errlen)
{
	char text[STATE_MAX], magic[32];
	unsigned domain, next, acked;
	int fd, confirmed;
	ssize_t n;

	fd = openat(sp->dirfd, STATE_NAME, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s/%s: %s", sp->dir, STATE_NAME, strerror(errno));
		return -errno;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s/%s: %s", sp->dir, STATE_NAME, strerror(errno));
		return -EIO;
	}
	text[n] = '\0';
	if (sscanf(text, "%31[^\n]\ndomain %u\nnext %u\nacked %u\nconfirmed %d", magic,
		   &domain, &next, &acked, &confirmed) != 5 ||
	    strcmp(magic, STATE_MAGIC) != 0) {
		snprintf(err, errlen, "%s/%s: not a mailtap spool state file (remove it to "
			 "start the sequence counter afresh)", sp->dir, STATE_NAME);
		return -EINVAL;
	}
	if (domain != sp->cfg.domain) {
		snprintf(err, errlen, "%s holds the spool of observation domain %u, but "
			 "[export] domain_id is %u: give each domain its own spool_dir",
			 sp->dir, domain, sp->cfg.domain);
		return -EEXIST;
	}
	sp->next_seq = next;
	sp->acked = acked;
	sp->confirmed = confirmed != 0;
	read_unreported(sp, text);
	return 1;
}

/* ---- segments and cursors ---- */

static int idx_push(struct seg *s, uint32_t seq, uint32_t len, uint32_t nrec)
{
	if (s->nmsg == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 64;
		struct msgidx *n = realloc(s->idx, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->idx = n;
		s->cap = cap;
	}
	s->idx[s->nmsg].seq = seq;
	s->idx[s->nmsg].len = (uint16_t)len;
	s->idx[s->nmsg].nrec = (uint16_t)nrec;
	s->nmsg++;
	return 0;
}

static int cls_push(struct cls *c, struct seg *s)
{
	if (c->nseg == c->cap) {
		unsigned cap = c->cap ? c->cap * 2 : 16;
		struct seg **n = realloc(c->segs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->segs = n;
		c->cap = cap;
	}
	c->segs[c->nseg++] = s;
	return 0;
}

/*
 * Moves `u` onto a message if there is one at or after it (stepping over
 * the ends of files) and says whether it points at one now. A cursor at
 * the end of the newest file stays there, and sees messages appended to
 * that file or to a newer one later.
 */
static bool cur_valid(struct cls *c, struct cur *u)
{
	while (u->seg < c->nseg) {
		struct seg *s = c->segs[u->seg];

		if (u->msg == 0)
			u->off = s->data_start;
		if (u->msg < s->nmsg)
			return true;
		if (u->seg + 1 >= c->nseg)
			return false;
		u->seg++;
		u->msg = 0;
	}
	return false;
}

static const struct msgidx *cur_msg(struct cls *c, const struct cur *u)
{
	return &c->segs[u->seg]->idx[u->msg];
}

static void cur_step(struct cls *c, struct cur *u)
{
	u->off += cur_msg(c, u)->len;
	u->msg++;
}

static bool cur_before(const struct cur *a, const struct cur *b)
{
	return a->seg < b->seg || (a->seg == b->seg && a->msg < b->msg);
}

static void seg_free(struct seg *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->idx);
	free(s);
}

/* Takes the oldest file of a class off the queue and the disk. */
static void remove_front(struct mt_spool *sp, enum mt_prio p)
{
	struct cls *c = &sp->c[p];
	struct seg *s = c->segs[0];
	char name[NAME_MAX_LEN];
	struct cur *curs[2] = { &c->ack, &c->send };

	seg_name(name, sizeof(name), p, s->serial);
	if (unlinkat(sp->dirfd, name, 0) != 0 && errno != ENOENT)
		warn(sp, "cannot remove %s: %s", name, strerror(errno));
	if (c->rfd >= 0 && c->rfd_serial == s->serial) {
		close(c->rfd);
		c->rfd = -1;
	}
	sp->bytes -= s->size;
	sp->files--;
	if (s->sync_pending)
		sp->sync_pending--; /* gone: nothing left to make durable */
	seg_free(s);
	memmove(c->segs, c->segs + 1, (c->nseg - 1) * sizeof(*c->segs));
	c->nseg--;
	for (unsigned i = 0; i < 2; i++) {
		if (curs[i]->seg > 0) {
			curs[i]->seg--;
		} else {
			curs[i]->msg = 0;
			curs[i]->off = 0;
		}
	}
	gauges(sp);
}

/* Every message of the oldest file acknowledged. */
static bool front_acked(struct cls *c)
{
	return c->nseg && (c->ack.seg > 0 || c->ack.msg >= c->segs[0]->nmsg);
}

/* Removes the fully acknowledged files of a class but the one still being
 * appended to; the counter is on disk before any file goes. */
static void reap(struct mt_spool *sp, enum mt_prio p)
{
	struct cls *c = &sp->c[p];
	bool saved = false;

	while (front_acked(c) && !c->segs[0]->open) {
		if (!saved) {
			write_state(sp);
			saved = true;
		}
		remove_front(sp, p);
	}
}

/*
 * No more appends to `s`. Its last writes go to disk at the next
 * mt_spool_sync() (within a second): an fdatasync here would stall the
 * export thread, and so the ring, for a whole file's worth of disk
 * writes. Write-back starts now, so that sync finds little left to do.
 */
static void seg_close(struct mt_spool *sp, struct seg *s)
{
	if (s->fd >= 0 && s->dirty) {
		sync_file_range(s->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		s->sync_pending = true;
		sp->sync_pending++;
	} else if (s->fd >= 0 && !s->sync_pending) {
		close(s->fd);
		s->fd = -1;
	}
	s->dirty = false;
	s->open = false;
}

/* Records of the oldest file not yet acknowledged; `msgs` their messages. */
static uint64_t unacked_in_front(struct cls *c, uint64_t *msgs)
{
	struct seg *s = c->segs[0];
	uint64_t n = 0;

	*msgs = 0;
	if (c->ack.seg > 0)
		return 0;
	for (uint32_t i = c->ack.msg; i < s->nmsg; i++) {
		n += s->idx[i].nrec;
		(*msgs)++;
	}
	return n;
}

static void drop_front(struct mt_spool *sp, enum mt_prio p)
{
	struct cls *c = &sp->c[p];
	uint64_t msgs, lost = unacked_in_front(c, &msgs);

	sp->unacked_msgs -= msgs;
	sp->unacked_recs -= lost;
	sp->ctr->v[dropped_ctr[p]] += lost;
	if (lost)
		warn(sp, "full (%llu bytes): dropped %llu %s-priority records",
		     (unsigned long long)sp->bytes, (unsigned long long)lost,
		     mt_prio_names[p]);
	/* The counter must survive the removal of what it numbered. */
	write_state(sp);
	if (c->segs[0]->open)
		seg_close(sp, c->segs[0]);
	remove_front(sp, p);
}

/*
 * Makes room for `need` more bytes for a message of class `p`: first the
 * acknowledged files still open for appending, then whole files of the
 * oldest messages, low class first. A message never pushes out one of a
 * higher class: a `low` message finds no room when only `normal` and
 * `high` remain.
 */
static int make_room(struct mt_spool *sp, enum mt_prio p, uint64_t need)
{
	if (need > sp->cfg.max_bytes)
		return -ENOSPC;
	if (sp->bytes + need <= sp->cfg.max_bytes)
		return 0;
	for (int q = MT_PRIO__COUNT - 1; q >= 0; q--) {
		struct cls *c = &sp->c[q];

		if (c->nseg == 1 && c->segs[0]->open && front_acked(c)) {
			write_state(sp);
			seg_close(sp, c->segs[0]);
			remove_front(sp, (enum mt_prio)q);
		}
	}
	while (sp->bytes + need > sp->cfg.max_bytes) {
		int q;

		for (q = MT_PRIO__COUNT - 1; q >= (int)p; q--)
			if (sp->c[q].nseg)
				break;
		if (q < (int)p)
			return -ENOSPC;
		drop_front(sp, (enum mt_prio)q);
	}
	return 0;
}

static struct seg *seg_new(struct mt_spool *sp, enum mt_prio p, int *rc)
{
	char name[NAME_MAX_LEN];
	struct seg *s = calloc(1, sizeof(*s));
	int fd;

	if (!s) {
		*rc = -ENOMEM;
		return NULL;
	}
	seg_name(name, sizeof(name), p, sp->serial);
	fd = openat(sp->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		*rc = -errno;
		warn(sp, "cannot create %s: %s", name, strerror(errno));
		free(s);
		return NULL;
	}
	/* A reader of this file alone needs the templates, and the element
	 * names (RFC 5610) to show them by name. */
	mt_store_be32(sp->hdr + 4, (uint32_t)time(NULL));
	mt_store_be32(sp->hdr + 8, sp->next_seq);
	*rc = write_all(fd, sp->hdr, sp->hdr_len);
	if (*rc == 0)
		*rc = cls_push(&sp->c[p], s);
	if (*rc) {
		warn(sp, "cannot write %s: %s", name, strerror(-*rc));
		close(fd);
		unlinkat(sp->dirfd, name, 0);
		free(s);
		return NULL;
	}
	/* The new name must survive a crash along with what it holds. */
	fsync(sp->dirfd);
	s->serial = sp->serial++;
	s->fd = fd;
	s->open = true;
	s->size = sp->hdr_len;
	s->data_start = (uint32_t)sp->hdr_len;
	sp->bytes += s->size;
	sp->files++;
	gauges(sp);
	return s;
}

/* ---- start-up scan ---- */

struct found {
	enum mt_prio prio;
	uint64_t serial;
};

static int cmp_found(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

static bool parse_name(const char *name, struct found *f)
{
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++) {
		size_t n = strlen(mt_prio_names[p]);
		const char *h = name + n + 1;
		uint64_t v = 0;

		if (strncmp(name, mt_prio_names[p], n) != 0 || name[n] != '-')
			continue;
		for (unsigned i = 0; i < 16; i++) {
			char ch = h[i];

			if (ch >= '0' && ch <= '9')
				v = v << 4 | (uint64_t)(ch - '0');
			else if (ch >= 'a' && ch <= 'f')
				v = v << 4 | (uint64_t)(ch - 'a' + 10);
			else
				return false;
		}
		if (strcmp(h + 16, ".ipfix") != 0)
			return false;
		f->prio = (enum mt_prio)p;
		f->serial = v;
		return true;
	}
	return false;
}

/*
 * Checks one file message by message and indexes it. A message that is
 * cut short or does not decode ends the file there: the rest is what a
 * crash in the middle of a write leaves, and is cut off.
 */
static int load_seg(struct mt_spool *sp, const struct found *f)
{
	char name[NAME_MAX_LEN], why[200] = "";
	struct mt_ipfix_dec dec;
	struct mt_ipfix_msg_info info;
	struct stat st;
	struct seg *s;
	uint64_t off = 0;
	uint32_t prev_end = 0;
	bool have_hdr = false;
	int fd, rc = 0;

	seg_name(name, sizeof(name), f->prio, f->serial);
	fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		warn(sp, "cannot open %s: %s (left alone)", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	s->fd = -1;
	s->serial = f->serial;
	mt_ipfix_dec_init(&dec, sp->cfg.pen);
	while (off < (uint64_t)st.st_size) {
		uint64_t left = (uint64_t)st.st_size - off;
		long mlen;

		if (left < MT_IPFIX_HDR_LEN) {
			snprintf(why, sizeof(why), "%llu bytes, shorter than a message header",
				 (unsigned long long)left);
			break;
		}
		if (pread_all(fd, sp->scan, MT_IPFIX_HDR_LEN, off) != 0) {
			snprintf(why, sizeof(why), "read error: %s", strerror(errno));
			break;
		}
		mlen = mt_ipfix_msg_len(sp->scan, MT_IPFIX_HDR_LEN);
		if (mlen < 0) {
			snprintf(why, sizeof(why), "not an IPFIX message header");
			break;
		}
		if ((uint64_t)mlen > left) {
			snprintf(why, sizeof(why), "message of %ld bytes cut short at %llu",
				 mlen, (unsigned long long)left);
			break;
		}
		if (pread_all(fd, sp->scan, (size_t)mlen, off) != 0) {
			snprintf(why, sizeof(why), "read error: %s", strerror(errno));
			break;
		}
		if (mt_ipfix_decode(&dec, sp->scan, (size_t)mlen, NULL, NULL, &info, why,
				    sizeof(why)) != 0)
			break;
		if (info.domain != sp->cfg.domain) {
			snprintf(why, sizeof(why), "message of observation domain %u, not %u",
				 info.domain, sp->cfg.domain);
			break;
		}
		if (!have_hdr) {
			if (info.templates == 0 || info.records != 0) {
				snprintf(why, sizeof(why),
					 "does not start with a template message");
				break;
			}
			have_hdr = true;
			s->data_start = (uint32_t)mlen;
		} else {
			if (info.records == 0 || info.skipped || info.records > UINT16_MAX) {
				snprintf(why, sizeof(why),
					 "message at %llu: %u records, %u unknown",
					 (unsigned long long)off, info.records, info.skipped);
				break;
			}
			if (s->nmsg && mt_seq_lt(info.seq, prev_end)) {
				snprintf(why, sizeof(why),
					 "sequence number %u goes back (expected %u or later)",
					 info.seq, prev_end);
				break;
			}
			rc = idx_push(s, info.seq, (uint32_t)mlen, info.records);
			if (rc)
				break;
			s->nrec += info.records;
			prev_end = info.seq + info.records;
		}
		off += (uint64_t)mlen;
	}
	mt_ipfix_dec_free(&dec);
	if (rc == 0 && (!have_hdr || s->nmsg == 0)) {
		/* Nothing to send in it. */
		if (off < (uint64_t)st.st_size)
			warn(sp, "%s: %s: removed", name, why);
		close(fd);
		unlinkat(sp->dirfd, name, 0);
		seg_free(s);
		return 0;
	}
	if (rc == 0 && off < (uint64_t)st.st_size) {
		warn(sp, "%s: torn tail at offset %llu (%s): %llu bytes cut off", name,
		     (unsigned long long)off, why,
		     (unsigned long long)((uint64_t)st.st_size - off));
		if (ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0)
			warn(sp, "%s: cannot cut the tail: %s", name, strerror(errno));
		sp->ctr->v[MT_CTR_export_spool_truncated]++;
	}
	close(fd);
	if (rc == 0)
		rc = cls_push(&sp->c[f->prio], s);
	if (rc) {
		seg_free(s);
		return rc;
	}
	s->size = off;
	sp->bytes += off;
	sp->files++;
	if (f->serial >= sp->serial)
		sp->serial = f->serial + 1;
	if (mt_seq_lt(sp->next_seq, prev_end))
		sp->next_seq = prev_end;
	return 0;
}

static int scan_dir(struct mt_spool *sp, char *err, size_t errlen)
{
	struct found *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int dfd = dup(sp->dirfd), rc = 0;

	if (dfd < 0 || !(d = fdopendir(dfd))) {
		snprintf(err, errlen, "%s: %s", sp->dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -EIO;
	}
	while ((de = readdir(d)) != NULL) {
		struct found f;

		if (strcmp(de->d_name, STATE_TMP) == 0) {
			unlinkat(sp->dirfd, STATE_TMP, 0);
			continue;
		}
		if (!parse_name(de->d_name, &f))
			continue;
		/* Never reuse a name, even of a file removed below. */
		if (f.serial >= sp->serial)
			sp->serial = f.serial + 1;
		if (n == cap) {
			size_t c2 = cap ? cap * 2 : 64;
			struct found *l2 = realloc(list, c2 * sizeof(*l2));

			if (!l2) {
				rc = -ENOMEM;
				break;
			}
			list = l2;
			cap = c2;
		}
		list[n++] = f;
	}
	closedir(d);
	if (rc == 0 && n)
		qsort(list, n, sizeof(*list), cmp_found);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = load_seg(sp, &list[i]);
	free(list);
	if (rc)
		snprintf(err, errlen, "%s: %s", sp->dir, strerror(-rc));
	return rc;
}

static int mkdir_p(const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp)) {
		snprintf(err, errlen, "spool directory name empty or too long");
		return -ENAMETOOLONG;
	}
	memcpy(tmp, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		tmp[i] = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
			int rc = -errno;

			snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
			return rc;
		}
		tmp[i] = path[i];
	}
	return 0;
}

static uint32_t oldest_unacked_seq(struct mt_spool *sp, bool *any)
{
	uint32_t best = sp->next_seq;

	*any = false;
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++) {
		struct cls *c = &sp->c[p];
		struct cur u = c->ack;

		if (cur_valid(c, &u)) {
			uint32_t s = cur_msg(c, &u)->seq;

			if (!*any || mt_seq_lt(s, best))
				best = s;
			*any = true;
		}
	}
	return best;
}

static void advance_ack(struct mt_spool *sp, enum mt_prio p)
{
	struct cls *c = &sp->c[p];

	while (cur_valid(c, &c->ack)) {
		const struct msgidx *m = cur_msg(c, &c->ack);

		if (!mt_seq_leq(m->seq + m->nrec, sp->acked))
			break;
		sp->ctr->v[MT_CTR_export_records_acked] += m->nrec;
		sp->unacked_msgs--;
		sp->unacked_recs -= m->nrec;
		cur_step(c, &c->ack);
	}
	if (cur_before(&c->send, &c->ack))
		c->send = c->ack;
	reap(sp, p);
}

int mt_spool_open(struct mt_spool **out, const struct mt_spool_cfg *cfg,
		  struct mt_counters *ctr, char *err, size_t errlen)
{
	struct mt_ipfix_enc e;
	struct mt_spool *sp;
	bool any;
	int rc;

	*out = NULL;
	if (cfg->segment_bytes == 0 || cfg->max_bytes < cfg->segment_bytes) {
		snprintf(err, errlen, "[export] spool_segment must be between 1 byte and "
			 "spool_max");
		return -EINVAL;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	sp->cfg = *cfg;
	sp->ctr = ctr;
	sp->dirfd = -1;
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		sp->c[p].rfd = -1;
	sp->dir = strdup(cfg->dir);
	sp->hdr = malloc(MT_IPFIX_MSG_MAX);
	sp->scan = malloc(MT_IPFIX_MSG_MAX);
	sp->unreported = calloc(MT_CTR__COUNT, sizeof(*sp->unreported));
	if (!sp->dir || !sp->hdr || !sp->scan || !sp->unreported) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	sp->cfg.dir = sp->dir;
	rc = mkdir_p(cfg->dir, err, errlen);
	if (rc)
		goto fail;
	sp->dirfd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", cfg->dir, strerror(errno));
		goto fail;
	}
	/* Two exporters on one spool would number and delete each other's
	 * messages. */
	if (flock(sp->dirfd, LOCK_EX | LOCK_NB) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", cfg->dir,
			 errno == EWOULDBLOCK ? "in use by another mailtapd" : strerror(errno));
		goto fail;
	}
	mt_ipfix_begin(&e, sp->hdr, MT_IPFIX_MSG_MAX, cfg->domain, cfg->pen, 0, 0);
	if (mt_ipfix_templates(&e, true) != 0) {
		snprintf(err, errlen, "templates do not fit an IPFIX message");
		rc = -ENOSPC;
		goto fail;
	}
	sp->hdr_len = mt_ipfix_end(&e);

	rc = read_state(sp, err, errlen);
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		/* Without a state file the counter is provisional until a
		 * collector's first acknowledgement confirms or moves it. */
		sp->confirmed = false;
	}
	{
		bool had_state = rc == 1;

		rc = scan_dir(sp, err, errlen);
		if (rc)
			goto fail;
		if (!had_state)
			sp->acked = oldest_unacked_seq(sp, &any);
	}
	/* Everything found is unacknowledged until the cursors pass it. */
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		for (unsigned i = 0; i < sp->c[p].nseg; i++) {
			sp->unacked_msgs += sp->c[p].segs[i]->nmsg;
			sp->unacked_recs += sp->c[p].segs[i]->nrec;
		}
	{
		/* Acknowledged in an earlier run, not in this one. */
		uint64_t acked_before = ctr->v[MT_CTR_export_records_acked];

		for (unsigned p = 0; p < MT_PRIO__COUNT; p++) {
			struct cls *c = &sp->c[p];

			c->ack.seg = c->ack.msg = 0;
			c->ack.off = 0;
			c->send = c->ack;
			advance_ack(sp, (enum mt_prio)p);
			c->send = c->ack;
		}
		ctr->v[MT_CTR_export_records_acked] = acked_before;
	}
	/* Numbers found in the files are taken: a crash from here on must
	 * not hand them out again. */
	rc = write_state(sp);
	if (rc) {
		snprintf(err, errlen, "%s: cannot write the state file: %s", cfg->dir,
			 strerror(-rc));
		goto fail;
	}
	gauges(sp);
	sp->ready = true;
	*out = sp;
	return 0;
fail:
	mt_spool_close(sp);
	return rc;
}

void mt_spool_close(struct mt_spool *sp)
{
	if (!sp)
		return;
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++) {
		struct cls *c = &sp->c[p];

		/* Fully acknowledged files go, open or not: a clean stop
		 * leaves only what still has to be sent. */
		if (sp->ready) {
			for (unsigned i = 0; i < c->nseg; i++)
				if (c->segs[i]->open)
					seg_close(sp, c->segs[i]);
			reap(sp, (enum mt_prio)p);
		}
	}
	if (sp->ready)
		mt_spool_sync(sp);
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++) {
		struct cls *c = &sp->c[p];

		for (unsigned i = 0; i < c->nseg; i++)
			seg_free(c->segs[i]);
		free(c->segs);
		if (c->rfd >= 0)
			close(c->rfd);
	}
	if (sp->ready)
		write_state(sp);
	if (sp->dirfd >= 0)
		close(sp->dirfd); /* drops the lock */
	free(sp->dir);
	free(sp->hdr);
	free(sp->scan);
	free(sp->unreported);
	free(sp);
}

int mt_spool_append(struct mt_spool *sp, enum mt_prio p, uint8_t *msg, size_t len,
		    uint32_t nrec)
{
	struct cls *c = &sp->c[p];
	struct seg *s;
	uint32_t seq = sp->next_seq;
	int rc;

	if (len < MT_IPFIX_HDR_LEN || len > MT_IPFIX_MSG_MAX || nrec == 0 ||
	    nrec > UINT16_MAX)
		return -EINVAL;
	/* Numbers are spent even when the message is lost, so the loss
	 * shows at the collector as a gap. */
	sp->next_seq += nrec;
	s = c->nseg && c->segs[c->nseg - 1]->open ? c->segs[c->nseg - 1] : NULL;
	rc = make_room(sp, p, len + (s ? 0 : sp->hdr_len));
	if (rc) {
		sp->ctr->v[dropped_ctr[p]] += nrec;
		/* Once per spell of a full spool, not once per message. */
		if (!sp->full_warned)
			warn(sp, "full (%llu bytes) with messages of higher priority: "
			     "dropping new %s-priority records", (unsigned long long)sp->bytes,
			     mt_prio_names[p]);
		sp->full_warned = true;
		return rc;
	}
	sp->full_warned = false;
	/* Making room may have taken this class's open file. */
	s = c->nseg && c->segs[c->nseg - 1]->open ? c->segs[c->nseg - 1] : NULL;
	if (!s) {
		uint32_t next = sp->next_seq;

		sp->next_seq = seq; /* the file's template message names its first */
		s = seg_new(sp, p, &rc);
		sp->next_seq = next;
		if (!s)
			goto lost;
	}
	mt_store_be32(msg + 8, seq);
	rc = idx_push(s, seq, (uint32_t)len, nrec);
	if (rc == 0) {
		rc = write_all(s->fd, msg, len);
		if (rc) {
			s->nmsg--;
			if (ftruncate(s->fd, (off_t)s->size) != 0)
				seg_close(sp, s); /* a torn tail: the next start cuts it */
			warn(sp, "cannot append to the %s spool: %s", mt_prio_names[p],
			     strerror(-rc));
		}
	}
	if (rc)
		goto lost;
	s->size += len;
	s->nrec += nrec;
	s->dirty = true;
	sp->bytes += len;
	sp->unacked_msgs++;
	sp->unacked_recs += nrec;
	sp->ctr->v[MT_CTR_export_messages_spooled]++;
	sp->ctr->v[MT_CTR_export_records_spooled] += nrec;
	gauges(sp);
	if (s->size >= sp->cfg.segment_bytes || s->nmsg >= SEG_MSGS_MAX) {
		seg_close(sp, s);
		reap(sp, p);
	}
	return 0;
lost:
	sp->ctr->v[MT_CTR_export_spool_write_errors]++;
	return rc;
}

/* A descriptor to read file `seg` of a class from. */
static int read_fd(struct mt_spool *sp, enum mt_prio p, struct seg *s)
{
	struct cls *c = &sp->c[p];
	char name[NAME_MAX_LEN];

	if (s->fd >= 0)
		return s->fd;
	if (c->rfd >= 0 && c->rfd_serial == s->serial)
		return c->rfd;
	if (c->rfd >= 0)
		close(c->rfd);
	seg_name(name, sizeof(name), p, s->serial);
	c->rfd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	c->rfd_serial = s->serial;
	return c->rfd;
}

int mt_spool_next(struct mt_spool *sp, uint8_t *buf, struct mt_spool_msg *m)
{
	for (;;) {
		int best = -1;
		uint32_t best_seq = 0;
		struct cls *c;
		const struct msgidx *mi;
		struct seg *s;
		int fd, rc;

		for (unsigned p = 0; p < MT_PRIO__COUNT; p++) {
			struct cls *cp = &sp->c[p];

			if (cur_valid(cp, &cp->send)) {
				uint32_t seq = cur_msg(cp, &cp->send)->seq;

				if (best < 0 || mt_seq_lt(seq, best_seq)) {
					best = (int)p;
					best_seq = seq;
				}
			}
		}
		if (best < 0)
			return 0;
		c = &sp->c[best];
		s = c->segs[c->send.seg];
		mi = cur_msg(c, &c->send);
		fd = read_fd(sp, (enum mt_prio)best, s);
		rc = fd < 0 ? -errno : pread_all(fd, buf, mi->len, c->send.off);
		if (rc == 0 && (mt_ipfix_msg_len(buf, mi->len) != mi->len ||
				mt_load_be32(buf + 8) != mi->seq))
			rc = -EBADMSG;
		if (rc) {
			/* Someone else changed the file: skip what cannot be
			 * read back; a new connection tries it again. */
			char name[NAME_MAX_LEN];

			seg_name(name, sizeof(name), (enum mt_prio)best, s->serial);
			warn(sp, "%s: message %u unreadable at %llu: %s", name, mi->seq,
			     (unsigned long long)c->send.off, strerror(-rc));
			cur_step(c, &c->send);
			continue;
		}
		m->seq = mi->seq;
		m->nrec = mi->nrec;
		m->len = mi->len;
		m->prio = (enum mt_prio)best;
		cur_step(c, &c->send);
		return 1;
	}
}

uint32_t mt_spool_next_unsent_seq(struct mt_spool *sp)
{
	uint32_t best = sp->next_seq;
	bool any = false;

	for (unsigned p = 0; p < MT_PRIO__COUNT; p++) {
		struct cls *c = &sp->c[p];

		if (cur_valid(c, &c->send)) {
			uint32_t s = cur_msg(c, &c->send)->seq;

			if (!any || mt_seq_lt(s, best))
				best = s;
			any = true;
		}
	}
	return best;
}

bool mt_spool_has_unsent(struct mt_spool *sp)
{
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		if (cur_valid(&sp->c[p], &sp->c[p].send))
			return true;
	return false;
}

void mt_spool_rewind(struct mt_spool *sp)
{
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		sp->c[p].send = sp->c[p].ack;
}

bool mt_spool_ack(struct mt_spool *sp, uint32_t next)
{
	if (mt_seq_lt(sp->next_seq, next))
		return false;
	if (!mt_seq_lt(sp->acked, next))
		return true;
	sp->acked = next;
	sp->state_dirty = true;
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++)
		advance_ack(sp, (enum mt_prio)p);
	return true;
}

/* Adds `delta` to the sequence number of every spooled message, in the
 * files and in the index. */
static void renumber(struct mt_spool *sp, uint32_t delta)
{
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++) {
		struct cls *c = &sp->c[p];

		for (unsigned i = 0; i < c->nseg; i++) {
			struct seg *s = c->segs[i];
			char name[NAME_MAX_LEN];
			uint64_t off = s->data_start;
			uint8_t b[4];
			int fd;

			/* Not the append descriptor: with O_APPEND, Linux
			 * pwrite() ignores the offset. */
			seg_name(name, sizeof(name), (enum mt_prio)p, s->serial);
			fd = openat(sp->dirfd, name, O_WRONLY | O_CLOEXEC);
			if (fd < 0) {
				warn(sp, "%s: cannot renumber: %s", name, strerror(errno));
				continue;
			}
			for (uint32_t k = 0; k < s->nmsg; k++) {
				s->idx[k].seq += delta;
				mt_store_be32(b, s->idx[k].seq);
				if (pwrite(fd, b, 4, (off_t)(off + 8)) != 4)
					warn(sp, "%s: cannot renumber: %s", name, strerror(errno));
				off += s->idx[k].len;
			}
			if (s->nmsg) {
				mt_store_be32(b, s->idx[0].seq);
				if (pwrite(fd, b, 4, 8) != 4)
					warn(sp, "%s: cannot renumber: %s", name, strerror(errno));
			}
			fdatasync(fd);
			close(fd);
		}
	}
}

enum mt_spool_resync mt_spool_first_ack(struct mt_spool *sp, uint32_t next)
{
	bool was_confirmed = sp->confirmed, any;
	uint32_t base, delta;

	sp->confirmed = true;
	sp->state_dirty = true;
	if (!was_confirmed) {
		/*
		 * Numbered before any collector confirmed the counter: new
		 * records, never the collector's, whatever numbers they
		 * got. They follow what it has, even when our provisional
		 * numbers already reach `next`: taking the ones below it
		 * as acknowledged would have the collector discard them as
		 * duplicates of records it got from someone else's spool
		 * (the same domain on an earlier appliance or spool).
		 */
		base = oldest_unacked_seq(sp, &any);
		delta = next - base;
		if (delta == 0) {
			write_state(sp);
			return MT_SPOOL_IN_STEP;
		}
		sp->ctr->v[MT_CTR_export_seq_resyncs]++;
		if (any)
			renumber(sp, delta);
		sp->next_seq += delta;
		sp->acked = next;
		write_state(sp);
		return MT_SPOOL_RENUMBERED;
	}
	if (!mt_seq_lt(sp->next_seq, next)) {
		mt_spool_ack(sp, next);
		return MT_SPOOL_IN_STEP;
	}
	sp->ctr->v[MT_CTR_export_seq_resyncs]++;
	{
		uint64_t msgs, recs;

		mt_spool_unacked(sp, &msgs, &recs);
		if (recs)
			warn(sp, "the collector expects sequence number %u, ahead of this "
			     "spool's %u: it says it has stored the %llu spooled records "
			     "numbered before that (an old copy of the spool?)",
			     next, sp->next_seq, (unsigned long long)recs);
	}
	sp->next_seq = next;
	mt_spool_ack(sp, next);
	write_state(sp);
	return MT_SPOOL_MOVED;
}

void mt_spool_confirm(struct mt_spool *sp)
{
	if (sp->confirmed)
		return;
	sp->confirmed = true;
	sp->state_dirty = true;
}

bool mt_spool_confirmed(const struct mt_spool *sp)
{
	return sp->confirmed;
}

void mt_spool_unreported(const struct mt_spool *sp, struct mt_counters *out)
{
	memcpy(out->v, sp->unreported, sizeof(out->v));
}

void mt_spool_set_unreported(struct mt_spool *sp, const struct mt_counters *c)
{
	if (memcmp(sp->unreported, c->v, sizeof(c->v)) == 0)
		return;
	memcpy(sp->unreported, c->v, sizeof(c->v));
	sp->state_dirty = true;
}

void mt_spool_sync(struct mt_spool *sp)
{
	for (unsigned p = 0; p < MT_PRIO__COUNT; p++) {
		struct cls *c = &sp->c[p];

		for (unsigned i = 0; sp->sync_pending && i < c->nseg; i++) {
			struct seg *s = c->segs[i];

			if (!s->sync_pending)
				continue;
			fdatasync(s->fd);
			close(s->fd);
			s->fd = -1;
			s->sync_pending = false;
			sp->sync_pending--;
		}
		if (c->nseg) {
			struct seg *s = c->segs[c->nseg - 1];

			if (s->open && s->dirty && s->fd >= 0) {
				fdatasync(s->fd);
				s->dirty = false;
			}
		}
	}
	if (sp->state_dirty)
		write_state(sp);
}

uint32_t mt_spool_next_seq(const struct mt_spool *sp)
{
	return sp->next_seq;
}

uint32_t mt_spool_acked(const struct mt_spool *sp)
{
	return sp->acked;
}

void mt_spool_unacked(const struct mt_spool *sp, uint64_t *msgs, uint64_t *records)
{
	*msgs = sp->unacked_msgs;
	*records = sp->unacked_recs;
}

uint64_t mt_spool_bytes(const struct mt_spool *sp)
{
	return sp->bytes;
}

unsigned mt_spool_files(const struct mt_spool *sp)
{
	return sp->files;
}
