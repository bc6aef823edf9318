// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Operator input parsers: what they accept, everything they must refuse,
 * and that the formatters print what the parsers read back unchanged.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "sluice_abi.h"
#include "parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const __u8 poison[16] = {
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa
};

static void v4(__u8 out[16], __u8 a, __u8 b, __u8 c, __u8 d)
{
	memset(out, 0, 16);
	out[10] = 0xff;
	out[11] = 0xff;
	out[12] = a;
	out[13] = b;
	out[14] = c;
	out[15] = d;
}

static void v6(__u8 out[16], const char *s)
{
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

/* ---- addresses -------------------------------------------------------- */

static void test_addr_v4(void **state)
{
	__u8 got[16], want[16];
	int family = -1;

	(void)state;
	assert_int_equal(sluice_parse_addr("198.18.0.10", got, &family), 0);
	v4(want, 198, 18, 0, 10);
	assert_memory_equal(got, want, 16);
	assert_int_equal(family, AF_INET);

	assert_int_equal(sluice_parse_addr("0.0.0.0", got, &family), 0);
	v4(want, 0, 0, 0, 0);
	assert_memory_equal(got, want, 16);
	assert_int_equal(sluice_parse_addr("255.255.255.255", got, NULL), 0);
	v4(want, 255, 255, 255, 255);
	assert_memory_equal(got, want, 16);
}

static void test_addr_v6(void **state)
{
	__u8 got[16], want[16];
	int family = -1;

	(void)state;
	assert_int_equal(sluice_parse_addr("fd00::10", got, &family), 0);
	v6(want, "fd00::10");
	assert_memory_equal(got, want, 16);
	assert_int_equal(family, AF_INET6);

	/* IPv4-compatible (not mapped) is a plain IPv6 address. */
	assert_int_equal(sluice_parse_addr("::1.2.3.4", got, &family), 0);
	assert_int_equal(family, AF_INET6);
	assert_false(sluice_addr_is_v4(got));
}

static void test_addr_mapped_literal(void **state)
{
	__u8 got[16], want[16];
	int family = -1;

	(void)state;
	assert_int_equal(sluice_parse_addr("::ffff:1.2.3.4", got, &family), 0);
	v4(want, 1, 2, 3, 4);
	assert_memory_equal(got, want, 16);
	assert_int_equal(family, AF_INET);

	assert_int_equal(sluice_parse_addr("::FFFF:0102:0304", got, &family),
			 0);
	assert_memory_equal(got, want, 16);
	assert_int_equal(family, AF_INET);
}

static void test_addr_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		" 1.2.3.4",
		"1.2.3.4 ",
		"1.2.3",
		"1.2.3.4.5",
		"256.1.1.1",
		"01.2.3.4",
		"1.2.3.4/32",
		"1.2.3.4:80",
		"fe80::1%eth0",
		"[::1]",
		"fd00::1/64",
		"1:2:3:4:5:6:7:8:9",
		"::g",
		"abc",
		"localhost",
		"0x01020304",
		"1111111111111111111111111111111111111111111111111111111111111",
	};
	__u8 got[16];
	int family = 12345;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(got, poison, 16);
		if (sluice_parse_addr(bad[i], got, &family) != -EINVAL)
			fail_msg("accepted address \"%s\"", bad[i]);
		/* Nothing is written on failure. */
		assert_memory_equal(got, poison, 16);
		assert_int_equal(family, 12345);
	}
	assert_int_equal(sluice_parse_addr(NULL, got, &family), -EINVAL);
	assert_int_equal(sluice_parse_addr("1.2.3.4", NULL, &family), -EINVAL);
}

static void test_addr_is_v4(void **state)
{
	__u8 a[16];

	(void)state;
	v4(a, 10, 0, 0, 1);
	assert_true(sluice_addr_is_v4(a));
	v6(a, "fd00::1");
	assert_false(sluice_addr_is_v4(a));
	v6(a, "::ffff:0:1.2.3.4"); /* SIIT translated, not mapped */
	assert_false(sluice_addr_is_v4(a));
	v6(a, "::");
	assert_false(sluice_addr_is_v4(a));
	assert_false(sluice_addr_is_v4(NULL));
}

/* ---- endpoints and VIPs ----------------------------------------------- */

static void test_endpoint_good(void **state)
{
	__u8 got[16], want[16];
	__u16 port = 0;
	int family = -1;

	(void)state;
	assert_int_equal(sluice_parse_endpoint("198.18.1.10:8080", got, &port,
					       &family),
			 0);
	v4(want, 198, 18, 1, 10);
	assert_memory_equal(got, want, 16);
	assert_int_equal(port, 8080);
	assert_int_equal(family, AF_INET);

	assert_int_equal(sluice_parse_endpoint("[fd00::1]:8080", got, &port,
					       &family),
			 0);
	v6(want, "fd00::1");
	assert_memory_equal(got, want, 16);
	assert_int_equal(port, 8080);
	assert_int_equal(family, AF_INET6);

	assert_int_equal(sluice_parse_endpoint("1.2.3.4:1", got, &port, NULL),
			 0);
	assert_int_equal(port, 1);
	assert_int_equal(
		sluice_parse_endpoint("1.2.3.4:65535", got, &port, NULL), 0);
	assert_int_equal(port, 65535);

	assert_int_equal(sluice_parse_endpoint("[::ffff:1.2.3.4]:53", got,
					       &port, &family),
			 0);
	v4(want, 1, 2, 3, 4);
	assert_memory_equal(got, want, 16);
	assert_int_equal(family, AF_INET);
	assert_int_equal(port, 53);
}

static const char *const bad_endpoints[] = {
	"",
	"1.2.3.4",
	"1.2.3.4:",
	"1.2.3.4:0",
	"1.2.3.4:00",
	"1.2.3.4:65536",
	"1.2.3.4:99999999999999999999999",
	"1.2.3.4:-1",
	"1.2.3.4:+80",
	"1.2.3.4:0x50",
	"1.2.3.4:80 ",
	"1.2.3.4: 80",
	" 1.2.3.4:80",
	"1.2.3.4 :80",
	"1.2.3.4:80:80",
	"1.2.3.4:http",
	":80",
	"host:80",
	"fd00::1:8080",
	"fd00::1",
	"[fd00::1]",
	"[fd00::1]:",
	"[fd00::1]8080",
	"[fd00::1:8080",
	"fd00::1]:8080",
	"[[fd00::1]]:8080",
	"[]:80",
	"[1.2.3.4]:80",
	"[fd00::1]:0",
	"[fd00::1]:8080]",
};

static void test_endpoint_rejects(void **state)
{
	__u8 got[16];
	__u16 port = 4242;
	int family = 12345;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad_endpoints); i++) {
		memcpy(got, poison, 16);
		if (sluice_parse_endpoint(bad_endpoints[i], got, &port,
					  &family) != -EINVAL)
			fail_msg("accepted endpoint \"%s\"", bad_endpoints[i]);
		assert_memory_equal(got, poison, 16);
		assert_int_equal(port, 4242);
		assert_int_equal(family, 12345);
	}
	assert_int_equal(sluice_parse_endpoint(NULL, got, &port, NULL),
			 -EINVAL);
	assert_int_equal(sluice_parse_endpoint("1.2.3.4:80", NULL, &port, NULL),
			 -EINVAL);
	assert_int_equal(sluice_parse_endpoint("1.2.3.4:80", got, NULL, NULL),
			 -EINVAL);
}

static void test_vip_good(void **state)
{
	__u8 got[16], want[16], proto = 0;
	__u16 port = 0;
	int family = -1;

	(void)state;
	assert_int_equal(sluice_parse_vip("198.18.0.10:80/tcp", got, &port,
					  &proto, &family),
			 0);
	v4(want, 198, 18, 0, 10);
	assert_memory_equal(got, want, 16);
	assert_int_equal(port, 80);
	assert_int_equal(proto, IPPROTO_TCP);
	assert_int_equal(family, AF_INET);

	assert_int_equal(sluice_parse_vip("[fd00::10]:53/udp", got, &port,
					  &proto, &family),
			 0);
	v6(want, "fd00::10");
	assert_memory_equal(got, want, 16);
	assert_int_equal(port, 53);
	assert_int_equal(proto, IPPROTO_UDP);
	assert_int_equal(family, AF_INET6);

	assert_int_equal(sluice_parse_vip("1.2.3.4:443/TCP", got, &port, &proto,
					  NULL),
			 0);
	assert_int_equal(proto, IPPROTO_TCP);
	assert_int_equal(sluice_parse_vip("1.2.3.4:443/Udp", got, &port, &proto,
					  NULL),
			 0);
	assert_int_equal(proto, IPPROTO_UDP);
}

static void test_vip_rejects(void **state)
{
	static const char *const bad[] = {
		"198.18.0.10:80",
		"198.18.0.10:80/",
		"198.18.0.10:80/sctp",
		"198.18.0.10:80/tcp ",
		"198.18.0.10:80 /tcp",
		"198.18.0.10:80/tcpx",
		"198.18.0.10:80/tc",
		"198.18.0.10:80/tcp/udp",
		"198.18.0.10:80//tcp",
		"198.18.0.10:80/6",
		"198.18.0.10/tcp",
		"198.18.0.10:0/tcp",
		"/tcp",
		"[fd00::10]/udp",
		"fd00::10:53/udp",
	};
	__u8 got[16], proto = 99;
	__u16 port = 4242;
	char buf[80];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(got, poison, 16);
		if (sluice_parse_vip(bad[i], got, &port, &proto, NULL) !=
		    -EINVAL)
			fail_msg("accepted VIP \"%s\"", bad[i]);
		assert_memory_equal(got, poison, 16);
		assert_int_equal(port, 4242);
		assert_int_equal(proto, 99);
	}
	/* A bad endpoint stays bad with a good protocol after it. */
	for (i = 0; i < ARRAY_SIZE(bad_endpoints); i++) {
		snprintf(buf, sizeof(buf), "%s/tcp", bad_endpoints[i]);
		if (sluice_parse_vip(buf, got, &port, &proto, NULL) != -EINVAL)
			fail_msg("accepted VIP \"%s\"", buf);
	}
	assert_int_equal(sluice_parse_vip(NULL, got, &port, &proto, NULL),
			 -EINVAL);
	assert_int_equal(sluice_parse_vip("1.2.3.4:80/tcp", got, &port, NULL,
					  NULL),
			 -EINVAL);
}

/* ---- prefixes --------------------------------------------------------- */

struct prefix_case {
	const char *in;
	const char *addr; /* as inet_pton(AF_INET6) reads it */
	__u32 plen128;
	int family;
};

static void test_prefix_good(void **state)
{
	static const struct prefix_case good[] = {
		{ "198.18.7.0/24", "::ffff:198.18.7.0", 120, AF_INET },
		{ "fd00:7::/48", "fd00:7::", 48, AF_INET6 },
		{ "198.18.7.9", "::ffff:198.18.7.9", 128, AF_INET },
		{ "fd00::9", "fd00::9", 128, AF_INET6 },
		{ "1.2.3.4/32", "::ffff:1.2.3.4", 128, AF_INET },
		{ "0.0.0.0/0", "::ffff:0.0.0.0", 96, AF_INET },
		{ "10.0.0.0/8", "::ffff:10.0.0.0", 104, AF_INET },
		{ "128.0.0.0/1", "::ffff:128.0.0.0", 97, AF_INET },
		{ "::/0", "::", 0, AF_INET6 },
		{ "fd00::1/128", "fd00::1", 128, AF_INET6 },
		{ "fd00:7:8000::/33", "fd00:7:8000::", 33, AF_INET6 },
		{ "::ffff:1.2.3.0/120", "::ffff:1.2.3.0", 120, AF_INET },
		{ "::ffff:0.0.0.0/96", "::ffff:0.0.0.0", 96, AF_INET },
	};
	__u8 got[16], want[16];
	__u32 plen;
	int family;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		plen = 9999;
		family = -1;
		if (sluice_parse_prefix(good[i].in, got, &plen, &family))
			fail_msg("rejected prefix \"%s\"", good[i].in);
		v6(want, good[i].addr);
		assert_memory_equal(got, want, 16);
		assert_int_equal(plen, good[i].plen128);
		assert_int_equal(family, good[i].family);
	}
}

static void test_prefix_rejects(void **state)
{
	static const char *const bad[] = {
		"198.18.7.1/24",
		"10.0.0.1/8",
		"1.2.3.4/0",
		"fd00:7::1/48",
		"fd00:7:8000::/32",
		"::1/0",
		"::ffff:0.0.0.0/80", /* the ffff is host bits of a /80 */
		"1.2.3.0/33",
		"1.2.3.0/120",
		"fd00::/129",
		"1.2.3.0/",
		"/24",
		"",
		"1.2.3.0/24 ",
		" 1.2.3.0/24",
		"1.2.3.0 /24",
		"1.2.3.0/-1",
		"1.2.3.0/+24",
		"1.2.3.0/24/1",
		"1.2.3.0//24",
		"1.2.3.0/0x18",
		"1.2.3.0/24.0",
		"1.2.3.0/99999999999999999999999",
		"1.2.3/24",
		"[fd00::]/48",
		"fd00::/48%",
	};
	__u8 got[16];
	__u32 plen = 4242;
	int family = 12345;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(got, poison, 16);
		if (sluice_parse_prefix(bad[i], got, &plen, &family) != -EINVAL)
			fail_msg("accepted prefix \"%s\"", bad[i]);
		assert_memory_equal(got, poison, 16);
		assert_int_equal(plen, 4242);
		assert_int_equal(family, 12345);
	}
	assert_int_equal(sluice_parse_prefix(NULL, got, &plen, NULL), -EINVAL);
	assert_int_equal(sluice_parse_prefix("1.2.3.0/24", got, NULL, NULL),
			 -EINVAL);
}

/* ---- percentages ------------------------------------------------------ */

static void test_percent_good(void **state)
{
	static const struct {
		const char *in;
		__u32 ppm;
	} good[] = {
		{ "5", 50000 },
		{ "5%", 50000 },
		{ "0.5%", 5000 },
		{ "0.01%", 100 },
		{ "0.0001%", 1 },
		{ "100", 1000000 },
		{ "100%", 1000000 },
		{ "25.5", 255000 },
		{ "0", 0 },
		{ "0%", 0 },
		{ "0.0000", 0 },
		{ "100.0000%", 1000000 },
		{ "99.9999%", 999999 },
		{ "33.3333", 333333 },
		{ "1.2345", 12345 },
		{ "005", 50000 },
		{ "12.50", 125000 },
	};
	__u32 ppm;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		ppm = 4242;
		if (sluice_parse_percent(good[i].in, &ppm))
			fail_msg("rejected percent \"%s\"", good[i].in);
		assert_int_equal(ppm, good[i].ppm);
	}
}

static void test_percent_rejects(void **state)
{
	static const char *const bad[] = {
		"0.00001%", "0.00010", "5.12345",
		"-5",	    "-0",      "101",
		"100.0001", "1000",    "",
		"%",	    "5%%",     " 5",
		"5 ",	    "5 %",     "abc",
		"1e2",	    "+5",      "5.",
		".5",	    "5.%",     "0x5",
		"1,5",	    "5.5.5",   "5%x",
		"%5",	    "5 5",     "99999999999999999999999999",
		"inf",	    "nan",
	};
	__u32 ppm = 4242;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (sluice_parse_percent(bad[i], &ppm) != -EINVAL)
			fail_msg("accepted percent \"%s\"", bad[i]);
		assert_int_equal(ppm, 4242);
	}
	assert_int_equal(sluice_parse_percent(NULL, &ppm), -EINVAL);
	assert_int_equal(sluice_parse_percent("5", NULL), -EINVAL);
}

/* ---- durations -------------------------------------------------------- */

#define NS_US 1000ULL
#define NS_MS 1000000ULL
#define NS_S 1000000000ULL

static void test_duration_good(void **state)
{
	static const struct {
		const char *in;
		__u64 ns;
	} good[] = {
		{ "30s", 30 * NS_S },
		{ "250ms", 250 * NS_MS },
		{ "1m", 60 * NS_S },
		{ "1m30s", 90 * NS_S },
		{ "2h", 7200 * NS_S },
		{ "100us", 100 * NS_US },
		{ "1.5s", 1500 * NS_MS },
		{ "0s", 0 },
		{ "0ns", 0 },
		{ "1ns", 1 },
		{ "0.5ms", 500 * NS_US },
		{ "1.000s", NS_S },
		{ "1.5us", 1500 },
		{ "0.05h", 180 * NS_S },
		{ "1h1m1s1ms1us1ns", 3661 * NS_S + NS_MS + NS_US + 1 },
		{ "0.000000001s", 1 },
		{ "0.000000000005h", 18 },
		{ "18446744073709551615ns", 18446744073709551615ULL },
		{ "5124095h", 5124095ULL * 3600 * NS_S },
	};
	__u64 ns;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		ns = 4242;
		if (sluice_parse_duration(good[i].in, &ns))
			fail_msg("rejected duration \"%s\"", good[i].in);
		if (ns != good[i].ns)
			fail_msg("\"%s\" gave %llu ns, want %llu", good[i].in,
				 (unsigned long long)ns,
				 (unsigned long long)good[i].ns);
	}
}

static void test_duration_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"30",
		"0",
		"1.5",
		"s",
		"ms",
		"1.5ns",
		"1.5ns0.5ns", /* each term must be whole on its own */
		"0.0000000001s",
		"1x",
		"1 s",
		" 1s",
		"1s ",
		"-1s",
		"+1s",
		"1.s",
		".5s",
		"1..5s",
		"1S",
		"1Ms",
		"1sec",
		"1d",
		"1m30",
		"1e3s",
		"1s-1s",
		"18446744073709551616ns",
		"18446744073709551615ns1ns",
		"5124096h",
		"99999999999999999999999999h",
		"0.1234567890123456789s",
	};
	__u64 ns = 4242;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (sluice_parse_duration(bad[i], &ns) != -EINVAL)
			fail_msg("accepted duration \"%s\"", bad[i]);
		assert_int_equal(ns, 4242);
	}
	assert_int_equal(sluice_parse_duration(NULL, &ns), -EINVAL);
	assert_int_equal(sluice_parse_duration("1s", NULL), -EINVAL);
}

/* ---- integers, weights, colours --------------------------------------- */

static void test_u32(void **state)
{
	static const char *const bad[] = { "",	  "+1",	 "-1",	" 1", "1 ",
					   "0x1", "1.0", "1e3", "one" };
	__u32 v = 0;
	size_t i;

	(void)state;
	assert_int_equal(sluice_parse_u32("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(sluice_parse_u32("007", 0, 100, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(sluice_parse_u32("0", 0, 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(sluice_parse_u32("4294967295", 0, UINT32_MAX, &v), 0);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(sluice_parse_u32("10", 10, 20, &v), 0);
	assert_int_equal(sluice_parse_u32("20", 10, 20, &v), 0);

	v = 4242;
	assert_int_equal(sluice_parse_u32("4294967296", 0, UINT32_MAX, &v),
			 -EINVAL);
	assert_int_equal(sluice_parse_u32("99999999999999999999999", 0,
					  UINT32_MAX, &v),
			 -EINVAL);
	assert_int_equal(sluice_parse_u32("9", 10, 20, &v), -EINVAL);
	assert_int_equal(sluice_parse_u32("21", 10, 20, &v), -EINVAL);
	assert_int_equal(sluice_parse_u32("5", 0, 0, &v), -EINVAL);
	assert_int_equal(sluice_parse_u32("5", 6, 4, &v), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (sluice_parse_u32(bad[i], 0, UINT32_MAX, &v) != -EINVAL)
			fail_msg("accepted integer \"%s\"", bad[i]);
	assert_int_equal(v, 4242);
	assert_int_equal(sluice_parse_u32(NULL, 0, 1, &v), -EINVAL);
	assert_int_equal(sluice_parse_u32("1", 0, 1, NULL), -EINVAL);
}

static void test_weight(void **state)
{
	static const char *const bad[] = { "0",	  "65536", "-1",	 "",
					   "1.5", " 1",	   "1 ",	 "+1",
					   "abc", "0x10",  "99999999999" };
	__u16 w = 0;
	size_t i;

	(void)state;
	assert_int_equal(sluice_parse_weight("1", &w), 0);
	assert_int_equal(w, 1);
	assert_int_equal(sluice_parse_weight("100", &w), 0);
	assert_int_equal(w, 100);
	assert_int_equal(sluice_parse_weight("65535", &w), 0);
	assert_int_equal(w, SLUICE_MAX_WEIGHT);
	w = 4242;
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (sluice_parse_weight(bad[i], &w) != -EINVAL)
			fail_msg("accepted weight \"%s\"", bad[i]);
	assert_int_equal(w, 4242);
	assert_int_equal(sluice_parse_weight(NULL, &w), -EINVAL);
	assert_int_equal(sluice_parse_weight("1", NULL), -EINVAL);
}

static void test_colour(void **state)
{
	static const char *const bad[] = { "",	    "red",   "blue ",
					   " blue", "bluee", "gree",
					   "0",	    "1",     "blue/green" };
	__u8 c = 99;
	size_t i;

	(void)state;
	assert_int_equal(sluice_parse_colour("blue", &c), 0);
	assert_int_equal(c, SLUICE_BLUE);
	assert_int_equal(sluice_parse_colour("green", &c), 0);
	assert_int_equal(c, SLUICE_GREEN);
	assert_int_equal(sluice_parse_colour("GREEN", &c), 0);
	assert_int_equal(c, SLUICE_GREEN);
	c = 99;
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (sluice_parse_colour(bad[i], &c) != -EINVAL)
			fail_msg("accepted colour \"%s\"", bad[i]);
	assert_int_equal(c, 99);
	assert_int_equal(sluice_parse_colour(NULL, &c), -EINVAL);
	assert_int_equal(sluice_parse_colour("blue", NULL), -EINVAL);

	assert_string_equal(sluice_colour_name(SLUICE_BLUE), "blue");
	assert_string_equal(sluice_colour_name(SLUICE_GREEN), "green");
	assert_string_equal(sluice_colour_name(2), "unknown");
	assert_string_equal(sluice_colour_name(255), "unknown");
	for (c = 0; c < SLUICE_COLOURS; c++) {
		__u8 back = 99;

		assert_int_equal(
			sluice_parse_colour(sluice_colour_name(c), &back), 0);
		assert_int_equal(back, c);
	}
}

/* ---- formatters ------------------------------------------------------- */

static void test_format_addr(void **state)
{
	char buf[SLUICE_ADDR_STRLEN];
	__u8 a[16];

	(void)state;
	v4(a, 198, 18, 0, 10);
	assert_ptr_equal(sluice_format_addr(a, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "198.18.0.10");
	v6(a, "fd00::10");
	assert_string_equal(sluice_format_addr(a, buf, sizeof(buf)), "fd00::"
								     "10");
	/* The longest IPv6 text fits the advertised size. */
	v6(a, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	assert_non_null(sluice_format_addr(a, buf, sizeof(buf)));
	v6(a, "1111:2222:3333:4444:5555:6666:7777:8888");
	assert_string_equal(sluice_format_addr(a, buf, sizeof(buf)),
			    "1111:2222:3333:4444:5555:6666:7777:8888");

	/* Exactly big enough works; one byte short fails, never truncates. */
	v4(a, 1, 2, 3, 4);
	assert_non_null(sluice_format_addr(a, buf, 8));
	assert_string_equal(buf, "1.2.3.4");
	assert_null(sluice_format_addr(a, buf, 7));
	assert_string_equal(buf, "");
	v6(a, "fd00::1");
	assert_non_null(sluice_format_addr(a, buf, 8));
	assert_null(sluice_format_addr(a, buf, 7));

	assert_null(sluice_format_addr(NULL, buf, sizeof(buf)));
	assert_null(sluice_format_addr(a, NULL, sizeof(buf)));
	assert_null(sluice_format_addr(a, buf, 0));
}

static void test_format_endpoint(void **state)
{
	char buf[SLUICE_ENDPOINT_STRLEN];
	__u8 a[16];

	(void)state;
	v4(a, 198, 18, 1, 10);
	assert_ptr_equal(sluice_format_endpoint(a, 8080, buf, sizeof(buf)),
			 buf);
	assert_string_equal(buf, "198.18.1.10:8080");
	v6(a, "fd00::1");
	assert_string_equal(sluice_format_endpoint(a, 8080, buf, sizeof(buf)),
			    "[fd00::1]:8080");
	v6(a, "1111:2222:3333:4444:5555:6666:7777:8888");
	assert_string_equal(sluice_format_endpoint(a, 65535, buf, sizeof(buf)),
			    "[1111:2222:3333:4444:5555:6666:7777:8888]:65535");

	v4(a, 1, 2, 3, 4);
	assert_non_null(sluice_format_endpoint(a, 80, buf, 11));
	assert_null(sluice_format_endpoint(a, 80, buf, 10));
	assert_string_equal(buf, "");
	assert_null(sluice_format_endpoint(NULL, 80, buf, sizeof(buf)));
	assert_null(sluice_format_endpoint(a, 80, NULL, sizeof(buf)));
}

static void test_format_ppm(void **state)
{
	static const struct {
		__u32 ppm;
		const char *out;
	} cases[] = {
		{ 50000, "5%" },
		{ 5000, "0.5%" },
		{ 1, "0.0001%" },
		{ 1000000, "100%" },
		{ 0, "0%" },
		{ 255000, "25.5%" },
		{ 100, "0.01%" },
		{ 10, "0.001%" },
		{ 999999, "99.9999%" },
		{ 120000, "12%" },
		{ 123450, "12.345%" },
		{ 10001, "1.0001%" },
		{ 4294967295u, "429496.7295%" },
	};
	char buf[SLUICE_PPM_STRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_ptr_equal(
			sluice_format_ppm(cases[i].ppm, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].out);
	}
	assert_non_null(sluice_format_ppm(5000, buf, 5));
	assert_null(sluice_format_ppm(5000, buf, 4));
	assert_null(sluice_format_ppm(5000, NULL, 4));
}

/* Every representable split prints as something that reads back. */
static void test_ppm_round_trip(void **state)
{
	char buf[SLUICE_PPM_STRLEN];
	__u32 ppm, back;

	(void)state;
	for (ppm = 0; ppm <= SLUICE_PPM; ppm++) {
		assert_non_null(sluice_format_ppm(ppm, buf, sizeof(buf)));
		if (sluice_parse_percent(buf, &back) || back != ppm)
			fail_msg("%u ppm printed as \"%s\" does not read back",
				 ppm, buf);
	}
}

static void test_addr_round_trip(void **state)
{
	static const char *const canon[] = {
		"0.0.0.0",
		"198.18.0.10",
		"255.255.255.255",
		"::",
		"::1",
		"fd00::10",
		"fd00:7::1:2",
		"2001:db8::ff",
		"::1.2.3.4",
		"1111:2222:3333:4444:5555:6666:7777:8888",
	};
	char buf[SLUICE_ADDR_STRLEN];
	__u8 a[16];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(canon); i++) {
		assert_int_equal(sluice_parse_addr(canon[i], a, NULL), 0);
		assert_string_equal(sluice_format_addr(a, buf, sizeof(buf)),
				    canon[i]);
	}
	/* The mapped literal comes back as the dotted quad it stands for. */
	assert_int_equal(sluice_parse_addr("::ffff:10.1.2.3", a, NULL), 0);
	assert_string_equal(sluice_format_addr(a, buf, sizeof(buf)), "10.1.2."
								     "3");
}

static void test_endpoint_round_trip(void **state)
{
	static const char *const canon[] = {
		"198.18.1.10:8080",
		"0.0.0.0:1",
		"[fd00::1]:8080",
		"[::]:65535",
		"[1111:2222:3333:4444:5555:6666:7777:8888]:443",
	};
	char buf[SLUICE_ENDPOINT_STRLEN];
	__u8 a[16];
	__u16 port;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(canon); i++) {
		assert_int_equal(
			sluice_parse_endpoint(canon[i], a, &port, NULL), 0);
		assert_string_equal(sluice_format_endpoint(a, port, buf,
							   sizeof(buf)),
				    canon[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_v4),
		cmocka_unit_test(test_addr_v6),
		cmocka_unit_test(test_addr_mapped_literal),
		cmocka_unit_test(test_addr_rejects),
		cmocka_unit_test(test_addr_is_v4),
		cmocka_unit_test(test_endpoint_good),
		cmocka_unit_test(test_endpoint_rejects),
		cmocka_unit_test(test_vip_good),
		cmocka_unit_test(test_vip_rejects),
		cmocka_unit_test(test_prefix_good),
		cmocka_unit_test(test_prefix_rejects),
		cmocka_unit_test(test_percent_good),
		cmocka_unit_test(test_percent_rejects),
		cmocka_unit_test(test_duration_good),
		cmocka_unit_test(test_duration_rejects),
		cmocka_unit_test(test_u32),
		cmocka_unit_test(test_weight),
		cmocka_unit_test(test_colour),
		cmocka_unit_test(test_format_addr),
		cmocka_unit_test(test_format_endpoint),
		cmocka_unit_test(test_format_ppm),
		cmocka_unit_test(test_ppm_round_trip),
		cmocka_unit_test(test_addr_round_trip),
		cmocka_unit_test(test_endpoint_round_trip),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
