// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "hist.h"
#include "names.h"
#include "parse.h"
#include "state.h"
#include "status.h"

static json_t *latency_json(const __u64 *hist, __u64 sum_us)
{
	return json_pack("{s:I, s:f, s:f, s:f, s:I}", "count",
			 (json_int_t)sluice_hist_count(hist), "p50",
			 sluice_hist_quantile_us(hist, 0.50), "p90",
			 sluice_hist_quantile_us(hist, 0.90), "p99",
			 sluice_hist_quantile_us(hist, 0.99), "sum",
			 (json_int_t)sum_us);
}

static json_t *backend_json(const struct sluice_maps *m,
			    const struct sluice_backend *b)
{
	char ep[SLUICE_ENDPOINT_STRLEN];
	struct sluice_backend_stats s;
	json_t *o, *drops, *errs, *http;
	int i;

	memset(&s, 0, sizeof(s));
	sluice_backend_stats_read(m, b->id, &s);
	sluice_format_endpoint(b->addr, ntohs(b->port), ep, sizeof(ep));
	drops = json_object();
	for (i = 0; i < SLUICE_DROP_MAX; i++)
		json_object_set_new(drops, sluice_drop_names[i],
				    json_integer(s.drops[i]));
	errs = json_object();
	for (i = 0; i < SLUICE_ERR_MAX; i++)
		json_object_set_new(errs, sluice_error_names[i],
				    json_integer(s.errors[i]));
	http = json_object();
	for (i = 0; i < 5; i++) {
		char k[4] = { (char)('1' + i), 'x', 'x', 0 };

		json_object_set_new(http, k, json_integer(s.http[i]));
	}
	o = json_pack("{s:s, s:i, s:s, s:i, s:I, s:I, s:I, s:I, s:I}",
		      "backend", ep, "weight", b->weight, "state",
		      b->flags & SLUICE_BE_F_DRAINING ? "draining" : "active",
		      "id", b->id, "new_flows", (json_int_t)s.new_flows,
		      "fwd_packets", (json_int_t)s.fwd_packets, "fwd_bytes",
		      (json_int_t)s.fwd_bytes, "rev_packets",
		      (json_int_t)s.rev_packets, "rev_bytes",
		      (json_int_t)s.rev_bytes);
	json_object_set_new(o, "drops", drops);
	json_object_set_new(o, "errors", errs);
	json_object_set_new(o, "http", http);
	json_object_set_new(o, "handshake_us",
			    latency_json(s.handshake_hist, s.handshake_us_sum));
	json_object_set_new(o, "first_byte_us",
			    latency_json(s.first_byte_hist,
					 s.first_byte_us_sum));
	return o;
}

static json_t *pool_json(const struct sluice_maps *m, __u32 id, __u8 c,
			 const char *role, struct sluice_pool *pool)
{
	json_t *o, *arr = json_array();
	int i, err;

	err = sluice_pool_read(m, id, c, pool);
	if (err)
		memset(pool, 0, sizeof(*pool));
	for (i = 0; i < SLUICE_MAX_BACKENDS_PER_POOL; i++)
		if (pool->backends[i].flags & SLUICE_BE_F_USED)
			json_array_append_new(arr,
					      backend_json(m, &pool->backends[i]));
	o = json_pack("{s:s, s:i, s:i}", "role", role, "active", pool->active,
		      "generation", pool->generation);
	json_object_set_new(o, "backends", arr);
	return o;
}

static void iso8601(__u64 ns, char *buf, size_t len)
{
	time_t t = ns / 1000000000ull;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *service_json(const struct sluice_maps *m, __u32 id,
			    const struct sluice_service_meta *meta,
			    struct sluice_pool *pool)
{
	char vip[SLUICE_ENDPOINT_STRLEN], split[SLUICE_PPM_STRLEN], since[32];
	struct sluice_service_stats st;
	struct sluice_segment segs[256];
	struct sluice_service v;
	__u64 cand, total;
	json_t *o, *drops, *pools, *segj, *splitj;
	int i, n;
	__u8 c = meta->candidate;

	memset(&st, 0, sizeof(st));
	memset(&v, 0, sizeof(v));
	sluice_service_stats_read(m, id, &st);
	sluice_service_value(m, id, &v);
	sluice_format_endpoint(meta->key.vip, ntohs(meta->key.port), vip,
			       sizeof(vip));
	cand = st.new_flows[c] - meta->base_new_flows[c];
	total = cand + st.new_flows[!c] - meta->base_new_flows[!c];
	splitj = json_pack("{s:i, s:s, s:I}", "configured_ppm",
			   meta->split_ppm, "configured",
			   sluice_format_ppm(meta->split_ppm, split,
					     sizeof(split)),
			   "new_flows_since_change", (json_int_t)total);
	json_object_set_new(splitj, "observed",
			    total ? json_real((double)cand / (double)total) :
				    json_null());
	if (meta->split_changed_ns) {
		iso8601(meta->split_changed_ns, since, sizeof(since));
		json_object_set_new(splitj, "changed", json_string(since));
	}
	drops = json_object();
	for (i = 0; i < SLUICE_DROP_MAX; i++)
		json_object_set_new(drops, sluice_drop_names[i],
				    json_integer(st.drops[i]));
	pools = json_object();
	json_object_set_new(pools, "blue",
			    pool_json(m, id, SLUICE_BLUE,
				      c == SLUICE_BLUE ? "candidate" : "stable",
				      pool));
	json_object_set_new(pools, "green",
			    pool_json(m, id, SLUICE_GREEN,
				      c == SLUICE_GREEN ? "candidate" : "stable",
				      pool));
	segj = json_array();
	n = sluice_segment_list(m, id, segs, 256);
	for (i = 0; i < n; i++) {
		char a[SLUICE_ADDR_STRLEN], p[SLUICE_ADDR_STRLEN + 5];
		bool v4 = sluice_addr_is_v4(segs[i].addr);

		snprintf(p, sizeof(p), "%s/%u",
			 sluice_format_addr(segs[i].addr, a, sizeof(a)),
			 v4 ? segs[i].plen128 - 96 : segs[i].plen128);
		json_array_append_new(
			segj, json_pack("{s:s, s:s}", "prefix", p, "colour",
					sluice_colour_name(segs[i].colour)));
	}
	o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "name",
		      meta->name, "id", id, "vip", vip, "proto",
		      meta->key.proto == IPPROTO_TCP ? "tcp" : "udp", "mode",
		      sluice_mode_names[v.mode & 1], "affinity",
		      sluice_affinity_names[v.affinity % 3], "stable",
		      sluice_colour_name(!c), "candidate",
		      sluice_colour_name(c));
	json_object_set_new(o, "split", splitj);
	json_object_set_new(o, "new_flows",
			    json_pack("{s:I, s:I}", "blue",
				      (json_int_t)st.new_flows[SLUICE_BLUE],
				      "green",
				      (json_int_t)st.new_flows[SLUICE_GREEN]));
	json_object_set_new(o, "packets", json_integer(st.packets));
	json_object_set_new(o, "bytes", json_integer(st.bytes));
	json_object_set_new(o, "segment_flows", json_integer(st.segment_flows));
	json_object_set_new(o, "flow_misses", json_integer(st.flow_misses));
	json_object_set_new(o, "drops", drops);
	json_object_set_new(o, "pools", pools);
	json_object_set_new(o, "segments", segj);
	return o;
}

static json_t *datapath_json(const struct sluice_maps *m)
{
	struct sluice_global_stats g;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	__u64 live = 0;
	json_t *o, *passed = json_object();
	int i;

	memset(&g, 0, sizeof(g));
	sluice_global_stats_read(m, &g);
	for (i = 0; i < SLUICE_PASS_MAX; i++)
		json_object_set_new(passed, sluice_pass_names[i],
				    json_integer(g.pass[i]));
	bpf_obj_get_info_by_fd(m->flows, &info, &len);
	sluice_map_count(m->flows, &live);
	o = json_pack("{s:I, s:I}", "icmp_forwarded",
		      (json_int_t)g.icmp_forwarded, "events_lost",
		      (json_int_t)g.events_lost);
	json_object_set_new(o, "passed", passed);
	json_object_set_new(o, "flows",
			    json_pack("{s:I, s:i}", "live", (json_int_t)live,
				      "max", info.max_entries));
	return o;
}

json_t *sluice_status_json(const struct sluice_maps *m, int only_id)
{
	struct sluice_service_meta meta;
	struct sluice_pool *pool = malloc(sizeof(*pool));
	json_t *root, *svcs;
	__u32 id;

	if (!pool)
		return NULL;
	svcs = json_array();
	for (id = 0; id < SLUICE_MAX_SERVICES; id++) {
		if (only_id >= 0 && id != (__u32)only_id)
			continue;
		if (sluice_meta_read(m, id, &meta))
			continue;
		json_array_append_new(svcs, service_json(m, id, &meta, pool));
	}
	free(pool);
	root = json_object();
	json_object_set_new(root, "services", svcs);
	json_object_set_new(root, "datapath", datapath_json(m));
	return root;
}
