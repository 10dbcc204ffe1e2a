/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Capture-file packet source (libpcap: pcap and pcapng). Timestamps are read
 * at microsecond precision, the resolution of every record and of DPDK's
 * net_pcap PMD, so both paths see the same packet times.
 */
#ifndef MT_PCAP_FILE_H
#define MT_PCAP_FILE_H

#include "../firmware/decode.h"

struct mt_pcap;

/* Opens a capture; on failure returns NULL with a message in `err`. */
struct mt_pcap *mt_pcap_open(const char *path, char *err, size_t errlen);
void mt_pcap_close(struct mt_pcap *p);

/* Link type of the file, or -1 when mailtap cannot decode it. */
int mt_pcap_link(const struct mt_pcap *p);
const char *mt_pcap_link_name(const struct mt_pcap *p);

/*
 * Next frame: 1 with the frame borrowed until the next call, 0 at the end,
 * -1 on a read error (message in `err`).
 */
int mt_pcap_next(struct mt_pcap *p, const uint8_t **data, uint32_t *caplen,
		 uint32_t *wirelen, uint64_t *ts_ns, char *err, size_t errlen);

#endif
