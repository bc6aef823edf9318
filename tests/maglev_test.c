// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The Maglev table builder: exact weight ratios, only participating
 * backends in the table, slot-order independence (two hosts agree), low
 * churn when a backend leaves, and speed at the pool size limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sluice_abi.h"
#include "maglev.h"

#define M SLUICE_TABLE_SIZE
#define NSLOTS SLUICE_MAX_BACKENDS_PER_POOL
#define SEED 0x5eed1234u
#define USED SLUICE_BE_F_USED
#define DRAINING SLUICE_BE_F_DRAINING

static struct sluice_pool *new_pool(void)
{
	struct sluice_pool *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	return p;
}

/* Backend number n gets a distinct address: 198.18.(n >> 8).(n & 255). */
static void set_backend(struct sluice_pool *p, unsigned int slot,
			unsigned int n, __u16 port, __u16 weight, __u8 flags)
{
	struct sluice_backend *be = &p->backends[slot];

	memset(be, 0, sizeof(*be));
	be->addr[10] = 0xff;
	be->addr[11] = 0xff;
	be->addr[12] = 198;
	be->addr[13] = 18;
	be->addr[14] = (__u8)(n >> 8);
	be->addr[15] = (__u8)n;
	be->port = htons(port);
	be->weight = weight;
	be->id = slot;
	be->flags = flags;
}

static void count_entries(const struct sluice_pool *p, __u32 counts[NSLOTS])
{
	unsigned int i;

	memset(counts, 0, NSLOTS * sizeof(counts[0]));
	for (i = 0; i < M; i++) {
		assert_in_range(p->table[i], 0, NSLOTS - 1);
		counts[p->table[i]]++;
	}
}

/* Same backend, as another host would see it: by address and port. */
static bool same_owner(const struct sluice_pool *a, unsigned int i,
		       const struct sluice_pool *b, unsigned int j)
{
	const struct sluice_backend *x = &a->backends[a->table[i]];
	const struct sluice_backend *y = &b->backends[b->table[j]];

	return memcmp(x->addr, y->addr, 16) == 0 && x->port == y->port;
}

/*
 * Each slot's share must be the exact ratio to within one entry:
 * |count - M * w / W| < 1, checked in integers as |count * W - M * w| < W.
 */
static void assert_shares(const struct sluice_pool *p)
{
	__u32 counts[NSLOTS];
	__u64 total = 0;
	__s64 diff;
	unsigned int i;

	count_entries(p, counts);
	for (i = 0; i < NSLOTS; i++)
		if (p->backends[i].flags == USED)
			total += p->backends[i].weight;
	for (i = 0; i < NSLOTS; i++) {
		__u64 w = p->backends[i].flags == USED ? p->backends[i].weight :
							 0;

		diff = (__s64)(counts[i] * total) - (__s64)(M * w);
		if (diff <= -(__s64)total || diff >= (__s64)total)
			fail_msg("slot %u weight %llu of %llu: %u entries", i,
				 (unsigned long long)w,
				 (unsigned long long)total, counts[i]);
	}
}

static void test_null_pool(void **state)
{
	(void)state;
	assert_int_equal(sluice_build_table(NULL, SEED), -EINVAL);
}

static void test_empty_pool(void **state)
{
	struct sluice_pool *p = new_pool();
	unsigned int i;

	(void)state;
	/* Stale contents from an earlier build must not survive. */
	for (i = 0; i < M; i++)
		p->table[i] = 0xabcd;
	p->active = 99;
	assert_int_equal(sluice_build_table(p, SEED), 0);
	assert_int_equal(p->active, 0);
	for (i = 0; i < M; i++)
		assert_int_equal(p->table[i], 0);

	/* Backends that take no new flows leave the pool just as empty. */
	set_backend(p, 0, 1, 80, 1, USED | DRAINING);
	set_backend(p, 1, 2, 80, 0, USED);
	set_backend(p, 2, 3, 80, 5, 0);
	set_backend(p, 3, 4, 80, 5, DRAINING);
	for (i = 0; i < M; i++)
		p->table[i] = 0xabcd;
	p->active = 99;
	assert_int_equal(sluice_build_table(p, SEED), 0);
	assert_int_equal(p->active, 0);
	for (i = 0; i < M; i++)
		assert_int_equal(p->table[i], 0);
	free(p);
}

static void test_single_backend(void **state)
{
	struct sluice_pool *p = new_pool();
	unsigned int i;

	(void)state;
	set_backend(p, 17, 1, 80, 3, USED);
	assert_int_equal(sluice_build_table(p, SEED), 0);
	assert_int_equal(p->active, 1);
	for (i = 0; i < M; i++)
		assert_int_equal(p->table[i], 17);
	free(p);
}

static void test_ratio_90_10(void **state)
{
	struct sluice_pool *p = new_pool();
	__u32 counts[NSLOTS];

	(void)state;
	set_backend(p, 0, 1, 80, 90, USED);
	set_backend(p, 1, 2, 80, 10, USED);
	assert_int_equal(sluice_build_table(p, SEED), 0);
	assert_int_equal(p->active, 2);
	count_entries(p, counts);
	assert_int_equal(counts[0] + counts[1], M);
	/* M * 0.9 = 14742.9 and M * 0.1 = 1638.1 */
	assert_in_range(counts[0], 14742, 14743);
	assert_in_range(counts[1], 1638, 1639);
	assert_shares(p);

	/* Only the ratio matters, not the scale. */
	set_backend(p, 0, 1, 80, 9, USED);
	set_backend(p, 1, 2, 80, 1, USED);
	assert_int_equal(sluice_build_table(p, SEED), 0);
	count_entries(p, counts);
	assert_in_range(counts[0], 14742, 14743);
	assert_in_range(counts[1], 1638, 1639);
	free(p);
}

static void test_equal_quarters(void **state)
{
	struct sluice_pool *p = new_pool();
	__u32 counts[NSLOTS];
	unsigned int i;

	(void)state;
	for (i = 0; i < 4; i++)
		set_backend(p, i, i + 1, 8080, 1, USED);
	assert_int_equal(sluice_build_table(p, SEED), 0);
	assert_int_equal(p->active, 4);
	count_entries(p, counts);
	for (i = 0; i < 4; i++)
		assert_in_range(counts[i], M / 4 - 1, M / 4 + 1);
	assert_shares(p);
	free(p);
}

static void test_plain_ratios(void **state)
{
	static const __u16 sets[][6] = {
		{ 3, 1 },
		{ 2, 1, 1 },
		{ 1, 2, 3, 4, 5 },
		{ 7, 7, 7 },
		{ 100, 1 },
		{ 65535, 65534, 3 },
		{ 1, 1, 1, 1, 1, 1 },
		{ 50, 30, 15, 5 },
	};
	struct sluice_pool *p = new_pool();
	unsigned int s, i;

	(void)state;
	for (s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		memset(p, 0, sizeof(*p));
		for (i = 0; i < 6 && sets[s][i]; i++)
			set_backend(p, 3 * i + 1, i + 1, 443, sets[s][i], USED);
		assert_int_equal(sluice_build_table(p, SEED), 0);
		assert_int_equal(p->active, i);
		assert_shares(p);
	}
	free(p);
}

/* A weight too small for one entry of its own still counts as active. */
static void test_tiny_weight(void **state)
{
	struct sluice_pool *p = new_pool();
	__u32 counts[NSLOTS];

	(void)state;
	set_backend(p, 0, 1, 80, 65535, USED);
	set_backend(p, 1, 2, 80, 1, USED);
	assert_int_equal(sluice_build_table(p, SEED), 0);
	assert_int_equal(p->active, 2);
	count_entries(p, counts);
	/* M / 65536 is about 0.25: rounds to nothing. */
	assert_int_equal(counts[0], M);
	assert_int_equal(counts[1], 0);
	free(p);
}

static void test_only_participants(void **state)
{
	struct sluice_pool *p = new_pool(), *q = new_pool();
	__u32 counts[NSLOTS];
	unsigned int i;

	(void)state;
	set_backend(p, 0, 1, 80, 1, USED);
	set_backend(p, 1, 2, 80, 100, USED | DRAINING);
	set_backend(p, 2, 3, 80, 100, 0); /* stale, unused slot */
	set_backend(p, 3, 4, 80, 0, USED);
	set_backend(p, 5, 5, 80, 2, USED);
	set_backend(p, 200, 6, 80, 3, USED);
	set_backend(p, 254, 7, 80, 100, DRAINING);
	set_backend(p, 255, 8, 80, 100, USED | DRAINING);
	assert_int_equal(sluice_build_table(p, SEED), 0);
	assert_int_equal(p->active, 3);
	count_entries(p, counts);
	for (i = 0; i < NSLOTS; i++) {
		if (i == 0 || i == 5 || i == 200)
			assert_true(counts[i] > 0);
		else
			assert_int_equal(counts[i], 0);
	}
	assert_shares(p);

	/* Non-participants have no say at all in the table. */
	set_backend(q, 0, 1, 80, 1, USED);
	set_backend(q, 5, 5, 80, 2, USED);
	set_backend(q, 200, 6, 80, 3, USED);
	assert_int_equal(sluice_build_table(q, SEED), 0);
	assert_memory_equal(p->table, q->table, sizeof(p->table));
	free(p);
	free(q);
}

static void test_deterministic(void **state)
{
	struct sluice_pool *p = new_pool(), *q = new_pool();
	unsigned int i, differ = 0;

	(void)state;
	for (i = 0; i < 12; i++) {
		set_backend(p, i, i + 1, 80, (__u16)(i + 1), USED);
		set_backend(q, i, i + 1, 80, (__u16)(i + 1), USED);
	}
	assert_int_equal(sluice_build_table(p, SEED), 0);
	assert_int_equal(sluice_build_table(q, SEED), 0);
	assert_memory_equal(p->table, q->table, sizeof(p->table));

	/* The seed matters: another seed, another table, same shares. */
	assert_int_equal(sluice_build_table(q, SEED + 1), 0);
	for (i = 0; i < M; i++)
		differ += p->table[i] != q->table[i];
	assert_true(differ > M / 2);
	assert_shares(q);
	free(p);
	free(q);
}

static void test_slot_order_independent(void **state)
{
	static const __u16 weights[10] = { 5, 1, 9, 3, 3, 7, 2, 8, 4, 6 };
	struct sluice_pool *a = new_pool(), *b = new_pool();
	unsigned int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		/* Same members, reversed and scattered over the slots. */
		set_backend(a, i, 100 + i, (__u16)(8000 + i % 3), weights[i],
			    USED);
		set_backend(b, (9 - i) * 23 + 7, 100 + i, (__u16)(8000 + i % 3),
			    weights[i], USED);
	}
	/* Unused slots in between, present on one host only. */
	set_backend(b, 0, 999, 1, 50, DRAINING | USED);
	set_backend(b, 1, 998, 1, 50, 0);
	assert_int_equal(sluice_build_table(a, SEED), 0);
	assert_int_equal(sluice_build_table(b, SEED), 0);
	assert_int_equal(a->active, b->active);
	for (i = 0; i < M; i++)
		if (!same_owner(a, i, b, i))
			fail_msg("entry %u: slot %u vs slot %u", i, a->table[i],
				 b->table[i]);
	free(a);
	free(b);
}

/* Same address, different ports: two backends, both in the table. */
static void test_ports_distinguish(void **state)
{
	struct sluice_pool *p = new_pool();
	__u32 counts[NSLOTS];

	(void)state;
	set_backend(p, 0, 1, 8080, 1, USED);
	set_backend(p, 1, 1, 8081, 1, USED);
	assert_int_equal(sluice_build_table(p, SEED), 0);
	assert_int_equal(p->active, 2);
	count_entries(p, counts);
	assert_in_range(counts[0], M / 2, M / 2 + 1);
	assert_in_range(counts[1], M / 2, M / 2 + 1);
	free(p);
}

static void test_duplicate_rejected(void **state)
{
	struct sluice_pool *p = new_pool(), *before = new_pool();

	(void)state;
	set_backend(p, 0, 1, 80, 1, USED);
	set_backend(p, 1, 2, 80, 1, USED);
	assert_int_equal(sluice_build_table(p, SEED), 0);

	/* The same backend in two slots has no order-free share: refuse. */
	set_backend(p, 7, 1, 80, 3, USED);
	memcpy(before, p, sizeof(*p));
	assert_int_equal(sluice_build_table(p, SEED), -EINVAL);
	assert_memory_equal(p, before, sizeof(*p));

	/* A draining copy does not participate, so it does not clash. */
	set_backend(p, 7, 1, 80, 3, USED | DRAINING);
	assert_int_equal(sluice_build_table(p, SEED), 0);
	assert_int_equal(p->active, 2);
	free(p);
	free(before);
}

static void churn(unsigned int n, unsigned int gone, __u8 gone_flags)
{
	struct sluice_pool *before = new_pool(), *after = new_pool();
	unsigned int i, moved = 0, survivors = 0, survivors_moved = 0;

	for (i = 0; i < n; i++)
		set_backend(before, i, i + 1, 80, 10, USED);
	memcpy(after, before, sizeof(*before));
	after->backends[gone].flags = gone_flags;
	assert_int_equal(sluice_build_table(before, SEED), 0);
	assert_int_equal(sluice_build_table(after, SEED), 0);
	assert_int_equal(after->active, n - 1);

	for (i = 0; i < M; i++) {
		bool same = same_owner(before, i, after, i);

		assert_int_not_equal(after->table[i], gone);
		moved += !same;
		if (before->table[i] != gone) {
			survivors++;
			survivors_moved += !same;
		}
	}
	print_message("# remove 1 of %u: %u of %u entries moved, %u of %u "
		      "survivors' entries\n",
		      n, moved, M, survivors_moved, survivors);
	/* The leaver's own 1/n must move; of the rest, at most 5%. */
	assert_true(survivors_moved * 20 <= survivors);
	assert_true(moved >= M / n - 1);
	if (n == 4) {
		assert_true(moved * 100 >= M * 20);
		assert_true(moved * 100 <= M * 30);
	}
	free(before);
	free(after);
}

static void test_remove_one_of_four(void **state)
{
	(void)state;
	churn(4, 2, 0);
	churn(4, 0, 0);
	churn(4, 3, 0);
}

static void test_drain_one_of_four(void **state)
{
	(void)state;
	churn(4, 1, USED | DRAINING);
}

static void test_remove_one_of_many(void **state)
{
	(void)state;
	churn(16, 5, 0);
	churn(100, 42, 0);
}

/* Draining is the same as removal as far as the table goes. */
static void test_drain_equals_remove(void **state)
{
	struct sluice_pool *a = new_pool(), *b = new_pool();
	unsigned int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		set_backend(a, i, i + 1, 80, 1, USED);
		set_backend(b, i, i + 1, 80, 1, USED);
	}
	a->backends[3].flags = USED | DRAINING;
	b->backends[3].flags = 0;
	assert_int_equal(sluice_build_table(a, SEED), 0);
	assert_int_equal(sluice_build_table(b, SEED), 0);
	assert_memory_equal(a->table, b->table, sizeof(a->table));
	free(a);
	free(b);
}

static void test_full_pool(void **state)
{
	struct sluice_pool *p = new_pool();
	__u32 counts[NSLOTS];
	unsigned int i, run;

	(void)state;
	for (i = 0; i < NSLOTS; i++) {
		struct sluice_backend *be = &p->backends[i];

		/* IPv6 this time: fd00::<i>, port 443. */
		memset(be, 0, sizeof(*be));
		be->addr[0] = 0xfd;
		be->addr[14] = (__u8)(i >> 8);
		be->addr[15] = (__u8)i;
		be->port = htons(443);
		be->weight = 1;
		be->flags = USED;
	}
	for (run = 0; run < 5; run++) {
		assert_int_equal(sluice_build_table(p, SEED + run), 0);
		assert_int_equal(p->active, NSLOTS);
		count_entries(p, counts);
		/* M / 256 = 63.99 */
		for (i = 0; i < NSLOTS; i++)
			assert_in_range(counts[i], M / NSLOTS, M / NSLOTS + 1);
	}
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_pool),
		cmocka_unit_test(test_empty_pool),
		cmocka_unit_test(test_single_backend),
		cmocka_unit_test(test_ratio_90_10),
		cmocka_unit_test(test_equal_quarters),
		cmocka_unit_test(test_plain_ratios),
		cmocka_unit_test(test_tiny_weight),
		cmocka_unit_test(test_only_participants),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_slot_order_independent),
		cmocka_unit_test(test_ports_distinguish),
		cmocka_unit_test(test_duplicate_rejected),
		cmocka_unit_test(test_remove_one_of_four),
		cmocka_unit_test(test_drain_one_of_four),
		cmocka_unit_test(test_remove_one_of_many),
		cmocka_unit_test(test_drain_equals_remove),
		cmocka_unit_test(test_full_pool),
	};

	return cmocka_run_group_tests_name("maglev", tests, NULL, NULL);
}
