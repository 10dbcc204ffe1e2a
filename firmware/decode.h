/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet decoder: from a captured frame to the 5-tuple, VLAN tags, tunnel
 * and TCP header fields of the innermost IP packet. Plain C over a byte view;
 * every length is checked before it is used and every malformed case bumps
 * its own decoder counter (see counters.h) instead of reading out of bounds.
 */
#ifndef MT_DECODE_H
#define MT_DECODE_H

#include "counters.h"
#include "mt_common.h"

/* Caps on what the decoder walks; beyond them the frame is a decode error. */
#define MT_DECODE_MAX_VLAN_WALK 4   /* tags walked per Ethernet header */
#define MT_DECODE_MAX_VLAN      2   /* tags recorded (outer first) */
#define MT_DECODE_MAX_IPV6_EXT  8   /* extension headers walked */
#define MT_DECODE_MAX_TUNNEL    3   /* nested encapsulations */

#define MT_VXLAN_PORT 4789

/* Link types, numbered as libpcap's DLT_ values so a pcap header maps 1:1. */
enum mt_link {
	MT_LINK_NULL = 0,        /* BSD loopback: 4-byte host-order family */
	MT_LINK_ETHERNET = 1,
	MT_LINK_RAW = 101,       /* raw IPv4/IPv6 (LINKTYPE_RAW) */
	MT_LINK_LINUX_SLL = 113,
	MT_LINK_LINUX_SLL2 = 276,
};

enum mt_tunnel {
	MT_TUNNEL_NONE = 0,
	MT_TUNNEL_GRE,
	MT_TUNNEL_ERSPAN2,
	MT_TUNNEL_ERSPAN3,
	MT_TUNNEL_VXLAN,
};

enum mt_frag {
	MT_FRAG_NONE = 0,
	MT_FRAG_FIRST,  /* offset 0, more fragments: L4 header present */
	MT_FRAG_LATER,  /* no L4 header: counted, not tracked */
};

enum mt_decode_result {
	MT_DECODE_ERROR = 0,  /* malformed: a decoder err_* counter was bumped */
	MT_DECODE_OTHER,      /* well formed but not TCP/UDP (ARP, ICMP, later fragments) */
	MT_DECODE_TCP,
	MT_DECODE_UDP,
};

#define MT_TCP_FIN 0x01
#define MT_TCP_SYN 0x02
#define MT_TCP_RST 0x04
#define MT_TCP_PSH 0x08
#define MT_TCP_ACK 0x10
#define MT_TCP_URG 0x20
#define MT_TCP_ECE 0x40
#define MT_TCP_CWR 0x80

/*
 * Result of decoding one frame. Addresses are in network byte order; IPv4
 * addresses occupy the first 4 bytes and the rest is zero. `payload` points
 * into the caller's frame and is valid as long as the frame is.
 */
struct mt_pkt {
	uint64_t ts_ns;
	const uint8_t *payload;
	uint32_t payload_len;
	uint32_t payload_cut;     /* payload bytes the capture cut off (snaplen) */
	uint32_t wire_len;        /* outer frame length on the wire */
	uint8_t src[16];
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint8_t ip_ver;           /* 4 or 6 */
	uint8_t proto;            /* IP protocol number of the transport */
	uint8_t tcp_flags;
	uint8_t vlan_count;       /* tags recorded, at most MT_DECODE_MAX_VLAN */
	uint16_t vlan[MT_DECODE_MAX_VLAN];
	uint8_t tunnel;           /* enum mt_tunnel of the innermost encapsulation */
	uint8_t frag;             /* enum mt_frag */
	uint8_t truncated;        /* payload cut by the capture snap length */
	uint8_t tcp_wscale;       /* window scale option, 0xff when absent */
	uint32_t tunnel_id;       /* VXLAN VNI or ERSPAN session id */
	uint32_t seq;
	uint32_t ack;
	uint16_t win;
	uint16_t tcp_mss;         /* MSS option, 0 when absent */
};

/*
 * Decode `caplen` bytes of a frame whose wire length is `wirelen`, of link
 * type `link`. Fills `pkt` and bumps decoder counters in `ctr`.
 */
enum mt_decode_result mt_decode(enum mt_link link, const uint8_t *frame,
				uint32_t caplen, uint32_t wirelen,
				uint64_t ts_ns, struct mt_pkt *pkt,
				struct mt_counters *ctr);

/* The same without the inline fast path for the common Ethernet/IPv4/TCP
 * case; tests and fuzzers check that both give identical results. */
enum mt_decode_result mt_decode_general(enum mt_link link, const uint8_t *frame,
					uint32_t caplen, uint32_t wirelen,
					uint64_t ts_ns, struct mt_pkt *pkt,
					struct mt_counters *ctr);

/* Text form of an address for logs and JSON: "a.b.c.d" or RFC 5952 IPv6. */
void mt_addr_format(const uint8_t addr[16], uint8_t ip_ver, char *out, size_t outlen);

#endif
