/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Every map the data path uses. Keys and values come from sluice_abi.h;
 * sizes that userspace may change at load time (the flow tables) are
 * set with bpf_map__set_max_entries before the object is loaded.
 */
#ifndef SLUICE_BPF_MAPS_H
#define SLUICE_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sluice_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, struct sluice_service_key);
	__type(value, struct sluice_service);
} services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_config);
} config SEC(".maps");

/* Userspace bookkeeping only (names, roles); the program never reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_service_meta);
} service_meta SEC(".maps");

/*
 * Template for each pool's inner map: one value, the whole pool. Sizes,
 * not types: clang only emits a forward declaration of a struct reached
 * this deep, and libbpf cannot size that.
 */
struct pool_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct sluice_pool));
};

/* Indexed by svc_id * SLUICE_COLOURS + colour; empty until configured. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SLUICE_MAX_POOLS);
	__type(key, __u32);
	__array(values, struct pool_inner);
} pools SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SLUICE_MAX_SEGMENTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sluice_segment_key);
	__type(value, __u8); /* enum sluice_colour */
} segments SEC(".maps");

/* Shared LRU, so either direction of a flow finds its state on any CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_FLOWS_DEFAULT);
	__type(key, struct sluice_flow_key);
	__type(value, struct sluice_flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SLUICE_FLOWS_DEFAULT);
	__type(key, struct sluice_flow_key);
	__type(value, struct sluice_nat);
} nat SEC(".maps");

/*
 * Allocated on demand: userspace inserts a zeroed entry when it adds a
 * backend, so memory follows the backends configured, not the limit.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, SLUICE_MAX_BACKENDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct sluice_backend_stats);
} backend_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SLUICE_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct sluice_service_stats);
} service_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sluice_global_stats);
} global_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SLUICE_RINGBUF_BYTES);
} events SEC(".maps");

#endif /* SLUICE_BPF_MAPS_H */
