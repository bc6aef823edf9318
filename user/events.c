// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "events.h"
#include "names.h"
#include "parse.h"
#include "state.h"

/* What a record's ids resolve to; refreshed when an id is not known. */
struct sluice_namer {
	const struct sluice_maps *m;
	__u64 loaded_ns[SLUICE_MAX_POOLS]; /* 0: pool never loaded */
	struct sluice_pool *pools[SLUICE_MAX_POOLS];
	char names[SLUICE_MAX_SERVICES][SLUICE_NAME_MAX];
};

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

__u64 sluice_mono_to_real(__u64 mono_ns)
{
	return mono_ns + (clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
}

void sluice_iso8601(__u64 real_ns, char *buf, size_t len)
{
	time_t t = real_ns / 1000000000ull;
	char base[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06lluZ", base,
		 (unsigned long long)(real_ns / 1000ull % 1000000ull));
}

struct sluice_namer *sluice_namer_new(const struct sluice_maps *m)
{
	struct sluice_namer *n = calloc(1, sizeof(*n));

	if (n)
		n->m = m;
	return n;
}

void sluice_namer_free(struct sluice_namer *n)
{
	int i;

	if (!n)
		return;
	for (i = 0; i < SLUICE_MAX_POOLS; i++)
		free(n->pools[i]);
	free(n);
}

static const char *service_name(struct sluice_namer *n, __u32 id)
{
	struct sluice_service_meta meta;

	if (id >= SLUICE_MAX_SERVICES)
		return NULL;
	if (!n->names[id][0] && !sluice_meta_read(n->m, id, &meta))
		memcpy(n->names[id], meta.name, SLUICE_NAME_MAX);
	return n->names[id][0] ? n->names[id] : NULL;
}

/* The backend's endpoint; pools are re-read at most once a second. */
static const char *backend_name(struct sluice_namer *n, __u32 id, char *buf,
				size_t len)
{
	__u32 pool = id / SLUICE_MAX_BACKENDS_PER_POOL;
	__u32 slot = id % SLUICE_MAX_BACKENDS_PER_POOL;
	__u64 now = clock_ns(CLOCK_MONOTONIC);
	struct sluice_backend *b;

	if (pool >= SLUICE_MAX_POOLS)
		return NULL;
	if (!n->pools[pool])
		n->pools[pool] = calloc(1, sizeof(struct sluice_pool));
	if (!n->pools[pool])
		return NULL;
	b = &n->pools[pool]->backends[slot];
	if ((!(b->flags & SLUICE_BE_F_USED) || b->id != id) &&
	    now - n->loaded_ns[pool] > 1000000000ull) {
		n->loaded_ns[pool] = now;
		if (sluice_pool_read(n->m, pool / SLUICE_COLOURS,
				     pool % SLUICE_COLOURS, n->pools[pool]))
			memset(n->pools[pool], 0, sizeof(struct sluice_pool));
	}
	if (!(b->flags & SLUICE_BE_F_USED) || b->id != id)
		return NULL;
	return sluice_format_endpoint(b->addr, ntohs(b->port), buf, len);
}

json_t *sluice_event_json(struct sluice_namer *n, const void *data,
			  size_t len)
{
	const struct sluice_event *e = data;
	char ts[40], src[SLUICE_ADDR_STRLEN], dst[SLUICE_ADDR_STRLEN];
	char be[SLUICE_ENDPOINT_STRLEN];
	const char *svc, *bname = NULL, *reason = NULL;
	json_t *o;

	if (len < sizeof(*e))
		return NULL;
	sluice_iso8601(sluice_mono_to_real(e->ts_ns), ts, sizeof(ts));
	svc = service_name(n, e->svc_id);
	if (e->backend_id != SLUICE_NO_BACKEND)
		bname = backend_name(n, e->backend_id, be, sizeof(be));
	if (e->type == SLUICE_EV_DROP && e->reason < SLUICE_DROP_MAX)
		reason = sluice_drop_names[e->reason];
	else if (e->type == SLUICE_EV_ERROR && e->reason < SLUICE_ERR_MAX)
		reason = sluice_error_names[e->reason];
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:i}", "ts", ts,
		      "type", sluice_event_type_name(e->type), "colour",
		      sluice_colour_name(e->colour), "proto",
		      e->proto == IPPROTO_TCP ? "tcp" :
		      e->proto == IPPROTO_UDP ? "udp" :
						"other",
		      "src", sluice_format_addr(e->src, src, sizeof(src)),
		      "sport", ntohs(e->sport), "dst",
		      sluice_format_addr(e->dst, dst, sizeof(dst)), "dport",
		      ntohs(e->dport));
	json_object_set_new(o, "service", svc ? json_string(svc) : json_null());
	json_object_set_new(o, "backend",
			    bname ? json_string(bname) : json_null());
	if (reason)
		json_object_set_new(o, "reason", json_string(reason));
	if (e->type == SLUICE_EV_DROP && e->reason == SLUICE_DROP_TOO_BIG)
		json_object_set_new(o, "mtu", json_integer(e->value));
	else if (e->value)
		json_object_set_new(o, "status", json_integer(e->value));
	return o;
}
