/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-domain duplicate and gap accounting (see seq.h). */
#include "seq.h"

void mt_seq_begin(const struct mt_seq *s, uint32_t start, struct mt_seq_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->start = start;
	/* A new domain has no past: its first message sets the baseline
	 * (counting from 0 would turn the first 2^31 numbers of an appliance
	 * that had another collector before into duplicates or a gap). */
	m->base = s->known ? s->next : start;
	if (s->known && mt_seq_lt(s->next, start))
		m->gap = start - s->next;
}

bool mt_seq_take(struct mt_seq_msg *m, uint32_t index)
{
	if (mt_seq_lt(m->start + index, m->base)) {
		m->dups++;
		return true;
	}
	m->stored++;
	return false;
}

void mt_seq_end(struct mt_seq *s, const struct mt_seq_msg *m, uint32_t n)
{
	uint32_t end = m->start + n;

	if (n == 0)
		return;
	if (!s->known || mt_seq_lt(s->next, end))
		s->next = end;
	s->known = true;
	s->records += m->stored;
	s->duplicates += m->dups;
	if (m->gap) {
		s->gaps += m->gap;
		s->gap_events++;
	}
}

bool mt_seq_anchor(struct mt_seq *s, uint32_t next)
{
	if (s->known)
		return false;
	s->known = true;
	s->next = next;
	return true;
}
