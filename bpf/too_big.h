/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * "Fragmentation needed" (ICMP) / "packet too big" (ICMPv6), sent back
 * to a packet's sender when the way on has a smaller MTU and the packet
 * may not be fragmented. It quotes the packet as it arrived, before any
 * address rewrite, so the sender's stack finds its own connection and
 * lowers its path MTU; left to the stack, the answer would quote the
 * backend's address and be ignored, a path-MTU black hole.
 *
 * The frame is turned around in place: grown at the head by the new IP
 * and ICMP headers, cut at the tail to the quote, and sent back out of
 * the port it came in on.
 */
#ifndef SLUICE_BPF_TOO_BIG_H
#define SLUICE_BPF_TOO_BIG_H

#include "parse.h"
#include "csum.h"

#define ICMP_FRAG_NEEDED 4

/* The ICMP error header: type, code, checksum, then an MTU field. */
struct too_big_icmp4 {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 unused;
	__be16 mtu;
};

struct too_big_icmp6 {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 mtu;
};

/*
 * Bytes of the offending IP packet quoted: the whole IP header (IPv4
 * with the most options; IPv6 with extension headers) and the start of
 * the L4 header, which the sender needs to find its connection.
 */
#define TOO_BIG_QUOTE4 68
#define TOO_BIG_QUOTE6 256
#define TOO_BIG_HDR4 (sizeof(struct iphdr) + sizeof(struct too_big_icmp4))
#define TOO_BIG_HDR6 (sizeof(struct ipv6hdr) + sizeof(struct too_big_icmp6))
#define TOO_BIG_TTL 64

static __always_inline __u16 csum_finish(__s64 sum)
{
	return ~csum_fold32((__u32)sum);
}

/*
 * Put the L2 header (MACs swapped, VLAN tags kept) in front of the
 * headers being built; the old one starts `hdr` bytes in.
 */
static __always_inline int turn_l2(void *data, void *end, __u32 l3_off,
				   __u32 hdr)
{
	__u8 *d = data, *s = (__u8 *)data + hdr;

	if ((void *)(s + 22) > end)
		return -1;
	__builtin_memcpy(d, s + 6, 6);
	__builtin_memcpy(d + 6, s, 6);
	__builtin_memcpy(d + 12, s + 12, 2);
	if (l3_off >= 18)
		__builtin_memcpy(d + 14, s + 14, 4);
	if (l3_off >= 22)
		__builtin_memcpy(d + 18, s + 18, 4);
	return 0;
}

/*
 * The frame turned around, as [L2][hdr new bytes][quote bytes of the IP
 * packet as it came]: grown at the head, its L2 header rebuilt there,
 * cut at the tail. The caller fills the new headers. 0, or -1 if the
 * packet is shorter than the quote or the frame cannot be resized.
 */
static __always_inline int turn_around(struct xdp_md *ctx, __u32 l3_off,
				       __u32 hdr, __u32 quote)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if (data + l3_off + quote > end)
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)hdr))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (turn_l2(data, end, l3_off, hdr))
		return -1;
	if (bpf_xdp_adjust_tail(ctx,
				(int)(l3_off + hdr + quote) - (int)(end - data)))
		return -1;
	return 0;
}

static __always_inline int too_big4(struct xdp_md *ctx, __u32 l3_off,
				    __u32 mtu)
{
	struct too_big_icmp4 *ic;
	struct iphdr *ip, *orig;
	void *data, *end;
	__s64 sum;

	if (turn_around(ctx, l3_off, TOO_BIG_HDR4, TOO_BIG_QUOTE4))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	ip = ptr_at(data, l3_off);
	ic = (void *)(ip + 1);
	orig = (void *)(ic + 1); /* the quote: the packet as it came */
	if ((void *)orig + TOO_BIG_QUOTE4 > end)
		return XDP_DROP;

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(TOO_BIG_HDR4 + TOO_BIG_QUOTE4);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = TOO_BIG_TTL;
	ip->protocol = IPPROTO_ICMP;
	ip->check = 0;
	ip->saddr = orig->daddr;
	ip->daddr = orig->saddr;
	ip->check = csum_finish(bpf_csum_diff(NULL, 0, (void *)ip,
					      sizeof(*ip), 0));

	ic->type = ICMP_DEST_UNREACH;
	ic->code = ICMP_FRAG_NEEDED;
	ic->checksum = 0;
	ic->unused = 0;
	ic->mtu = bpf_htons(mtu > 0xffff ? 0xffff : mtu);
	sum = bpf_csum_diff(NULL, 0, (void *)ic,
			    sizeof(*ic) + TOO_BIG_QUOTE4, 0);
	ic->checksum = csum_finish(sum);
	return XDP_TX;
}

static __always_inline int too_big6(struct xdp_md *ctx, __u32 l3_off,
				    __u32 mtu)
{
	struct ipv6hdr *ip6, *orig;
	struct too_big_icmp6 *ic;
	void *data, *end;
	__be32 tail[2];
	__s64 sum;

	if (turn_around(ctx, l3_off, TOO_BIG_HDR6, TOO_BIG_QUOTE6))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	ip6 = ptr_at(data, l3_off);
	ic = (void *)(ip6 + 1);
	orig = (void *)(ic + 1); /* the quote: the packet as it came */
	if ((void *)orig + TOO_BIG_QUOTE6 > end)
		return XDP_DROP;

	*(__be32 *)ip6 = bpf_htonl(0x60000000);
	ip6->payload_len = bpf_htons(sizeof(*ic) + TOO_BIG_QUOTE6);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = TOO_BIG_TTL;
	__builtin_memcpy(&ip6->saddr, &orig->daddr, 16);
	__builtin_memcpy(&ip6->daddr, &orig->saddr, 16);

	ic->type = ICMPV6_PKT_TOOBIG;
	ic->code = 0;
	ic->checksum = 0;
	ic->mtu = bpf_htonl(mtu);
	/* pseudo-header: addresses, upper-layer length, next header */
	tail[0] = bpf_htonl(sizeof(*ic) + TOO_BIG_QUOTE6);
	tail[1] = bpf_htonl(IPPROTO_ICMPV6);
	sum = bpf_csum_diff(NULL, 0, (void *)&ip6->saddr, 32, 0);
	sum = bpf_csum_diff(NULL, 0, tail, sizeof(tail), (__u32)sum);
	sum = bpf_csum_diff(NULL, 0, (void *)ic, sizeof(*ic) + TOO_BIG_QUOTE6,
			    (__u32)sum);
	ic->checksum = csum_finish(sum);
	return XDP_TX;
}

/*
 * Answer "too big" for the packet in ctx, as received (l3_off: its L2
 * header's length). Returns XDP_TX, or XDP_DROP if it cannot be built.
 */
static __attribute__((noinline)) int send_too_big(struct xdp_md *ctx,
						  __u32 l3_off, __u32 v6,
						  __u32 mtu)
{
	/* The parser's L2 lengths: Ethernet and up to two VLAN tags. */
	if (l3_off < 14 || l3_off > 22)
		return XDP_DROP;
	/* ...bounded where the verifier sees it, for the packet offsets */
	asm volatile("%0 &= 31" : "+r"(l3_off));
	return v6 ? too_big6(ctx, l3_off, mtu) : too_big4(ctx, l3_off, mtu);
}

#endif /* SLUICE_BPF_TOO_BIG_H */
