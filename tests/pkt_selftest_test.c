// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The test packet builder and checksum verifier themselves. Every
 * fixture test trusts them for its expected frames, so they are checked
 * here against bytes that did not come from them: a checksum worked by
 * hand and frames produced by an independent implementation.
 *
 * Built alone (pkt.c is #included, as every user of it does), and meant
 * to be run once under -fsanitize=address,undefined: the truncation and
 * mutation tests hand the verifier exactly sized heap copies so that a
 * read one byte past a frame is caught.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkt.h"
#include "pkt.c"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ETH 14

/*
 * Reference frames, generated with scapy 2.5.0 from the descriptions in
 * gold_specs() below; the builder must reproduce them byte for byte.
 */
static const __u8 gold_tcp4[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x2d, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06,
	0x14, 0x95, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x9c, 0x40,
	0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02,
	0xff, 0xff, 0xb7, 0x72, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};

static const __u8 gold_udp6_vlan[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x81, 0x00, 0x00, 0x64, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x0b,
	0x11, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x14, 0xe9,
	0x00, 0x35, 0x00, 0x0b, 0xca, 0xe2, 0x61, 0x62, 0x63,
};

static const __u8 gold_icmp4_qinq[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00,
	0x45, 0x10, 0x00, 0x20, 0x00, 0x07, 0x00, 0x00, 0x01, 0x01, 0xcd,
	0x8a, 0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x07, 0x08, 0x00,
	0x5a, 0x5f, 0x00, 0x01, 0x00, 0x02, 0xde, 0xad, 0xbe, 0xef,
};

static const __u8 gold_tcp6_ext[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x86, 0xdd, 0x6b, 0x80, 0x00, 0x00, 0x00, 0x44, 0x00, 0x11, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x0a, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x2b, 0x00, 0x01, 0x04, 0x00, 0x00,
	0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00,
	0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0xbb, 0xc7, 0x38, 0x00, 0x00,
	0x03, 0xe8, 0x00, 0x00, 0x07, 0xd0, 0x70, 0x18, 0x02, 0x00, 0x87, 0xe7,
	0x00, 0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x47, 0x45,
	0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31,
	0x0d, 0x0a,
};

static const __u8 gold_udp4_opts[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x08, 0x00, 0x47, 0x00, 0x00, 0x28, 0xbe, 0xef, 0x00, 0x00,
	0x05, 0x11, 0xd8, 0xcb, 0x0a, 0x01, 0x02, 0x03, 0x0a, 0x03, 0x02,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x04, 0x57,
	0x08, 0xae, 0x00, 0x0c, 0xe8, 0x2e, 0x78, 0x79, 0x7a, 0x21,
};

static const __u8 gold_quoted28[] = {
	0x45, 0x00, 0x00, 0x32, 0x43, 0x21, 0x40, 0x00, 0x3f, 0x06,
	0xe4, 0xa2, 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x01,
	0x00, 0x50, 0x9c, 0x40, 0x00, 0x00, 0x00, 0x07,
};

static const __u8 gold_icmp4_fragneeded[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01,
	0xad, 0xc5, 0xc0, 0x00, 0x02, 0xfe, 0x0a, 0x00, 0x00, 0x02, 0x03, 0x04,
	0x5a, 0xec, 0x00, 0x00, 0x05, 0x78, 0x45, 0x00, 0x00, 0x32, 0x43, 0x21,
	0x40, 0x00, 0x3f, 0x06, 0xe4, 0xa2, 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00,
	0x00, 0x01, 0x00, 0x50, 0x9c, 0x40, 0x00, 0x00, 0x00, 0x07,
};

static const __u8 gold_udp6_frag1[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x1c, 0x2c, 0x40, 0xfd, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x11, 0x00, 0x00, 0x01, 0x12, 0x34,
	0x56, 0x78, 0x00, 0x07, 0x00, 0x09, 0x00, 0x14, 0xc6, 0x29, 0x66, 0x72,
	0x61, 0x67, 0x6d, 0x65, 0x6e, 0x74, 0x2d, 0x6f, 0x6e, 0x65,
};

static const __u8 gold_icmp6_ptb[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x38, 0x3a, 0xff,
	0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xfe, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02,
	0x00, 0x8c, 0x5d, 0x00, 0x00, 0x05, 0x00, 0x60, 0x00, 0x00, 0x00,
	0x00, 0x08, 0x11, 0x40, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xfd, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x02, 0x00, 0x08, 0x05, 0xd7,
};
static const __u8 mac_src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const __u8 mac_dst[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static struct pkt_spec spec(bool v6, __u8 proto)
{
	struct pkt_spec s;

	memset(&s, 0, sizeof(s));
	memcpy(s.smac, mac_src, 6);
	memcpy(s.dmac, mac_dst, 6);
	s.v6 = v6;
	s.src = v6 ? "2001:db8::1" : "10.0.0.1";
	s.dst = v6 ? "2001:db8::2" : "10.0.0.2";
	s.proto = proto;
	s.sport = 1234;
	s.dport = 80;
	return s;
}

static void expect_frame(const char *what, const __u8 *got, size_t got_len,
			 const __u8 *want, size_t want_len)
{
	if (got_len == want_len && !memcmp(got, want, got_len))
		return;
	pkt_dump_diff(what, got, got_len, want, want_len);
	fail_msg("%s: built frame differs from the reference", what);
}

/* Exactly sized heap copy, so a sanitizer sees any over-read. */
static int verify_copy(const __u8 *frame, size_t len, const char **why)
{
	__u8 *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, frame, len);
	rc = pkt_verify_checksums(copy, len, why);
	free(copy);
	return rc;
}

static void expect_verdict(const __u8 *frame, size_t len, int want,
			   const char *want_why)
{
	const char *why = NULL;
	int rc = verify_copy(frame, len, &why);

	assert_non_null(why);
	if (rc != want)
		fail_msg("verify: got %d (%s), want %d", rc, why, want);
	if (want_why)
		assert_string_equal(why, want_why);
}

/* ---- the checksum itself ---------------------------------------------- */

/*
 * 4500 0073 0000 4000 4011 [csum] c0a8 0001 c0a8 00c7, by hand:
 * 4500 + 0073 + 0000 + 4000 + 4011 + c0a8 + 0001 + c0a8 + 00c7 = 2479c,
 * folded 479c + 2 = 479e, complemented b861.
 */
static const __u8 classic_hdr[20] = {
	0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
	0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
};

static void test_csum_known_values(void **state)
{
	/* RFC 1071 section 3: the sum is ddf2, so the checksum is 220d. */
	static const __u8 rfc1071[8] = { 0x00, 0x01, 0xf2, 0x03,
					 0xf4, 0xf5, 0xf6, 0xf7 };
	static const __u8 odd[3] = { 0x12, 0x34, 0x56 };
	__u8 hdr[20];

	(void)state;
	memcpy(hdr, classic_hdr, sizeof(hdr));
	hdr[10] = hdr[11] = 0;
	assert_int_equal(pkt_csum(hdr, sizeof(hdr), 0), 0xb861);
	/* A header holding its own checksum sums to -0. */
	assert_int_equal(pkt_csum(classic_hdr, sizeof(classic_hdr), 0), 0);
	assert_int_equal(pkt_csum(rfc1071, sizeof(rfc1071), 0), 0x220d);
	/* 1234 + 5600 = 6834, complemented 97cb: the odd byte pads right. */
	assert_int_equal(pkt_csum(odd, sizeof(odd), 0), 0x97cb);
	assert_int_equal(pkt_csum(odd, 0, 0), 0xffff);
	/* The initial sum is folded with its carries: 1fffe -> ffff. */
	assert_int_equal(pkt_csum(odd, 0, 0x1fffe), 0);
	assert_int_equal(pkt_csum(odd, 0, 0xffffffff), 0);
	/* Seeding with a partial sum equals summing the bytes first. */
	assert_int_equal(pkt_csum(rfc1071 + 4, 4, 0xf204), 0x220d);
}

static void test_build_classic_header(void **state)
{
	struct pkt_spec s = spec(false, IPPROTO_UDP);
	__u8 buf[PKT_MAX];
	size_t n;

	(void)state;
	s.src = "192.168.0.1";
	s.dst = "192.168.0.199";
	s.df = true;
	s.payload_len = 0x73 - 20 - 8; /* NULL payload: zeros */
	n = pkt_build_l3(&s, buf, sizeof(buf));
	assert_int_equal(n, 0x73);
	expect_frame("classic header", buf, 20, classic_hdr, 20);
}

/* ---- byte-exact reference frames ---------------------------------------- */

struct gold {
	const char *name;
	struct pkt_spec s;
	const __u8 *want;
	size_t want_len;
};

static __u8 quoted_tcp[PKT_MAX];
static __u8 quoted_udp6[PKT_MAX];

static size_t gold_specs(struct gold *g)
{
	struct pkt_spec in;
	size_t n = 0, qlen;

	g[n] = (struct gold){ "tcp4", spec(false, IPPROTO_TCP), gold_tcp4,
			      sizeof(gold_tcp4) };
	g[n].s.ip_id = 0x1234;
	g[n].s.df = true;
	g[n].s.sport = 40000;
	g[n].s.dport = 80;
	g[n].s.seq = 0x01020304;
	g[n].s.tcp_flags = 0x02;
	g[n].s.payload = (const __u8 *)"hello";
	g[n++].s.payload_len = 5;

	g[n] = (struct gold){ "udp6 vlan", spec(true, IPPROTO_UDP),
			      gold_udp6_vlan, sizeof(gold_udp6_vlan) };
	g[n].s.nvlan = 1;
	g[n].s.vlan_tci[0] = 100;
	g[n].s.sport = 5353;
	g[n].s.dport = 53;
	g[n].s.payload = (const __u8 *)"abc";
	g[n++].s.payload_len = 3;

	g[n] = (struct gold){ "icmp4 qinq", spec(false, IPPROTO_ICMP),
			      gold_icmp4_qinq, sizeof(gold_icmp4_qinq) };
	g[n].s.nvlan = 2;
	g[n].s.vlan_tpid[0] = 0x88a8;
	g[n].s.vlan_tci[0] = 10;
	g[n].s.vlan_tci[1] = 20;
	g[n].s.src = "192.0.2.1";
	g[n].s.dst = "198.51.100.7";
	g[n].s.ip_id = 7;
	g[n].s.ttl = 1;
	g[n].s.tos = 0x10;
	g[n].s.icmp_type = 8;
	g[n].s.icmp_rest = 0x00010002;
	g[n].s.payload = (const __u8 *)"\xde\xad\xbe\xef";
	g[n++].s.payload_len = 4;

	g[n] = (struct gold){ "tcp6 ext", spec(true, IPPROTO_TCP),
			      gold_tcp6_ext, sizeof(gold_tcp6_ext) };
	g[n].s.src = "2001:db8::a";
	g[n].s.dst = "2001:db8::b";
	g[n].s.ttl = 17;
	g[n].s.tos = 0xb8;
	g[n].s.next_ext = 3;
	g[n].s.ext[0] = IPPROTO_HOPOPTS;
	g[n].s.ext[1] = IPPROTO_ROUTING;
	g[n].s.ext[2] = IPPROTO_DSTOPTS;
	g[n].s.sport = 443;
	g[n].s.dport = 51000;
	g[n].s.seq = 1000;
	g[n].s.ack_seq = 2000;
	g[n].s.tcp_flags = 0x18;
	g[n].s.window = 512;
	g[n].s.tcp_opts_len = 8;
	g[n].s.payload = (const __u8 *)"GET / HTTP/1.1\r\n";
	g[n++].s.payload_len = 16;

	g[n] = (struct gold){ "udp4 options", spec(false, IPPROTO_UDP),
			      gold_udp4_opts, sizeof(gold_udp4_opts) };
	g[n].s.src = "10.1.2.3";
	g[n].s.dst = "10.3.2.1";
	g[n].s.ip_id = 0xbeef;
	g[n].s.ttl = 5;
	g[n].s.ip_opts_len = 8;
	g[n].s.sport = 1111;
	g[n].s.dport = 2222;
	g[n].s.payload = (const __u8 *)"xyz!";
	g[n++].s.payload_len = 4;

	/* The reply of tcp4's flow, quoted as a router would: 28 bytes. */
	in = spec(false, IPPROTO_TCP);
	in.src = "10.0.0.2";
	in.dst = "10.0.0.1";
	in.ip_id = 0x4321;
	in.df = true;
	in.ttl = 63;
	in.sport = 80;
	in.dport = 40000;
	in.seq = 7;
	in.ack_seq = 8;
	in.tcp_flags = 0x12;
	in.window = 1000;
	in.payload = (const __u8 *)"0123456789";
	in.payload_len = 10;
	qlen = pkt_build_l3(&in, quoted_tcp, sizeof(quoted_tcp));
	assert_int_equal(qlen, 50);
	expect_frame("quoted", quoted_tcp, 28, gold_quoted28,
		     sizeof(gold_quoted28));

	g[n] = (struct gold){ "icmp4 frag needed", spec(false, IPPROTO_ICMP),
			      gold_icmp4_fragneeded,
			      sizeof(gold_icmp4_fragneeded) };
	g[n].s.src = "192.0.2.254";
	g[n].s.dst = "10.0.0.2";
	g[n].s.icmp_type = 3;
	g[n].s.icmp_code = 4;
	g[n].s.icmp_rest = 1400;
	g[n].s.payload = quoted_tcp;
	g[n++].s.payload_len = 28;

	g[n] = (struct gold){ "udp6 first fragment", spec(true, IPPROTO_UDP),
			      gold_udp6_frag1, sizeof(gold_udp6_frag1) };
	g[n].s.src = "fd00::1";
	g[n].s.dst = "fd00::2";
	g[n].s.next_ext = 1;
	g[n].s.ext[0] = IPPROTO_FRAGMENT;
	g[n].s.more_frags = true;
	g[n].s.sport = 7;
	g[n].s.dport = 9;
	g[n].s.payload = (const __u8 *)"fragment-one";
	g[n++].s.payload_len = 12;

	in = spec(true, IPPROTO_UDP);
	in.src = "fd00::1";
	in.dst = "fd00::2";
	in.sport = 1;
	in.dport = 2;
	qlen = pkt_build_l3(&in, quoted_udp6, sizeof(quoted_udp6));
	assert_int_equal(qlen, 48);

	g[n] = (struct gold){ "icmp6 packet too big",
			      spec(true, IPPROTO_ICMPV6), gold_icmp6_ptb,
			      sizeof(gold_icmp6_ptb) };
	g[n].s.src = "fd00::fe";
	g[n].s.dst = "fd00::1";
	g[n].s.ttl = 255;
	g[n].s.icmp_type = 2;
	g[n].s.icmp_rest = 1280;
	g[n].s.payload = quoted_udp6;
	g[n++].s.payload_len = qlen;
	return n;
}

static void test_gold_frames(void **state)
{
	struct gold g[16];
	__u8 buf[PKT_MAX];
	size_t n, i, len;

	(void)state;
	n = gold_specs(g);
	for (i = 0; i < n; i++) {
		len = pkt_build(&g[i].s, buf, sizeof(buf));
		expect_frame(g[i].name, buf, len, g[i].want, g[i].want_len);
		expect_verdict(g[i].want, g[i].want_len, 0, "ok");
	}
}

/* ---- layout ------------------------------------------------------------- */

static void test_header_lengths(void **state)
{
	static const struct {
		bool v6;
		__u8 proto;
		int nvlan, ip_opts, next_ext, tcp_opts;
		size_t payload, want;
	} c[] = {
		{ false, IPPROTO_TCP, 0, 0, 0, 0, 0, ETH + 20 + 20 },
		{ false, IPPROTO_TCP, 1, 4, 0, 12, 3, ETH + 4 + 24 + 32 + 3 },
		{ false, IPPROTO_TCP, 0, 40, 0, 40, 0, ETH + 60 + 60 },
		{ false, IPPROTO_UDP, 3, 0, 0, 0, 10, ETH + 12 + 20 + 8 + 10 },
		{ false, IPPROTO_ICMP, 2, 8, 0, 0, 1, ETH + 8 + 28 + 8 + 1 },
		{ false, IPPROTO_GRE, 0, 0, 0, 0, 5, ETH + 20 + 5 },
		/* ICMPv6 in IPv4 is just another protocol number. */
		{ false, IPPROTO_ICMPV6, 0, 0, 0, 0, 5, ETH + 20 + 5 },
		{ true, IPPROTO_TCP, 0, 0, 0, 0, 0, ETH + 40 + 20 },
		{ true, IPPROTO_TCP, 1, 0, 6, 4, 2, ETH + 4 + 88 + 24 + 2 },
		{ true, IPPROTO_UDP, 0, 0, 2, 0, 0, ETH + 56 + 8 },
		{ true, IPPROTO_ICMPV6, 3, 0, 1, 0, 9, ETH + 12 + 48 + 8 + 9 },
		{ true, IPPROTO_ICMP, 0, 0, 0, 0, 4, ETH + 40 + 4 },
		{ true, 59 /* no next header */, 0, 0, 0, 0, 0, ETH + 40 },
	};
	__u8 buf[PKT_MAX];
	size_t i, n, l3;
	int j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		struct pkt_spec s = spec(c[i].v6, c[i].proto);

		s.nvlan = c[i].nvlan;
		s.ip_opts_len = c[i].ip_opts;
		s.next_ext = c[i].next_ext;
		for (j = 0; j < s.next_ext; j++)
			s.ext[j] = j & 1 ? IPPROTO_DSTOPTS : IPPROTO_HOPOPTS;
		s.tcp_opts_len = c[i].tcp_opts;
		s.payload_len = c[i].payload;
		n = pkt_build(&s, buf, sizeof(buf));
		assert_int_equal(n, c[i].want);
		expect_verdict(buf, n, 0, "ok");
		l3 = pkt_build_l3(&s, buf, sizeof(buf));
		assert_int_equal(l3, n - ETH - 4 * (size_t)c[i].nvlan);
	}
}

static void test_vlan_tags(void **state)
{
	struct pkt_spec s = spec(false, IPPROTO_UDP);
	__u8 buf[PKT_MAX];
	size_t n;

	(void)state;
	s.nvlan = 3;
	s.vlan_tpid[0] = 0x88a8;
	s.vlan_tpid[1] = 0x9100;
	s.vlan_tci[0] = 0xe001; /* PCP 7, VID 1 */
	s.vlan_tci[1] = 0x0fff;
	s.vlan_tci[2] = 0x0123;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 12 + 28);
	assert_memory_equal(buf, mac_dst, 6);
	assert_memory_equal(buf + 6, mac_src, 6);
	assert_memory_equal(buf + 12,
			    "\x88\xa8\xe0\x01\x91\x00\x0f\xff\x81\x00\x01\x23"
			    "\x08\x00\x45",
			    15);
	expect_verdict(buf, n, 0, "ok");

	s.v6 = true;
	s.src = "::1";
	s.dst = "::2";
	s.nvlan = 0;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 48);
	assert_memory_equal(buf + 12, "\x86\xdd\x60", 3);
}

static void test_ipv4_fields(void **state)
{
	struct pkt_spec s = spec(false, IPPROTO_TCP);
	__u8 buf[PKT_MAX], *ip = buf + ETH;
	size_t n;

	(void)state;
	s.tos = 0xfc;
	s.ttl = 200;
	s.ip_id = 0xabcd;
	s.ip_opts_len = 12;
	s.payload_len = 1;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 32 + 20 + 1);
	assert_int_equal(ip[0], 0x48);
	assert_int_equal(ip[1], 0xfc);
	assert_int_equal(ip[2] << 8 | ip[3], 32 + 20 + 1);
	assert_int_equal(ip[4] << 8 | ip[5], 0xabcd);
	assert_int_equal(ip[6] << 8 | ip[7], 0);
	assert_int_equal(ip[8], 200);
	assert_int_equal(ip[9], IPPROTO_TCP);
	assert_memory_equal(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	/* Options: NOPs, the last byte EOL. */
	assert_memory_equal(ip + 20,
			    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00",
			    12);
	assert_int_equal(pkt_csum(ip, 32, 0), 0);
	expect_verdict(buf, n, 0, "ok");

	s.df = true;
	s.more_frags = true;
	s.ip_opts_len = 0;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(ip[6] << 8 | ip[7], 0x6000);
	expect_verdict(buf, n, 0, "ok");
}

static void test_ipv6_fields(void **state)
{
	struct pkt_spec s = spec(true, IPPROTO_TCP);
	__u8 buf[PKT_MAX], *ip = buf + ETH, *e;
	size_t n;

	(void)state;
	s.tos = 0xa5;
	s.ttl = 3;
	s.next_ext = 4;
	s.ext[0] = IPPROTO_HOPOPTS;
	s.ext[1] = IPPROTO_ROUTING;
	s.ext[2] = IPPROTO_FRAGMENT;
	s.ext[3] = IPPROTO_DSTOPTS;
	s.payload_len = 7;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 40 + 32 + 20 + 7);
	assert_memory_equal(ip, "\x6a\x50\x00\x00\x00\x3b\x00\x03", 8);
	e = ip + 40;
	assert_memory_equal(e, "\x2b\x00\x01\x04\x00\x00\x00\x00", 8);
	assert_memory_equal(e + 8, "\x2c\x00\x00\x00\x00\x00\x00\x00", 8);
	assert_memory_equal(e + 16, "\x3c\x00\x00\x00\x12\x34\x56\x78", 8);
	assert_memory_equal(e + 24, "\x06\x00\x01\x04\x00\x00\x00\x00", 8);
	expect_verdict(buf, n, 0, "ok");
}

static void test_tcp_fields(void **state)
{
	struct pkt_spec s = spec(false, IPPROTO_TCP);
	__u8 buf[PKT_MAX], *t = buf + ETH + 20;
	size_t n;

	(void)state;
	s.sport = 0xfedc;
	s.dport = 0x0102;
	s.seq = 0xdeadbeef;
	s.ack_seq = 0x01020304;
	s.tcp_flags = 0xff;
	s.tcp_opts_len = 12;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 20 + 32);
	assert_memory_equal(t,
			    "\xfe\xdc\x01\x02\xde\xad\xbe\xef\x01\x02\x03\x04"
			    "\x80\xff\xff\xff",
			    16);
	assert_memory_equal(t + 18, "\x00\x00\x01\x01\x01\x01", 6);
	expect_verdict(buf, n, 0, "ok");

	s.window = 1;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(t[14] << 8 | t[15], 1);
	expect_verdict(buf, n, 0, "ok");
}

static void test_icmp_rest(void **state)
{
	struct pkt_spec s = spec(false, IPPROTO_ICMP);
	__u8 buf[PKT_MAX];
	size_t n;

	(void)state;
	s.icmp_type = 3;
	s.icmp_code = 4;
	s.icmp_rest = 1500;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 28);
	assert_memory_equal(buf + ETH + 20, "\x03\x04", 2);
	assert_memory_equal(buf + ETH + 24, "\x00\x00\x05\xdc", 4);
	expect_verdict(buf, n, 0, "ok");

	s = spec(true, IPPROTO_ICMPV6);
	s.icmp_type = 2;
	s.icmp_rest = 0x00012345;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 48);
	assert_memory_equal(buf + ETH + 44, "\x00\x01\x23\x45", 4);
	expect_verdict(buf, n, 0, "ok");
}

/* ---- fragments and malformed headers ------------------------------------ */

static void test_fragments(void **state)
{
	struct pkt_spec s = spec(false, IPPROTO_UDP);
	__u8 buf[PKT_MAX], *ip = buf + ETH;
	size_t n;

	(void)state;
	/* Non-first: the payload follows the IP header directly. */
	s.frag_offset = 185;
	s.more_frags = true;
	s.payload = (const __u8 *)"slice";
	s.payload_len = 5;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 20 + 5);
	assert_int_equal(ip[6] << 8 | ip[7], 0x2000 | 185);
	assert_memory_equal(ip + 20, "slice", 5);
	expect_verdict(buf, n, 0, "ok");

	/* First: a UDP header whose checksum covers what is present. */
	s.frag_offset = 0;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 28 + 5);
	assert_int_equal(ip[24] << 8 | ip[25], 13);
	expect_verdict(buf, n, 0, "ok");

	s = spec(true, IPPROTO_TCP);
	s.next_ext = 2;
	s.ext[0] = IPPROTO_FRAGMENT;
	s.ext[1] = IPPROTO_DSTOPTS;
	s.frag_offset = 0x1fff;
	s.payload = (const __u8 *)"tail";
	s.payload_len = 4;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 40 + 16 + 4);
	assert_memory_equal(ip + 40, "\x3c\x00\xff\xf8\x12\x34\x56\x78", 8);
	assert_memory_equal(ip + 56, "tail", 4);
	expect_verdict(buf, n, 0, "ok");

	s.more_frags = true;
	s.frag_offset = 1;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_memory_equal(ip + 42, "\x00\x09", 2);
	expect_verdict(buf, n, 0, "ok");

	/* First fragment: TCP header present, checksummed as sent. */
	s.frag_offset = 0;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 40 + 16 + 20 + 4);
	assert_memory_equal(ip + 42, "\x00\x01", 2);
	expect_verdict(buf, n, 0, "ok");
}

static void test_malformed_fields(void **state)
{
	struct pkt_spec s = spec(false, IPPROTO_TCP);
	__u8 buf[PKT_MAX], *ip = buf + ETH;
	size_t n;

	(void)state;
	s.ihl_override = 6;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 40);
	assert_int_equal(ip[0], 0x46);
	/* Checksummed over the 20 bytes written, not the 24 claimed. */
	assert_int_equal(pkt_csum(ip, 20, 0), 0);

	s.ihl_override = 4;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(ip[0], 0x44);
	expect_verdict(buf, n, -2, "bad ipv4 ihl");

	s.ihl_override = 15;
	n = pkt_build(&s, buf, sizeof(buf));
	expect_verdict(buf, n, -2, "truncated ipv4 options");

	s.ihl_override = 0;
	s.tot_len_delta = 1;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 40);
	assert_int_equal(ip[2] << 8 | ip[3], 41);
	assert_int_equal(pkt_csum(ip, 20, 0), 0);
	expect_verdict(buf, n, -2, "truncated ipv4 packet");

	s.tot_len_delta = -30;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(ip[2] << 8 | ip[3], 10);
	expect_verdict(buf, n, -2, "ipv4 total length below ihl");

	s.tot_len_delta = -41;
	assert_int_equal(pkt_build(&s, buf, sizeof(buf)), 0);

	s = spec(true, IPPROTO_UDP);
	s.tot_len_delta = -3;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(n, ETH + 48);
	assert_int_equal(ip[4] << 8 | ip[5], 5);
	expect_verdict(buf, n, -2, "truncated udp header");

	s.tot_len_delta = 0xffff;
	assert_int_equal(pkt_build(&s, buf, sizeof(buf)), 0);
}

static void test_bad_specs(void **state)
{
	struct pkt_spec good = spec(false, IPPROTO_TCP), s;
	__u8 buf[PKT_MAX];
	size_t need, cap;

	(void)state;
#define EXPECT_BAD(field, value)                                   \
	do {                                                       \
		s = good;                                          \
		s.field = value;                                   \
		if (pkt_build(&s, buf, sizeof(buf)))               \
			fail_msg("accepted " #field " = " #value); \
	} while (0)
	EXPECT_BAD(nvlan, 4);
	EXPECT_BAD(nvlan, -1);
	EXPECT_BAD(ip_opts_len, 3);
	EXPECT_BAD(ip_opts_len, 44);
	EXPECT_BAD(ip_opts_len, -4);
	EXPECT_BAD(tcp_opts_len, 2);
	EXPECT_BAD(tcp_opts_len, 44);
	EXPECT_BAD(ihl_override, 16);
	EXPECT_BAD(ihl_override, -1);
	EXPECT_BAD(frag_offset, 0x2000);
	EXPECT_BAD(next_ext, 1); /* on IPv4 */
	EXPECT_BAD(src, NULL);
	EXPECT_BAD(dst, "10.0.0.256");
	EXPECT_BAD(src, "2001:db8::1");
	EXPECT_BAD(payload_len, 0x10000);
	EXPECT_BAD(tot_len_delta, 0x10000);

	good = spec(true, IPPROTO_UDP);
	EXPECT_BAD(ip_opts_len, 4);
	EXPECT_BAD(next_ext, 7);
	EXPECT_BAD(next_ext, -1);
	EXPECT_BAD(dst, "10.0.0.2");
	EXPECT_BAD(more_frags, true); /* no fragment header */
	EXPECT_BAD(frag_offset, 8);
	good.next_ext = 1;
	EXPECT_BAD(ext[0], IPPROTO_UDP);
	EXPECT_BAD(ext[0], 51); /* AH: not something the builder writes */
#undef EXPECT_BAD

	/* Every capacity short of the frame is refused, not overrun. */
	s = spec(true, IPPROTO_TCP);
	s.nvlan = 2;
	s.payload_len = 33;
	need = pkt_build(&s, buf, sizeof(buf));
	assert_int_equal(need, ETH + 8 + 40 + 20 + 33);
	for (cap = 0; cap < need; cap++) {
		__u8 *small = malloc(cap ? cap : 1);

		assert_non_null(small);
		assert_int_equal(pkt_build(&s, small, cap), 0);
		assert_int_equal(pkt_build_l3(&s, small,
					      cap > ETH + 8 ? cap - ETH - 8 :
							      0),
				 0);
		free(small);
	}
	assert_int_equal(pkt_build(&s, buf, need), need);
	assert_int_equal(pkt_build(NULL, buf, sizeof(buf)), 0);
	assert_int_equal(pkt_build_l3(NULL, buf, sizeof(buf)), 0);
}

/* ---- the verifier ------------------------------------------------------- */

static bool has_l4_csum(bool v6, __u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
}

/*
 * Everything the builder makes verifies, and a flipped payload byte is
 * caught wherever a checksum covers the payload: one's complement
 * addition changes by +-ff or +-ff00 for such a flip, never by a
 * multiple of ffff.
 */
static void test_verify_matrix(void **state)
{
	static const __u16 tpids[3] = { 0, 0x88a8, 0x9100 };
	static const size_t lens[5] = { 0, 1, 2, 63, 1000 };
	static const __u8 chain[4] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING,
				       IPPROTO_DSTOPTS, IPPROTO_FRAGMENT };
	__u8 payload[1000], buf[PKT_MAX];
	unsigned int frames = 0, flips = 0, k;
	size_t n, i, off;
	int j;

	(void)state;
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (__u8)(i * 7 + 3);
	for (k = 0; k < 2 * 4 * 4 * 3 * 5; k++) {
		bool v6 = k % 2;
		const __u8 protos[4] = { IPPROTO_TCP, IPPROTO_UDP,
					 v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
					 253 };
		__u8 proto = protos[k / 2 % 4];
		int nvlan = k / 8 % 4, var = k / 32 % 3;
		size_t plen = lens[k / 96];
		struct pkt_spec s = spec(v6, proto);

		s.nvlan = nvlan;
		for (j = 0; j < nvlan; j++) {
			s.vlan_tpid[j] = tpids[(j + var) % 3];
			s.vlan_tci[j] = (__u16)(100 + j);
		}
		if (v6) {
			/* var 2 ends in an atomic fragment header. */
			s.next_ext = var == 2 ? 4 : var;
			memcpy(s.ext, chain, 4);
		} else {
			s.ip_opts_len = var == 2 ? 40 : var * 4;
		}
		s.tcp_opts_len = var * 4;
		s.sport = (__u16)(1000 + k);
		s.seq = (__u32)k * 0x01010101u;
		s.payload = payload;
		s.payload_len = plen;
		n = pkt_build(&s, buf, sizeof(buf));
		assert_true(n > 0);
		expect_verdict(buf, n, 0, "ok");
		frames++;

		off = n - plen;
		for (i = off; i < n && i < off + 64; i++) {
			buf[i] ^= 0xff;
			expect_verdict(buf, n, has_l4_csum(v6, proto) ? -1 : 0,
				       NULL);
			buf[i] ^= 0xff;
			flips++;
		}
	}
	assert_int_equal(frames, 2 * 4 * 4 * 3 * 5);
	assert_true(flips > 1000);
}

static void test_verify_header_corruption(void **state)
{
	struct pkt_spec s = spec(false, IPPROTO_TCP);
	__u8 buf[PKT_MAX];
	size_t n;

	(void)state;
	n = pkt_build(&s, buf, sizeof(buf));
	buf[ETH + 8] ^= 1; /* TTL */
	expect_verdict(buf, n, -1, "ipv4 header checksum");
	buf[ETH + 8] ^= 1;
	buf[ETH + 20 + 1] ^= 0x80; /* destination port */
	expect_verdict(buf, n, -1, "tcp checksum");

	/* The IPv6 addresses reach the L4 sums through the pseudo-header. */
	s = spec(true, IPPROTO_UDP);
	n = pkt_build(&s, buf, sizeof(buf));
	buf[ETH + 8 + 15] ^= 1;
	expect_verdict(buf, n, -1, "udp checksum");
	s.proto = IPPROTO_TCP;
	n = pkt_build(&s, buf, sizeof(buf));
	buf[ETH + 24] ^= 0x20;
	expect_verdict(buf, n, -1, "tcp checksum");
	s.proto = IPPROTO_ICMPV6;
	n = pkt_build(&s, buf, sizeof(buf));
	buf[ETH + 24 + 15] ^= 2;
	expect_verdict(buf, n, -1, "icmpv6 checksum");

	/* ICMPv4 has no pseudo-header: its addresses are free to change. */
	s = spec(false, IPPROTO_ICMP);
	n = pkt_build(&s, buf, sizeof(buf));
	buf[ETH + 16] ^= 1;
	buf[ETH + 10] = buf[ETH + 11] = 0;
	buf[ETH + 10] = (__u8)(pkt_csum(buf + ETH, 20, 0) >> 8);
	buf[ETH + 11] = (__u8)pkt_csum(buf + ETH, 20, 0);
	expect_verdict(buf, n, 0, "ok");
	buf[ETH + 20] ^= 8; /* echo request -> reply, unpatched */
	expect_verdict(buf, n, -1, "icmp checksum");
}

static void test_udp_zero_checksum(void **state)
{
	struct pkt_spec s = spec(false, IPPROTO_UDP);
	__u8 buf[PKT_MAX], word[2];
	size_t n;
	unsigned int v;
	int v6;

	(void)state;
	s.udp_zero_csum = true;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_memory_equal(buf + ETH + 26, "\x00\x00", 2);
	expect_verdict(buf, n, 0, "ok");

	s = spec(true, IPPROTO_UDP);
	s.udp_zero_csum = true;
	n = pkt_build(&s, buf, sizeof(buf));
	assert_memory_equal(buf + ETH + 46, "\x00\x00", 2);
	expect_verdict(buf, n, -1, "udp over ipv6 checksum 0");

	/*
	 * Some two-byte payload makes the true sum come out 0; it must go
	 * on the wire as ffff and still verify.
	 */
	for (v6 = 0; v6 < 2; v6++) {
		size_t csum_at = ETH + (v6 ? 40 : 20) + 6;
		bool found = false;

		s = spec(v6, IPPROTO_UDP);
		s.payload = word;
		s.payload_len = 2;
		for (v = 0; v <= 0xffff && !found; v++) {
			word[0] = (__u8)(v >> 8);
			word[1] = (__u8)v;
			n = pkt_build(&s, buf, sizeof(buf));
			assert_false(buf[csum_at] == 0 &&
				     buf[csum_at + 1] == 0);
			found = buf[csum_at] == 0xff &&
				buf[csum_at + 1] == 0xff;
		}
		assert_true(found);
		expect_verdict(buf, n, 0, "ok");
	}
}

static void test_icmp_quoted_header(void **state)
{
	struct pkt_spec in = spec(false, IPPROTO_UDP), s;
	__u8 quoted[PKT_MAX], buf[PKT_MAX];
	size_t qlen, n;

	(void)state;
	in.ip_opts_len = 4;
	in.payload_len = 100;
	qlen = pkt_build_l3(&in, quoted, sizeof(quoted));
	assert_int_equal(qlen, 24 + 8 + 100);

	s = spec(false, IPPROTO_ICMP);
	s.icmp_type = 11;
	s.payload = quoted;
	s.payload_len = 24 + 8;
	n = pkt_build(&s, buf, sizeof(buf));
	expect_verdict(buf, n, 0, "ok");

	/* A NAT that rewrote the quoted TTL but not its checksum. */
	quoted[8]--;
	n = pkt_build(&s, buf, sizeof(buf));
	expect_verdict(buf, n, -1, "quoted ipv4 header checksum");
	s.icmp_type = 3;
	n = pkt_build(&s, buf, sizeof(buf));
	expect_verdict(buf, n, -1, "quoted ipv4 header checksum");

	/* An incomplete quoted header is not judged ... */
	s.payload_len = 23;
	n = pkt_build(&s, buf, sizeof(buf));
	expect_verdict(buf, n, 0, "ok");
	/* ... nor is the payload of a message that is not an error. */
	s.payload_len = 32;
	s.icmp_type = 0;
	n = pkt_build(&s, buf, sizeof(buf));
	expect_verdict(buf, n, 0, "ok");
}

static void test_verify_unparseable(void **state)
{
	struct pkt_spec s = spec(false, IPPROTO_TCP);
	__u8 buf[PKT_MAX];
	size_t n;
	int i;

	(void)state;
	n = pkt_build(&s, buf, sizeof(buf));
	buf[12] = 0x08;
	buf[13] = 0x06; /* ARP */
	expect_verdict(buf, n, -2, "not ip");
	buf[13] = 0x00;
	buf[ETH] = 0x65;
	expect_verdict(buf, n, -2, "ipv4 ethertype, version not 4");

	/* A fourth tag hides the ethertype beyond what is walked. */
	s.nvlan = 3;
	n = pkt_build(&s, buf, sizeof(buf));
	memmove(buf + 16, buf + 12, n - 12);
	memcpy(buf + 12, "\x81\x00\x00\x07", 4);
	expect_verdict(buf, n + 4, -2, "more than 3 vlan tags");

	/* Ethernet padding past the IP length is not part of the packet. */
	s.nvlan = 0;
	n = pkt_build(&s, buf, sizeof(buf));
	memset(buf + n, 0xa5, 20);
	expect_verdict(buf, n + 20, 0, "ok");
	s = spec(true, IPPROTO_ICMPV6);
	n = pkt_build(&s, buf, sizeof(buf));
	memset(buf + n, 0xa5, 20);
	expect_verdict(buf, n + 20, 0, "ok");

	/* A hop-by-hop chain longer than anything sane is refused. */
	s.proto = 59;
	s.next_ext = 6;
	for (i = 0; i < 6; i++)
		s.ext[i] = IPPROTO_HOPOPTS;
	s.payload_len = 24;
	n = pkt_build(&s, buf, sizeof(buf));
	expect_verdict(buf, n, 0, "ok");
	for (i = 0; i < 3; i++)
		memcpy(buf + ETH + 88 + 8 * i,
		       "\x00\x00\x01\x04\x00\x00\x00\x00", 8);
	buf[ETH + 40 + 5 * 8] = IPPROTO_HOPOPTS;
	expect_verdict(buf, n, -2, "ipv6 header chain too long");

	/* An extension header length running past the payload. */
	s.next_ext = 1;
	s.proto = IPPROTO_UDP;
	s.payload_len = 0;
	n = pkt_build(&s, buf, sizeof(buf));
	buf[ETH + 41] = 2;
	expect_verdict(buf, n, -2, "truncated ipv6 ext header");
	assert_int_equal(pkt_verify_checksums(buf, n, NULL), -2);
	assert_int_equal(pkt_verify_checksums(NULL, 0, NULL), -2);
}

/* Rewrite an IP length so the packet claims to end at l3 + len. */
static void claim_l3_len(__u8 *l3, size_t len)
{
	if (l3[0] >> 4 == 6) {
		l3[4] = (__u8)((len - 40) >> 8);
		l3[5] = (__u8)(len - 40);
		return;
	}
	l3[2] = (__u8)(len >> 8);
	l3[3] = (__u8)len;
	l3[10] = l3[11] = 0;
	len = pkt_csum(l3, (size_t)(l3[0] & 0xf) * 4, 0);
	l3[10] = (__u8)(len >> 8);
	l3[11] = (__u8)len;
}

static void test_verify_truncated(void **state)
{
	struct gold g[16];
	__u8 buf[PKT_MAX];
	size_t ng, i, cut, l3off, iph, n;
	int rc;

	(void)state;
	ng = gold_specs(g);
	/* Every strict prefix of a frame ends before its IP length says. */
	for (i = 0; i < ng; i++) {
		for (cut = 0; cut < g[i].want_len; cut++)
			expect_verdict(g[i].want, cut, -2, NULL);
		expect_verdict(g[i].want, g[i].want_len, 0, "ok");
	}

	/*
	 * Now lengths that agree with the cut, so the verifier goes on to
	 * walk the short extension and L4 headers themselves.
	 */
	for (i = 0; i < ng; i++) {
		l3off = g[i].want_len - pkt_build_l3(&g[i].s, buf, sizeof(buf));
		iph = (buf[0] >> 4 == 6) ? 40 : (size_t)(buf[0] & 0xf) * 4;
		for (cut = l3off + iph; cut < g[i].want_len; cut++) {
			memcpy(buf, g[i].want, cut);
			claim_l3_len(buf + l3off, cut - l3off);
			rc = verify_copy(buf, cut, NULL);
			assert_true(rc == 0 || rc == -1 || rc == -2);
			n = cut - l3off - iph;
			/* Short of a whole TCP or UDP header: unparseable. */
			if (g[i].s.proto == IPPROTO_TCP && !g[i].s.next_ext &&
			    n < 20u + (size_t)g[i].s.tcp_opts_len)
				assert_int_equal(rc, -2);
			if (g[i].s.proto == IPPROTO_UDP && !g[i].s.next_ext &&
			    n < 8)
				assert_int_equal(rc, -2);
		}
	}
}

/* xorshift32: a fixed sequence, so a failure reproduces. */
static __u32 next_rand(__u32 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Random damage: any verdict will do, as long as nothing is overrun. */
static void test_verify_mutations(void **state)
{
	struct gold g[16];
	__u8 buf[PKT_MAX];
	size_t ng, len, i, pos;
	__u32 x = 0x2545f491;
	int iter, k, rc;
	const char *why;

	(void)state;
	ng = gold_specs(g);
	for (iter = 0; iter < 50000; iter++) {
		i = next_rand(&x) % ng;
		len = g[i].want_len;
		memcpy(buf, g[i].want, len);
		for (k = (int)(next_rand(&x) % 4); k >= 0; k--) {
			pos = next_rand(&x) % len;
			buf[pos] = (__u8)next_rand(&x);
		}
		/* Favour the first 64 bytes: lengths, counts, next headers. */
		if (next_rand(&x) & 1) {
			pos = next_rand(&x) % 64 % len;
			buf[pos] = (__u8)next_rand(&x);
		}
		if (!(next_rand(&x) % 3))
			len = next_rand(&x) % (len + 1);
		why = NULL;
		rc = verify_copy(buf, len, &why);
		assert_true(rc == 0 || rc == -1 || rc == -2);
		assert_non_null(why);
	}
}

/* ---- helpers ------------------------------------------------------------ */

static void test_mac(void **state)
{
	static const char *const bad[] = {
		"",
		"02:00:00:00:00",
		"02:00:00:00:00:01:",
		"02:00:00:00:00:01:02",
		"02-00-00-00-00-01",
		"2:00:00:00:00:01",
		"02:00:00:00:00:1",
		"020:00:00:00:00:01",
		"02:00:00:00:00:0g",
		"02:00:00:00:00:01 ",
		" 02:00:00:00:00:01",
		"0x:00:00:00:00:01",
	};
	__u8 mac[6], keep[6] = { 9, 9, 9, 9, 9, 9 };
	size_t i;

	(void)state;
	assert_int_equal(pkt_mac("02:00:00:00:00:01", mac), 0);
	assert_memory_equal(mac, mac_src, 6);
	assert_int_equal(pkt_mac("fF:Ee:0a:B9:10:7c", mac), 0);
	assert_memory_equal(mac, "\xff\xee\x0a\xb9\x10\x7c", 6);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(mac, keep, 6);
		if (pkt_mac(bad[i], mac) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		/* A refused string leaves the output alone. */
		assert_memory_equal(mac, keep, 6);
	}
	assert_int_equal(pkt_mac(NULL, mac), -1);
}

/* Run pkt_dump_diff with stderr sent to a file, and return the text. */
static char *dump_to_string(const __u8 *got, size_t got_len, const __u8 *want,
			    size_t want_len)
{
	static char text[8192];
	FILE *tmp = tmpfile();
	int saved;
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	pkt_dump_diff("case", got, got_len, want, want_len);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(text, 1, sizeof(text) - 1, tmp);
	text[n] = '\0';
	fclose(tmp);
	return text;
}

static void test_dump_diff(void **state)
{
	static const __u8 got[5] = { 1, 2, 3, 4, 5 };
	static const __u8 want[6] = { 1, 2, 3, 9, 5, 6 };
	__u8 big_got[40], big_want[40];
	char *out;

	(void)state;
	out = dump_to_string(got, 5, want, 6);
	assert_non_null(strstr(out, "case: first difference at byte 3 (0x3); "
				    "got 5 bytes, want 6\n"));
	assert_non_null(strstr(out, "\n0000 got  01 02 03 04 05\n"));
	assert_non_null(strstr(out, "\n0000 want 01 02 03 09 05 06\n"));
	/* ^^ under byte 3, -- under byte 5 which only want has. */
	assert_non_null(strstr(out, "\n                   ^^    --\n"));

	memset(big_got, 0x11, sizeof(big_got));
	memcpy(big_want, big_got, sizeof(big_want));
	big_want[37] = 0x12;
	out = dump_to_string(big_got, 40, big_want, 40);
	assert_non_null(strstr(out, "byte 37 (0x25)"));
	assert_non_null(strstr(out, "\n0020 want 11 11 11 11 11 12 11 11\n"));
	/* Only the row holding the difference gets a marker line. */
	assert_non_null(strstr(out, "11 11 11 11 11 12 11 11\n"
				    "                         ^^\n"));
	assert_ptr_equal(strchr(out, '^'), strrchr(out, '^') - 1);
	assert_null(strchr(out, '-'));

	out = dump_to_string(got, 5, got, 5);
	assert_string_equal(out, "case: frames identical (5 bytes)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csum_known_values),
		cmocka_unit_test(test_build_classic_header),
		cmocka_unit_test(test_gold_frames),
		cmocka_unit_test(test_header_lengths),
		cmocka_unit_test(test_vlan_tags),
		cmocka_unit_test(test_ipv4_fields),
		cmocka_unit_test(test_ipv6_fields),
		cmocka_unit_test(test_tcp_fields),
		cmocka_unit_test(test_icmp_rest),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_malformed_fields),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_verify_matrix),
		cmocka_unit_test(test_verify_header_corruption),
		cmocka_unit_test(test_udp_zero_checksum),
		cmocka_unit_test(test_icmp_quoted_header),
		cmocka_unit_test(test_verify_unparseable),
		cmocka_unit_test(test_verify_truncated),
		cmocka_unit_test(test_verify_mutations),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_dump_diff),
	};

	return cmocka_run_group_tests_name("pkt_selftest", tests, NULL, NULL);
}
