/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Return path (nat mode): a backend's reply is translated back to
 * VIP:port and routed to the client. On the way it is observed: the
 * handshake time, the first-byte time, RSTs and the HTTP status class
 * of the first response line are the backend's health signals.
 */
#ifndef SLUICE_BPF_REVERSE_H
#define SLUICE_BPF_REVERSE_H

#include "xmit.h"

static __always_inline void hist_add(__u64 *hist, __u64 *sum, __u64 ns)
{
	__u64 us = ns / 1000;
	__u32 b = hist_bucket(us);

	if (b >= SLUICE_HIST_BUCKETS)
		b = SLUICE_HIST_BUCKETS - 1;
	hist[b]++;
	*sum += us;
}

/* Status class 1..5 of a "HTTP/1.x NNN" first line, or 0. */
static __always_inline int http_status_class(void *data, void *end,
					     const struct pkt *p, __u32 *code)
{
	__u8 *s = ptr_at(data, p->payload_off);

	if ((void *)(s + 13) > end || p->payload_off + 13 > p->l4_end)
		return 0;
	if (s[0] != 'H' || s[1] != 'T' || s[2] != 'T' || s[3] != 'P' ||
	    s[4] != '/' || s[5] != '1' || s[6] != '.' || s[8] != ' ')
		return 0;
	if (s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' ||
	    s[11] < '0' || s[11] > '9' || s[12] != ' ')
		return 0;
	*code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return s[9] - '0';
}

static __always_inline void observe(void *data, void *end, struct pkt *p,
				    struct sluice_nat *n,
				    struct sluice_backend_stats *bs,
				    const struct flow_view *fv)
{
	__u32 payload = p->l4_end - p->payload_off, code = 0;
	__u64 now;
	int cls;

	if (p->proto == IPPROTO_TCP) {
		if (p->tcp_flags & TCPF_RST) {
			if (bs)
				bs->errors[SLUICE_ERR_RST]++;
			emit(SLUICE_EV_ERROR, SLUICE_ERR_RST, n->svc_id,
			     n->backend_id, n->colour, 0, fv);
		}
		if ((p->tcp_flags & (TCPF_SYN | TCPF_ACK)) ==
			    (TCPF_SYN | TCPF_ACK) &&
		    n->syn_ns && !(n->flags & SLUICE_NAT_F_HANDSHAKE)) {
			n->flags |= SLUICE_NAT_F_HANDSHAKE;
			now = bpf_ktime_get_ns();
			if (bs)
				hist_add(bs->handshake_hist,
					 &bs->handshake_us_sum,
					 now - n->syn_ns);
		}
	}
	if (!payload || !n->req_ns || (n->flags & SLUICE_NAT_F_RESPONSE))
		return;
	n->flags |= SLUICE_NAT_F_RESPONSE;
	now = bpf_ktime_get_ns();
	if (!bs)
		return;
	hist_add(bs->first_byte_hist, &bs->first_byte_us_sum, now - n->req_ns);
	if (p->proto != IPPROTO_TCP)
		return;
	cls = http_status_class(data, end, p, &code);
	if (cls < 1 || cls > 5)
		return;
	bs->http[cls - 1]++;
	if (cls == 5) {
		bs->errors[SLUICE_ERR_HTTP_5XX]++;
		emit(SLUICE_EV_ERROR, SLUICE_ERR_HTTP_5XX, n->svc_id,
		     n->backend_id, n->colour, code, fv);
	}
}

static __attribute__((noinline)) int reverse(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct sluice_backend_stats *bs;
	struct sluice_nat *n;
	struct flow_view fv;
	__u8 vip[16] __attribute__((aligned(4)));
	struct l3l4_rewrite rw;

	n = bpf_map_lookup_elem(&nat, &p->key);
	if (!n)
		return pass(SLUICE_PASS_NOT_SERVICE);
	if (ttl_expiring(data, end, p))
		return pass(SLUICE_PASS_TTL);

	fv.client = p->key.dst;
	fv.vip = n->vip;
	fv.client_port = p->key.dport;
	fv.vip_port = n->vip_port;
	fv.proto = p->key.proto;

	bs = backend_stats_of(n->backend_id);
	if (bs) {
		bs->rev_packets++;
		bs->rev_bytes += end - data;
	}
	observe(data, end, p, n, bs, &fv);

	__builtin_memcpy(vip, n->vip, 16);
	rw.addr = vip;
	rw.port = n->vip_port;
	rw.dst_side = 0;
	fv.vip = vip;
	return xmit(ctx, p, p->key.dst, 1, &rw, 1, bs, NULL, &fv, n->svc_id,
		    n->backend_id, n->colour, &n->nh, nexthop_now());
}

#endif /* SLUICE_BPF_REVERSE_H */
