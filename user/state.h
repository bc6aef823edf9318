/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Operations on sluice's configured world: services, pools, splits and
 * segments, expressed on the maps (see maps.h). Each operation checks
 * everything it can before its first write, and makes the change that
 * packets see with one map update, so a failing command changes nothing
 * and a packet never sees half a change.
 *
 * Errors are negative errno values with fixed meanings, for the caller
 * to turn into a message: -ENOENT (no such service/backend/segment),
 * -EEXIST (name, VIP or backend already there), -ENOSPC (a limit is
 * reached), -EINVAL (an argument out of range), -EAFNOSUPPORT (a backend
 * of the other address family than its VIP).
 */
#ifndef SLUICE_STATE_H
#define SLUICE_STATE_H

#include <stdbool.h>
#include "maps.h"

int sluice_meta_read(const struct sluice_maps *m, __u32 id,
		     struct sluice_service_meta *meta);
/* Find a service by name; -ENOENT if there is none. */
int sluice_service_find(const struct sluice_maps *m, const char *name,
			__u32 *id, struct sluice_service_meta *meta);
int sluice_service_create(const struct sluice_maps *m, const char *name,
			  const struct sluice_service_key *key, __u8 mode,
			  __u8 affinity, __u32 *id);
/*
 * The two halves of sluice_service_create, for apply: prepare claims the
 * name and an id (the service is listed, *v is its data-path value, not
 * yet looked up by packets); expose makes packets to the VIP find it,
 * once its pools are published. A failed expose frees the name again.
 */
int sluice_service_prepare(const struct sluice_maps *m, const char *name,
			   const struct sluice_service_key *key, __u8 mode,
			   __u8 affinity, __u32 *id, struct sluice_service *v);
int sluice_service_expose(const struct sluice_maps *m,
			  const struct sluice_service_key *key,
			  const struct sluice_service *v);
/* Remove a service, its pools, segments, counters and flow state. */
int sluice_service_destroy(const struct sluice_maps *m, __u32 id);
int sluice_service_value(const struct sluice_maps *m, __u32 id,
			 struct sluice_service *v);

/* The green share of new flows that a candidate split amounts to. */
__u32 sluice_green_ppm(const struct sluice_service_meta *meta);
/* Set the candidate's share of new flows (ppm). One map write. */
int sluice_split_set(const struct sluice_maps *m, __u32 id, __u32 ppm);
/* Blue/green switch: the candidate takes every new flow, roles swap. */
int sluice_flip(const struct sluice_maps *m, __u32 id);

int sluice_backend_add(const struct sluice_maps *m, __u32 id, __u8 colour,
		       const __u8 addr[16], __u16 port, __u16 weight);
/*
 * Take a backend out of its pool. Draining (now = false) keeps its slot
 * and its flows until they end; now = true also forgets its flows, so
 * their next packets are steered again.
 */
int sluice_backend_del(const struct sluice_maps *m, __u32 id, __u8 colour,
		       const __u8 addr[16], __u16 port, bool now);
/* Slot of a backend in a pool, or -ENOENT. */
int sluice_backend_slot(const struct sluice_pool *pool, const __u8 addr[16],
			__u16 port);

int sluice_segment_add(const struct sluice_maps *m, __u32 id,
		       const __u8 addr[16], __u32 plen128, __u8 colour);
int sluice_segment_del(const struct sluice_maps *m, __u32 id,
		       const __u8 addr[16], __u32 plen128);
struct sluice_segment {
	__u8 addr[16];
	__u32 plen128;
	__u8 colour;
};
/* Up to max segments of a service; returns how many, or -errno. */
int sluice_segment_list(const struct sluice_maps *m, __u32 id,
			struct sluice_segment *out, int max);

/* Delete flow state whose backend (or service) matches; returns count. */
int sluice_flows_forget(const struct sluice_maps *m, __u32 svc_id,
			__u32 backend_id);

#endif /* SLUICE_STATE_H */
