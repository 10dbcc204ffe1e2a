/* SPDX-License-Identifier: BSD-3-Clause */
/* libpcap offline reader: the `mailtapd --read` packet source. */
#include "pcap_file.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

struct mt_pcap {
	pcap_t *h;
	int link;
	int dlt;
};

static int map_dlt(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
		return MT_LINK_ETHERNET;
	case DLT_RAW:
	case 101: /* LINKTYPE_RAW as some writers store it */
	case DLT_IPV4:
	case DLT_IPV6:
		return MT_LINK_RAW;
	case DLT_LINUX_SLL:
		return MT_LINK_LINUX_SLL;
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
		return MT_LINK_LINUX_SLL2;
#endif
	case DLT_NULL:
	case DLT_LOOP:
		return MT_LINK_NULL;
	default:
		return -1;
	}
}

struct mt_pcap *mt_pcap_open(const char *path, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct mt_pcap *p;
	pcap_t *h;

	/* Microseconds: what records carry, and what DPDK's net_pcap PMD
	 * reads, so a replay through DPDK gives the same flows and ids. */
	h = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO,
						    ebuf);
	if (!h) {
		snprintf(err, errlen, "%s", ebuf);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		pcap_close(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->h = h;
	p->dlt = pcap_datalink(h);
	p->link = map_dlt(p->dlt);
	return p;
}

void mt_pcap_close(struct mt_pcap *p)
{
	if (!p)
		return;
	pcap_close(p->h);
	free(p);
}

int mt_pcap_link(const struct mt_pcap *p)
{
	return p->link;
}

const char *mt_pcap_link_name(const struct mt_pcap *p)
{
	const char *n = pcap_datalink_val_to_name(p->dlt);

	return n ? n : "unknown";
}

int mt_pcap_next(struct mt_pcap *p, const uint8_t **data, uint32_t *caplen,
		 uint32_t *wirelen, uint64_t *ts_ns, char *err, size_t errlen)
{
	struct pcap_pkthdr *hdr;
	const u_char *d;
	int rc = pcap_next_ex(p->h, &hdr, &d);

	if (rc == 1) {
		*data = d;
		*caplen = hdr->caplen;
		*wirelen = hdr->len;
		*ts_ns = (uint64_t)hdr->ts.tv_sec * MT_NS_PER_SEC +
			 (uint64_t)hdr->ts.tv_usec * MT_NS_PER_US;
		return 1;
	}
	if (rc == PCAP_ERROR_BREAK)
		return 0;
	snprintf(err, errlen, "%s", pcap_geterr(p->h));
	return -1;
}
