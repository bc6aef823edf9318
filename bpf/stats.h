/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Counters and ring-buffer events. Counters are per CPU: plain adds. */
#ifndef SLUICE_BPF_STATS_H
#define SLUICE_BPF_STATS_H

#include "maps.h"

static __always_inline struct sluice_global_stats *global(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&global_stats, &zero);
}

static __always_inline int pass(int reason)
{
	struct sluice_global_stats *g = global();

	if (g && reason >= 0 && reason < SLUICE_PASS_MAX)
		g->pass[reason]++;
	return XDP_PASS;
}

static __always_inline struct sluice_backend_stats *backend_stats_of(__u32 id)
{
	return bpf_map_lookup_elem(&backend_stats, &id);
}

static __always_inline struct sluice_service_stats *service_stats_of(__u32 id)
{
	return bpf_map_lookup_elem(&service_stats, &id);
}

/* The client-side view of a flow, for events: client -> VIP. */
struct flow_view {
	const __u8 *client;
	const __u8 *vip;
	__be16 client_port;
	__be16 vip_port;
	__u8 proto;
};

static __always_inline void emit(__u32 type, __u32 reason, __u32 svc_id,
				 __u32 backend_id, __u8 colour, __u32 value,
				 const struct flow_view *f)
{
	struct sluice_event *e;
	struct sluice_global_stats *g;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		g = global();
		if (g)
			g->events_lost++;
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	e->reason = reason;
	e->svc_id = svc_id;
	e->backend_id = backend_id;
	e->value = value;
	e->colour = colour;
	e->proto = f->proto;
	e->pad[0] = e->pad[1] = 0;
	__builtin_memcpy(e->src, f->client, 16);
	__builtin_memcpy(e->dst, f->vip, 16);
	e->sport = f->client_port;
	e->dport = f->vip_port;
	e->pad2 = 0;
	bpf_ringbuf_submit(e, 0);
}

/*
 * A dropped packet: its backend's and its service's count (either may
 * be NULL) and the drop event.
 */
static __always_inline void count_drop(struct sluice_backend_stats *bs,
				       struct sluice_service_stats *ss,
				       __u32 reason, __u32 svc_id,
				       __u32 backend_id, __u8 colour,
				       __u32 value, const struct flow_view *fv)
{
	if (bs)
		bs->drops[reason]++;
	if (ss)
		ss->drops[reason]++;
	emit(SLUICE_EV_DROP, reason, svc_id, backend_id, colour, value, fv);
}

/* log2 bucket of a duration in microseconds (see SLUICE_HIST_BUCKETS). */
static __always_inline __u32 hist_bucket(__u64 us)
{
	__u32 r = 1;

	if (!us)
		return 0;
	if (us >> 32) {
		us >>= 32;
		r += 32;
	}
	if (us >> 16) {
		us >>= 16;
		r += 16;
	}
	if (us >> 8) {
		us >>= 8;
		r += 8;
	}
	if (us >> 4) {
		us >>= 4;
		r += 4;
	}
	if (us >> 2) {
		us >>= 2;
		r += 2;
	}
	if (us >> 1)
		r += 1;
	return r < SLUICE_HIST_BUCKETS ? r : SLUICE_HIST_BUCKETS - 1;
}

#endif /* SLUICE_BPF_STATS_H */
