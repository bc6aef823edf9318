/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Weighted Maglev lookup table for one pool.
 *
 * The table depends only on the seed and the set of participating
 * (addr, port, weight) triples, never on which slot holds a backend, so
 * two hosts that agree on a pool's members and seed build tables that
 * send every flow to the same backend, whatever order they added them.
 */
#ifndef SLUICE_MAGLEV_H
#define SLUICE_MAGLEV_H

#include <linux/types.h>

#include "sluice_abi.h"

/*
 * Fill pool->table with slot indices into pool->backends[] and set
 * pool->active to the number of participating backends: those marked
 * SLUICE_BE_F_USED, not SLUICE_BE_F_DRAINING, with a non-zero weight.
 * Each gets SLUICE_TABLE_SIZE * weight / total entries, rounded up or
 * down (largest remainder), so weights are plain ratios. With none
 * participating, active is 0 and the table all zeros. Leaves generation
 * alone: bumping it is the caller's, who knows whether anything changed.
 *
 * Returns 0, -EINVAL for a NULL pool or two participating backends with
 * the same (addr, port), or -ENOMEM; on error the pool is unchanged.
 */
int sluice_build_table(struct sluice_pool *pool, __u32 seed);

#endif /* SLUICE_MAGLEV_H */
