/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Shared setup for packet tests: the standard services of the fixture
 * world, base packet specs, and expect(): one frame in, the verdict and
 * the exact output bytes checked against a frame built from scratch.
 */
#ifndef SLUICE_TEST_FIXTURE_H
#define SLUICE_TEST_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>

#include "bpf_env.h"
#include "pkt.c"

#define M_CLIENT { 0x02, 0, 0, 0, 0, 0x01 }
#define M_CLI0 { 0x02, 0, 0, 0, 0, 0xc0 }
#define M_BE0 { 0x02, 0, 0, 0, 0, 0xb0 }
#define M_BLUE1 { 0x02, 0, 0, 0, 0x01, 0x10 }
#define M_BLUE2 { 0x02, 0, 0, 0, 0x01, 0x11 }
#define M_GREEN1 { 0x02, 0, 0, 0, 0x01, 0x20 }

/* Service ids of the fixture world, in the order fixture_services adds. */
enum {
	SVC_NAT4, /* 198.18.0.10:80/tcp nat */
	SVC_NAT6, /* [fd00::10]:80/tcp nat */
	SVC_DSR4, /* 198.18.0.11:80/tcp dsr */
	SVC_DSR6, /* [fd00::11]:80/tcp dsr */
	SVC_UDP4, /* 198.18.0.10:53/udp nat */
	SVC_UDP6, /* [fd00::10]:53/udp nat */
	SVC_NONEIGH, /* 198.18.0.12:80/tcp nat, backend without neighbour */
	SVC_BLACKHOLE, /* 198.18.0.13:80/tcp nat, backend blackholed */
	SVC_EMPTY, /* 198.18.0.14:80/tcp nat, no backends */
};

#define V_NAT4 VIP4 ":80/tcp"
#define V_NAT6 "[" VIP6 "]:80/tcp"
#define V_DSR4 "198.18.0.11:80/tcp"
#define V_DSR6 "[fd00::11]:80/tcp"
#define V_UDP4 VIP4 ":53/udp"
#define V_UDP6 "[" VIP6 "]:53/udp"

static struct env E;

static inline int fixture_services(void)
{
	static const char *const blue4[] = { BLUE4 ":8080", NULL };
	static const char *const green4[] = { GREEN4 ":8080", NULL };
	static const char *const blue6[] = { "[" BLUE6 "]:8080", NULL };
	static const char *const green6[] = { "[" GREEN6 "]:8080", NULL };
	static const char *const blue4_80[] = { BLUE4 ":80", NULL };
	static const char *const green4_80[] = { GREEN4 ":80", NULL };
	static const char *const blue6_80[] = { "[" BLUE6 "]:80", NULL };
	static const char *const blue4_dns[] = { BLUE4 ":5353", NULL };
	static const char *const blue6_dns[] = { "[" BLUE6 "]:5353", NULL };
	static const char *const unresolved[] = { UNRESOLVED4 ":8080", NULL };
	static const char *const blackhole[] = { BLACKHOLE4 ":8080", NULL };
	int err = 0;

	err |= env_service(&E, SVC_NAT4, V_NAT4, SLUICE_MODE_NAT,
			   SLUICE_AFFINITY_FLOW, 0);
	err |= env_pool(&E, V_NAT4, SLUICE_BLUE, blue4, NULL);
	err |= env_pool(&E, V_NAT4, SLUICE_GREEN, green4, NULL);
	err |= env_service(&E, SVC_NAT6, V_NAT6, SLUICE_MODE_NAT,
			   SLUICE_AFFINITY_FLOW, 0);
	err |= env_pool(&E, V_NAT6, SLUICE_BLUE, blue6, NULL);
	err |= env_pool(&E, V_NAT6, SLUICE_GREEN, green6, NULL);
	err |= env_service(&E, SVC_DSR4, V_DSR4, SLUICE_MODE_DSR,
			   SLUICE_AFFINITY_FLOW, 0);
	err |= env_pool(&E, V_DSR4, SLUICE_BLUE, blue4_80, NULL);
	err |= env_pool(&E, V_DSR4, SLUICE_GREEN, green4_80, NULL);
	err |= env_service(&E, SVC_DSR6, V_DSR6, SLUICE_MODE_DSR,
			   SLUICE_AFFINITY_FLOW, 0);
	err |= env_pool(&E, V_DSR6, SLUICE_BLUE, blue6_80, NULL);
	err |= env_service(&E, SVC_UDP4, V_UDP4, SLUICE_MODE_NAT,
			   SLUICE_AFFINITY_FLOW, 0);
	err |= env_pool(&E, V_UDP4, SLUICE_BLUE, blue4_dns, NULL);
	err |= env_service(&E, SVC_UDP6, V_UDP6, SLUICE_MODE_NAT,
			   SLUICE_AFFINITY_FLOW, 0);
	err |= env_pool(&E, V_UDP6, SLUICE_BLUE, blue6_dns, NULL);
	err |= env_service(&E, SVC_NONEIGH, "198.18.0.12:80/tcp",
			   SLUICE_MODE_NAT, SLUICE_AFFINITY_FLOW, 0);
	err |= env_pool(&E, "198.18.0.12:80/tcp", SLUICE_BLUE, unresolved,
			NULL);
	err |= env_service(&E, SVC_BLACKHOLE, "198.18.0.13:80/tcp",
			   SLUICE_MODE_NAT, SLUICE_AFFINITY_FLOW, 0);
	err |= env_pool(&E, "198.18.0.13:80/tcp", SLUICE_BLUE, blackhole,
			NULL);
	err |= env_service(&E, SVC_EMPTY, "198.18.0.14:80/tcp",
			   SLUICE_MODE_NAT, SLUICE_AFFINITY_FLOW, 0);
	return err ? -1 : 0;
}

static inline int fixture_setup(void **state)
{
	(void)state;
	if (env_load(&E, 0))
		return -1;
	return fixture_services();
}

static inline int fixture_teardown(void **state)
{
	(void)state;
	env_unload(&E);
	return 0;
}

/* A client's TCP segment to the IPv4 nat VIP, as it arrives on cli0. */
static inline struct pkt_spec tcp4(__u8 flags)
{
	struct pkt_spec s = {
		.smac = M_CLIENT,
		.dmac = M_CLI0,
		.src = CLIENT4,
		.dst = VIP4,
		.proto = IPPROTO_TCP,
		.sport = 40000,
		.dport = 80,
		.tcp_flags = flags,
		.seq = 1000,
		.ack_seq = flags & 0x10 ? 5000 : 0,
	};
	return s;
}

static inline struct pkt_spec tcp6(__u8 flags)
{
	struct pkt_spec s = tcp4(flags);

	s.v6 = true;
	s.src = CLIENT6;
	s.dst = VIP6;
	return s;
}

/* What a nat-mode rewrite toward a backend on be0 must produce. */
static inline struct pkt_spec to_backend(struct pkt_spec s, const char *backend,
				  __u16 port, const __u8 mac[6])
{
	static const __u8 be0[6] = M_BE0;

	memcpy(s.dmac, mac, 6);
	memcpy(s.smac, be0, 6);
	s.dst = backend;
	s.dport = port;
	s.ttl = (s.ttl ? s.ttl : 64) - 1;
	return s;
}

/* A backend's reply as it arrives on be0, for a client-side spec. */
static inline struct pkt_spec from_backend(const char *backend, __u16 bport,
				    const char *client, __u16 cport, bool v6,
				    __u8 flags)
{
	struct pkt_spec s = {
		.smac = M_BLUE1,
		.dmac = M_BE0,
		.v6 = v6,
		.src = backend,
		.dst = client,
		.proto = IPPROTO_TCP,
		.sport = bport,
		.dport = cport,
		.tcp_flags = flags,
		.seq = 5000,
		.ack_seq = 1001,
	};
	return s;
}

/* The reverse-NAT rewrite toward the client on cli0. */
static inline struct pkt_spec to_client(struct pkt_spec s, const char *vip,
				 __u16 vport)
{
	static const __u8 client[6] = M_CLIENT, cli0[6] = M_CLI0;

	memcpy(s.dmac, client, 6);
	memcpy(s.smac, cli0, 6);
	s.src = vip;
	s.sport = vport;
	s.ttl = (s.ttl ? s.ttl : 64) - 1;
	return s;
}

/*
 * Run `in` through the program from ifindex; assert the verdict and that
 * the output equals `want` byte for byte (NULL: the input, unchanged).
 */
static inline void expect_frame(const struct pkt_spec *in, int ifindex, int verdict,
			 const struct pkt_spec *want)
{
	__u8 ibuf[PKT_MAX], obuf[PKT_MAX], wbuf[PKT_MAX];
	size_t ilen, wlen;
	__u32 olen = sizeof(obuf);
	int got;

	ilen = pkt_build(in, ibuf, sizeof(ibuf));
	assert_true(ilen > 0);
	got = env_run(&E, ibuf, ilen, obuf, &olen, ifindex);
	if (got != verdict) {
		struct sluice_global_stats g;
		int i;

		if (!sluice_global_stats_read(&E.m, &g))
			for (i = 0; i < SLUICE_PASS_MAX; i++)
				if (g.pass[i])
					print_error("# passed for reason %d\n",
						    i);
		fail_msg("verdict %d, want %d", got, verdict);
	}
	if (want) {
		wlen = pkt_build(want, wbuf, sizeof(wbuf));
		assert_true(wlen > 0);
	} else {
		memcpy(wbuf, ibuf, ilen);
		wlen = ilen;
	}
	if (olen != wlen || memcmp(obuf, wbuf, wlen)) {
		pkt_dump_diff("output", obuf, olen, wbuf, wlen);
		fail_msg("output frame differs from the expected bytes");
	}
	if (want) {
		const char *why = NULL;

		if (pkt_verify_checksums(obuf, olen, &why))
			fail_msg("output checksums invalid: %s",
				 why ? why : "?");
	}
}

static inline struct sluice_backend_stats backend_stats(__u32 svc, __u8 colour,
						 __u32 slot)
{
	struct sluice_backend_stats s;

	assert_int_equal(sluice_backend_stats_read(
				 &E.m, sluice_backend_id(svc, colour, slot), &s),
			 0);
	return s;
}

static inline struct sluice_service_stats service_stats(__u32 svc)
{
	struct sluice_service_stats s;

	assert_int_equal(sluice_service_stats_read(&E.m, svc, &s), 0);
	return s;
}

static inline struct sluice_global_stats global_stats(void)
{
	struct sluice_global_stats s;

	assert_int_equal(sluice_global_stats_read(&E.m, &s), 0);
	return s;
}

static inline __u64 hist_total(const __u64 *h)
{
	__u64 t = 0;
	int i;

	for (i = 0; i < SLUICE_HIST_BUCKETS; i++)
		t += h[i];
	return t;
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

/* Enter the private namespace before any test runs. */
static inline int fixture_main(const char *name, const struct CMUnitTest *tests,
			size_t n)
{
	if (env_netns())
		return 1;
	return _cmocka_run_group_tests(name, tests, n, NULL, NULL);
}

#endif /* SLUICE_TEST_FIXTURE_H */
