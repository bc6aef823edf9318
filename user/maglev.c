// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Weighted Maglev (Eisenbud et al., NSDI 2016) with explicit quotas.
 *
 * Classic weighted Maglev lets a backend claim several positions per
 * round, which makes its share depend on how the permutations collide
 * rather than on the weight alone. Here each backend instead gets a quota
 * of entries fixed up front by apportioning the table over the weights,
 * and the round-robin fill only decides *which* entries it gets. Shares
 * are then exact ratios, and the fill keeps Maglev's low disruption.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sluice_abi.h"
#include "sluice_hash.h"
#include "maglev.h"

#define M SLUICE_TABLE_SIZE
/* No slot index reaches this: 256 slots fit in far fewer bits. */
#define FREE_ENTRY 0xffff

struct member {
	__u8 addr[16];
	__u16 port; /* host order, so sorting follows the printed form */
	__u16 slot;
	__u32 weight;
	__u32 quota; /* entries still to claim */
	__u32 rem; /* remainder of the apportionment, for the extra entries */
	__u32 pos; /* next position of the permutation to try */
	__u32 skip;
};

/* Scratch for one build: heap, as it is too big to sit on a stack. */
struct build {
	struct member mem[SLUICE_MAX_BACKENDS_PER_POOL];
	__u64 order[SLUICE_MAX_BACKENDS_PER_POOL];
	__u32 live[SLUICE_MAX_BACKENDS_PER_POOL];
};

static bool participates(const struct sluice_backend *be)
{
	return (be->flags & SLUICE_BE_F_USED) &&
	       !(be->flags & SLUICE_BE_F_DRAINING) && be->weight > 0;
}

/* Identity of a backend across hosts: what it is, not where it sits. */
static int cmp_key(const struct member *a, const struct member *b)
{
	int c = memcmp(a->addr, b->addr, sizeof(a->addr));

	if (c)
		return c;
	return (a->port > b->port) - (a->port < b->port);
}

static int cmp_member(const void *a, const void *b)
{
	return cmp_key(a, b);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return (x > y) - (x < y);
}

/*
 * The address is read as big-endian words so that hosts of either byte
 * order derive the same permutation; w5 tells the two hashes apart.
 */
static void permutation(struct member *m, __u32 seed)
{
	__u32 w[4];
	int i;

	for (i = 0; i < 4; i++)
		w[i] = (__u32)m->addr[4 * i] << 24 |
		       (__u32)m->addr[4 * i + 1] << 16 |
		       (__u32)m->addr[4 * i + 2] << 8 | m->addr[4 * i + 3];
	m->pos = sluice_hash6(seed, w, m->port, 0) % M;
	/* M is prime, so any skip in [1, M) visits every position once. */
	m->skip = sluice_hash6(seed, w, m->port, 1) % (M - 1) + 1;
}

static void apportion(struct member *mem, __u32 n, __u64 *order)
{
	__u64 total = 0, share;
	__u32 i, given = 0;

	for (i = 0; i < n; i++)
		total += mem[i].weight;
	for (i = 0; i < n; i++) {
		share = (__u64)M * mem[i].weight;
		mem[i].quota = (__u32)(share / total);
		mem[i].rem = (__u32)(share % total);
		given += mem[i].quota;
		/* Largest remainder first, then key order: mem[] is sorted. */
		order[i] = (__u64)~mem[i].rem << 32 | i;
	}
	/* The floors leave fewer than n entries over: one each, in order. */
	qsort(order, n, sizeof(*order), cmp_u64);
	for (i = 0; given < M; i++, given++)
		mem[order[i] & 0xffffffffu].quota++;
}

/*
 * Round-robin in key order: each backend still under quota takes the
 * next free position of its permutation. `live` holds the members still
 * under quota, compacted each round so finished ones cost nothing.
 */
static void fill(__u16 *table, struct member *mem, __u32 n, __u32 *live)
{
	__u32 i, j, nlive = 0;
	struct member *m;

	for (i = 0; i < M; i++)
		table[i] = FREE_ENTRY;
	for (i = 0; i < n; i++)
		if (mem[i].quota)
			live[nlive++] = i;

	/* Quotas sum to M, so the table is full exactly when none is live. */
	while (nlive) {
		for (i = 0, j = 0; i < nlive; i++) {
			m = &mem[live[i]];
			while (table[m->pos] != FREE_ENTRY)
				m->pos = m->pos + m->skip >= M ?
						 m->pos + m->skip - M :
						 m->pos + m->skip;
			table[m->pos] = m->slot;
			if (--m->quota)
				live[j++] = live[i];
		}
		nlive = j;
	}
}

int sluice_build_table(struct sluice_pool *pool, __u32 seed)
{
	struct member *mem;
	struct build *b;
	__u32 i, n = 0;

	if (!pool)
		return -EINVAL;
	for (i = 0; i < SLUICE_MAX_BACKENDS_PER_POOL; i++)
		n += participates(&pool->backends[i]);
	if (n == 0) {
		pool->active = 0;
		memset(pool->table, 0, sizeof(pool->table));
		return 0;
	}

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	mem = b->mem;
	for (i = 0, n = 0; i < SLUICE_MAX_BACKENDS_PER_POOL; i++) {
		const struct sluice_backend *be = &pool->backends[i];

		if (!participates(be))
			continue;
		memcpy(mem[n].addr, be->addr, sizeof(mem[n].addr));
		mem[n].port = ntohs(be->port);
		mem[n].slot = (__u16)i;
		mem[n].weight = be->weight;
		n++;
	}

	qsort(mem, n, sizeof(*mem), cmp_member);
	/* Two slots for one backend: no order-free way to split its share. */
	for (i = 1; i < n; i++) {
		if (cmp_key(&mem[i - 1], &mem[i]) == 0) {
			free(b);
			return -EINVAL;
		}
	}

	apportion(mem, n, b->order);
	for (i = 0; i < n; i++)
		permutation(&mem[i], seed);
	fill(pool->table, mem, n, b->live);
	pool->active = n;

	free(b);
	return 0;
}
