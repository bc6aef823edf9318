// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * What the data path reports: latency histograms, HTTP status classes,
 * ring-buffer events (drops, errors, sampled new flows, lost events) and
 * the pass and flow-table counters not covered by datapath_test.
 */
#include "fixture.h"

static const __u8 mac_blue1[6] = M_BLUE1;

/* ---- ring buffer ------------------------------------------------------ */

#define MAX_EVENTS 64

static struct sluice_event got[MAX_EVENTS];
static int ngot, nall;

static int on_event(void *ctx, void *data, size_t len)
{
	(void)ctx;
	assert_int_equal(len, sizeof(struct sluice_event));
	if (ngot < MAX_EVENTS)
		memcpy(&got[ngot++], data, sizeof(got[0]));
	nall++;
	return 0;
}

static int drain_events(void)
{
	struct ring_buffer *rb;

	ngot = nall = 0;
	rb = ring_buffer__new(E.m.events, on_event, NULL, NULL);
	assert_non_null(rb);
	assert_true(ring_buffer__consume(rb) >= 0);
	ring_buffer__free(rb);
	return nall;
}

static void assert_addr(const __u8 got16[16], const char *want)
{
	__u8 a[16];

	assert_int_equal(sluice_parse_addr(want, a, NULL), 0);
	assert_memory_equal(got16, a, 16);
}

static void send_ok(struct pkt_spec *s, int ifindex)
{
	__u8 in[PKT_MAX], out[PKT_MAX];
	__u32 olen = sizeof(out);
	size_t len = pkt_build(s, in, sizeof(in));

	assert_true(len > 0);
	assert_true(env_run(&E, in, len, out, &olen, ifindex) >= 0);
}

static void test_drop_event(void **state)
{
	struct pkt_spec syn = tcp4(0x02);

	(void)state;
	syn.dst = "198.18.0.14";
	expect_frame(&syn, E.cli_ifindex, XDP_DROP, NULL);
	assert_int_equal(drain_events(), 1);
	assert_int_equal(got[0].type, SLUICE_EV_DROP);
	assert_int_equal(got[0].reason, SLUICE_DROP_EMPTY_POOL);
	assert_int_equal(got[0].svc_id, SVC_EMPTY);
	assert_int_equal(got[0].backend_id, SLUICE_NO_BACKEND);
	assert_int_equal(got[0].proto, IPPROTO_TCP);
	assert_addr(got[0].src, CLIENT4);
	assert_addr(got[0].dst, "198.18.0.14");
	assert_int_equal(ntohs(got[0].sport), 40000);
	assert_int_equal(ntohs(got[0].dport), 80);
	assert_true(got[0].ts_ns > 0);
}

/* A flow's first exchange; the response line decides the status class. */
static void http_exchange(__u16 cport, const char *status_line,
			  useconds_t delay_us)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: web\r\n\r\n";
	struct pkt_spec syn = tcp4(0x02), rq = tcp4(0x18), rs;

	syn.sport = rq.sport = cport;
	rq.payload = (const __u8 *)req;
	rq.payload_len = sizeof(req) - 1;
	rs = from_backend(BLUE4, 8080, CLIENT4, cport, false, 0x18);
	rs.payload = (const __u8 *)status_line;
	rs.payload_len = strlen(status_line);
	send_ok(&syn, E.cli_ifindex);
	send_ok(&rq, E.cli_ifindex);
	if (delay_us)
		usleep(delay_us);
	send_ok(&rs, E.be_ifindex);
}

static void test_error_events(void **state)
{
	struct pkt_spec syn = tcp4(0x02), rst, w;

	(void)state;
	syn.sport = 41000;
	w = to_backend(syn, BLUE4, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	rst = from_backend(BLUE4, 8080, CLIENT4, 41000, false, 0x14);
	w = to_client(rst, VIP4, 80);
	expect_frame(&rst, E.be_ifindex, XDP_REDIRECT, &w);
	http_exchange(41001, "HTTP/1.1 503 Service Unavailable\r\n\r\n", 0);

	assert_int_equal(drain_events(), 2);
	assert_int_equal(got[0].type, SLUICE_EV_ERROR);
	assert_int_equal(got[0].reason, SLUICE_ERR_RST);
	assert_int_equal(got[0].backend_id,
			 sluice_backend_id(SVC_NAT4, SLUICE_BLUE, 0));
	assert_int_equal(got[0].colour, SLUICE_BLUE);
	/* The client's view of the flow: client -> VIP, never the backend. */
	assert_addr(got[0].src, CLIENT4);
	assert_addr(got[0].dst, VIP4);
	assert_int_equal(ntohs(got[0].sport), 41000);
	assert_int_equal(ntohs(got[0].dport), 80);
	assert_int_equal(got[1].type, SLUICE_EV_ERROR);
	assert_int_equal(got[1].reason, SLUICE_ERR_HTTP_5XX);
	assert_int_equal(got[1].value, 503);
	assert_int_equal(ntohs(got[1].sport), 41001);
}

static void test_http_classes(void **state)
{
	static const char *const lines[] = {
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 301 Moved Permanently\r\n\r\n",
		"HTTP/1.0 404 Not Found\r\n\r\n",
		"HTTP/1.1 502 Bad Gateway\r\n\r\n",
		"SSH-2.0-OpenSSH_9.2\r\n", /* not HTTP: no class */
	};
	struct sluice_backend_stats b;
	int i;

	(void)state;
	for (i = 0; i < 6; i++)
		http_exchange(42000 + i, lines[i], 0);
	b = backend_stats(SVC_NAT4, SLUICE_BLUE, 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(b.http[i], 1);
	assert_int_equal(b.errors[SLUICE_ERR_HTTP_5XX], 1);
	assert_int_equal(hist_total(b.first_byte_hist), 6);
}

/* Time spent before the reply lands in the right log2 bucket. */
static void test_latency_histograms(void **state)
{
	struct pkt_spec syn = tcp4(0x02), sa;
	struct sluice_backend_stats b;
	int i;

	(void)state;
	syn.sport = 43000;
	send_ok(&syn, E.cli_ifindex);
	usleep(5000);
	sa = from_backend(BLUE4, 8080, CLIENT4, 43000, false, 0x12);
	send_ok(&sa, E.be_ifindex);
	http_exchange(43001, "HTTP/1.1 200 OK\r\n\r\n", 20000);

	b = backend_stats(SVC_NAT4, SLUICE_BLUE, 0);
	assert_int_equal(hist_total(b.handshake_hist), 1);
	assert_true(b.handshake_us_sum >= 5000);
	assert_int_equal(hist_total(b.first_byte_hist), 1);
	assert_true(b.first_byte_us_sum >= 20000);
	/* 20 ms is in [2^14, 2^15) us = bucket 15, or later if slow. */
	for (i = 0; i < 15; i++)
		assert_int_equal(b.first_byte_hist[i], 0);
	/* 5 ms: bucket 13 ([4096, 8192) us) or later. */
	for (i = 1; i < 13; i++)
		assert_int_equal(b.handshake_hist[i], 0);
}

static void test_new_flow_sampling(void **state)
{
	struct sluice_config cfg = { .seed = E.seed };
	struct pkt_spec syn = tcp4(0x02);
	int i, n;

	(void)state;
	for (i = 0; i < 10; i++) {
		syn.sport = 44000 + i;
		send_ok(&syn, E.cli_ifindex);
	}
	assert_int_equal(drain_events(), 0); /* sample_every 0: off */

	cfg.sample_every = 1;
	assert_int_equal(sluice_config_write(&E.m, &cfg), 0);
	for (i = 0; i < 10; i++) {
		syn.sport = 45000 + i;
		send_ok(&syn, E.cli_ifindex);
	}
	assert_int_equal(drain_events(), 10);
	assert_int_equal(got[3].type, SLUICE_EV_NEW_FLOW);
	assert_int_equal(ntohs(got[3].sport), 45003);
	assert_int_equal(got[3].backend_id,
			 sluice_backend_id(SVC_NAT4, SLUICE_BLUE, 0));

	cfg.sample_every = 10;
	assert_int_equal(sluice_config_write(&E.m, &cfg), 0);
	for (i = 0; i < 2000; i++) {
		syn.sport = 46000 + i;
		send_ok(&syn, E.cli_ifindex);
	}
	n = drain_events();
	/* Binomial(2000, 0.1): mean 200, sd 13.4. */
	assert_in_range(n, 130, 270);
}

/* Nobody reads the ring: events are lost and counted, packets are not. */
static void test_events_lost(void **state)
{
	struct pkt_spec syn = tcp4(0x02);
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len;
	__u32 olen;
	const int n = 2 * SLUICE_RINGBUF_BYTES / (int)sizeof(struct sluice_event);
	struct sluice_global_stats g;
	int i;

	(void)state;
	syn.dst = "198.18.0.14";
	len = pkt_build(&syn, in, sizeof(in));
	for (i = 0; i < n; i++) {
		olen = sizeof(out);
		assert_int_equal(env_run(&E, in, len, out, &olen,
					 E.cli_ifindex),
				 XDP_DROP);
	}
	g = global_stats();
	assert_true(g.events_lost > 0);
	assert_int_equal(
		service_stats(SVC_EMPTY).drops[SLUICE_DROP_EMPTY_POOL], n);
	/* Every event is either in the ring or counted lost. */
	assert_int_equal(drain_events() + g.events_lost, n);
}

/* Forwarding off on the ingress port: the fib says so, the stack decides. */
static void test_pass_fib(void **state)
{
	struct pkt_spec syn = tcp4(0x02), want;

	(void)state;
	assert_int_equal(system("sysctl -qw net.ipv4.conf.cli0.forwarding=0"),
			 0);
	want = syn;
	want.dst = BLUE4;
	want.dport = 8080;
	expect_frame(&syn, E.cli_ifindex, XDP_PASS, &want);
	assert_int_equal(system("sysctl -qw net.ipv4.conf.cli0.forwarding=1"),
			 0);
	assert_int_equal(global_stats().pass[SLUICE_PASS_FIB], 1);
}

/* IPv6 packet-too-big about a flow: to its backend, quote rewritten. */
static void test_icmpv6_packet_too_big(void **state)
{
	struct pkt_spec syn = tcp6(0x02), w, icmp, quoted;
	__u8 q[128], q2[128];
	size_t qlen;

	(void)state;
	w = to_backend(syn, BLUE6, 8080, mac_blue1);
	expect_frame(&syn, E.cli_ifindex, XDP_REDIRECT, &w);
	quoted = (struct pkt_spec){ .v6 = true, .src = VIP6, .dst = CLIENT6,
				    .proto = IPPROTO_TCP, .sport = 80,
				    .dport = 40000, .tcp_flags = 0x18 };
	qlen = pkt_build_l3(&quoted, q, sizeof(q));
	assert_true(qlen >= 48);
	icmp = (struct pkt_spec){ .smac = M_CLIENT, .dmac = M_CLI0,
				  .v6 = true, .src = "fd00:0::fe",
				  .dst = VIP6, .proto = IPPROTO_ICMPV6,
				  .icmp_type = 2, .icmp_rest = 1280,
				  .payload = q, .payload_len = qlen };
	quoted.src = BLUE6;
	quoted.sport = 8080;
	assert_int_equal(pkt_build_l3(&quoted, q2, sizeof(q2)), qlen);
	/* The quoted TCP checksum is passed on as quoted (see icmp.h). */
	memcpy(q2 + 40 + 16, q + 40 + 16, 2);
	w = icmp;
	memcpy(w.smac, (const __u8[])M_BE0, 6);
	memcpy(w.dmac, mac_blue1, 6);
	w.dst = BLUE6;
	w.ttl = 63;
	w.payload = q2;
	expect_frame(&icmp, E.cli_ifindex, XDP_REDIRECT, &w);
	assert_int_equal(global_stats().icmp_forwarded, 1);
}

/*
 * A full flow table evicts the least recently used flows; the program
 * keeps forwarding, and userspace derives evictions from the counts.
 */
static void test_flow_table_full(void **state)
{
	struct pkt_spec syn = tcp4(0x02);
	struct sluice_service_stats s;
	__u64 live = 0;
	int i;

	(void)state;
	env_unload(&E);
	assert_int_equal(env_load(&E, 1024), 0);
	assert_int_equal(fixture_services(), 0);
	for (i = 0; i < 3000; i++) {
		syn.sport = 20000 + i;
		syn.src = i & 1 ? CLIENT4 : "198.18.0.101";
		send_ok(&syn, E.cli_ifindex);
	}
	s = service_stats(SVC_NAT4);
	assert_int_equal(s.new_flows[SLUICE_BLUE], 3000);
	assert_int_equal(sluice_map_count(E.m.flows, &live), 0);
	assert_true(live <= 1024);
	assert_true(live > 0);
	assert_true(s.new_flows[SLUICE_BLUE] - live >= 3000 - 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_drop_event),
		TEST(test_error_events),
		TEST(test_http_classes),
		TEST(test_latency_histograms),
		TEST(test_new_flow_sampling),
		TEST(test_events_lost),
		TEST(test_pass_fib),
		TEST(test_icmpv6_packet_too_big),
		TEST(test_flow_table_full),
	};

	return fixture_main("observe", tests,
			    sizeof(tests) / sizeof(tests[0]));
}
