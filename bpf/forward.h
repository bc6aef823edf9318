/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Forward path: a packet to a service VIP. An existing flow keeps its
 * backend whatever the split did since; a new flow picks a colour (a
 * segment pin, else the split) and then a backend from that pool's
 * consistent-hash table.
 */
#ifndef SLUICE_BPF_FORWARD_H
#define SLUICE_BPF_FORWARD_H

#include "sluice_affinity.h"
#include "xmit.h"

/* The words the split and the backend choice hash, per affinity. */
static __always_inline void affinity_key(const struct pkt *p, __u8 affinity,
					 __u32 w[4], __u32 *w4, __u32 *w5)
{
	sluice_affinity_words(p->key.src, p->key.sport, p->key.dport,
			      p->key.proto, p->v6, affinity, w, w4, w5);
}

static __always_inline int segment_colour(const struct pkt *p, __u32 svc_id)
{
	struct sluice_segment_key k;
	__u8 *c;

	k.prefixlen = 32 + 128;
	k.svc_id = bpf_htonl(svc_id);
	__builtin_memcpy(k.addr, p->key.src, 16);
	c = bpf_map_lookup_elem(&segments, &k);
	return c ? *c : -1;
}

static __always_inline struct sluice_pool *pool_of(__u32 svc_id, __u8 colour)
{
	__u32 idx = svc_id * SLUICE_COLOURS + colour, zero = 0;
	void *inner;

	inner = bpf_map_lookup_elem(&pools, &idx);
	if (!inner)
		return NULL;
	return bpf_map_lookup_elem(inner, &zero);
}

static __always_inline int want_sample(void)
{
	__u32 zero = 0;
	struct sluice_config *cfg = bpf_map_lookup_elem(&config, &zero);

	if (!cfg || !cfg->sample_every)
		return 0;
	return cfg->sample_every == 1 ||
	       bpf_get_prandom_u32() % cfg->sample_every == 0;
}

#define NEW_FLOW_SAME (-2) /* a retransmitted SYN: the decision stands */

/*
 * The reverse-NAT key of a client's flow to a backend: the 5-tuple the
 * backend's replies carry.
 */
static __always_inline void reverse_key(struct sluice_flow_key *rk,
					const struct pkt *p,
					const __u8 *backend, __be16 bport)
{
	__builtin_memcpy(rk->src, backend, 16);
	__builtin_memcpy(rk->dst, p->key.src, 16);
	rk->sport = bport;
	rk->dport = p->key.sport;
	rk->proto = p->key.proto;
	rk->pad[0] = rk->pad[1] = rk->pad[2] = 0;
}

/* The reverse-NAT state of a tracked flow, or NULL. */
static __always_inline struct sluice_nat *nat_of(const struct pkt *p,
						 const struct sluice_flow *fl)
{
	struct sluice_flow_key rk;

	reverse_key(&rk, p, fl->backend, fl->backend_port);
	return bpf_map_lookup_elem(&nat, &rk);
}

/* Sequence number of a bare SYN (the ISN), else 0. */
static __always_inline __be32 bare_syn_seq(void *data, void *end,
					   const struct pkt *p)
{
	struct tcphdr *th = ptr_at(data, p->l4_off);

	if (p->proto != IPPROTO_TCP ||
	    (p->tcp_flags & (TCPF_SYN | TCPF_ACK)) != TCPF_SYN)
		return 0;
	if ((void *)(th + 1) > end)
		return 0;
	return th->seq;
}

/*
 * Choose colour and backend for a flow without state, record it in
 * both directions (nat), and count it. Returns PARSE_OK with *nf filled,
 * NEW_FLOW_SAME when `old` (the state a bare SYN found) already says the
 * same, or a verdict.
 */
static __always_inline int new_flow(struct pkt *p,
				    const struct sluice_service *svc,
				    struct sluice_service_stats *ss,
				    struct sluice_flow *nf, __u64 now,
				    __u32 payload, const struct flow_view *fv,
				    const struct sluice_flow *old,
				    __be32 syn_seq)
{
	struct sluice_backend_stats *bs;
	struct sluice_backend *be;
	struct sluice_pool *pool;
	struct sluice_flow_key rk;
	struct sluice_nat nat_val;
	__u32 w[4], w4, w5, slot;
	int colour = -1, pinned = 0;

	affinity_key(p, svc->affinity, w, &w4, &w5);
	if (svc->flags & SLUICE_SVC_F_SEGMENTS) {
		colour = segment_colour(p, svc->id);
		pinned = colour >= 0;
	}
	if (colour < 0) {
		colour = sluice_split_colour(svc->hash_seed, w, w4, w5,
					     svc->green_ppm, NULL);
	}
	colour &= 1;

	pool = pool_of(svc->id, colour);
	if (!pool || !pool->active) {
		if (ss)
			ss->empty_pool[colour]++;
		count_drop(NULL, ss, SLUICE_DROP_EMPTY_POOL, svc->id,
			   SLUICE_NO_BACKEND, colour, 0, fv);
		return XDP_DROP;
	}
	slot = pool->table[sluice_table_index(svc->hash_seed, w, w4, w5)];
	be = &pool->backends[slot & (SLUICE_MAX_BACKENDS_PER_POOL - 1)];
	/*
	 * Counted once per connection, timed from its first SYN: the same
	 * SYN again, with the same decision, changes nothing.
	 */
	if (old && old->syn_seq == syn_seq && old->backend_id == be->id &&
	    old->colour == colour)
		return NEW_FLOW_SAME;

	__builtin_memcpy(nf->backend, be->addr, 16);
	nf->backend_port = be->port;
	nf->colour = colour;
	nf->flags = payload ? SLUICE_FLOW_F_CLIENT_DATA : 0;
	nf->backend_id = be->id;
	nf->svc_id = svc->id;
	nf->syn_seq = syn_seq;
	__builtin_memset(&nf->nh, 0, sizeof(nf->nh));
	bpf_map_update_elem(&flows, &p->key, nf, BPF_ANY);

	if (svc->mode == SLUICE_MODE_NAT) {
		reverse_key(&rk, p, be->addr, be->port);
		__builtin_memcpy(nat_val.vip, p->key.dst, 16);
		nat_val.vip_port = p->key.dport;
		nat_val.colour = colour;
		nat_val.flags = 0;
		nat_val.backend_id = be->id;
		nat_val.svc_id = svc->id;
		nat_val.pad = 0;
		nat_val.syn_ns = (p->tcp_flags & TCPF_SYN) ? now : 0;
		nat_val.req_ns = payload ? now : 0;
		__builtin_memset(&nat_val.nh, 0, sizeof(nat_val.nh));
		bpf_map_update_elem(&nat, &rk, &nat_val, BPF_ANY);
	}

	if (ss) {
		ss->new_flows[colour]++;
		if (pinned)
			ss->segment_flows++;
		if (p->proto == IPPROTO_TCP && !(p->tcp_flags & TCPF_SYN))
			ss->flow_misses++;
	}
	bs = backend_stats_of(be->id);
	if (bs)
		bs->new_flows++;
	if (want_sample())
		emit(SLUICE_EV_NEW_FLOW, 0, svc->id, be->id, colour, 0, fv);
	return PARSE_OK;
}

/* First client payload of a tracked flow: start the first-byte clock. */
static __always_inline void mark_request(const struct pkt *p,
					 const struct sluice_flow *fl,
					 __u64 now)
{
	struct sluice_nat *n = nat_of(p, fl);

	if (n && !n->req_ns)
		n->req_ns = now;
}

/*
 * A retransmitted SYN of a nat flow whose SYN-ACK never came back: the
 * backend (or the way to it) did not answer. This is what a backend
 * that is down, unreachable or unresolvable looks like from here.
 */
static __always_inline void syn_unanswered(const struct pkt *p,
					   const struct sluice_flow *fl,
					   const struct flow_view *fv)
{
	struct sluice_nat *n = nat_of(p, fl);
	struct sluice_backend_stats *bs;

	if (!n || !n->syn_ns || (n->flags & SLUICE_NAT_F_HANDSHAKE))
		return;
	bs = backend_stats_of(fl->backend_id);
	if (bs)
		bs->errors[SLUICE_ERR_SYN_RETRY]++;
	emit(SLUICE_EV_ERROR, SLUICE_ERR_SYN_RETRY, fl->svc_id, fl->backend_id,
	     fl->colour, 0, fv);
}

static __attribute__((noinline)) int steer(struct xdp_md *ctx, struct pkt *p,
				 const struct sluice_service *svc)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct sluice_service_stats *ss = service_stats_of(svc->id);
	struct sluice_backend_stats *bs;
	struct sluice_flow *fl, nf;
	const struct sluice_flow *old;
	struct sluice_nexthop *nh;
	struct flow_view fv = {
		.client = p->key.src,
		.vip = p->key.dst,
		.client_port = p->key.sport,
		.vip_port = p->key.dport,
		.proto = p->key.proto,
	};
	__u32 payload = p->l4_end - p->payload_off;
	__u64 len = end - data;
	int nat = svc->mode == SLUICE_MODE_NAT, rc;
	__be32 syn_seq;

	/* Let the stack answer "time exceeded" for the VIP, not a backend. */
	if (nat && ttl_expiring(data, end, p))
		return pass(SLUICE_PASS_TTL);

	/*
	 * A bare SYN opens a new connection even when its 5-tuple is still
	 * in the table (a client reusing a port): it is decided afresh, so
	 * stale state never overrides the split. A retransmitted SYN gets
	 * the same decision unless the split moved in between.
	 */
	fl = bpf_map_lookup_elem(&flows, &p->key);
	old = NULL;
	syn_seq = bare_syn_seq(data, end, p);
	if (fl && p->proto == IPPROTO_TCP &&
	    (p->tcp_flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN) {
		old = fl;
		fl = NULL;
	}
	if (!fl) {
		rc = new_flow(p, svc, ss, &nf, bpf_ktime_get_ns(), payload, &fv,
			      old,
			      syn_seq);
		if (rc == NEW_FLOW_SAME) {
			fl = (struct sluice_flow *)old;
			if (nat)
				syn_unanswered(p, fl, &fv);
		}
		else if (rc != PARSE_OK)
			return rc;
		else
			fl = &nf;
	} else if (payload && !(fl->flags & SLUICE_FLOW_F_CLIENT_DATA)) {
		fl->flags |= SLUICE_FLOW_F_CLIENT_DATA;
		if (nat)
			mark_request(p, fl, bpf_ktime_get_ns());
	}

	if (ss) {
		ss->packets++;
		ss->bytes += len;
	}
	bs = backend_stats_of(fl->backend_id);
	if (bs) {
		bs->fwd_packets++;
		bs->fwd_bytes += len;
	}
	/* A flow still being created (nf on the stack) caches nothing. */
	nh = fl == &nf ? NULL : &fl->nh;
	if (!nat)
		return xmit(ctx, p, fl->backend, 0, NULL, 1, bs, ss, &fv,
			    svc->id, fl->backend_id, fl->colour, nh,
			    nexthop_now());

	/* fl may point into the map: copy what the rewrite needs first. */
	__u8 backend[16] __attribute__((aligned(4)));
	struct l3l4_rewrite rw = { .addr = backend,
				   .port = fl->backend_port,
				   .dst_side = 1 };
	__u32 backend_id = fl->backend_id;
	__u8 colour = fl->colour;

	__builtin_memcpy(backend, fl->backend, 16);
	return xmit(ctx, p, backend, 1, &rw, 1, bs, ss, &fv, svc->id,
		    backend_id, colour, nh, nexthop_now());
}

#endif /* SLUICE_BPF_FORWARD_H */
