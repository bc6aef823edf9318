/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Header parsing. Each parser checks bounds before every read and
 * reports, instead of a verdict, why it stopped: the caller passes
 * anything it cannot parse to the stack untouched.
 */
#ifndef SLUICE_BPF_PARSE_H
#define SLUICE_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "sluice_abi.h"

#define PARSE_OK (-1) /* any value that is not an enum sluice_pass_reason */

/*
 * Offsets come back from the stack as plain scalars; masking gives the
 * verifier a bound for pointer arithmetic. Headers that end beyond it
 * are never parsed (frames that long pass as malformed).
 */
#define PKT_OFF_MASK 0x3fff

static __always_inline void *ptr_at(void *data, __u32 off)
{
	return data + (off & PKT_OFF_MASK);
}

#ifndef IPPROTO_FRAGMENT_HDR
#define IPPROTO_FRAGMENT_HDR 44
#endif
/* From linux/icmp.h and icmpv6.h, which pull in libc headers. */
#define ICMP_DEST_UNREACH 3
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PKT_TOOBIG 2
#define IP_FRAG_OFFSET_MASK 0x1fff
#define IP6_FRAG_OFFSET_MASK 0xfff8

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* Layout of one frame, as offsets from ctx->data. */
struct pkt {
	__u16 l3_off;
	__u16 l4_off;
	__u16 l4_end; /* end of the IP payload: frame padding excluded */
	__u8 v6;
	__u8 proto;
	__u8 tcp_flags; /* TCP byte 13: CWR ECE URG ACK PSH RST SYN FIN */
	__u8 pad;
	__u16 payload_off; /* first L4 payload byte */
	struct sluice_flow_key key; /* src, dst, ports, proto as on the wire */
};

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

static __always_inline void addr_from_v4(__u8 out[16], __be32 a)
{
	__u32 w[4] = { 0, 0, bpf_htonl(0xffff), a };

	__builtin_memcpy(out, w, 16);
}

static __always_inline int addr_eq(const __u8 *a, const __u8 *b)
{
	__u64 x[2], y[2];

	__builtin_memcpy(x, a, 16);
	__builtin_memcpy(y, b, 16);
	return x[0] == y[0] && x[1] == y[1];
}

/* Ethernet and up to SLUICE_MAX_VLANS tags; returns the L3 ethertype. */
static __always_inline int parse_eth(void *data, void *end, struct pkt *p,
				     __be16 *l3_proto)
{
	struct ethhdr *eth = data;
	struct vlan_hdr *vh;
	__u16 off = sizeof(*eth);
	__be16 proto;
	int i;

	if ((void *)(eth + 1) > end)
		return SLUICE_PASS_TRUNCATED;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < SLUICE_MAX_VLANS; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = data + off;
		if ((void *)(vh + 1) > end)
			return SLUICE_PASS_TRUNCATED;
		proto = vh->encap_proto;
		off += sizeof(*vh);
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return SLUICE_PASS_VLAN_DEPTH;
	p->l3_off = off;
	*l3_proto = proto;
	return PARSE_OK;
}

static __always_inline int parse_ipv4(void *data, void *end, struct pkt *p)
{
	struct iphdr *ip = data + p->l3_off;
	__u32 hlen, tot;

	if ((void *)(ip + 1) > end)
		return SLUICE_PASS_TRUNCATED;
	if (ip->version != 4 || ip->ihl < 5)
		return SLUICE_PASS_MALFORMED;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < hlen)
		return SLUICE_PASS_MALFORMED;
	if ((void *)ip + tot > end)
		return SLUICE_PASS_TRUNCATED;
	if (ip->frag_off & bpf_htons(IP_FRAG_OFFSET_MASK))
		return SLUICE_PASS_FRAGMENT;
	p->v6 = 0;
	p->proto = ip->protocol;
	p->l4_off = p->l3_off + hlen;
	p->l4_end = p->l3_off + tot;
	addr_from_v4(p->key.src, ip->saddr);
	addr_from_v4(p->key.dst, ip->daddr);
	return PARSE_OK;
}

struct ipv6_opt_hdr_min {
	__u8 nexthdr;
	__u8 hdrlen;
	__be16 frag_off; /* fragment header only */
};

static __always_inline int addr_is_v4mapped(const void *addr)
{
	const __u32 *w = addr;

	return !(w[0] | w[1]) && w[2] == bpf_htonl(0xffff);
}

static __always_inline int parse_ipv6(void *data, void *end, struct pkt *p)
{
	struct ipv6hdr *ip6 = data + p->l3_off;
	struct ipv6_opt_hdr_min *opt;
	__u32 off, plen;
	__u8 next;
	int i;

	if ((void *)(ip6 + 1) > end)
		return SLUICE_PASS_TRUNCATED;
	if (ip6->version != 6)
		return SLUICE_PASS_MALFORMED;
	/*
	 * IPv4 state is keyed by v4-mapped addresses: an IPv6 packet
	 * spelling one (::ffff:0:0/96, either side) would match it. Linux
	 * drops such packets as well; leave them to it.
	 */
	if (addr_is_v4mapped(&ip6->saddr) || addr_is_v4mapped(&ip6->daddr))
		return SLUICE_PASS_MALFORMED;
	plen = bpf_ntohs(ip6->payload_len);
	if ((void *)(ip6 + 1) + plen > end)
		return SLUICE_PASS_TRUNCATED;
	next = ip6->nexthdr;
	off = p->l3_off + sizeof(*ip6);
#pragma unroll
	for (i = 0; i < SLUICE_MAX_EXT_HDRS; i++) {
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING &&
		    next != IPPROTO_DSTOPTS && next != IPPROTO_FRAGMENT_HDR)
			break;
		opt = data + off;
		if ((void *)(opt + 1) > end)
			return SLUICE_PASS_TRUNCATED;
		if (next == IPPROTO_FRAGMENT_HDR) {
			if (opt->frag_off & bpf_htons(IP6_FRAG_OFFSET_MASK))
				return SLUICE_PASS_FRAGMENT;
			off += 8;
		} else {
			off += (opt->hdrlen + 1) * 8;
		}
		next = opt->nexthdr;
		if (off > p->l3_off + sizeof(*ip6) + plen)
			return SLUICE_PASS_MALFORMED;
	}
	if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING ||
	    next == IPPROTO_DSTOPTS || next == IPPROTO_FRAGMENT_HDR)
		return SLUICE_PASS_EXT_HDRS;
	p->v6 = 1;
	p->proto = next;
	p->l4_off = off;
	p->l4_end = p->l3_off + sizeof(*ip6) + plen;
	__builtin_memcpy(p->key.src, &ip6->saddr, 16);
	__builtin_memcpy(p->key.dst, &ip6->daddr, 16);
	return PARSE_OK;
}

/* TCP or UDP header: ports, flags and where the payload starts. */
static __always_inline int parse_l4(void *data, void *end, struct pkt *p)
{
	__u32 off = p->l4_off;

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = data + off;
		__u32 doff;

		if ((void *)(th + 1) > end)
			return SLUICE_PASS_TRUNCATED;
		doff = th->doff * 4;
		if (doff < sizeof(*th) || off + doff > p->l4_end)
			return SLUICE_PASS_MALFORMED;
		p->key.sport = th->source;
		p->key.dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		p->payload_off = off + doff;
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = data + off;

		if ((void *)(uh + 1) > end)
			return SLUICE_PASS_TRUNCATED;
		if (off + sizeof(*uh) > p->l4_end)
			return SLUICE_PASS_MALFORMED;
		/* A zero checksum is illegal in IPv6 and cannot be patched. */
		if (p->v6 && uh->check == 0)
			return SLUICE_PASS_MALFORMED;
		p->key.sport = uh->source;
		p->key.dport = uh->dest;
		p->payload_off = off + sizeof(*uh);
	} else {
		return SLUICE_PASS_PROTO;
	}
	if (p->l4_end > PKT_OFF_MASK)
		return SLUICE_PASS_MALFORMED;
	p->key.proto = p->proto;
	return PARSE_OK;
}

#endif /* SLUICE_BPF_PARSE_H */
