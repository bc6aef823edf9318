/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Ring-buffer records as JSON lines, one object per event, in the shape
 * Vector, Fluent Bit and Loki ingest as they are: an ISO-8601 timestamp,
 * the type, service and backend by name, the client-side 5-tuple, the
 * reason. Names are looked up in the maps and cached.
 */
#ifndef SLUICE_EVENTS_H
#define SLUICE_EVENTS_H

#include <jansson.h>
#include "maps.h"

struct sluice_namer;

struct sluice_namer *sluice_namer_new(const struct sluice_maps *m);
void sluice_namer_free(struct sluice_namer *n);
/* A new JSON object for one record (NULL on a malformed record). */
json_t *sluice_event_json(struct sluice_namer *n, const void *data,
			  size_t len);
/* CLOCK_REALTIME ns for a bpf_ktime_get_ns() (CLOCK_MONOTONIC) value. */
__u64 sluice_mono_to_real(__u64 mono_ns);
void sluice_iso8601(__u64 real_ns, char *buf, size_t len);

#endif /* SLUICE_EVENTS_H */
