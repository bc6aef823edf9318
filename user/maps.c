// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps.h"
#include "maglev.h"
#include "sluice_hash.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's "operation not supported", as returned */
#endif

__u32 sluice_service_seed(__u32 host_seed, const struct sluice_service_key *k)
{
	__u32 w[4];

	memcpy(w, k->vip, 16);
	return sluice_hash6(host_seed, w, k->port, k->proto);
}

int sluice_config_write(const struct sluice_maps *m,
			const struct sluice_config *c)
{
	__u32 zero = 0;

	return bpf_map_update_elem(m->config, &zero, c, BPF_ANY) ? -errno : 0;
}

int sluice_config_read(const struct sluice_maps *m, struct sluice_config *c)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(m->config, &zero, c) ? -errno : 0;
}

/*
 * A no-prealloc per-CPU hash allocates on insert, from a cache the kernel
 * refills asynchronously: a burst of inserts can see a passing ENOMEM.
 */
static int insert_retrying(int fd, const void *key, const void *val)
{
	int tries;

	for (tries = 0; tries < 50; tries++) {
		if (!bpf_map_update_elem(fd, key, val, BPF_NOEXIST) ||
		    errno == EEXIST)
			return 0;
		if (errno != ENOMEM)
			return -errno;
		usleep(200 * (tries + 1));
	}
	return -ENOMEM;
}

/* Counters must exist before the first packet, or it goes uncounted. */
static int ensure_backend_stats(const struct sluice_maps *m,
				const struct sluice_pool *pool)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	struct sluice_backend_stats *zero;
	__u32 i;

	if (ncpu < 0)
		return ncpu;
	zero = calloc(ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	for (i = 0; i < SLUICE_MAX_BACKENDS_PER_POOL; i++) {
		const struct sluice_backend *b = &pool->backends[i];

		if (!(b->flags & SLUICE_BE_F_USED))
			continue;
		err = insert_retrying(m->backend_stats, &b->id, zero);
		if (err)
			break;
	}
	free(zero);
	return err;
}

#define RESET_CHUNK 32

int sluice_backend_stats_reset(const struct sluice_maps *m, const __u32 *ids,
			       int n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	int ncpu = libbpf_num_possible_cpus(), done = 0, tries = 0, err = 0;
	void *zero;

	if (ncpu < 0)
		return ncpu;
	zero = calloc((size_t)RESET_CHUNK * ncpu,
		      sizeof(struct sluice_backend_stats));
	if (!zero)
		return -ENOMEM;
	while (done < n) {
		__u32 want = n - done < RESET_CHUNK ? n - done : RESET_CHUNK;
		__u32 count = want;

		if (!bpf_map_update_batch(m->backend_stats, ids + done, zero,
					  &count, &opts)) {
			done += count;
			tries = 0;
			continue;
		}
		/*
		 * count says how many went in before the one that failed,
		 * unless the call failed before the first (then it is what
		 * was asked): start again from there.
		 */
		err = -errno;
		if (count < want)
			done += count;
		if (err != -ENOMEM || ++tries > 50)
			break;
		err = 0;
		usleep(200 * tries);
	}
	free(zero);
	return err;
}

/*
 * A pool's table built and written into a new inner map: its fd.
 * stats_ready: the caller made every backend's counters itself.
 */
static int pool_inner(const struct sluice_maps *m, __u32 svc_id, __u8 colour,
		      struct sluice_pool *pool, __u32 seed, bool stats_ready)
{
	__u32 zero = 0;
	int fd, err;

	if (svc_id >= SLUICE_MAX_SERVICES || colour >= SLUICE_COLOURS)
		return -EINVAL;
	err = sluice_build_table(pool, seed);
	if (err)
		return err;
	err = stats_ready ? 0 : ensure_backend_stats(m, pool);
	if (err)
		return err;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sluice_pool", sizeof(__u32),
			    sizeof(*pool), 1, NULL);
	if (fd < 0)
		return -errno;
	if (bpf_map_update_elem(fd, &zero, pool, BPF_ANY)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int sluice_pool_publish(const struct sluice_maps *m, __u32 svc_id,
			__u8 colour, struct sluice_pool *pool, __u32 seed)
{
	__u32 idx = sluice_pool_index(svc_id, colour);
	int fd, err = 0;

	fd = pool_inner(m, svc_id, colour, pool, seed, false);
	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(m->pools, &idx, &fd, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

/*
 * One batch update for the staged pools: the kernel waits for running
 * programs (an RCU grace period, 10-30 ms) once per update call, so a
 * thousand pools published one by one wait a thousand times.
 */
static int pool_flush(const struct sluice_maps *m, struct sluice_pool_batch *b)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = b->n, i;
	int err = 0;

	if (b->n && bpf_map_update_batch(m->pools, b->keys, b->fds, &count,
					 &opts)) {
		err = -errno;
		/*
		 * An old kernel without batches for this map fails before
		 * the first element (count is then meaningless): one by one.
		 */
		if (err == -EINVAL || err == -ENOTSUPP || err == -EOPNOTSUPP) {
			err = 0;
			for (i = 0; i < (__u32)b->n && !err; i++)
				if (bpf_map_update_elem(m->pools, &b->keys[i],
							&b->fds[i], BPF_ANY))
					err = -errno;
		}
	}
	for (i = 0; i < (__u32)b->n; i++)
		close(b->fds[i]);
	b->n = 0;
	return err;
}

int sluice_pool_stage(const struct sluice_maps *m, struct sluice_pool_batch *b,
		      __u32 svc_id, __u8 colour, struct sluice_pool *pool,
		      __u32 seed, bool stats_ready)
{
	int fd, err;

	/*
	 * Each staged pool holds a file descriptor: bounded, far below
	 * the usual limit of 1024, at one grace period per batch.
	 */
	if (b->n == SLUICE_STAGE_MAX) {
		err = pool_flush(m, b);
		if (err)
			return err;
	}
	if (b->n == b->cap) {
		int cap = b->cap ? b->cap * 2 : 64;
		__u32 *keys = realloc(b->keys, cap * sizeof(*keys));
		int *fds;

		if (!keys)
			return -ENOMEM;
		b->keys = keys;
		fds = realloc(b->fds, cap * sizeof(*fds));
		if (!fds)
			return -ENOMEM;
		b->fds = fds;
		b->cap = cap;
	}
	fd = pool_inner(m, svc_id, colour, pool, seed, stats_ready);
	if (fd < 0)
		return fd;
	b->keys[b->n] = sluice_pool_index(svc_id, colour);
	b->fds[b->n++] = fd;
	return 0;
}

int sluice_pool_commit(const struct sluice_maps *m, struct sluice_pool_batch *b)
{
	int err = pool_flush(m, b);

	sluice_pool_batch_free(b);
	return err;
}

void sluice_pool_batch_free(struct sluice_pool_batch *b)
{
	int i;

	for (i = 0; i < b->n; i++)
		close(b->fds[i]);
	free(b->keys);
	free(b->fds);
	memset(b, 0, sizeof(*b));
}

int sluice_pool_read(const struct sluice_maps *m, __u32 svc_id, __u8 colour,
		     struct sluice_pool *out)
{
	__u32 idx = sluice_pool_index(svc_id, colour), id, zero = 0;
	int fd, err = 0;

	if (bpf_map_lookup_elem(m->pools, &idx, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, out))
		err = -errno;
	close(fd);
	return err;
}

int sluice_pool_clear(const struct sluice_maps *m, __u32 svc_id, __u8 colour)
{
	__u32 idx = sluice_pool_index(svc_id, colour);

	if (bpf_map_delete_elem(m->pools, &idx) && errno != ENOENT)
		return -errno;
	return 0;
}

static void segment_key(struct sluice_segment_key *k, __u32 svc_id,
			const __u8 addr[16], __u32 plen128)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + plen128;
	k->svc_id = htobe32(svc_id);
	memcpy(k->addr, addr, 16);
}

int sluice_segment_write(const struct sluice_maps *m, __u32 svc_id,
			 const __u8 addr[16], __u32 plen128, __u8 colour)
{
	struct sluice_segment_key k;

	if (plen128 > 128 || colour >= SLUICE_COLOURS)
		return -EINVAL;
	segment_key(&k, svc_id, addr, plen128);
	return bpf_map_update_elem(m->segments, &k, &colour, BPF_ANY) ? -errno :
									 0;
}

int sluice_segment_delete(const struct sluice_maps *m, __u32 svc_id,
			  const __u8 addr[16], __u32 plen128)
{
	struct sluice_segment_key k;

	if (plen128 > 128)
		return -EINVAL;
	segment_key(&k, svc_id, addr, plen128);
	return bpf_map_delete_elem(m->segments, &k) ? -errno : 0;
}

/* Sum a per-CPU value made only of __u64 counters. */
static int percpu_sum(int fd, const void *key, void *sum, size_t size)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	size_t n = size / sizeof(__u64), j;
	__u64 *vals, *out = sum;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, size);
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, vals)) {
		int err = -errno;

		free(vals);
		return err;
	}
	memset(sum, 0, size);
	for (i = 0; i < ncpu; i++)
		for (j = 0; j < n; j++)
			out[j] += vals[(size_t)i * n + j];
	free(vals);
	return 0;
}

int sluice_backend_stats_read(const struct sluice_maps *m, __u32 id,
			      struct sluice_backend_stats *sum)
{
	return percpu_sum(m->backend_stats, &id, sum, sizeof(*sum));
}

int sluice_service_stats_read(const struct sluice_maps *m, __u32 svc_id,
			      struct sluice_service_stats *sum)
{
	return percpu_sum(m->service_stats, &svc_id, sum, sizeof(*sum));
}

int sluice_global_stats_read(const struct sluice_maps *m,
			     struct sluice_global_stats *sum)
{
	__u32 zero = 0;

	return percpu_sum(m->global_stats, &zero, sum, sizeof(*sum));
}

int sluice_map_count(int fd, __u64 *count)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char *key, *next;
	void *prev = NULL;
	int err = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	key = malloc(info.key_size);
	next = malloc(info.key_size);
	*count = 0;
	if (!key || !next) {
		err = -ENOMEM;
		goto out;
	}
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, info.key_size);
		prev = key;
		(*count)++;
	}
	if (errno != ENOENT)
		err = -errno;
out:
	free(key);
	free(next);
	return err;
}
