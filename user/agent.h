/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* What the agent reads from the maps to judge a rollout. */
#ifndef SLUICE_AGENT_H
#define SLUICE_AGENT_H

#include "maps.h"
#include "rollout.h"

/*
 * Per-colour totals of a service's pools (every backend in a pool,
 * draining ones included): new flows, errors (RSTs, ICMP errors, SYN
 * retries, HTTP 5xx and drops, but not "too big" answers) and the
 * first-byte histogram.
 */
int sluice_agent_snapshot(const struct sluice_maps *m, const char *svc,
			  struct sluice_snapshot *s);
/* The same, by service id. */
int sluice_snapshot_of(const struct sluice_maps *m, __u32 id,
		       struct sluice_snapshot *s);

#endif /* SLUICE_AGENT_H */
