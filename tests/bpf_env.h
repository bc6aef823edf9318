/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Test environment for BPF_PROG_TEST_RUN packet tests.
 *
 * The test process moves itself into a private network namespace (it
 * vanishes with the process, on every exit path) holding two veth pairs:
 * `cli0` faces the clients, `be0` the backends, with static neighbours,
 * so bpf_fib_lookup resolves next hops and the expected output bytes,
 * MACs included, are known in advance.
 */
#ifndef SLUICE_TEST_BPF_ENV_H
#define SLUICE_TEST_BPF_ENV_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sluice.skel.h"
#include "maps.h"
#include "parse.h"
#include "sluice_hash.h"

#define MAC_CLI0 "02:00:00:00:00:c0" /* the edge's client-facing port */
#define MAC_BE0 "02:00:00:00:00:b0" /* the edge's backend-facing port */
#define MAC_CLIENT "02:00:00:00:00:01" /* the client's router */
#define MAC_BLUE1 "02:00:00:00:01:10"
#define MAC_BLUE2 "02:00:00:00:01:11"
#define MAC_GREEN1 "02:00:00:00:01:20"

/* Addresses of the fixture world (198.18.0.0/15 and fd00::/8 only). */
#define CLIENT4 "198.18.0.100"
#define CLIENT6 "fd00:0::100"
#define VIP4 "198.18.0.10"
#define VIP6 "fd00:0::10"
#define BLUE4 "198.18.1.10"
#define BLUE4B "198.18.1.11"
#define BLUE4C "198.18.1.12"
#define BLUE4D "198.18.1.13"
#define GREEN4 "198.18.1.20"
#define GREEN4B "198.18.1.21"
#define BLUE6 "fd00:1::10"
#define GREEN6 "fd00:1::20"
#define UNRESOLVED4 "198.18.1.99" /* routed, no neighbour entry */
#define BLACKHOLE4 "198.18.9.10" /* blackhole route */

static const char *env_setup_cmds[] = {
	"ip link set lo up",
	"ip link add cli0 address " MAC_CLI0
	" type veth peer name cli1 address " MAC_CLIENT,
	"ip link add be0 address " MAC_BE0 " type veth peer name be1",
	"ip link set cli0 up",
	"ip link set cli1 up",
	"ip link set be0 up",
	"ip link set be1 up",
	"sysctl -qw net.ipv4.ip_forward=1",
	"sysctl -qw net.ipv6.conf.all.forwarding=1",
	"ip addr add 198.18.0.1/24 dev cli0",
	"ip addr add 198.18.1.1/24 dev be0",
	"ip -6 addr add fd00:0::1/64 dev cli0 nodad",
	"ip -6 addr add fd00:1::1/64 dev be0 nodad",
	"ip route add blackhole 198.18.9.0/24",
	"ip neigh add " CLIENT4 " lladdr " MAC_CLIENT " dev cli0 nud permanent",
	"ip neigh add " CLIENT6 " lladdr " MAC_CLIENT " dev cli0 nud permanent",
	"ip neigh add " BLUE4 " lladdr " MAC_BLUE1 " dev be0 nud permanent",
	"ip neigh add " BLUE4B " lladdr " MAC_BLUE2 " dev be0 nud permanent",
	"ip neigh add " GREEN4 " lladdr " MAC_GREEN1 " dev be0 nud permanent",
	"ip neigh add " BLUE4C " lladdr 02:00:00:00:01:12 dev be0 nud permanent",
	"ip neigh add " BLUE4D " lladdr 02:00:00:00:01:13 dev be0 nud permanent",
	"ip neigh add " GREEN4B " lladdr 02:00:00:00:01:21 dev be0 nud permanent",
	"ip neigh add " BLUE6 " lladdr " MAC_BLUE1 " dev be0 nud permanent",
	"ip neigh add " GREEN6 " lladdr " MAC_GREEN1 " dev be0 nud permanent",
};

struct env {
	struct sluice_bpf *skel;
	struct sluice_maps m;
	int prog_fd;
	int cli_ifindex;
	int be_ifindex;
	__u32 seed;
};

/* Enter a private network namespace and build it with `cmds`. */
static inline int env_netns_with(const char *const *cmds, size_t n)
{
	size_t i;

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (need root)\n",
			strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (system(cmds[i]) != 0) {
			fprintf(stderr, "setup failed: %s\n", cmds[i]);
			return -1;
		}
	}
	return 0;
}

static inline int env_netns(void)
{
	return env_netns_with(env_setup_cmds, sizeof(env_setup_cmds) /
						      sizeof(env_setup_cmds[0]));
}

static inline int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_WARN || getenv("SLUICE_TEST_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

static inline void env_maps_from_skel(struct env *e)
{
	struct sluice_bpf *s = e->skel;

	e->m.services = bpf_map__fd(s->maps.services);
	e->m.service_meta = bpf_map__fd(s->maps.service_meta);
	e->m.config = bpf_map__fd(s->maps.config);
	e->m.pools = bpf_map__fd(s->maps.pools);
	e->m.segments = bpf_map__fd(s->maps.segments);
	e->m.flows = bpf_map__fd(s->maps.flows);
	e->m.nat = bpf_map__fd(s->maps.nat);
	e->m.backend_stats = bpf_map__fd(s->maps.backend_stats);
	e->m.service_stats = bpf_map__fd(s->maps.service_stats);
	e->m.global_stats = bpf_map__fd(s->maps.global_stats);
	e->m.events = bpf_map__fd(s->maps.events);
}

/* Load a fresh copy of the program: empty maps, zero counters. */
static inline int env_load(struct env *e, __u32 flows_max)
{
	struct sluice_config cfg = { .seed = 0x5eed, .sample_every = 0 };

	libbpf_set_print(libbpf_quiet);
	memset(e, 0, sizeof(*e));
	e->skel = sluice_bpf__open();
	if (!e->skel)
		return -1;
	if (flows_max) {
		bpf_map__set_max_entries(e->skel->maps.flows, flows_max);
		bpf_map__set_max_entries(e->skel->maps.nat, flows_max);
	}
	if (sluice_bpf__load(e->skel)) {
		sluice_bpf__destroy(e->skel);
		e->skel = NULL;
		return -1;
	}
	env_maps_from_skel(e);
	e->prog_fd = bpf_program__fd(e->skel->progs.sluice_xdp);
	e->cli_ifindex = if_nametoindex("cli0");
	e->be_ifindex = if_nametoindex("be0");
	e->seed = cfg.seed;
	return sluice_config_write(&e->m, &cfg);
}

static inline void env_unload(struct env *e)
{
	if (e->skel)
		sluice_bpf__destroy(e->skel);
	e->skel = NULL;
}

/* Add a service; returns its hash seed. vip is "ADDR:PORT/proto". */
static inline int env_service(struct env *e, __u32 id, const char *vip, __u8 mode,
		       __u8 affinity, __u32 green_ppm)
{
	struct sluice_service_key k = {};
	struct sluice_service v = {};
	__u16 port;

	if (sluice_parse_vip(vip, k.vip, &port, &k.proto, NULL))
		return -EINVAL;
	k.port = htons(port);
	v.id = id;
	v.green_ppm = green_ppm;
	v.hash_seed = sluice_service_seed(e->seed, &k);
	v.mode = mode;
	v.affinity = affinity;
	return bpf_map_update_elem(e->m.services, &k, &v, BPF_ANY) ? -errno :
								      0;
}

static inline int env_service_get(struct env *e, const char *vip,
			   struct sluice_service_key *k,
			   struct sluice_service *v)
{
	__u16 port;

	memset(k, 0, sizeof(*k));
	if (sluice_parse_vip(vip, k->vip, &port, &k->proto, NULL))
		return -EINVAL;
	k->port = htons(port);
	return bpf_map_lookup_elem(e->m.services, k, v) ? -errno : 0;
}

static inline int env_split(struct env *e, const char *vip, __u32 green_ppm)
{
	struct sluice_service_key k;
	struct sluice_service v;

	if (env_service_get(e, vip, &k, &v))
		return -ENOENT;
	v.green_ppm = green_ppm;
	return bpf_map_update_elem(e->m.services, &k, &v, BPF_ANY) ? -errno :
								      0;
}

/* Set a pool from endpoints "ADDR:PORT" with weights; NULL-terminated. */
static inline int env_pool(struct env *e, const char *vip, __u8 colour,
		    const char *const *endpoints, const __u16 *weights)
{
	struct sluice_service_key k;
	struct sluice_service v;
	struct sluice_pool *pool;
	__u16 port;
	int i, err;

	if (env_service_get(e, vip, &k, &v))
		return -ENOENT;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	for (i = 0; endpoints && endpoints[i]; i++) {
		struct sluice_backend *b = &pool->backends[i];

		if (sluice_parse_endpoint(endpoints[i], b->addr, &port, NULL)) {
			free(pool);
			return -EINVAL;
		}
		b->port = htons(port);
		b->weight = weights ? weights[i] : 1;
		b->id = sluice_backend_id(v.id, colour, i);
		b->flags = SLUICE_BE_F_USED;
	}
	err = sluice_pool_publish(&e->m, v.id, colour, pool, v.hash_seed);
	free(pool);
	return err;
}

/* One packet through the program; returns the verdict, or -1. */
static inline int env_run(struct env *e, const void *in, size_t in_len, void *out,
		   __u32 *out_len, int ifindex)
{
	struct xdp_md ctx = { .data_end = in_len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
		    .data_size_in = in_len, .data_out = out,
		    .data_size_out = *out_len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(e->prog_fd, &opts)) {
		fprintf(stderr, "test_run: %s\n", strerror(errno));
		return -1;
	}
	*out_len = opts.data_size_out;
	return opts.retval;
}

/* Delete every key: collect them first, as deleting breaks iteration. */
static inline void env_flush(int map_fd, size_t key_size)
{
	size_t n = 0, cap = 1024, i;
	char *keys = malloc(cap * key_size);
	void *prev = NULL;

	while (keys && !bpf_map_get_next_key(map_fd, prev, keys + n * key_size)) {
		prev = keys + n * key_size;
		if (++n == cap) {
			char *k = realloc(keys, 2 * cap * key_size);

			if (!k)
				break;
			keys = k;
			cap *= 2;
			prev = keys + (n - 1) * key_size;
		}
	}
	for (i = 0; keys && i < n; i++)
		bpf_map_delete_elem(map_fd, keys + i * key_size);
	free(keys);
}

/* Forget all flow state, as if every flow had ended long ago. */
static inline void env_flush_flows(struct env *e)
{
	env_flush(e->m.flows, sizeof(struct sluice_flow_key));
	env_flush(e->m.nat, sizeof(struct sluice_flow_key));
}

#endif /* SLUICE_TEST_BPF_ENV_H */
