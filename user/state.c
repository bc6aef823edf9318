// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <endian.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "parse.h"
#include "state.h"

static __u64 realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int sluice_meta_read(const struct sluice_maps *m, __u32 id,
		     struct sluice_service_meta *meta)
{
	if (id >= SLUICE_MAX_SERVICES)
		return -EINVAL;
	if (bpf_map_lookup_elem(m->service_meta, &id, meta))
		return -errno;
	return meta->used ? 0 : -ENOENT;
}

static int meta_write(const struct sluice_maps *m, __u32 id,
		      const struct sluice_service_meta *meta)
{
	return bpf_map_update_elem(m->service_meta, &id, meta, BPF_ANY) ?
		       -errno :
		       0;
}

int sluice_service_find(const struct sluice_maps *m, const char *name,
			__u32 *id, struct sluice_service_meta *meta)
{
	struct sluice_service_meta tmp;
	__u32 i;

	for (i = 0; i < SLUICE_MAX_SERVICES; i++) {
		if (sluice_meta_read(m, i, &tmp))
			continue;
		if (strncmp(tmp.name, name, SLUICE_NAME_MAX))
			continue;
		if (id)
			*id = i;
		if (meta)
			*meta = tmp;
		return 0;
	}
	return -ENOENT;
}

int sluice_service_value(const struct sluice_maps *m, __u32 id,
			 struct sluice_service *v)
{
	struct sluice_service_meta meta;
	int err = sluice_meta_read(m, id, &meta);

	if (err)
		return err;
	return bpf_map_lookup_elem(m->services, &meta.key, v) ? -errno : 0;
}

int sluice_service_prepare(const struct sluice_maps *m, const char *name,
			   const struct sluice_service_key *key, __u8 mode,
			   __u8 affinity, __u32 *id, struct sluice_service *out)
{
	struct sluice_service_meta meta, tmp;
	struct sluice_service v = {};
	struct sluice_config cfg;
	__u32 i, free_id = SLUICE_MAX_SERVICES;
	int err;

	if (!name[0] || strlen(name) >= SLUICE_NAME_MAX ||
	    mode > SLUICE_MODE_DSR || affinity > SLUICE_AFFINITY_PREFIX)
		return -EINVAL;
	for (i = 0; i < SLUICE_MAX_SERVICES; i++) {
		if (sluice_meta_read(m, i, &tmp)) {
			if (free_id == SLUICE_MAX_SERVICES)
				free_id = i;
			continue;
		}
		if (!strncmp(tmp.name, name, SLUICE_NAME_MAX) ||
		    !memcmp(&tmp.key, key, sizeof(*key)))
			return -EEXIST;
	}
	if (free_id == SLUICE_MAX_SERVICES)
		return -ENOSPC;
	err = sluice_config_read(m, &cfg);
	if (err)
		return err;

	memset(&meta, 0, sizeof(meta));
	strncpy(meta.name, name, SLUICE_NAME_MAX - 1);
	meta.key = *key;
	meta.used = 1;
	meta.candidate = SLUICE_GREEN;
	meta.split_changed_ns = 0;
	meta.created_ns = realtime_ns();
	v.id = free_id;
	v.green_ppm = 0;
	v.hash_seed = sluice_service_seed(cfg.seed, key);
	v.mode = mode;
	v.affinity = affinity;

	/* Fresh counters: a recycled id must not inherit old numbers. */
	{
		int ncpu = libbpf_num_possible_cpus();
		struct sluice_service_stats *zero;

		if (ncpu < 0)
			return ncpu;
		zero = calloc(ncpu, sizeof(*zero));
		if (!zero)
			return -ENOMEM;
		err = bpf_map_update_elem(m->service_stats, &free_id, zero,
					  BPF_ANY) ?
			      -errno :
			      0;
		free(zero);
		if (err)
			return err;
	}
	err = meta_write(m, free_id, &meta);
	if (err)
		return err;
	if (id)
		*id = free_id;
	*out = v;
	return 0;
}

int sluice_service_expose(const struct sluice_maps *m,
			  const struct sluice_service_key *key,
			  const struct sluice_service *v)
{
	struct sluice_service_meta meta;
	int err;

	if (!bpf_map_update_elem(m->services, key, v, BPF_NOEXIST))
		return 0;
	err = -errno;
	/* Not served, so not there: free the name and the id again. */
	if (!sluice_meta_read(m, v->id, &meta)) {
		meta.used = 0;
		meta_write(m, v->id, &meta);
	}
	return err;
}

int sluice_service_create(const struct sluice_maps *m, const char *name,
			  const struct sluice_service_key *key, __u8 mode,
			  __u8 affinity, __u32 *id)
{
	struct sluice_service v;
	int err;

	err = sluice_service_prepare(m, name, key, mode, affinity, id, &v);
	return err ? err : sluice_service_expose(m, key, &v);
}

/* Flow state is keyed by tuple; walk it and drop what matches. */
static int forget_in(int fd, size_t val_size, size_t id_off, __u32 id,
		     size_t svc_off, __u32 svc_id)
{
	struct sluice_flow_key key, next, *prev = NULL;
	struct sluice_flow_key *doomed = NULL;
	size_t n = 0, cap = 0, i;
	char val[64];
	__u32 got;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, val))
			continue;
		memcpy(&got, val + (id != SLUICE_NO_BACKEND ? id_off : svc_off),
		       sizeof(got));
		if (got != (id != SLUICE_NO_BACKEND ? id : svc_id))
			continue;
		if (n == cap) {
			struct sluice_flow_key *d;

			cap = cap ? 2 * cap : 256;
			d = realloc(doomed, cap * sizeof(*d));
			if (!d) {
				free(doomed);
				return -ENOMEM;
			}
			doomed = d;
		}
		doomed[n++] = key;
	}
	(void)val_size;
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &doomed[i]);
	free(doomed);
	return (int)n;
}

int sluice_flows_forget(const struct sluice_maps *m, __u32 svc_id,
			__u32 backend_id)
{
	int a, b;

	a = forget_in(m->flows, sizeof(struct sluice_flow),
		      offsetof(struct sluice_flow, backend_id), backend_id,
		      offsetof(struct sluice_flow, svc_id), svc_id);
	if (a < 0)
		return a;
	b = forget_in(m->nat, sizeof(struct sluice_nat),
		      offsetof(struct sluice_nat, backend_id), backend_id,
		      offsetof(struct sluice_nat, svc_id), svc_id);
	return b < 0 ? b : a;
}

int sluice_service_destroy(const struct sluice_maps *m, __u32 id)
{
	struct sluice_service_meta meta;
	struct sluice_segment segs[64];
	__u32 c, slot, bid;
	int err, n, i;

	err = sluice_meta_read(m, id, &meta);
	if (err)
		return err;
	/* First stop steering: from here on the VIP's packets pass. */
	if (bpf_map_delete_elem(m->services, &meta.key) && errno != ENOENT)
		return -errno;
	for (c = 0; c < SLUICE_COLOURS; c++) {
		sluice_pool_clear(m, id, c);
		for (slot = 0; slot < SLUICE_MAX_BACKENDS_PER_POOL; slot++) {
			bid = sluice_backend_id(id, c, slot);
			bpf_map_delete_elem(m->backend_stats, &bid);
		}
	}
	do {
		n = sluice_segment_list(m, id, segs, 64);
		for (i = 0; i < n; i++)
			sluice_segment_delete(m, id, segs[i].addr,
					      segs[i].plen128);
	} while (n == 64);
	sluice_flows_forget(m, id, SLUICE_NO_BACKEND);
	meta.used = 0;
	return meta_write(m, id, &meta);
}

__u32 sluice_green_ppm(const struct sluice_service_meta *meta)
{
	return meta->candidate == SLUICE_GREEN ? meta->split_ppm :
						 SLUICE_PPM - meta->split_ppm;
}


/* Write a new split/candidate: the services entry first (what packets see). */
static int apply_split(const struct sluice_maps *m, __u32 id,
		       struct sluice_service_meta *meta)
{
	struct sluice_service_stats st;
	struct sluice_service v;

	if (bpf_map_lookup_elem(m->services, &meta->key, &v))
		return -errno;
	v.green_ppm = sluice_green_ppm(meta);
	if (bpf_map_update_elem(m->services, &meta->key, &v, BPF_EXIST))
		return -errno;
	meta->split_changed_ns = realtime_ns();
	if (!sluice_service_stats_read(m, id, &st)) {
		meta->base_new_flows[0] = st.new_flows[0];
		meta->base_new_flows[1] = st.new_flows[1];
	}
	return meta_write(m, id, meta);
}

int sluice_split_set(const struct sluice_maps *m, __u32 id, __u32 ppm)
{
	struct sluice_service_meta meta;
	int err;

	if (ppm > SLUICE_PPM)
		return -EINVAL;
	err = sluice_meta_read(m, id, &meta);
	if (err)
		return err;
	meta.split_ppm = ppm;
	return apply_split(m, id, &meta);
}

int sluice_flip(const struct sluice_maps *m, __u32 id)
{
	struct sluice_service_meta meta;
	int err;

	err = sluice_meta_read(m, id, &meta);
	if (err)
		return err;
	/* The old candidate becomes stable with every new flow. */
	meta.candidate = !meta.candidate;
	meta.split_ppm = 0;
	return apply_split(m, id, &meta);
}

int sluice_backend_slot(const struct sluice_pool *pool, const __u8 addr[16],
			__u16 port)
{
	int i;

	for (i = 0; i < SLUICE_MAX_BACKENDS_PER_POOL; i++) {
		const struct sluice_backend *b = &pool->backends[i];

		if ((b->flags & SLUICE_BE_F_USED) &&
		    !memcmp(b->addr, addr, 16) && b->port == htons(port))
			return i;
	}
	return -ENOENT;
}

/* Current pool, or an empty one if none was published yet. */
static struct sluice_pool *pool_load(const struct sluice_maps *m, __u32 id,
				     __u8 colour, int *err)
{
	struct sluice_pool *pool = calloc(1, sizeof(*pool));

	*err = 0;
	if (!pool) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = sluice_pool_read(m, id, colour, pool);
	if (*err == -ENOENT)
		*err = 0;
	if (*err) {
		free(pool);
		return NULL;
	}
	return pool;
}

static int pool_commit(const struct sluice_maps *m, __u32 id, __u8 colour,
		       struct sluice_pool *pool)
{
	struct sluice_service v;
	int err = sluice_service_value(m, id, &v);

	if (err)
		return err;
	pool->generation++;
	return sluice_pool_publish(m, id, colour, pool, v.hash_seed);
}

int sluice_backend_add(const struct sluice_maps *m, __u32 id, __u8 colour,
		       const __u8 addr[16], __u16 port, __u16 weight)
{
	struct sluice_pool *pool;
	struct sluice_backend *b;
	int err, slot, i;
	__u32 bid;

	struct sluice_service_meta meta;

	if (colour >= SLUICE_COLOURS || !weight || !port)
		return -EINVAL;
	err = sluice_meta_read(m, id, &meta);
	if (err)
		return err;
	/* nat rewrites in the packet's family: no IPv6 backend for IPv4. */
	if (sluice_addr_is_v4(addr) != sluice_addr_is_v4(meta.key.vip))
		return -EAFNOSUPPORT;
	pool = pool_load(m, id, colour, &err);
	if (!pool)
		return err;
	slot = sluice_backend_slot(pool, addr, port);
	if (slot >= 0) {
		b = &pool->backends[slot];
		if (!(b->flags & SLUICE_BE_F_DRAINING)) {
			free(pool);
			return -EEXIST;
		}
		/* Re-adding a draining backend takes it back into service. */
		b->flags &= ~SLUICE_BE_F_DRAINING;
		b->weight = weight;
	} else {
		for (i = 0; i < SLUICE_MAX_BACKENDS_PER_POOL; i++)
			if (!(pool->backends[i].flags & SLUICE_BE_F_USED))
				break;
		if (i == SLUICE_MAX_BACKENDS_PER_POOL) {
			free(pool);
			return -ENOSPC;
		}
		b = &pool->backends[i];
		memset(b, 0, sizeof(*b));
		memcpy(b->addr, addr, 16);
		b->port = htons(port);
		b->weight = weight;
		b->id = sluice_backend_id(id, colour, i);
		b->flags = SLUICE_BE_F_USED;
		/* A recycled slot starts with fresh counters. */
		bid = b->id;
		bpf_map_delete_elem(m->backend_stats, &bid);
	}
	err = pool_commit(m, id, colour, pool);
	free(pool);
	return err;
}

int sluice_backend_del(const struct sluice_maps *m, __u32 id, __u8 colour,
		       const __u8 addr[16], __u16 port, bool now)
{
	struct sluice_pool *pool;
	struct sluice_backend *b;
	int err, slot;
	__u32 bid;

	if (colour >= SLUICE_COLOURS)
		return -EINVAL;
	pool = pool_load(m, id, colour, &err);
	if (!pool)
		return err;
	slot = sluice_backend_slot(pool, addr, port);
	if (slot < 0 ||
	    (!now && (pool->backends[slot].flags & SLUICE_BE_F_DRAINING))) {
		free(pool);
		return -ENOENT;
	}
	b = &pool->backends[slot];
	bid = b->id;
	if (now)
		memset(b, 0, sizeof(*b));
	else
		b->flags |= SLUICE_BE_F_DRAINING;
	err = pool_commit(m, id, colour, pool);
	free(pool);
	if (!err && now)
		sluice_flows_forget(m, id, bid);
	return err;
}

/* Segments exist for a service: the data path consults the LPM trie. */
static int segments_flag(const struct sluice_maps *m, __u32 id)
{
	struct sluice_segment one;
	struct sluice_service_meta meta;
	struct sluice_service v;
	int n, err;

	err = sluice_meta_read(m, id, &meta);
	if (err)
		return err;
	if (bpf_map_lookup_elem(m->services, &meta.key, &v))
		return -errno;
	n = sluice_segment_list(m, id, &one, 1);
	if (n < 0)
		return n;
	if (n)
		v.flags |= SLUICE_SVC_F_SEGMENTS;
	else
		v.flags &= ~SLUICE_SVC_F_SEGMENTS;
	return bpf_map_update_elem(m->services, &meta.key, &v, BPF_EXIST) ?
		       -errno :
		       0;
}

int sluice_segment_add(const struct sluice_maps *m, __u32 id,
		       const __u8 addr[16], __u32 plen128, __u8 colour)
{
	int err = sluice_segment_write(m, id, addr, plen128, colour);

	return err ? err : segments_flag(m, id);
}

int sluice_segment_del(const struct sluice_maps *m, __u32 id,
		       const __u8 addr[16], __u32 plen128)
{
	int err = sluice_segment_delete(m, id, addr, plen128);

	return err ? err : segments_flag(m, id);
}

int sluice_segment_list(const struct sluice_maps *m, __u32 id,
			struct sluice_segment *out, int max)
{
	struct sluice_segment_key key, next, *prev = NULL;
	__u8 colour;
	int n = 0;

	while (n < max && !bpf_map_get_next_key(m->segments, prev, &next)) {
		key = next;
		prev = &key;
		if (be32toh(key.svc_id) != id)
			continue;
		if (bpf_map_lookup_elem(m->segments, &key, &colour))
			continue;
		memcpy(out[n].addr, key.addr, 16);
		out[n].plen128 = key.prefixlen - 32;
		out[n].colour = colour;
		n++;
	}
	return n;
}
