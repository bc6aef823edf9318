/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The agent's Prometheus endpoint: GET /metrics in the text exposition
 * format (version 0.0.4), served by libmicrohttpd from its own thread.
 *
 * A scrape reads the data path's counters straight from the pinned maps
 * (per-CPU values summed, batched where the kernel allows) and the
 * agent's rollouts from struct sluice_metrics_shared. It holds the
 * agent's lock only to copy the rollouts and decision counts, never
 * while it reads the maps, so a slow scrape cannot delay a tick.
 *
 * Names follow Prometheus conventions: prefix sluice_, base units
 * (seconds, bytes), _total on counters, HELP and TYPE on every family,
 * and low-cardinality labels only: service, color, backend (the
 * backend's ADDR:PORT), and a fixed set of reasons, kinds and states.
 * No label ever carries a client address.
 */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <linux/types.h>

#include "maps.h"
#include "rollout.h"

/* Action names: the rollout's own, and room for ones added later. */
#define SLUICE_METRICS_ACTIONS 16
#define SLUICE_METRICS_ACTION_LEN 24

struct sluice_decision_row {
	char service[SLUICE_NAME_MAX];
	__u64 n[SLUICE_METRICS_ACTIONS]; /* indexed like decisions.action */
};

/* Rollout decisions by service and action since the agent started. */
struct sluice_decisions {
	char action[SLUICE_METRICS_ACTIONS][SLUICE_METRICS_ACTION_LEN];
	int nactions;
	struct sluice_decision_row *rows;
	int nrows, cap;
};

/*
 * What the agent shares with the metrics thread. The agent's loop holds
 * lock whenever it changes the rollouts or counts a decision (around
 * each tick and each command); a scrape holds it only to copy them.
 */
struct sluice_metrics_shared {
	pthread_mutex_t lock;
	const struct sluice_rollout *ro; /* the agent's array, *n in use */
	const int *n;
	struct sluice_decisions decisions;
};

void sluice_metrics_shared_init(struct sluice_metrics_shared *sh,
				const struct sluice_rollout *ro, const int *n);
void sluice_metrics_shared_destroy(struct sluice_metrics_shared *sh);
/* One more decision; the caller holds sh->lock. */
void sluice_metrics_count_decision(struct sluice_metrics_shared *sh,
				   const char *service, const char *action);

/*
 * One more ring-buffer event of this type (enum sluice_event_type), for
 * sluice_ringbuf_events_total. Lock-free: callable from any thread.
 */
void sluice_metrics_count_event(__u32 type);

struct sluice_metrics;

/* sh may be NULL: then no rollout families are exported. */
struct sluice_metrics *sluice_metrics_new(struct sluice_metrics_shared *sh);

/*
 * Serve /metrics on ADDR:PORT (as sluice_parse_endpoint reads it) from
 * a thread of its own. -EINVAL for an endpoint that does not parse;
 * -errno when the socket cannot be had (a port in use: -EADDRINUSE),
 * with one line saying why in err.
 */
int sluice_metrics_listen(struct sluice_metrics *mx, const char *endpoint,
			  char *err, size_t errlen);

/*
 * One scrape's text into a malloc'ed buffer (*text, *len; free() it).
 * m: the maps to read, or NULL to open the pins for this scrape (the
 * data path may go down and come back while the agent runs). Without
 * maps only the agent's own families are exported and sluice_datapath_up
 * is 0. Returns 0 or -ENOMEM.
 */
int sluice_metrics_render(struct sluice_metrics *mx,
			  const struct sluice_maps *m, char **text,
			  size_t *len);

/* Stop serving (if serving) and free everything; NULL is fine. */
void sluice_metrics_free(struct sluice_metrics *mx);

#endif /* SLUICE_METRICS_H */
