/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Address rewriting and the way out: fib lookup, MAC rewrite, redirect. */
#ifndef SLUICE_BPF_XMIT_H
#define SLUICE_BPF_XMIT_H

#include "parse.h"
#include "csum.h"
#include "stats.h"
#include "too_big.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* TTL / hop limit of the packet, for the "would expire here" check. */
static __always_inline int ttl_expiring(void *data, void *end, struct pkt *p)
{
	if (p->v6) {
		struct ipv6hdr *ip6 = ptr_at(data, p->l3_off);

		if ((void *)(ip6 + 1) > end)
			return 1;
		return ip6->hop_limit <= 1;
	} else {
		struct iphdr *ip = ptr_at(data, p->l3_off);

		if ((void *)(ip + 1) > end)
			return 1;
		return ip->ttl <= 1;
	}
}

/*
 * Replace the destination (dst_side) or source address and port of a
 * TCP/UDP packet, patching the IPv4 header checksum and the L4 checksum
 * (which covers the pseudo-header) incrementally.
 */
static __always_inline int rewrite_l3l4(void *data, void *end, struct pkt *p,
					int dst_side, const __u8 *addr,
					__be16 port)
{
	__u8 *field;
	__u32 acc;
	__be16 *pfield;
	__u16 *check;

	if (p->v6) {
		struct ipv6hdr *ip6 = ptr_at(data, p->l3_off);

		if ((void *)(ip6 + 1) > end)
			return -1;
		field = dst_side ? (__u8 *)&ip6->daddr : (__u8 *)&ip6->saddr;
		acc = csum_acc_addr(0, field, addr, 1);
		__builtin_memcpy(field, addr, 16);
	} else {
		struct iphdr *ip = ptr_at(data, p->l3_off);

		if ((void *)(ip + 1) > end)
			return -1;
		field = dst_side ? (__u8 *)&ip->daddr : (__u8 *)&ip->saddr;
		acc = csum_acc_addr(0, field, addr + 12, 0);
		ip->check = csum_apply(ip->check, acc);
		__builtin_memcpy(field, addr + 12, 4);
	}
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = ptr_at(data, p->l4_off);

		if ((void *)(th + 1) > end)
			return -1;
		pfield = dst_side ? &th->dest : &th->source;
		check = &th->check;
		acc = csum_acc16(acc, *pfield, port);
		*check = csum_apply(*check, acc);
	} else {
		struct udphdr *uh = ptr_at(data, p->l4_off);

		if ((void *)(uh + 1) > end)
			return -1;
		pfield = dst_side ? &uh->dest : &uh->source;
		acc = csum_acc16(acc, *pfield, port);
		if (uh->check)
			uh->check = csum_apply_udp(uh->check, acc);
	}
	*pfield = port;
	return 0;
}

static __always_inline void decrement_ttl(void *data, void *end,
					  struct pkt *p)
{
	if (p->v6) {
		struct ipv6hdr *ip6 = ptr_at(data, p->l3_off);

		if ((void *)(ip6 + 1) <= end)
			ip6->hop_limit--;
	} else {
		struct iphdr *ip = ptr_at(data, p->l3_off);
		__u16 old, new;

		if ((void *)(ip + 1) > end)
			return;
		__builtin_memcpy(&old, &ip->ttl, 2);
		ip->ttl--;
		__builtin_memcpy(&new, &ip->ttl, 2);
		ip->check = csum_apply(ip->check, csum_acc16(0, old, new));
	}
}

/*
 * The clock of the next-hop cache: CLOCK_MONOTONIC at tick resolution,
 * plenty for a one-second lifetime and much cheaper per packet than the
 * exact clock (no clock-source read; on a VM that read is a large part
 * of a packet's cost). Timestamps that measure latency use the exact one.
 */
static __always_inline __u64 nexthop_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

/* An address rewrite that xmit() makes once the way out is known. */
struct l3l4_rewrite {
	const __u8 *addr; /* 16 bytes, IPv4-mapped for IPv4 */
	__be16 port;
	__u8 dst_side;
};

/* Rewrite (if asked) and, acting as a router, take one off the TTL. */
static __always_inline int finish_rewrite(void *data, void *end,
					  struct pkt *p,
					  const struct l3l4_rewrite *rw,
					  int route)
{
	if (rw && rewrite_l3l4(data, end, p, rw->dst_side, rw->addr, rw->port))
		return -1;
	if (route)
		decrement_ttl(data, end, p);
	return 0;
}

static __always_inline int dont_fragment(void *data, void *end,
					 const struct pkt *p)
{
	struct iphdr *ip = ptr_at(data, p->l3_off);

	if (p->v6)
		return 1; /* routers never fragment IPv6 */
	if ((void *)(ip + 1) > end)
		return 1;
	return !!(ip->frag_off & bpf_htons(0x4000));
}

/*
 * Whether the packet fits its ingress port's MTU, as one frame must.
 * In generic (skb) mode the program also sees GRO aggregates, bigger
 * than any frame: those are the stack's to split on the way out, not
 * a sender's to be told "too big".
 */
static __always_inline int arrived_whole(struct xdp_md *ctx,
					 const struct pkt *p)
{
	__u32 len = p->l4_end - p->l3_off;

	return bpf_check_mtu(ctx, 0, &len, 0, 0) == BPF_MTU_CHK_RET_SUCCESS;
}

/*
 * Route toward fib_dst (the packet's destination, or for dsr the
 * backend's own address), apply `rw`, and redirect. The route is looked
 * up first and the packet rewritten after, so a packet that cannot go
 * on is still the one that came in: a too-big one is answered quoting
 * the addresses its sender knows. `route` says we act as a router
 * (nat): the TTL goes down by one. `as_received` says the packet is not
 * modified yet (only then can it be quoted). A next hop not yet
 * resolved hands the packet, rewritten, to the stack, which resolves
 * and forwards it; the next packets then take the fast path.
 */
static __always_inline int xmit(struct xdp_md *ctx, struct pkt *p,
				const __u8 *fib_dst, int route,
				const struct l3l4_rewrite *rw, int as_received,
				struct sluice_backend_stats *bs,
				struct sluice_service_stats *ss,
				const struct flow_view *fv, __u32 svc_id,
				__u32 backend_id, __u8 colour,
				struct sluice_nexthop *nh, __u64 now)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth = data;
	int rc;

	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	/*
	 * The cache answers only for packets that fit the egress MTU it
	 * recorded; a bigger one asks the fib, which says frag-needed.
	 */
	if (nh && nh->expires_ns > now &&
	    p->l4_end - p->l3_off <= nh->mtu) {
		if (finish_rewrite(data, end, p, rw, route))
			return XDP_ABORTED;
		__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
		return bpf_redirect(nh->ifindex, 0);
	}
	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = p->proto;
	if (p->v6) {
		struct ipv6hdr *ip6 = ptr_at(data, p->l3_off);

		if ((void *)(ip6 + 1) > end)
			return XDP_ABORTED;
		fib.family = AF_INET6;
		fib.flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff);
		fib.tot_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
		/* the source as it will leave */
		if (rw && !rw->dst_side)
			__builtin_memcpy(fib.ipv6_src, rw->addr, 16);
		else
			__builtin_memcpy(fib.ipv6_src, &ip6->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, fib_dst, 16);
	} else {
		struct iphdr *ip = ptr_at(data, p->l3_off);

		if ((void *)(ip + 1) > end)
			return XDP_ABORTED;
		fib.family = AF_INET;
		fib.tos = ip->tos;
		fib.tot_len = bpf_ntohs(ip->tot_len);
		if (rw && !rw->dst_side)
			__builtin_memcpy(&fib.ipv4_src, rw->addr + 12, 4);
		else
			fib.ipv4_src = ip->saddr;
		__builtin_memcpy(&fib.ipv4_dst, fib_dst + 12, 4);
	}

	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		if (nh) {
			/*
			 * Another CPU may read it meanwhile: invalid while
			 * being written, valid only once whole.
			 */
			nh->expires_ns = 0;
			asm volatile("" ::: "memory");
			nh->ifindex = fib.ifindex;
			__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
			__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
			nh->mtu = fib.mtu_result;
			asm volatile("" ::: "memory");
			nh->expires_ns = now + SLUICE_NEXTHOP_TTL_NS;
		}
		if (finish_rewrite(data, end, p, rw, route))
			return XDP_ABORTED;
		__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
		return bpf_redirect(fib.ifindex, 0);
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		if (finish_rewrite(data, end, p, rw, 0))
			return XDP_ABORTED;
		return pass(SLUICE_PASS_NO_NEIGH);
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
		count_drop(bs, ss, SLUICE_DROP_NO_ROUTE, svc_id, backend_id,
			   colour, 0, fv);
		return XDP_DROP;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		if (as_received && dont_fragment(data, end, p) &&
		    arrived_whole(ctx, p)) {
			count_drop(bs, ss, SLUICE_DROP_TOO_BIG, svc_id,
				   backend_id, colour, fib.mtu_result, fv);
			return send_too_big(ctx, p->l3_off, p->v6,
					    fib.mtu_result);
		}
		/* fall through: the stack fragments it on its way */
	default:
		/*
		 * Not forwarded (a backend on this host, no route) or to be
		 * fragmented: the stack decides, on the rewritten packet.
		 */
		if (finish_rewrite(data, end, p, rw, 0))
			return XDP_ABORTED;
		return pass(SLUICE_PASS_FIB);
	}
}

#endif /* SLUICE_BPF_XMIT_H */
