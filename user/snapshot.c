// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "state.h"

int sluice_agent_snapshot(const struct sluice_maps *m, const char *svc,
			  struct sluice_snapshot *s)
{
	__u32 id;
	int err;

	memset(s, 0, sizeof(*s));
	err = sluice_service_find(m, svc, &id, NULL);
	return err ? err : sluice_snapshot_of(m, id, s);
}

int sluice_snapshot_of(const struct sluice_maps *m, __u32 id,
		       struct sluice_snapshot *s)
{
	struct sluice_backend_stats st;
	struct sluice_service_stats ss;
	struct sluice_pool *pool;
	int c, i, k;

	memset(s, 0, sizeof(*s));
	pool = malloc(sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	for (c = 0; c < SLUICE_COLOURS; c++) {
		if (sluice_pool_read(m, id, c, pool))
			continue;
		for (i = 0; i < SLUICE_MAX_BACKENDS_PER_POOL; i++) {
			if (!(pool->backends[i].flags & SLUICE_BE_F_USED) ||
			    sluice_backend_stats_read(m, pool->backends[i].id,
						      &st))
				continue;
			s->flows[c] += st.new_flows;
			for (k = 0; k < SLUICE_ERR_MAX; k++)
				s->errors[c] += st.errors[k];
			/*
			 * A "too big" answer is path-MTU discovery working,
			 * not the pool failing: the client resends smaller.
			 */
			for (k = 0; k < SLUICE_DROP_MAX; k++)
				if (k != SLUICE_DROP_TOO_BIG)
					s->errors[c] += st.drops[k];
			for (k = 0; k < SLUICE_HIST_BUCKETS; k++)
				s->first_byte_hist[c][k] += st.first_byte_hist[k];
		}
	}
	free(pool);
	/* Flows dropped for want of a backend failed in that colour too. */
	if (!sluice_service_stats_read(m, id, &ss))
		for (c = 0; c < SLUICE_COLOURS; c++) {
			s->flows[c] += ss.empty_pool[c];
			s->errors[c] += ss.empty_pool[c];
		}
	return 0;
}
