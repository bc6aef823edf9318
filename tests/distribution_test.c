// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Statistical properties of the split and the pools, measured by sending
 * many synthetic flows through the real program and reading where each
 * one was sent from the rewritten destination address.
 */
#include "fixture.h"

#define NFLOWS 400000 /* split accuracy: sigma 0.08 pp at 50% */
#define NCLIENTS 100000

static __u8 addr_blue4[4], addr_blue4b[4], addr_green4[4];

/* Client i: a distinct source address in 198.18.0.0/15 and a port. */
static void client_frame(__u8 *buf, size_t *len, __u32 i, __u16 sport,
			 const char *vip, __u16 vport)
{
	char src[32];
	struct pkt_spec s = tcp4(0x02);

	snprintf(src, sizeof(src), "198.%u.%u.%u", 18 + ((i >> 16) & 1),
		 (i >> 8) & 0xff, i & 0xff);
	s.src = src;
	s.sport = sport;
	s.dst = vip;
	s.dport = vport;
	*len = pkt_build(&s, buf, PKT_MAX);
}

/* Destination IPv4 address of the frame the program sent out. */
static __u32 sent_to(__u32 i, __u16 sport, const char *vip, __u16 vport)
{
	__u8 in[PKT_MAX], out[PKT_MAX];
	__u32 olen = sizeof(out), dst;
	size_t len;

	client_frame(in, &len, i, sport, vip, vport);
	assert_int_equal(env_run(&E, in, len, out, &olen, E.cli_ifindex),
			 XDP_REDIRECT);
	memcpy(&dst, out + 14 + 16, 4);
	return dst;
}

static int is_green(__u32 dst)
{
	return !memcmp(&dst, addr_green4, 4) ||
	       !memcmp(&dst, (const __u8[]){ 198, 18, 1, 21 }, 4);
}

static void test_split_accuracy(void **state)
{
	static const __u32 splits[] = { 10000, 50000, 250000, 500000 };
	size_t k;
	__u32 i;

	(void)state;
	for (k = 0; k < 4; k++) {
		__u32 green = 0;
		double got, want = splits[k] / 1e4;

		assert_int_equal(env_split(&E, V_NAT4, splits[k]), 0);
		env_flush_flows(&E);
		for (i = 0; i < NFLOWS; i++)
			green += is_green(sent_to(i % 131072,
						  1024 + i / 131072 * 7 + k,
						  VIP4, 80));
		got = 100.0 * green / NFLOWS;
		print_message("# split %.1f%%: observed %.3f%%\n", want, got);
		assert_true(fabs(got - want) <= 0.3);
	}
}

/*
 * Client affinity: as the split rises, nobody goes from green back to
 * blue; as it falls, nobody goes from blue to green.
 */
static void test_monotone_exposure(void **state)
{
	static const __u32 up[] = { 0, 10000, 50000, 250000, 500000, 1000000 };
	static const __u32 down[] = { 500000, 250000, 50000, 10000, 0 };
	__u8 *green = calloc(NCLIENTS, 1);
	__u32 step = 0, i, seen;
	size_t k;

	(void)state;
	assert_non_null(green);
	assert_int_equal(env_service(&E, SVC_NAT4, V_NAT4, SLUICE_MODE_NAT,
				     SLUICE_AFFINITY_CLIENT, 0),
			 0);
	for (k = 0; k < sizeof(up) / sizeof(up[0]); k++, step++) {
		assert_int_equal(env_split(&E, V_NAT4, up[k]), 0);
		env_flush_flows(&E);
		for (i = 0, seen = 0; i < NCLIENTS; i++) {
			int g = is_green(sent_to(i, 2000 + step, VIP4, 80));

			if (green[i] && !g)
				fail_msg("client %u left green at split %u",
					 i, up[k]);
			green[i] = g;
			seen += g;
		}
		print_message("# up %u ppm: %u of %u clients green\n", up[k],
			      seen, NCLIENTS);
	}
	for (k = 0; k < sizeof(down) / sizeof(down[0]); k++, step++) {
		assert_int_equal(env_split(&E, V_NAT4, down[k]), 0);
		env_flush_flows(&E);
		for (i = 0; i < NCLIENTS; i += 4) {
			int g = is_green(sent_to(i, 2000 + step, VIP4, 80));

			if (!green[i] && g)
				fail_msg("client %u joined green at split %u",
					 i, down[k]);
			green[i] = g;
		}
	}
	free(green);
}

static void test_weights_90_10(void **state)
{
	static const char *const pool[] = { BLUE4 ":8080", BLUE4B ":8080",
					     NULL };
	static const __u16 w[] = { 90, 10 };
	__u32 i, first = 0;
	double got;

	(void)state;
	assert_int_equal(env_pool(&E, V_NAT4, SLUICE_BLUE, pool, w), 0);
	for (i = 0; i < NCLIENTS; i++) {
		__u32 d = sent_to(i, 3000, VIP4, 80);

		if (!memcmp(&d, addr_blue4, 4))
			first++;
		else
			assert_memory_equal(&d, addr_blue4b, 4);
	}
	got = 100.0 * first / NCLIENTS;
	print_message("# 90:10 weights: %.2f%% / %.2f%%\n", got, 100 - got);
	assert_true(fabs(got - 90.0) <= 1.0);
}

static void test_remove_one_of_four(void **state)
{
	static const char *const four[] = { BLUE4 ":8080", BLUE4B ":8080",
					    BLUE4C ":8080", BLUE4D ":8080",
					    NULL };
	static const char *const three[] = { BLUE4 ":8080", BLUE4B ":8080",
					     BLUE4C ":8080", NULL };
	static const char *const greens[] = { GREEN4 ":8080",
					      GREEN4B ":8080", NULL };
	__u32 *before = calloc(NCLIENTS, sizeof(__u32)), i;
	__u32 blue = 0, blue_moved = 0, green = 0, green_moved = 0;
	double frac;

	(void)state;
	assert_non_null(before);
	assert_int_equal(env_pool(&E, V_NAT4, SLUICE_BLUE, four, NULL), 0);
	assert_int_equal(env_pool(&E, V_NAT4, SLUICE_GREEN, greens, NULL), 0);
	assert_int_equal(env_split(&E, V_NAT4, 500000), 0);
	for (i = 0; i < NCLIENTS; i++)
		before[i] = sent_to(i, 4000, VIP4, 80);
	assert_int_equal(env_pool(&E, V_NAT4, SLUICE_BLUE, three, NULL), 0);
	env_flush_flows(&E);
	for (i = 0; i < NCLIENTS; i++) {
		__u32 now = sent_to(i, 4000, VIP4, 80);

		assert_int_equal(is_green(now), is_green(before[i]));
		if (is_green(before[i])) {
			green++;
			green_moved += now != before[i];
		} else {
			blue++;
			blue_moved += now != before[i];
		}
	}
	frac = 100.0 * blue_moved / blue;
	print_message("# removing 1 of 4: %.2f%% of blue flows moved, "
		      "%u of %u green\n",
		      frac, green_moved, green);
	assert_true(frac >= 20.0 && frac <= 30.0);
	assert_int_equal(green_moved, 0);
	assert_true(green > NCLIENTS / 3);
	free(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_split_accuracy),
		TEST(test_monotone_exposure),
		TEST(test_weights_90_10),
		TEST(test_remove_one_of_four),
	};

	inet_pton(AF_INET, BLUE4, addr_blue4);
	inet_pton(AF_INET, BLUE4B, addr_blue4b);
	inet_pton(AF_INET, GREEN4, addr_green4);
	return fixture_main("distribution", tests,
			    sizeof(tests) / sizeof(tests[0]));
}
