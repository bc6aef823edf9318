/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The state of sluice as one JSON document, read from the maps: every
 * service with its split (configured and observed), pools, backends and
 * counters, and the data path's global counters. `sluice status` prints
 * it; the agent and the metrics endpoint read the same numbers.
 */
#ifndef SLUICE_STATUS_H
#define SLUICE_STATUS_H

#include <jansson.h>
#include "maps.h"

/* All services (only_id < 0) or one. NULL on error. */
json_t *sluice_status_json(const struct sluice_maps *m, int only_id);

#endif /* SLUICE_STATUS_H */
