/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame decoder. Each layer is a small function over (pointer, length) that
 * checks its own header bounds, fills its part of struct mt_pkt and hands the
 * rest to the next layer; tunnels (GRE, ERSPAN II/III, VXLAN) recurse into an
 * inner Ethernet or IP header up to MT_DECODE_MAX_TUNNEL deep. A malformed
 * header bumps exactly one err_* counter and ends decoding of that frame.
 */
#include "decode.h"

#include <arpa/inet.h>
#include <stdio.h>

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_TEB 0x6558     /* transparent Ethernet bridging over GRE */
#define ETHERTYPE_ERSPAN2 0x88be /* ERSPAN type I (no S bit) and II */
#define ETHERTYPE_ERSPAN3 0x22eb

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_GRE_ 47
#define IPPROTO_ESP_ 50
#define IPPROTO_AH_ 51
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_NONE_ 59
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_MH_ 135
#define IPPROTO_HIP_ 139
#define IPPROTO_SHIM6_ 140

#define ERR(c, name) (MT_CTR_INC(c, decoder_err_##name), MT_DECODE_ERROR)

static enum mt_decode_result decode_eth(const uint8_t *p, uint32_t len,
					struct mt_pkt *pkt, struct mt_counters *c,
					unsigned depth);
static enum mt_decode_result decode_ip(uint16_t ethertype, const uint8_t *p,
				       uint32_t len, struct mt_pkt *pkt,
				       struct mt_counters *c, unsigned depth);

static enum mt_decode_result enter_tunnel(enum mt_tunnel kind, uint32_t id,
					  struct mt_pkt *pkt,
					  struct mt_counters *c, unsigned *depth)
{
	if (++*depth > MT_DECODE_MAX_TUNNEL)
		return ERR(c, tunnel_too_deep);
	pkt->tunnel = (uint8_t)kind;
	pkt->tunnel_id = id;
	/* The inner frame's tags describe the mirrored traffic; the outer ones
	 * only the transport of the mirror session. */
	pkt->vlan_count = 0;
	pkt->frag = MT_FRAG_NONE;
	return MT_DECODE_OTHER;
}

static void tcp_options(const uint8_t *p, uint32_t len, struct mt_pkt *pkt,
			struct mt_counters *c)
{
	uint32_t i = 0;

	while (i < len) {
		uint8_t kind = p[i];
		uint8_t olen;

		if (kind == 0)
			return;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || (olen = p[i + 1]) < 2 || olen > len - i) {
			MT_CTR_INC(c, decoder_tcp_bad_option);
			return;
		}
		if (kind == 2 && olen == 4)
			pkt->tcp_mss = mt_load_be16(p + i + 2);
		else if (kind == 3 && olen == 3)
			pkt->tcp_wscale = p[i + 2];
		i += olen;
	}
}

static enum mt_decode_result decode_tcp(const uint8_t *p, uint32_t len,
					struct mt_pkt *pkt, struct mt_counters *c)
{
	uint32_t hlen;

	if (len < 20)
		return ERR(c, tcp_truncated);
	hlen = (uint32_t)(p[12] >> 4) * 4;
	if (hlen < 20 || hlen > len)
		return ERR(c, tcp_bad_doff);
	MT_CTR_INC(c, decoder_tcp);
	pkt->sport = mt_load_be16(p);
	pkt->dport = mt_load_be16(p + 2);
	pkt->seq = mt_load_be32(p + 4);
	pkt->ack = mt_load_be32(p + 8);
	pkt->tcp_flags = p[13];
	pkt->win = mt_load_be16(p + 14);
	if (hlen > 20)
		tcp_options(p + 20, hlen - 20, pkt, c);
	pkt->payload = p + hlen;
	pkt->payload_len = len - hlen;
	return MT_DECODE_TCP;
}

static enum mt_decode_result decode_vxlan(const uint8_t *p, uint32_t len,
					  struct mt_pkt *pkt,
					  struct mt_counters *c, unsigned depth)
{
	if (len < 8)
		return ERR(c, vxlan_truncated);
	if (!(p[0] & 0x08))
		return ERR(c, vxlan_bad_flags);
	MT_CTR_INC(c, decoder_vxlan);
	if (enter_tunnel(MT_TUNNEL_VXLAN, mt_load_be32(p + 4) >> 8, pkt, c,
			 &depth) == MT_DECODE_ERROR)
		return MT_DECODE_ERROR;
	return decode_eth(p + 8, len - 8, pkt, c, depth);
}

static enum mt_decode_result decode_udp(const uint8_t *p, uint32_t len,
					struct mt_pkt *pkt, struct mt_counters *c,
					unsigned depth)
{
	uint32_t ulen;

	if (len < 8)
		return ERR(c, udp_truncated);
	ulen = mt_load_be16(p + 4);
	if (ulen < 8 || (ulen > len && !pkt->truncated))
		return ERR(c, udp_bad_len);
	if (ulen > len)
		ulen = len;
	MT_CTR_INC(c, decoder_udp);
	pkt->sport = mt_load_be16(p);
	pkt->dport = mt_load_be16(p + 2);
	pkt->payload = p + 8;
	pkt->payload_len = ulen - 8;
	if (pkt->dport == MT_VXLAN_PORT && pkt->frag == MT_FRAG_NONE)
		return decode_vxlan(p + 8, ulen - 8, pkt, c, depth);
	return MT_DECODE_UDP;
}

static enum mt_decode_result decode_erspan(uint16_t type, const uint8_t *p,
					   uint32_t len, bool has_seq,
					   struct mt_pkt *pkt,
					   struct mt_counters *c, unsigned depth)
{
	uint32_t hlen;

	if (type == ETHERTYPE_ERSPAN2 && !has_seq) {
		/* ERSPAN type I: no ERSPAN header, the mirrored frame follows. */
		MT_CTR_INC(c, decoder_erspan2);
		if (enter_tunnel(MT_TUNNEL_ERSPAN2, 0, pkt, c, &depth) ==
		    MT_DECODE_ERROR)
			return MT_DECODE_ERROR;
		return decode_eth(p, len, pkt, c, depth);
	}
	if (type == ETHERTYPE_ERSPAN2) {
		if (len < 8)
			return ERR(c, erspan_truncated);
		if (p[0] >> 4 != 1)
			return ERR(c, erspan_bad_version);
		MT_CTR_INC(c, decoder_erspan2);
		hlen = 8;
		if (enter_tunnel(MT_TUNNEL_ERSPAN2, mt_load_be16(p + 2) & 0x3ff,
				 pkt, c, &depth) == MT_DECODE_ERROR)
			return MT_DECODE_ERROR;
		return decode_eth(p + hlen, len - hlen, pkt, c, depth);
	}
	/* Type III: 12-byte header, optional 8-byte platform sub-header. */
	if (len < 12)
		return ERR(c, erspan_truncated);
	if (p[0] >> 4 != 2 || ((p[10] >> 2) & 0x1f) != 0)
		return ERR(c, erspan_bad_version);
	hlen = 12 + ((p[11] & 0x01) ? 8 : 0);
	if (len < hlen)
		return ERR(c, erspan_truncated);
	MT_CTR_INC(c, decoder_erspan3);
	if (enter_tunnel(MT_TUNNEL_ERSPAN3, mt_load_be16(p + 2) & 0x3ff, pkt, c,
			 &depth) == MT_DECODE_ERROR)
		return MT_DECODE_ERROR;
	return decode_eth(p + hlen, len - hlen, pkt, c, depth);
}

static enum mt_decode_result decode_gre(const uint8_t *p, uint32_t len,
					struct mt_pkt *pkt, struct mt_counters *c,
					unsigned depth)
{
	uint16_t flags, type;
	uint32_t hlen = 4, key = 0;

	if (len < 4)
		return ERR(c, gre_truncated);
	flags = mt_load_be16(p);
	type = mt_load_be16(p + 2);
	/* Version 1 is PPTP's enhanced GRE; the routing bit is RFC 1701 only. */
	if ((flags & 0x0007) != 0 || (flags & 0x4000))
		return ERR(c, gre_unsupported);
	if (flags & 0x8000)
		hlen += 4;
	if (flags & 0x2000) {
		if (len >= hlen + 4)
			key = mt_load_be32(p + hlen);
		hlen += 4;
	}
	if (flags & 0x1000)
		hlen += 4;
	if (len < hlen)
		return ERR(c, gre_truncated);
	MT_CTR_INC(c, decoder_gre);
	p += hlen;
	len -= hlen;
	switch (type) {
	case ETHERTYPE_IPV4:
	case ETHERTYPE_IPV6:
		if (enter_tunnel(MT_TUNNEL_GRE, key, pkt, c, &depth) ==
		    MT_DECODE_ERROR)
			return MT_DECODE_ERROR;
		return decode_ip(type, p, len, pkt, c, depth);
	case ETHERTYPE_TEB:
		if (enter_tunnel(MT_TUNNEL_GRE, key, pkt, c, &depth) ==
		    MT_DECODE_ERROR)
			return MT_DECODE_ERROR;
		return decode_eth(p, len, pkt, c, depth);
	case ETHERTYPE_ERSPAN2:
	case ETHERTYPE_ERSPAN3:
		return decode_erspan(type, p, len, (flags & 0x1000) != 0, pkt,
				     c, depth);
	default:
		return ERR(c, gre_unsupported);
	}
}

static enum mt_decode_result decode_l4(uint8_t proto, const uint8_t *p,
				       uint32_t len, struct mt_pkt *pkt,
				       struct mt_counters *c, unsigned depth)
{
	pkt->proto = proto;
	if (pkt->frag == MT_FRAG_LATER)
		return MT_DECODE_OTHER;
	switch (proto) {
	case IPPROTO_TCP_:
		return decode_tcp(p, len, pkt, c);
	case IPPROTO_UDP_:
		return decode_udp(p, len, pkt, c, depth);
	case IPPROTO_GRE_:
		if (pkt->frag != MT_FRAG_NONE)
			return MT_DECODE_OTHER;
		return decode_gre(p, len, pkt, c, depth);
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		MT_CTR_INC(c, decoder_icmp);
		return MT_DECODE_OTHER;
	default:
		MT_CTR_INC(c, decoder_other_l4);
		return MT_DECODE_OTHER;
	}
}

static enum mt_decode_result decode_ipv4(const uint8_t *p, uint32_t len,
					 struct mt_pkt *pkt,
					 struct mt_counters *c, unsigned depth)
{
	uint32_t ihl, tlen;
	uint16_t frag;

	if (len < 20)
		return ERR(c, ipv4_truncated);
	if (p[0] >> 4 != 4)
		return ERR(c, ipv4_bad_version);
	ihl = (uint32_t)(p[0] & 0x0f) * 4;
	if (ihl < 20 || ihl > len)
		return ERR(c, ipv4_bad_ihl);
	tlen = mt_load_be16(p + 2);
	if (tlen < ihl || (tlen > len && !pkt->truncated))
		return ERR(c, ipv4_bad_len);
	/* Shorter than the frame is Ethernet padding; longer only when the
	 * capture cut the frame, then decode what is there. */
	if (tlen > len) {
		pkt->payload_cut = tlen - len;
		tlen = len;
	}
	MT_CTR_INC(c, decoder_ipv4);
	pkt->ip_ver = 4;
	memset(pkt->src, 0, sizeof(pkt->src));
	memset(pkt->dst, 0, sizeof(pkt->dst));
	memcpy(pkt->src, p + 12, 4);
	memcpy(pkt->dst, p + 16, 4);
	frag = mt_load_be16(p + 6);
	if (frag & 0x1fff) {
		MT_CTR_INC(c, decoder_ipv4_frag_later);
		pkt->frag = MT_FRAG_LATER;
		pkt->proto = p[9];
		return MT_DECODE_OTHER;
	}
	if (frag & 0x2000) {
		MT_CTR_INC(c, decoder_ipv4_frag_first);
		pkt->frag = MT_FRAG_FIRST;
	}
	return decode_l4(p[9], p + ihl, tlen - ihl, pkt, c, depth);
}

static enum mt_decode_result decode_ipv6(const uint8_t *p, uint32_t len,
					 struct mt_pkt *pkt,
					 struct mt_counters *c, unsigned depth)
{
	uint32_t plen, off = 40;
	unsigned n = 0;
	uint8_t nh;

	if (len < 40)
		return ERR(c, ipv6_truncated);
	if (p[0] >> 4 != 6)
		return ERR(c, ipv6_bad_version);
	plen = mt_load_be16(p + 4);
	if (plen > len - 40) {
		if (!pkt->truncated)
			return ERR(c, ipv6_bad_len);
		pkt->payload_cut = plen - (len - 40);
		plen = len - 40;
	}
	MT_CTR_INC(c, decoder_ipv6);
	pkt->ip_ver = 6;
	memcpy(pkt->src, p + 8, 16);
	memcpy(pkt->dst, p + 24, 16);
	len = 40 + plen; /* drop link-layer padding */
	nh = p[6];
	for (;;) {
		uint32_t hlen;

		switch (nh) {
		case IPPROTO_HOPOPTS_:
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
		case IPPROTO_MH_:
		case IPPROTO_HIP_:
		case IPPROTO_SHIM6_:
		case IPPROTO_AH_:
		case IPPROTO_FRAGMENT_:
			break;
		case IPPROTO_NONE_:
		case IPPROTO_ESP_:
			pkt->proto = nh;
			MT_CTR_INC(c, decoder_other_l4);
			return MT_DECODE_OTHER;
		default:
			return decode_l4(nh, p + off, len - off, pkt, c, depth);
		}
		if (++n > MT_DECODE_MAX_IPV6_EXT)
			return ERR(c, ipv6_ext_too_many);
		if (len - off < 8)
			return ERR(c, ipv6_ext_truncated);
		if (nh == IPPROTO_FRAGMENT_) {
			uint16_t fo = mt_load_be16(p + off + 2);

			nh = p[off];
			off += 8;
			if (fo & 0xfff8) {
				MT_CTR_INC(c, decoder_ipv6_frag_later);
				pkt->frag = MT_FRAG_LATER;
				pkt->proto = nh;
				return MT_DECODE_OTHER;
			}
			if (fo & 0x0001) {
				MT_CTR_INC(c, decoder_ipv6_frag_first);
				pkt->frag = MT_FRAG_FIRST;
			}
			continue;
		}
		if (nh == IPPROTO_AH_)
			hlen = ((uint32_t)p[off + 1] + 2) * 4;
		else
			hlen = ((uint32_t)p[off + 1] + 1) * 8;
		if (hlen > len - off)
			return ERR(c, ipv6_ext_truncated);
		nh = p[off];
		off += hlen;
	}
}

static enum mt_decode_result decode_ip(uint16_t ethertype, const uint8_t *p,
				       uint32_t len, struct mt_pkt *pkt,
				       struct mt_counters *c, unsigned depth)
{
	switch (ethertype) {
	case ETHERTYPE_IPV4:
		return decode_ipv4(p, len, pkt, c, depth);
	case ETHERTYPE_IPV6:
		return decode_ipv6(p, len, pkt, c, depth);
	default:
		MT_CTR_INC(c, decoder_other_l3);
		return MT_DECODE_OTHER;
	}
}

static enum mt_decode_result decode_eth(const uint8_t *p, uint32_t len,
					struct mt_pkt *pkt, struct mt_counters *c,
					unsigned depth)
{
	uint16_t type;
	uint32_t off = ETH_HLEN;
	unsigned tags = 0;

	if (len < ETH_HLEN)
		return ERR(c, eth_truncated);
	MT_CTR_INC(c, decoder_ethernet);
	type = mt_load_be16(p + 12);
	while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ ||
	       type == ETHERTYPE_QINQ_OLD) {
		if (++tags > MT_DECODE_MAX_VLAN_WALK)
			return ERR(c, vlan_too_many);
		if (len - off < 4)
			return ERR(c, vlan_truncated);
		MT_CTR_INC(c, decoder_vlan);
		if (pkt->vlan_count < MT_DECODE_MAX_VLAN)
			pkt->vlan[pkt->vlan_count++] =
				mt_load_be16(p + off) & 0x0fff;
		type = mt_load_be16(p + off + 2);
		off += 4;
	}
	return decode_ip(type, p + off, len - off, pkt, c, depth);
}

static uint16_t raw_ethertype(const uint8_t *p, uint32_t len)
{
	if (len < 1)
		return 0;
	switch (p[0] >> 4) {
	case 4:
		return ETHERTYPE_IPV4;
	case 6:
		return ETHERTYPE_IPV6;
	default:
		return 0;
	}
}

/*
 * The common case on a mail segment, Ethernet (optionally one VLAN tag) +
 * IPv4 without options or fragmentation + TCP or UDP (not VXLAN), decoded
 * in one straight run. Returns MT_DECODE_ERROR to mean "not the common
 * case, use the general decoder"; it bumps counters only when it succeeds,
 * exactly as the general path would.
 */
static inline enum mt_decode_result fast_eth_ipv4(const uint8_t *f, uint32_t len,
						  struct mt_pkt *pkt,
						  struct mt_counters *c)
{
	const uint8_t *ip = f + ETH_HLEN;
	const uint8_t *l4;
	uint16_t type = mt_load_be16(f + 12);
	uint32_t tlen, hlen, avail = len - ETH_HLEN;
	bool tagged = false;

	if (type == ETHERTYPE_VLAN) {
		if (avail < 4)
			return MT_DECODE_ERROR;
		type = mt_load_be16(f + 16);
		ip += 4;
		avail -= 4;
		tagged = true;
	}
	if (type != ETHERTYPE_IPV4 || avail < 40 || ip[0] != 0x45 ||
	    (mt_load_be16(ip + 6) & 0x3fff) != 0)
		return MT_DECODE_ERROR;
	tlen = mt_load_be16(ip + 2);
	if (tlen < 40 || tlen > avail)
		return MT_DECODE_ERROR;
	l4 = ip + 20;
	if (ip[9] == IPPROTO_TCP_) {
		hlen = (uint32_t)(l4[12] >> 4) * 4;
		if (hlen < 20 || hlen > tlen - 20)
			return MT_DECODE_ERROR;
		pkt->seq = mt_load_be32(l4 + 4);
		pkt->ack = mt_load_be32(l4 + 8);
		pkt->tcp_flags = l4[13];
		pkt->win = mt_load_be16(l4 + 14);
		if (hlen > 20)
			tcp_options(l4 + 20, hlen - 20, pkt, c);
	} else if (ip[9] == IPPROTO_UDP_) {
		uint32_t ulen = mt_load_be16(l4 + 4);

		if (ulen < 8 || ulen > tlen - 20 ||
		    mt_load_be16(l4 + 2) == MT_VXLAN_PORT)
			return MT_DECODE_ERROR;
		hlen = 8;
		tlen = 20 + ulen;
	} else {
		return MT_DECODE_ERROR;
	}
	MT_CTR_INC(c, decoder_ethernet);
	if (tagged) {
		MT_CTR_INC(c, decoder_vlan);
		pkt->vlan_count = 1;
		pkt->vlan[0] = mt_load_be16(f + 14) & 0x0fff;
	}
	MT_CTR_INC(c, decoder_ipv4);
	pkt->ip_ver = 4;
	pkt->proto = ip[9];
	memcpy(pkt->src, ip + 12, 4);
	memcpy(pkt->dst, ip + 16, 4);
	pkt->sport = mt_load_be16(l4);
	pkt->dport = mt_load_be16(l4 + 2);
	pkt->payload = l4 + hlen;
	pkt->payload_len = tlen - 20 - hlen;
	if (ip[9] == IPPROTO_TCP_) {
		MT_CTR_INC(c, decoder_tcp);
		return MT_DECODE_TCP;
	}
	MT_CTR_INC(c, decoder_udp);
	return MT_DECODE_UDP;
}

enum mt_decode_result mt_decode_general(enum mt_link link, const uint8_t *frame,
					uint32_t caplen, uint32_t wirelen,
					uint64_t ts_ns, struct mt_pkt *pkt,
					struct mt_counters *c)
{
	uint32_t fam;

	memset(pkt, 0, offsetof(struct mt_pkt, seq));
	pkt->seq = pkt->ack = 0;
	pkt->win = pkt->tcp_mss = 0;
	pkt->tcp_wscale = 0xff;
	pkt->ts_ns = ts_ns;
	pkt->wire_len = wirelen > caplen ? wirelen : caplen;
	if (caplen < wirelen) {
		pkt->truncated = 1;
		MT_CTR_INC(c, capture_truncated);
	}

	switch (link) {
	case MT_LINK_ETHERNET:
		return decode_eth(frame, caplen, pkt, c, 0);
	case MT_LINK_RAW:
		return decode_ip(raw_ethertype(frame, caplen), frame, caplen,
				 pkt, c, 0);
	case MT_LINK_LINUX_SLL:
		if (caplen < 16)
			return ERR(c, eth_truncated);
		return decode_ip(mt_load_be16(frame + 14), frame + 16,
				 caplen - 16, pkt, c, 0);
	case MT_LINK_LINUX_SLL2:
		if (caplen < 20)
			return ERR(c, eth_truncated);
		return decode_ip(mt_load_be16(frame), frame + 20, caplen - 20,
				 pkt, c, 0);
	case MT_LINK_NULL:
		if (caplen < 4)
			return ERR(c, eth_truncated);
		/* Host byte order of the capturing machine: accept both. */
		memcpy(&fam, frame, 4);
		if (fam == 2 || fam == 0x02000000)
			return decode_ip(ETHERTYPE_IPV4, frame + 4, caplen - 4,
					 pkt, c, 0);
		return decode_ip(raw_ethertype(frame + 4, caplen - 4),
				 frame + 4, caplen - 4, pkt, c, 0);
	default:
		return ERR(c, link_unsupported);
	}
}

enum mt_decode_result mt_decode(enum mt_link link, const uint8_t *frame,
				uint32_t caplen, uint32_t wirelen,
				uint64_t ts_ns, struct mt_pkt *pkt,
				struct mt_counters *c)
{
	if (likely(link == MT_LINK_ETHERNET && caplen >= wirelen &&
		   caplen >= ETH_HLEN + 40)) {
		enum mt_decode_result r;

		/* Only what the fast path does not set itself. */
		memset(pkt->src + 4, 0, 12);
		memset(pkt->dst + 4, 0, 12);
		pkt->ts_ns = ts_ns;
		pkt->wire_len = caplen;
		pkt->vlan_count = 0;
		pkt->tunnel = MT_TUNNEL_NONE;
		pkt->tunnel_id = 0;
		pkt->frag = MT_FRAG_NONE;
		pkt->truncated = 0;
		pkt->payload_cut = 0;
		pkt->tcp_flags = 0;
		pkt->tcp_wscale = 0xff;
		pkt->tcp_mss = 0;
		pkt->seq = pkt->ack = 0;
		pkt->win = 0;
		r = fast_eth_ipv4(frame, caplen, pkt, c);
		if (likely(r != MT_DECODE_ERROR))
			return r;
	}

	return mt_decode_general(link, frame, caplen, wirelen, ts_ns, pkt, c);
}

void mt_addr_format(const uint8_t addr[16], uint8_t ip_ver, char *out,
		    size_t outlen)
{
	if (ip_ver == 4) {
		snprintf(out, outlen, "%u.%u.%u.%u", addr[0], addr[1], addr[2],
			 addr[3]);
		return;
	}
	if (!inet_ntop(AF_INET6, addr, out, (socklen_t)outlen) && outlen)
		out[0] = '\0';
}
