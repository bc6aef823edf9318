// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The data path, packet by packet: for each case the input frame, the
 * verdict and the exact output frame, built from scratch with fresh
 * checksums, and the counters that must have moved.
 */
#include "fixture.h"
#include "agent.h"

static const __u8 mac_blue1[6] = M_BLUE1, mac_green1[6] = M_GREEN1;

/* ---- the stateless fixture table -------------------------------------- */

enum side { FROM_CLIENT, FROM_BACKEND };

struct fixture {
	const char *name;
	struct pkt_spec in;
	enum side side;
	int verdict;
	bool rewritten; /* else the output must equal the input */
	struct pkt_spec out;
	int pass_reason; /* global pass counter that must read 1, or -1 */
};

#define CLIENT_L2 .smac = M_CLIENT, .dmac = M_CLI0
#define TO_BLUE4 .smac = M_BE0, .dmac = M_BLUE1, .dst = BLUE4
#define TO_BLUE6 .smac = M_BE0, .dmac = M_BLUE1, .dst = BLUE6
#define SYN4 .src = CLIENT4, .proto = IPPROTO_TCP, .sport = 40000, \
	     .tcp_flags = 0x02, .seq = 1000
#define SYN6 .v6 = true, .src = CLIENT6, .proto = IPPROTO_TCP, \
	     .sport = 40000, .tcp_flags = 0x02, .seq = 1000

static const __u8 dns_query[] = { 0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00,
				  0x00, 0x00, 0x00, 0x00, 0x00 };

static const struct fixture fixtures[] = {
	{ "IPv4 TCP SYN, nat: destination rewritten, TTL-1, routed to blue",
	  { CLIENT_L2, SYN4, .dst = VIP4, .dport = 80 }, FROM_CLIENT,
	  XDP_REDIRECT, true,
	  { TO_BLUE4, SYN4, .dport = 8080, .ttl = 63 }, -1 },
	{ "IPv6 TCP SYN, nat: destination rewritten, hop limit-1",
	  { CLIENT_L2, SYN6, .dst = VIP6, .dport = 80 }, FROM_CLIENT,
	  XDP_REDIRECT, true,
	  { TO_BLUE6, SYN6, .dport = 8080, .ttl = 63 }, -1 },
	{ "IPv4 TCP SYN, dsr: only the MACs change",
	  { CLIENT_L2, SYN4, .dst = "198.18.0.11", .dport = 80 }, FROM_CLIENT,
	  XDP_REDIRECT, true,
	  { .smac = M_BE0, .dmac = M_BLUE1, SYN4, .dst = "198.18.0.11",
	    .dport = 80 }, -1 },
	{ "IPv6 TCP SYN, dsr: only the MACs change",
	  { CLIENT_L2, SYN6, .dst = "fd00::11", .dport = 80 }, FROM_CLIENT,
	  XDP_REDIRECT, true,
	  { .smac = M_BE0, .dmac = M_BLUE1, SYN6, .dst = "fd00::11",
	    .dport = 80 }, -1 },
	{ "VLAN-tagged SYN: steered, tags kept",
	  { CLIENT_L2, .nvlan = 1, .vlan_tci = { 100 }, SYN4, .dst = VIP4,
	    .dport = 80 }, FROM_CLIENT, XDP_REDIRECT, true,
	  { TO_BLUE4, .nvlan = 1, .vlan_tci = { 100 }, SYN4, .dport = 8080,
	    .ttl = 63 }, -1 },
	{ "QinQ (802.1ad + 802.1Q) SYN: steered, both tags kept",
	  { CLIENT_L2, .nvlan = 2, .vlan_tpid = { 0x88a8, 0x8100 },
	    .vlan_tci = { 7, 100 }, SYN4, .dst = VIP4, .dport = 80 },
	  FROM_CLIENT, XDP_REDIRECT, true,
	  { TO_BLUE4, .nvlan = 2, .vlan_tpid = { 0x88a8, 0x8100 },
	    .vlan_tci = { 7, 100 }, SYN4, .dport = 8080, .ttl = 63 }, -1 },
	{ "three VLAN tags: passed untouched",
	  { CLIENT_L2, .nvlan = 3, .vlan_tci = { 1, 2, 3 }, SYN4, .dst = VIP4,
	    .dport = 80 }, FROM_CLIENT, XDP_PASS, false, {},
	  SLUICE_PASS_VLAN_DEPTH },
	{ "IPv4 with 8 bytes of options: steered, options kept",
	  { CLIENT_L2, .ip_opts_len = 8, SYN4, .dst = VIP4, .dport = 80 },
	  FROM_CLIENT, XDP_REDIRECT, true,
	  { TO_BLUE4, .ip_opts_len = 8, SYN4, .dport = 8080, .ttl = 63 },
	  -1 },
	{ "IPv6 hop-by-hop + routing + destination options: steered",
	  { CLIENT_L2, .next_ext = 3, .ext = { 0, 43, 60 }, SYN6,
	    .dst = VIP6, .dport = 80 }, FROM_CLIENT, XDP_REDIRECT, true,
	  { TO_BLUE6, .next_ext = 3, .ext = { 0, 43, 60 }, SYN6,
	    .dport = 8080, .ttl = 63 }, -1 },
	{ "IPv6 six extension headers: more than the four walked, passed",
	  { CLIENT_L2, .next_ext = 6, .ext = { 0, 60, 60, 60, 60, 60 },
	    SYN6, .dst = VIP6, .dport = 80 }, FROM_CLIENT, XDP_PASS, false,
	  {}, SLUICE_PASS_EXT_HDRS },
	{ "IPv6 to an IPv4-mapped VIP (::ffff:a.b.c.d): malformed, untouched",
	  { CLIENT_L2, SYN6, .dst = "::ffff:" VIP4, .dport = 80 },
	  FROM_CLIENT, XDP_PASS, false, {}, SLUICE_PASS_MALFORMED },
	{ "IPv4 UDP with a zero checksum: rewritten, checksum stays zero",
	  { CLIENT_L2, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP,
	    .sport = 40053, .dport = 53, .udp_zero_csum = true,
	    .payload = dns_query, .payload_len = sizeof(dns_query) },
	  FROM_CLIENT, XDP_REDIRECT, true,
	  { TO_BLUE4, .src = CLIENT4, .proto = IPPROTO_UDP, .sport = 40053,
	    .dport = 5353, .udp_zero_csum = true, .ttl = 63,
	    .payload = dns_query, .payload_len = sizeof(dns_query) }, -1 },
	{ "IPv4 UDP with a checksum: rewritten, checksum valid",
	  { CLIENT_L2, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP,
	    .sport = 40053, .dport = 53, .payload = dns_query,
	    .payload_len = sizeof(dns_query) },
	  FROM_CLIENT, XDP_REDIRECT, true,
	  { TO_BLUE4, .src = CLIENT4, .proto = IPPROTO_UDP, .sport = 40053,
	    .dport = 5353, .ttl = 63, .payload = dns_query,
	    .payload_len = sizeof(dns_query) }, -1 },
	{ "IPv6 UDP: rewritten, checksum valid",
	  { CLIENT_L2, .v6 = true, .src = CLIENT6, .dst = VIP6,
	    .proto = IPPROTO_UDP, .sport = 40053, .dport = 53,
	    .payload = dns_query, .payload_len = sizeof(dns_query) },
	  FROM_CLIENT, XDP_REDIRECT, true,
	  { TO_BLUE6, .v6 = true, .src = CLIENT6, .proto = IPPROTO_UDP,
	    .sport = 40053, .dport = 5353, .ttl = 63, .payload = dns_query,
	    .payload_len = sizeof(dns_query) }, -1 },
	{ "TCP to an address that is no VIP: passed unchanged",
	  { CLIENT_L2, SYN4, .dst = "198.18.0.50", .dport = 80 },
	  FROM_CLIENT, XDP_PASS, false, {}, SLUICE_PASS_NOT_SERVICE },
	{ "TCP to a VIP on a port that is no service: passed unchanged",
	  { CLIENT_L2, SYN4, .dst = VIP4, .dport = 81 }, FROM_CLIENT,
	  XDP_PASS, false, {}, SLUICE_PASS_NOT_SERVICE },
	{ "IPv4 protocol that is neither TCP, UDP nor ICMP: passed",
	  { CLIENT_L2, .src = CLIENT4, .dst = VIP4, .proto = 47,
	    .payload = dns_query, .payload_len = 8 }, FROM_CLIENT, XDP_PASS,
	  false, {}, SLUICE_PASS_PROTO },
	{ "IPv4 non-first fragment to a VIP: passed, counted",
	  { CLIENT_L2, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_TCP,
	    .frag_offset = 185, .payload = dns_query,
	    .payload_len = sizeof(dns_query) }, FROM_CLIENT, XDP_PASS, false,
	  {}, SLUICE_PASS_FRAGMENT },
	{ "IPv4 first fragment: hashed and steered like its flow",
	  { CLIENT_L2, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_UDP,
	    .more_frags = true, .sport = 40053, .dport = 53,
	    .payload = dns_query, .payload_len = sizeof(dns_query) },
	  FROM_CLIENT, XDP_REDIRECT, true,
	  { TO_BLUE4, .src = CLIENT4, .proto = IPPROTO_UDP, .more_frags = true,
	    .sport = 40053, .dport = 5353, .ttl = 63, .payload = dns_query,
	    .payload_len = sizeof(dns_query) }, -1 },
	{ "IPv6 non-first fragment to a VIP: passed, counted",
	  { CLIENT_L2, .v6 = true, .src = CLIENT6, .dst = VIP6,
	    .proto = IPPROTO_UDP, .next_ext = 1, .ext = { 44 },
	    .frag_offset = 185, .payload = dns_query,
	    .payload_len = sizeof(dns_query) }, FROM_CLIENT, XDP_PASS, false,
	  {}, SLUICE_PASS_FRAGMENT },
	{ "IPv4 bad IHL (4): passed as malformed",
	  { CLIENT_L2, SYN4, .dst = VIP4, .dport = 80, .ihl_override = 4 },
	  FROM_CLIENT, XDP_PASS, false, {}, SLUICE_PASS_MALFORMED },
	{ "IPv4 total length past the frame: passed as truncated",
	  { CLIENT_L2, SYN4, .dst = VIP4, .dport = 80, .tot_len_delta = 20 },
	  FROM_CLIENT, XDP_PASS, false, {}, SLUICE_PASS_TRUNCATED },
	{ "TTL 1 toward a nat VIP: the stack answers time-exceeded",
	  { CLIENT_L2, SYN4, .dst = VIP4, .dport = 80, .ttl = 1 },
	  FROM_CLIENT, XDP_PASS, false, {}, SLUICE_PASS_TTL },
	{ "backend next hop unresolved: rewritten, handed to the stack",
	  { CLIENT_L2, SYN4, .dst = "198.18.0.12", .dport = 80 }, FROM_CLIENT,
	  XDP_PASS, true,
	  { CLIENT_L2, SYN4, .dst = UNRESOLVED4, .dport = 8080 },
	  SLUICE_PASS_NO_NEIGH },
	{ "reply from an unknown backend flow: passed unchanged",
	  { .smac = M_BLUE1, .dmac = M_BE0, .src = BLUE4, .dst = CLIENT4,
	    .proto = IPPROTO_TCP, .sport = 8080, .dport = 41000,
	    .tcp_flags = 0x12 }, FROM_BACKEND, XDP_PASS, false, {},
	  SLUICE_PASS_NOT_SERVICE },
	{ "ICMP echo to a VIP: not steered",
	  { CLIENT_L2, .src = CLIENT4, .dst = VIP4, .proto = IPPROTO_ICMP,
	    .icmp_type = 8, .payload = dns_query, .payload_len = 8 },
	  FROM_CLIENT, XDP_PASS, false, {}, SLUICE_PASS_NOT_SERVICE },
};

static void run_fixture(void **state)
{
	const struct fixture *f = *state;
	struct sluice_global_stats g;
	int i;

	expect_frame(&f->in,
		     f->side == FROM_CLIENT ? E.cli_ifindex : E.be_ifindex,
		     f->verdict, f->rewritten ? &f->out : NULL);
	g = global_stats();
	for (i = 0; i < SLUICE_PASS_MAX; i++)
		if (g.pass[i] != (i == f->pass_reason ? 1u : 0u))
			fail_msg("pass counter %d reads %llu, want %d", i,
				 (unsigned long long)g.pass[i],
				 i == f->pass_reason);
}

/* ---- stateful cases --------------------------------------------------- */

static void test_syn_counts(void **state)
{
	struct pkt_spec in = tcp4(0x02), want = to_backend(in, BLUE4, 8080,
							  mac_blue1);
	struct sluice_backend_stats b;
	struct sluice_service_stats s;

	(void)state;
	expect_frame(&in, E.cli_ifindex, XDP_REDIRECT, &want);
	b = backend_stats(SVC_NAT4, SLUICE_BLUE, 0);
	assert_int_equal(b.new_flows, 1);
	assert_int_equal(b.fwd_packets, 1);
	assert_int_equal(b.fwd_bytes, 54);
	s = service_stats(SVC_NAT4);
	assert_int_equal(s.new_flows[SLUICE_BLUE], 1);
	assert_int_equal(s.new_flows[SLUICE_GREEN], 0);
	assert_int_equal(s.packets, 1);
	assert_int_equal(s.bytes, 54);
	assert_int_equal(s.flow_misses, 0);
}

/* A retransmitted SYN (same decision) is one new flow, not three. */
static void test_syn_retransmit_counts_once(void **state)
{
	struct pkt_spec in = tcp4(0x02), want = to_backend(in, BLUE4, 8080,
							  mac_blue1);
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		expect_frame(&in, E.cli_ifindex, XDP_REDIRECT, &want);
	assert_int_equal(service_stats(SVC_NAT4).new_flows[SLUICE_BLUE], 1);
	assert_int_equal(service_stats(SVC_NAT4).packets, 3);
	assert_int_equal(backend_stats(SVC_NAT4, SLUICE_BLUE, 0).new_flows,
			 1);
	assert_int_equal(backend_stats(SVC_NAT4, SLUICE_BLUE, 0).fwd_packets,
			 3);
}

/*
 * A client reusing a source port while the old flow is still in the
 * table opens a new connection: its SYN carries another ISN, so it is
 * a new flow, counted, even though the decision is the same.
 */
static void test_reused_port_counts_again(void **state)
{
	struct pkt_spec in = tcp4(0x02), again = tcp4(0x02);
	struct pkt_spec want = to_backend(in, BLUE4, 8080, mac_blue1), w2;

	(void)state;
	again.seq = 777777;
	w2 = to_backend(again, BLUE4, 8080, mac_blue1);
	expect_frame(&in, E.cli_ifindex, XDP_REDIRECT, &want);
	expect_frame(&in, E.cli_ifindex, XDP_REDIRECT, &want);
	assert_int_equal(service_stats(SVC_NAT4).new_flows[SLUICE_BLUE], 1);
	expect_frame(&again, E.cli_ifindex, XDP_REDIRECT, &w2);
	assert_int_equal(service_stats(SVC_NAT4).new_flows[SLUICE_BLUE], 2);
	assert_int_equal(backend_stats(SVC_NAT4, SLUICE_BLUE, 0).new_flows,
			 2);
	/* ...and its own retransmission is not counted again. */
	expect_frame(&again, E.cli_ifindex, XDP_REDIRECT, &w2);
	assert_int_equal(service_stats(SVC_NAT4).new_flows[SLUICE_BLUE], 2);
}

static void test_established_flow(void **state)
{
	struct pkt_spec syn = tcp4(0x02), ack = tcp4(0x10);
	struct pkt_spec w1 = to_backend(syn, BLUE4, 8080, mac_blue1);
	struct pkt_spec w2 = to_backend(ack, BLUE4, 8080, mac_blue1);
	struct sluice_backend_stats b;

	(void)state;
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w1);
	expect_frame(&ack, E.cli_ifindex, XDP_REDIRECT, &w2);
	b = backend_stats(SVC_NAT4, SLUICE_BLUE, 0);
	assert_int_equal(b.new_flows, 1);
	assert_int_equal(b.fwd_packets, 2);
}

static void test_flow_kept_across_split(void **state)
{
	struct pkt_spec syn = tcp4(0x02), ack = tcp4(0x10), syn2 = tcp4(0x02);
	struct pkt_spec w1 = to_backend(syn, BLUE4, 8080, mac_blue1);
	struct pkt_spec w2 = to_backend(ack, BLUE4, 8080, mac_blue1);
	struct pkt_spec w3;

	(void)state;
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w1);
	assert_int_equal(env_split(&E, V_NAT4, SLUICE_PPM), 0);
	/* The established flow stays on blue... */
	expect_frame(&ack, E.cli_ifindex, XDP_REDIRECT, &w2);
	/* ...while a new one follows the split to green. */
	syn2.sport = 40001;
	w3 = to_backend(syn2, GREEN4, 8080, mac_green1);
	expect_frame(&syn2, E.cli_ifindex, XDP_REDIRECT, &w3);
	assert_int_equal(service_stats(SVC_NAT4).new_flows[SLUICE_GREEN], 1);
	assert_int_equal(backend_stats(SVC_NAT4, SLUICE_GREEN, 0).new_flows,
			 1);
}

/* A client reusing a port opens a new connection: the split decides it. */
static void test_port_reuse_follows_split(void **state)
{
	struct pkt_spec syn = tcp4(0x02), ack = tcp4(0x10);
	struct pkt_spec w;

	(void)state;
	w = to_backend(syn, BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	assert_int_equal(env_split(&E, V_NAT4, SLUICE_PPM), 0);
	w = to_backend(syn, GREEN4, 8080, mac_green1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	/* ...and the rest of that connection follows it. */
	w = to_backend(ack, GREEN4, 8080, mac_green1);
	expect_frame(&ack, E.cli_ifindex, XDP_REDIRECT, &w);
}

/*
 * The next hop is cached in the flow for SLUICE_NEXTHOP_TTL_NS: a new
 * neighbour MAC shows on the flow's packets once that has passed.
 */
static void test_nexthop_cache(void **state)
{
	static const __u8 mac_new[6] = { 0x02, 0, 0, 0, 0x01, 0x99 };
	struct pkt_spec syn = tcp4(0x02), ack = tcp4(0x10), w;

	(void)state;
	w = to_backend(syn, BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	w = to_backend(ack, BLUE4, 8080, mac_blue1);
	expect_frame(&ack, E.cli_ifindex, XDP_REDIRECT, &w);
	assert_int_equal(system("ip neigh replace " BLUE4
				" lladdr 02:00:00:00:01:99 dev be0 nud permanent"),
			 0);
	/* Cached: still the old MAC... */
	expect_frame(&ack, E.cli_ifindex, XDP_REDIRECT, &w);
	usleep(SLUICE_NEXTHOP_TTL_NS / 1000 + 100000);
	/* ...until the cache expires. */
	w = to_backend(ack, BLUE4, 8080, mac_new);
	expect_frame(&ack, E.cli_ifindex, XDP_REDIRECT, &w);
	assert_int_equal(system("ip neigh replace " BLUE4 " lladdr " MAC_BLUE1
				" dev be0 nud permanent"),
			 0);
}

/*
 * An established flow's cached next hop does not bypass the MTU: a
 * packet bigger than the egress device's goes to the fib, which says
 * frag-needed, and the stack answers it (dsr: the frame is untouched).
 */
static void test_nexthop_cache_mtu(void **state)
{
	struct pkt_spec syn = { CLIENT_L2, SYN4, .dst = "198.18.0.11",
				.dport = 80 };
	struct pkt_spec w = { .smac = M_BE0, .dmac = M_BLUE1, SYN4,
			      .dst = "198.18.0.11", .dport = 80 };
	struct pkt_spec ack = syn, wack = w, big;

	(void)state;
	ack.tcp_flags = wack.tcp_flags = 0x10;
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	/* this one fills the cache... */
	expect_frame(&ack, E.cli_ifindex, XDP_REDIRECT, &wack);
	/* ...which a 1540-byte IP packet on a 1500-byte port must not use */
	big = ack;
	big.payload_len = 1500;
	expect_frame(&big, E.cli_ifindex, XDP_PASS, NULL);
	assert_int_equal(global_stats().pass[SLUICE_PASS_FIB], 1);
	/* and the cache still serves what fits */
	expect_frame(&ack, E.cli_ifindex, XDP_REDIRECT, &wack);
}

/*
 * What the edge must answer a packet too big for the port toward the
 * backend that may not be fragmented: an ICMP "too big" back out of
 * the port it came in on, from the VIP, quoting the packet as the
 * client sent it (quote bytes of it), so the client's stack finds its
 * connection and lowers its path MTU.
 */
static struct pkt_spec too_big_reply(const struct pkt_spec *in, __u8 *q,
				     size_t quote, __u32 mtu)
{
	struct pkt_spec r = { 0 };

	memcpy(r.smac, in->dmac, 6);
	memcpy(r.dmac, in->smac, 6);
	assert_true(pkt_build_l3(in, q, PKT_MAX) >= quote);
	r.nvlan = in->nvlan;
	memcpy(r.vlan_tpid, in->vlan_tpid, sizeof(r.vlan_tpid));
	memcpy(r.vlan_tci, in->vlan_tci, sizeof(r.vlan_tci));
	r.v6 = in->v6;
	r.src = in->dst;
	r.dst = in->src;
	r.proto = in->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	r.icmp_type = in->v6 ? 2 : 3;
	r.icmp_code = in->v6 ? 0 : 4;
	r.icmp_rest = mtu;
	r.payload = q;
	r.payload_len = quote;
	return r;
}

/*
 * The client side's MTU is larger than the backend side's (as on the
 * testbed in tests/pmtu_test.sh): a 1540-byte packet came in whole.
 */
static void port_mtu(const char *dev, int mtu)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "ip link set %s mtu %d", dev, mtu);
	assert_int_equal(system(cmd), 0);
}


static void too_big_case(struct pkt_spec syn, __u32 svc, size_t quote)
{
	static __u8 q[PKT_MAX];
	struct pkt_spec ack = syn, big, want;

	want = to_backend(syn, syn.v6 ? BLUE6 : BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &want);
	ack.tcp_flags = 0x10;
	ack.seq = 1001;
	ack.ack_seq = 5001;
	big = ack;
	big.df = true;
	big.payload_len = 1500; /* 1540 bytes of IP on a 1500-byte port */
	want = too_big_reply(&big, q, quote, 1500);
	port_mtu("cli0", 9000);
	expect_frame(&big, E.cli_ifindex, XDP_TX, &want);
	port_mtu("cli0", 1500);
	assert_int_equal(backend_stats(svc, SLUICE_BLUE, 0)
				 .drops[SLUICE_DROP_TOO_BIG],
			 1);
	assert_int_equal(service_stats(svc).drops[SLUICE_DROP_TOO_BIG], 1);
}

static void test_too_big_nat4(void **state)
{
	struct sluice_snapshot snap;

	(void)state;
	too_big_case(tcp4(0x02), SVC_NAT4, 68);
	/* What the rollout judge reads: one flow, and no error for it. */
	assert_int_equal(sluice_snapshot_of(&E.m, SVC_NAT4, &snap), 0);
	assert_int_equal(snap.flows[SLUICE_BLUE], 1);
	assert_int_equal(snap.errors[SLUICE_BLUE], 0);
}

static void test_too_big_nat6(void **state)
{
	(void)state;
	too_big_case(tcp6(0x02), SVC_NAT6, 256);
}

/* Tagged: the answer leaves on the same VLANs. */
static void test_too_big_vlan(void **state)
{
	struct pkt_spec syn = tcp4(0x02);

	(void)state;
	syn.nvlan = 2;
	syn.vlan_tpid[0] = 0x88a8;
	syn.vlan_tci[0] = 7;
	syn.vlan_tci[1] = 100;
	too_big_case(syn, SVC_NAT4, 68);
}

/*
 * Bigger than the port it came in on (1500 here): a GRO aggregate that
 * generic mode shows the program, not one frame. The stack segments it;
 * nobody is told "too big".
 */
static void test_too_big_aggregate(void **state)
{
	struct pkt_spec syn = tcp4(0x02), big = tcp4(0x10), want;

	(void)state;
	want = to_backend(syn, BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &want);
	big.df = true;
	big.payload_len = 1500;
	want = big;
	want.dst = BLUE4;
	want.dport = 8080;
	expect_frame(&big, E.cli_ifindex, XDP_PASS, &want);
	assert_int_equal(global_stats().pass[SLUICE_PASS_FIB], 1);
	assert_int_equal(service_stats(SVC_NAT4).drops[SLUICE_DROP_TOO_BIG],
			 0);
}

/*
 * The other way: a backend's reply too big for the client side. The
 * backend is told, from the client's address it sent to, quoting its
 * packet as it sent it (before the source becomes the VIP again).
 */
static void test_too_big_reply(void **state)
{
	static __u8 q[PKT_MAX];
	struct pkt_spec syn = tcp4(0x02), want;
	struct pkt_spec big = from_backend(BLUE4, 8080, CLIENT4, 40000, false,
					   0x18);

	(void)state;
	want = to_backend(syn, BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &want);
	big.df = true;
	big.payload_len = 1500;
	want = too_big_reply(&big, q, 68, 1500);
	port_mtu("be0", 9000);
	expect_frame(&big, E.be_ifindex, XDP_TX, &want);
	port_mtu("be0", 1500);
	assert_int_equal(backend_stats(SVC_NAT4, SLUICE_BLUE, 0)
				 .drops[SLUICE_DROP_TOO_BIG],
			 1);
}

/* IPv4 without DF may be fragmented: the stack does, on the way out. */
static void test_too_big_may_fragment(void **state)
{
	struct pkt_spec syn = tcp4(0x02), big = tcp4(0x10), want;

	(void)state;
	want = to_backend(syn, BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &want);
	big.payload_len = 1500;
	want = big;
	want.dst = BLUE4;
	want.dport = 8080;
	expect_frame(&big, E.cli_ifindex, XDP_PASS, &want);
	assert_int_equal(global_stats().pass[SLUICE_PASS_FIB], 1);
	assert_int_equal(service_stats(SVC_NAT4).drops[SLUICE_DROP_TOO_BIG],
			 0);
}

/*
 * A SYN sent again before any SYN-ACK came back: the backend did not
 * answer. Counted as that backend's error, once the handshake is done no
 * more.
 */
static void test_syn_retry_is_an_error(void **state)
{
	struct pkt_spec syn = tcp4(0x02), w;
	struct pkt_spec sa =
		from_backend(BLUE4, 8080, CLIENT4, 40000, false, 0x12);

	(void)state;
	w = to_backend(syn, BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	assert_int_equal(backend_stats(SVC_NAT4, SLUICE_BLUE, 0)
				 .errors[SLUICE_ERR_SYN_RETRY],
			 0);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	assert_int_equal(backend_stats(SVC_NAT4, SLUICE_BLUE, 0)
				 .errors[SLUICE_ERR_SYN_RETRY],
			 2);
	w = to_client(sa, VIP4, 80);
	expect_frame(&sa, E.be_ifindex, XDP_REDIRECT, &w);
	w = to_backend(syn, BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	assert_int_equal(backend_stats(SVC_NAT4, SLUICE_BLUE, 0)
				 .errors[SLUICE_ERR_SYN_RETRY],
			 2);
	assert_int_equal(backend_stats(SVC_NAT4, SLUICE_BLUE, 0).new_flows, 1);
}

static void test_midstream_miss(void **state)
{
	struct pkt_spec ack = tcp4(0x10);
	struct pkt_spec w = to_backend(ack, BLUE4, 8080, mac_blue1);

	(void)state;
	/* No state (evicted, or older than us): re-hashed, and counted. */
	expect_frame(&ack, E.cli_ifindex, XDP_REDIRECT, &w);
	assert_int_equal(service_stats(SVC_NAT4).flow_misses, 1);
}

static void test_reverse_nat(void **state)
{
	struct pkt_spec syn = tcp4(0x02);
	struct pkt_spec w1 = to_backend(syn, BLUE4, 8080, mac_blue1);
	struct pkt_spec sa =
		from_backend(BLUE4, 8080, CLIENT4, 40000, false, 0x12);
	struct pkt_spec w2 = to_client(sa, VIP4, 80);
	struct sluice_backend_stats b;

	(void)state;
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w1);
	expect_frame(&sa, E.be_ifindex, XDP_REDIRECT, &w2);
	b = backend_stats(SVC_NAT4, SLUICE_BLUE, 0);
	assert_int_equal(b.rev_packets, 1);
	assert_int_equal(b.rev_bytes, 54);
	assert_int_equal(hist_total(b.handshake_hist), 1);
	assert_int_equal(b.errors[SLUICE_ERR_RST], 0);
}

static void test_reverse_nat6(void **state)
{
	struct pkt_spec syn = tcp6(0x02);
	struct pkt_spec w1 = to_backend(syn, BLUE6, 8080, mac_blue1);
	struct pkt_spec sa =
		from_backend(BLUE6, 8080, CLIENT6, 40000, true, 0x12);
	struct pkt_spec w2 = to_client(sa, VIP6, 80);

	(void)state;
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w1);
	expect_frame(&sa, E.be_ifindex, XDP_REDIRECT, &w2);
	assert_int_equal(
		hist_total(backend_stats(SVC_NAT6, SLUICE_BLUE, 0)
				   .handshake_hist),
		1);
}

static void test_backend_rst(void **state)
{
	struct pkt_spec syn = tcp4(0x02);
	struct pkt_spec w1 = to_backend(syn, BLUE4, 8080, mac_blue1);
	struct pkt_spec rst =
		from_backend(BLUE4, 8080, CLIENT4, 40000, false, 0x14);
	struct pkt_spec w2 = to_client(rst, VIP4, 80);

	(void)state;
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w1);
	expect_frame(&rst, E.be_ifindex, XDP_REDIRECT, &w2);
	assert_int_equal(
		backend_stats(SVC_NAT4, SLUICE_BLUE, 0).errors[SLUICE_ERR_RST],
		1);
}

static void test_http_503(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: web\r\n\r\n";
	static const char resp[] = "HTTP/1.1 503 Service Unavailable\r\n"
				   "Content-Length: 0\r\n\r\n";
	struct pkt_spec syn = tcp4(0x02), rq = tcp4(0x18);
	struct pkt_spec sa =
		from_backend(BLUE4, 8080, CLIENT4, 40000, false, 0x12);
	struct pkt_spec rs =
		from_backend(BLUE4, 8080, CLIENT4, 40000, false, 0x18);
	struct pkt_spec w;
	struct sluice_backend_stats b;

	(void)state;
	rq.payload = (const __u8 *)req;
	rq.payload_len = sizeof(req) - 1;
	rs.payload = (const __u8 *)resp;
	rs.payload_len = sizeof(resp) - 1;

	w = to_backend(syn, BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	w = to_client(sa, VIP4, 80);
	expect_frame(&sa, E.be_ifindex, XDP_REDIRECT, &w);
	w = to_backend(rq, BLUE4, 8080, mac_blue1);
	expect_frame(&rq, E.cli_ifindex, XDP_REDIRECT, &w);
	w = to_client(rs, VIP4, 80);
	expect_frame(&rs, E.be_ifindex, XDP_REDIRECT, &w);

	b = backend_stats(SVC_NAT4, SLUICE_BLUE, 0);
	assert_int_equal(b.http[4], 1);
	assert_int_equal(b.http[1], 0);
	assert_int_equal(b.errors[SLUICE_ERR_HTTP_5XX], 1);
	assert_int_equal(hist_total(b.first_byte_hist), 1);
	/* Only the first response line of a flow is judged. */
	expect_frame(&rs, E.be_ifindex, XDP_REDIRECT, &w);
	b = backend_stats(SVC_NAT4, SLUICE_BLUE, 0);
	assert_int_equal(b.http[4], 1);
}

static void test_http_200(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\n\r\n";
	static const char resp[] = "HTTP/1.0 200 OK\r\n\r\n";
	struct pkt_spec syn = tcp4(0x02), rq = tcp4(0x18);
	struct pkt_spec rs =
		from_backend(BLUE4, 8080, CLIENT4, 40000, false, 0x18);
	struct pkt_spec w;
	struct sluice_backend_stats b;

	(void)state;
	rq.payload = (const __u8 *)req;
	rq.payload_len = sizeof(req) - 1;
	rs.payload = (const __u8 *)resp;
	rs.payload_len = sizeof(resp) - 1;
	w = to_backend(syn, BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	w = to_backend(rq, BLUE4, 8080, mac_blue1);
	expect_frame(&rq, E.cli_ifindex, XDP_REDIRECT, &w);
	w = to_client(rs, VIP4, 80);
	expect_frame(&rs, E.be_ifindex, XDP_REDIRECT, &w);
	b = backend_stats(SVC_NAT4, SLUICE_BLUE, 0);
	assert_int_equal(b.http[1], 1);
	assert_int_equal(b.errors[SLUICE_ERR_HTTP_5XX], 0);
}

static void test_segment_pin(void **state)
{
	__u8 addr[16];
	__u32 plen;
	struct pkt_spec syn = tcp4(0x02), other = tcp4(0x02);
	struct pkt_spec w;
	struct sluice_service_key k;
	struct sluice_service v;

	(void)state;
	/* Split 0%: everyone is blue, but the office /24 is pinned green. */
	assert_int_equal(sluice_parse_prefix("198.18.0.0/24", addr, &plen,
					     NULL),
			 0);
	assert_int_equal(sluice_segment_write(&E.m, SVC_NAT4, addr, plen,
					      SLUICE_GREEN),
			 0);
	assert_int_equal(env_service_get(&E, V_NAT4, &k, &v), 0);
	v.flags |= SLUICE_SVC_F_SEGMENTS;
	assert_int_equal(bpf_map_update_elem(E.m.services, &k, &v, BPF_ANY),
			 0);
	w = to_backend(syn, GREEN4, 8080, mac_green1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	assert_int_equal(service_stats(SVC_NAT4).segment_flows, 1);
	/* A client outside the segment still follows the split. */
	other.src = "198.18.5.7";
	w = to_backend(other, BLUE4, 8080, mac_blue1);
	expect_frame(&other, E.cli_ifindex, XDP_REDIRECT, &w);
	assert_int_equal(service_stats(SVC_NAT4).segment_flows, 1);
}

/* A router on the client side says the VIP's packet was too big. */
static void test_icmp_frag_needed(void **state)
{
	struct pkt_spec syn = tcp4(0x02), w, icmp, quoted;
	__u8 q[128];
	size_t qlen;

	(void)state;
	w = to_backend(syn, BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);

	quoted = (struct pkt_spec){ .src = VIP4, .dst = CLIENT4,
				    .proto = IPPROTO_TCP, .sport = 80,
				    .dport = 40000, .tcp_flags = 0x18,
				    .seq = 5001, .ack_seq = 1001 };
	qlen = pkt_build_l3(&quoted, q, sizeof(q));
	assert_true(qlen >= 28);
	icmp = (struct pkt_spec){ CLIENT_L2, .src = "198.18.0.254",
				  .dst = VIP4, .proto = IPPROTO_ICMP,
				  .icmp_type = 3, .icmp_code = 4,
				  .icmp_rest = 1400, .payload = q,
				  .payload_len = 28 };

	/* Expected: to the backend, the quoted source now the backend. */
	quoted.src = BLUE4;
	quoted.sport = 8080;
	__u8 q2[128];
	assert_int_equal(pkt_build_l3(&quoted, q2, sizeof(q2)), qlen);
	w = icmp;
	memcpy(w.smac, (const __u8[])M_BE0, 6);
	memcpy(w.dmac, mac_blue1, 6);
	w.dst = BLUE4;
	w.ttl = 63;
	w.payload = q2;
	expect_frame(&icmp, E.cli_ifindex, XDP_REDIRECT, &w);
	assert_int_equal(global_stats().icmp_forwarded, 1);
}

static void test_icmp_no_flow(void **state)
{
	struct pkt_spec icmp, quoted;
	__u8 q[128];

	(void)state;
	quoted = (struct pkt_spec){ .src = VIP4, .dst = CLIENT4,
				    .proto = IPPROTO_TCP, .sport = 80,
				    .dport = 40000, .tcp_flags = 0x18 };
	assert_true(pkt_build_l3(&quoted, q, sizeof(q)) >= 28);
	icmp = (struct pkt_spec){ CLIENT_L2, .src = "198.18.0.254",
				  .dst = VIP4, .proto = IPPROTO_ICMP,
				  .icmp_type = 3, .icmp_code = 4,
				  .icmp_rest = 1400, .payload = q,
				  .payload_len = 28 };
	expect_frame(&icmp, E.cli_ifindex, XDP_PASS, NULL);
	assert_int_equal(global_stats().pass[SLUICE_PASS_ICMP_NO_FLOW], 1);
}

/* The backend side reports a client's packet undeliverable. */
static void test_icmp_from_backend(void **state)
{
	struct pkt_spec syn = tcp4(0x02), w, icmp, quoted;
	__u8 q[128], q2[128];
	size_t qlen;

	(void)state;
	w = to_backend(syn, BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	quoted = (struct pkt_spec){ .src = CLIENT4, .dst = BLUE4,
				    .proto = IPPROTO_TCP, .sport = 40000,
				    .dport = 8080, .tcp_flags = 0x02,
				    .seq = 1000, .ttl = 63 };
	qlen = pkt_build_l3(&quoted, q, sizeof(q));
	icmp = (struct pkt_spec){ .smac = M_BLUE1, .dmac = M_BE0,
				  .src = BLUE4, .dst = CLIENT4,
				  .proto = IPPROTO_ICMP, .icmp_type = 3,
				  .icmp_code = 3, .payload = q,
				  .payload_len = 28 };
	quoted.dst = VIP4;
	quoted.dport = 80;
	assert_int_equal(pkt_build_l3(&quoted, q2, sizeof(q2)), qlen);
	w = to_client(icmp, VIP4, 0);
	w.sport = 0;
	w.payload = q2;
	expect_frame(&icmp, E.be_ifindex, XDP_REDIRECT, &w);
	assert_int_equal(
		backend_stats(SVC_NAT4, SLUICE_BLUE, 0).errors[SLUICE_ERR_ICMP],
		1);
}

static void test_empty_pool_drop(void **state)
{
	struct pkt_spec syn = tcp4(0x02);

	(void)state;
	syn.dst = "198.18.0.14";
	expect_frame(&syn, E.cli_ifindex, XDP_DROP, NULL);
	assert_int_equal(
		service_stats(SVC_EMPTY).drops[SLUICE_DROP_EMPTY_POOL], 1);
}

static void test_blackhole_drop(void **state)
{
	struct pkt_spec syn = tcp4(0x02);
	struct sluice_snapshot snap;
	struct pkt_spec want;

	(void)state;
	syn.dst = "198.18.0.13";
	/* The route is looked up before the rewrite: dropped as it came. */
	want = syn;
	expect_frame(&syn, E.cli_ifindex, XDP_DROP, &want);
	assert_int_equal(backend_stats(SVC_BLACKHOLE, SLUICE_BLUE, 0)
				 .drops[SLUICE_DROP_NO_ROUTE],
			 1);
	assert_int_equal(
		service_stats(SVC_BLACKHOLE).drops[SLUICE_DROP_NO_ROUTE], 1);
	/* ...which the rollout judge counts as the pool's error */
	assert_int_equal(sluice_snapshot_of(&E.m, SVC_BLACKHOLE, &snap), 0);
	assert_int_equal(snap.errors[SLUICE_BLUE], 1);
}

static void test_not_ip(void **state)
{
	__u8 arp[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0,
			 0,    0,    0,    0x01, 0x08, 0x06 };
	__u8 out[128];
	__u32 olen = sizeof(out);

	(void)state;
	assert_int_equal(env_run(&E, arp, sizeof(arp), out, &olen,
				 E.cli_ifindex),
			 XDP_PASS);
	assert_int_equal(olen, sizeof(arp));
	assert_memory_equal(out, arp, sizeof(arp));
	assert_int_equal(global_stats().pass[SLUICE_PASS_NOT_IP], 1);
}

/* Every prefix of a valid frame that ends inside a header is passed. */
static void truncate_all(const struct pkt_spec *s, size_t keep_from)
{
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(s, in, sizeof(in)), cut;
	__u32 olen;

	assert_true(len > 14);
	for (cut = 14; cut < keep_from; cut++) {
		olen = sizeof(out);
		assert_int_equal(env_run(&E, in, cut, out, &olen,
					 E.cli_ifindex),
				 XDP_PASS);
		assert_int_equal(olen, cut);
		assert_memory_equal(out, in, cut);
	}
}

static void test_truncated(void **state)
{
	struct pkt_spec v4 = tcp4(0x02), v6 = tcp6(0x02);

	(void)state;
	v4.nvlan = 2;
	v4.ip_opts_len = 8;
	/* eth 14 + 2 tags 8 + IPv4 28 + TCP 20 */
	truncate_all(&v4, 14 + 8 + 28 + 20);
	v6.nvlan = 1;
	v6.next_ext = 2;
	v6.ext[0] = 0;
	v6.ext[1] = 60;
	/* eth 14 + tag 4 + IPv6 40 + 2 x 8 + TCP 20 */
	truncate_all(&v6, 14 + 4 + 40 + 16 + 20);
	assert_int_equal(service_stats(SVC_NAT4).new_flows[0], 0);
	assert_int_equal(service_stats(SVC_NAT6).new_flows[0], 0);
}

int main(void)
{
	enum { NFIX = sizeof(fixtures) / sizeof(fixtures[0]) };
	struct CMUnitTest tests[NFIX + 32];
	const struct CMUnitTest stateful[] = {
		TEST(test_syn_counts),
		TEST(test_syn_retransmit_counts_once),
		TEST(test_reused_port_counts_again),
		TEST(test_established_flow),
		TEST(test_flow_kept_across_split),
		TEST(test_port_reuse_follows_split),
		TEST(test_nexthop_cache),
		TEST(test_nexthop_cache_mtu),
		TEST(test_too_big_nat4),
		TEST(test_too_big_nat6),
		TEST(test_too_big_vlan),
		TEST(test_too_big_reply),
		TEST(test_too_big_may_fragment),
		TEST(test_too_big_aggregate),
		TEST(test_syn_retry_is_an_error),
		TEST(test_midstream_miss),
		TEST(test_reverse_nat),
		TEST(test_reverse_nat6),
		TEST(test_backend_rst),
		TEST(test_http_503),
		TEST(test_http_200),
		TEST(test_segment_pin),
		TEST(test_icmp_frag_needed),
		TEST(test_icmp_no_flow),
		TEST(test_icmp_from_backend),
		TEST(test_empty_pool_drop),
		TEST(test_blackhole_drop),
		TEST(test_not_ip),
		TEST(test_truncated),
	};
	size_t n = 0, i;

	for (i = 0; i < NFIX; i++) {
		tests[n] = (struct CMUnitTest){ .name = fixtures[i].name,
						.test_func = run_fixture,
						.setup_func = fixture_setup,
						.teardown_func = fixture_teardown,
						.initial_state =
							(void *)&fixtures[i] };
		n++;
	}
	for (i = 0; i < sizeof(stateful) / sizeof(stateful[0]); i++)
		tests[n++] = stateful[i];
	return fixture_main("datapath", tests, n);
}
