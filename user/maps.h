/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The data path's maps as userspace sees them: file descriptors, whether
 * they come from a freshly loaded skeleton or from the pins under
 * /sys/fs/bpf/sluice. Everything that reads or changes sluice state goes
 * through these, so the CLI, the agent and the tests share one code path.
 */
#ifndef SLUICE_MAPS_H
#define SLUICE_MAPS_H

#include <stdbool.h>
#include <linux/types.h>
#include "sluice_abi.h"

struct sluice_maps {
	int services;
	int service_meta;
	int config;
	int pools;
	int segments;
	int flows;
	int nat;
	int backend_stats;
	int service_stats;
	int global_stats;
	int events;
};

/* The per-service hash seed: the host seed mixed with the service key. */
__u32 sluice_service_seed(__u32 host_seed, const struct sluice_service_key *k);

int sluice_config_write(const struct sluice_maps *m,
			const struct sluice_config *c);
int sluice_config_read(const struct sluice_maps *m, struct sluice_config *c);

/*
 * Build the pool's lookup table from its backends and swap it in whole:
 * a fresh inner map is filled, then its fd replaces the old one in
 * `pools` with one update. Counter entries for its backends are created
 * if missing. The table is built with the service's hash seed.
 */
int sluice_pool_publish(const struct sluice_maps *m, __u32 svc_id,
			__u8 colour, struct sluice_pool *pool, __u32 seed);
/*
 * Pools built now and published together later, with one map update
 * (sluice_pool_commit): for changes to many pools at once. Commit or
 * free a batch; both release it.
 */
#define SLUICE_STAGE_MAX 256 /* pools staged before a batch goes out */
struct sluice_pool_batch {
	__u32 *keys;
	int *fds;
	int n, cap;
};
/* stats_ready: every backend's counters exist (see below) */
int sluice_pool_stage(const struct sluice_maps *m, struct sluice_pool_batch *b,
		      __u32 svc_id, __u8 colour, struct sluice_pool *pool,
		      __u32 seed, bool stats_ready);
/* Zeroed counters for these backend ids, created where missing. */
int sluice_backend_stats_reset(const struct sluice_maps *m, const __u32 *ids,
			       int n);
int sluice_pool_commit(const struct sluice_maps *m, struct sluice_pool_batch *b);
void sluice_pool_batch_free(struct sluice_pool_batch *b);
/* Current pool, or -ENOENT when none was ever published. */
int sluice_pool_read(const struct sluice_maps *m, __u32 svc_id, __u8 colour,
		     struct sluice_pool *out);
int sluice_pool_clear(const struct sluice_maps *m, __u32 svc_id, __u8 colour);

int sluice_segment_write(const struct sluice_maps *m, __u32 svc_id,
			 const __u8 addr[16], __u32 plen128, __u8 colour);
int sluice_segment_delete(const struct sluice_maps *m, __u32 svc_id,
			  const __u8 addr[16], __u32 plen128);

/* Per-CPU counters, summed over every possible CPU. */
int sluice_backend_stats_read(const struct sluice_maps *m, __u32 id,
			      struct sluice_backend_stats *sum);
int sluice_service_stats_read(const struct sluice_maps *m, __u32 svc_id,
			      struct sluice_service_stats *sum);
int sluice_global_stats_read(const struct sluice_maps *m,
			     struct sluice_global_stats *sum);

/* Number of keys in a map (a flow table's live entries, say). */
int sluice_map_count(int fd, __u64 *count);

static inline __u32 sluice_pool_index(__u32 svc_id, __u8 colour)
{
	return svc_id * SLUICE_COLOURS + colour;
}

static inline __u32 sluice_backend_id(__u32 svc_id, __u8 colour, __u32 slot)
{
	return sluice_pool_index(svc_id, colour) * SLUICE_MAX_BACKENDS_PER_POOL +
	       slot;
}

#endif /* SLUICE_MAPS_H */
