/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * ICMP errors about steered flows, found through the header they quote.
 *
 * Toward a VIP (a router on the client side answering a packet the VIP
 * sent: unreachable, fragmentation needed, packet too big): sent to the
 * flow's backend, so path-MTU discovery keeps working. In nat mode the
 * quoted source is rewritten to the backend, the address it knows.
 *
 * From the backend side (about a packet a backend received): counted as
 * an error of that backend and translated back to the VIP for the client.
 *
 * The quoted L4 checksum is left as quoted: receivers do not check it.
 * The IPv4 header checksums and the ICMP checksum are kept valid.
 */
#ifndef SLUICE_BPF_ICMP_H
#define SLUICE_BPF_ICMP_H

#include "xmit.h"

#define ICMP_ERR_HDR 8 /* type, code, checksum, 4 bytes unused/MTU */

struct icmp_inner {
	__u16 ip_off; /* the quoted IP header */
	__u16 l4_off; /* its first L4 bytes: the ports */
	struct sluice_flow_key key; /* quoted tuple, in its own direction */
};

static __always_inline int icmp_is_error(void *data, void *end,
					 const struct pkt *p)
{
	__u8 *type = ptr_at(data, p->l4_off);

	/* Within the IP packet, not just the frame (trailing padding). */
	if ((void *)(type + ICMP_ERR_HDR) > end ||
	    p->l4_off + ICMP_ERR_HDR > p->l4_end)
		return -1;
	if (p->v6)
		return *type == ICMPV6_DEST_UNREACH ||
		       *type == ICMPV6_PKT_TOOBIG;
	return *type == ICMP_DEST_UNREACH;
}

static __always_inline int parse_inner(void *data, void *end,
				       const struct pkt *p,
				       struct icmp_inner *in)
{
	__be16 *ports;
	__u32 off = p->l4_off + ICMP_ERR_HDR;

	in->ip_off = off;
	if (p->v6) {
		struct ipv6hdr *ip6 = ptr_at(data, off);

		if ((void *)(ip6 + 1) > end ||
		    off + sizeof(*ip6) > p->l4_end)
			return SLUICE_PASS_TRUNCATED;
		if (ip6->version != 6)
			return SLUICE_PASS_MALFORMED;
		in->key.proto = ip6->nexthdr;
		__builtin_memcpy(in->key.src, &ip6->saddr, 16);
		__builtin_memcpy(in->key.dst, &ip6->daddr, 16);
		off += sizeof(*ip6);
	} else {
		struct iphdr *ip = ptr_at(data, off);

		if ((void *)(ip + 1) > end || off + sizeof(*ip) > p->l4_end)
			return SLUICE_PASS_TRUNCATED;
		if (ip->version != 4 || ip->ihl < 5)
			return SLUICE_PASS_MALFORMED;
		in->key.proto = ip->protocol;
		addr_from_v4(in->key.src, ip->saddr);
		addr_from_v4(in->key.dst, ip->daddr);
		off += ip->ihl * 4;
	}
	if (in->key.proto != IPPROTO_TCP && in->key.proto != IPPROTO_UDP)
		return SLUICE_PASS_ICMP_NO_FLOW;
	ports = ptr_at(data, off);
	if ((void *)(ports + 2) > end || off + 4 > p->l4_end)
		return SLUICE_PASS_TRUNCATED;
	in->l4_off = off;
	in->key.sport = ports[0];
	in->key.dport = ports[1];
	in->key.pad[0] = in->key.pad[1] = in->key.pad[2] = 0;
	return PARSE_OK;
}

/*
 * Rewrite an ICMP error: forward (toward the backend) replaces the outer
 * destination and the quoted source; reverse (toward the client) replaces
 * the outer source when it is the backend, and the quoted destination.
 */
static __always_inline int rewrite_icmp(void *data, void *end, struct pkt *p,
					struct icmp_inner *in, int forward,
					const __u8 *addr, __be16 port)
{
	__u8 *outer, *inner;
	__be16 *pfield;
	__u16 *icheck;
	__u32 acc_o = 0, acc_i, acc;
	int touch_outer = forward;

	icheck = ptr_at(data, p->l4_off + 2);
	pfield = ptr_at(data, in->l4_off + (forward ? 0 : 2));
	if ((void *)(icheck + 1) > end || (void *)(pfield + 1) > end)
		return -1;

	if (p->v6) {
		struct ipv6hdr *ip6 = ptr_at(data, p->l3_off);
		struct ipv6hdr *iip6 = ptr_at(data, in->ip_off);

		if ((void *)(ip6 + 1) > end || (void *)(iip6 + 1) > end)
			return -1;
		outer = forward ? (__u8 *)&ip6->daddr : (__u8 *)&ip6->saddr;
		inner = forward ? (__u8 *)&iip6->saddr : (__u8 *)&iip6->daddr;
		if (!forward)
			touch_outer = addr_eq(outer, inner);
		if (touch_outer) {
			acc_o = csum_acc_addr(0, outer, addr, 1);
			__builtin_memcpy(outer, addr, 16);
		}
		acc_i = csum_acc_addr(0, inner, addr, 1);
		__builtin_memcpy(inner, addr, 16);
		/* ICMPv6 covers the pseudo-header: the outer change counts. */
		acc = acc_o + acc_i;
	} else {
		struct iphdr *ip = ptr_at(data, p->l3_off);
		struct iphdr *iip = ptr_at(data, in->ip_off);
		__u16 old_check;

		if ((void *)(ip + 1) > end || (void *)(iip + 1) > end)
			return -1;
		outer = forward ? (__u8 *)&ip->daddr : (__u8 *)&ip->saddr;
		inner = forward ? (__u8 *)&iip->saddr : (__u8 *)&iip->daddr;
		if (!forward)
			touch_outer = !__builtin_memcmp(outer, inner, 4);
		if (touch_outer) {
			acc_o = csum_acc_addr(0, outer, addr + 12, 0);
			ip->check = csum_apply(ip->check, acc_o);
			__builtin_memcpy(outer, addr + 12, 4);
		}
		acc_i = csum_acc_addr(0, inner, addr + 12, 0);
		old_check = iip->check;
		iip->check = csum_apply(old_check, acc_i);
		__builtin_memcpy(inner, addr + 12, 4);
		acc = csum_acc16(acc_i, old_check, iip->check);
	}
	acc = csum_acc16(acc, *pfield, port);
	*pfield = port;
	*icheck = csum_apply(*icheck, acc);
	return 0;
}

/* Out of line: its own stack frame, not added to the hot path's. */
static __attribute__((noinline)) int handle_icmp(struct xdp_md *ctx,
						struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct sluice_service_key sk;
	struct sluice_service *svc;
	struct sluice_flow_key fk;
	struct sluice_flow *fl;
	struct sluice_nat *n;
	struct icmp_inner in;
	struct sluice_backend_stats *bs;
	struct sluice_global_stats *g;
	struct flow_view fv;
	__u8 addr[16] __attribute__((aligned(4)));
	__be16 port;
	__u32 svc_id, backend_id;
	__u8 colour;
	int rc;

	rc = icmp_is_error(data, end, p);
	if (rc < 0)
		return pass(SLUICE_PASS_TRUNCATED);
	if (!rc)
		return pass(SLUICE_PASS_NOT_SERVICE);
	rc = parse_inner(data, end, p, &in);
	if (rc != PARSE_OK)
		return pass(rc);

	/* Quoted packet VIP -> client: the error is about a service flow. */
	__builtin_memcpy(sk.vip, in.key.src, 16);
	sk.port = in.key.sport;
	sk.proto = in.key.proto;
	sk.pad = 0;
	svc = bpf_map_lookup_elem(&services, &sk);
	if (svc) {
		__builtin_memcpy(fk.src, in.key.dst, 16);
		__builtin_memcpy(fk.dst, in.key.src, 16);
		fk.sport = in.key.dport;
		fk.dport = in.key.sport;
		fk.proto = in.key.proto;
		fk.pad[0] = fk.pad[1] = fk.pad[2] = 0;
		fl = bpf_map_lookup_elem(&flows, &fk);
		if (!fl)
			return pass(SLUICE_PASS_ICMP_NO_FLOW);
		/* Passed for the TTL (nat): the stack's, so not counted. */
		if (svc->mode == SLUICE_MODE_NAT && ttl_expiring(data, end, p))
			return pass(SLUICE_PASS_TTL);
		g = global();
		if (g)
			g->icmp_forwarded++;
		__builtin_memcpy(addr, fl->backend, 16);
		port = fl->backend_port;
		backend_id = fl->backend_id;
		svc_id = fl->svc_id;
		colour = fl->colour;
		fv.client = fk.src;
		fv.vip = fk.dst;
		fv.client_port = fk.sport;
		fv.vip_port = fk.dport;
		fv.proto = fk.proto;
		bs = backend_stats_of(backend_id);
		if (svc->mode != SLUICE_MODE_NAT)
			return xmit(ctx, p, addr, 0, NULL, 0, bs, NULL, &fv,
				    svc_id,
				    backend_id, colour, NULL, 0);
		if (rewrite_icmp(data, end, p, &in, 1, addr, port))
			return XDP_ABORTED;
		return xmit(ctx, p, addr, 1, NULL, 0, bs, NULL, &fv, svc_id,
			    backend_id,
			    colour, NULL, 0);
	}

	/* Quoted packet client -> backend: the backend side reports it. */
	__builtin_memcpy(fk.src, in.key.dst, 16);
	__builtin_memcpy(fk.dst, in.key.src, 16);
	fk.sport = in.key.dport;
	fk.dport = in.key.sport;
	fk.proto = in.key.proto;
	fk.pad[0] = fk.pad[1] = fk.pad[2] = 0;
	n = bpf_map_lookup_elem(&nat, &fk);
	if (!n)
		return pass(SLUICE_PASS_NOT_SERVICE);
	__builtin_memcpy(addr, n->vip, 16);
	port = n->vip_port;
	backend_id = n->backend_id;
	svc_id = n->svc_id;
	colour = n->colour;
	fv.client = in.key.src;
	fv.vip = addr;
	fv.client_port = in.key.sport;
	fv.vip_port = port;
	fv.proto = in.key.proto;
	/* Passed for the TTL: the stack's to answer, not counted here. */
	if (ttl_expiring(data, end, p))
		return pass(SLUICE_PASS_TTL);
	bs = backend_stats_of(backend_id);
	if (bs)
		bs->errors[SLUICE_ERR_ICMP]++;
	emit(SLUICE_EV_ERROR, SLUICE_ERR_ICMP, svc_id, backend_id, colour, 0,
	     &fv);
	if (rewrite_icmp(data, end, p, &in, 0, addr, port))
		return XDP_ABORTED;
	return xmit(ctx, p, p->key.dst, 1, NULL, 0, bs, NULL, &fv, svc_id,
		    backend_id,
		    colour, NULL, 0);
}

#endif /* SLUICE_BPF_ICMP_H */
