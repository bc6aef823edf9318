// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The /metrics text against counters we wrote ourselves: per-CPU values
 * in the real maps of a loaded (unattached) sluice object, so every sum,
 * histogram bucket and ratio in the text can be checked exactly. Also
 * the rollout families from a fake agent, the HTTP side (status codes,
 * a port in use) and the cost of a scrape of 1,000 backends (printed,
 * not asserted: these machines are shared).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include "bpf_env.h"
#include "metrics.h"
#include "state.h"

static struct env E;
static int ncpu;

/* ---- helpers ------------------------------------------------------------- */

static char *render(struct sluice_metrics *mx, const struct sluice_maps *m)
{
	char *text = NULL, *z;
	size_t len = 0;

	assert_int_equal(sluice_metrics_render(mx, m, &text, &len), 0);
	z = realloc(text, len + 1);
	assert_non_null(z);
	z[len] = 0;
	return z;
}

/* The value of the one sample whose line starts with "NAME{LABELS} ". */
static bool value_of(const char *text, const char *sample, char *out,
		     size_t len)
{
	size_t n = strlen(sample);
	const char *p = text;

	while ((p = strstr(p, sample))) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ') {
			const char *e = strchr(p + n + 1, '\n');

			snprintf(out, len, "%.*s", (int)(e - p - n - 1),
				 p + n + 1);
			return true;
		}
		p += n;
	}
	return false;
}

static void want_value(const char *text, const char *sample, const char *want)
{
	char got[64];

	if (!value_of(text, sample, got, sizeof(got))) {
		fail_msg("no sample %s", sample);
		return;
	}
	if (strcmp(got, want))
		fail_msg("%s: got %s, want %s", sample, got, want);
}

static void want_u64(const char *text, const char *sample, __u64 v)
{
	char num[32];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	want_value(text, sample, num);
}

/* NAME{the blue backend's labels[,EXTRA]} */
static const char *sample(char *buf, size_t len, const char *name,
			  const char *extra)
{
	snprintf(
		buf, len,
		"%s{service=\"web\",color=\"blue\",backend=\"198.18.1.10:8080\"%s%s}",
		name, extra ? "," : "", extra ? extra : "");
	return buf;
}

static void want_be(const char *text, const char *name, const char *extra,
		    __u64 v)
{
	char buf[256];

	want_u64(text, sample(buf, sizeof(buf), name, extra), v);
}

/*
 * Well-formed exposition text: every family has one HELP and one TYPE,
 * before its samples, and all its samples are together; every sample
 * belongs to the family declared last.
 */
static void check_families(const char *text)
{
	char fam[128] = "", seen[256][128];
	const char *line = text;
	int nseen = 0, i;

	while (*line) {
		const char *e = strchr(line, '\n');
		char name[128];
		size_t n;

		assert_non_null(e);
		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%127s", fam);
			for (i = 0; i < nseen; i++)
				if (!strcmp(seen[i], fam))
					fail_msg("family %s declared twice",
						 fam);
			assert_true(nseen < 256);
			strcpy(seen[nseen++], fam);
		} else if (!strncmp(line, "# TYPE ", 7)) {
			sscanf(line + 7, "%127s", name);
			assert_string_equal(name, fam);
		} else {
			n = strcspn(line, "{ ");
			snprintf(name, sizeof(name), "%.*s", (int)n, line);
			if (strcmp(name, fam) &&
			    !(strncmp(name, fam, strlen(fam)) == 0 &&
			      (!strcmp(name + strlen(fam), "_bucket") ||
			       !strcmp(name + strlen(fam), "_sum") ||
			       !strcmp(name + strlen(fam), "_count"))))
				fail_msg("sample %s outside its family (%s)",
					 name, fam);
		}
		line = e + 1;
	}
}

/* Microseconds as the shortest decimal of seconds: 2000 -> "0.002". */
static const char *seconds(__u64 us, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%.6f", (double)us / 1e6);
	n = strlen(buf);
	while (buf[n - 1] == '0')
		buf[--n] = 0;
	if (buf[n - 1] == '.')
		buf[--n] = 0;
	return buf;
}

/* Set one per-CPU value: CPU c gets what fill(c) writes. */
static void put_percpu(int fd, __u32 key, size_t vsize,
		       void (*fill)(int cpu, void *v))
{
	size_t stride = (vsize + 7) / 8 * 8;
	char *vals = calloc(ncpu, stride);
	int c;

	assert_non_null(vals);
	for (c = 0; c < ncpu; c++)
		fill(c, vals + c * stride);
	assert_int_equal(bpf_map_update_elem(fd, &key, vals, BPF_ANY), 0);
	free(vals);
}

static void blue_stats(int cpu, void *v)
{
	struct sluice_backend_stats *s = v;

	s->fwd_packets = 10 + cpu;
	s->fwd_bytes = 1000 + cpu;
	s->rev_packets = 20 + cpu;
	s->rev_bytes = 2000 + cpu;
	s->new_flows = 5;
	s->drops[SLUICE_DROP_NO_ROUTE] = 1;
	s->errors[SLUICE_ERR_HTTP_5XX] = 2;
	s->http[1] = 3; /* 2xx */
	s->http[4] = 2; /* 5xx */
	/* 3 samples per CPU: < 1 us, [4, 8) us, and past 4.2 s */
	s->handshake_hist[0] = 1;
	s->handshake_hist[3] = 1;
	s->handshake_hist[SLUICE_HIST_BUCKETS - 1] = 1;
	s->handshake_us_sum = 5000006;
	s->first_byte_hist[10] = 4;
	s->first_byte_us_sum = 2000;
}

static void svc_stats(int cpu, void *v)
{
	struct sluice_service_stats *s = v;

	s->packets = 100 * (cpu + 1);
	s->bytes = 6000;
	s->new_flows[SLUICE_BLUE] = 3;
	s->new_flows[SLUICE_GREEN] = 1;
	s->segment_flows = 1;
	s->flow_misses = 2;
	s->drops[SLUICE_DROP_EMPTY_POOL] = 7;
}

static void glob_stats(int cpu, void *v)
{
	struct sluice_global_stats *s = v;

	(void)cpu;
	s->pass[SLUICE_PASS_NOT_IP] = 4;
	s->icmp_forwarded = 1;
	s->events_lost = 9;
}

static __u32 add_service(const char *name, const char *vip)
{
	struct sluice_service_key k = { 0 };
	__u16 port;
	__u32 id;

	assert_int_equal(sluice_parse_vip(vip, k.vip, &port, &k.proto, NULL),
			 0);
	k.port = htons(port);
	assert_int_equal(sluice_service_create(&E.m, name, &k, SLUICE_MODE_NAT,
					       SLUICE_AFFINITY_FLOW, &id),
			 0);
	return id;
}

static void add_backend(__u32 id, __u8 colour, const char *ep)
{
	__u8 addr[16];
	__u16 port;

	assert_int_equal(sluice_parse_endpoint(ep, addr, &port, NULL), 0);
	assert_int_equal(sluice_backend_add(&E.m, id, colour, addr, port, 3),
			 0);
}

static int setup(void **state)
{
	(void)state;
	ncpu = libbpf_num_possible_cpus();
	return env_load(&E, 1024);
}

static int teardown(void **state)
{
	(void)state;
	env_unload(&E);
	return 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_datapath_families(void **state)
{
	struct sluice_metrics *mx = sluice_metrics_new(NULL);
	struct sluice_pool pool;
	char s[256], num[32], *t;
	const char *H;
	__u64 n = (__u64)ncpu;
	__u32 id, zero = 0;

	(void)state;
	id = add_service("web", "198.18.100.10:80/tcp");
	add_backend(id, SLUICE_BLUE, "198.18.1.10:8080");
	add_backend(id, SLUICE_GREEN, "198.18.2.10:8080");
	assert_int_equal(sluice_split_set(&E.m, id, 250000), 0);
	assert_int_equal(sluice_pool_read(&E.m, id, SLUICE_BLUE, &pool), 0);
	put_percpu(E.m.backend_stats, pool.backends[0].id,
		   sizeof(struct sluice_backend_stats), blue_stats);
	put_percpu(E.m.service_stats, id, sizeof(struct sluice_service_stats),
		   svc_stats);
	put_percpu(E.m.global_stats, zero, sizeof(struct sluice_global_stats),
		   glob_stats);

	t = render(mx, &E.m);
	check_families(t);
	want_be(t, "sluice_backend_packets_total", "direction=\"to_backend\"",
		10 * n + n * (n - 1) / 2);
	want_be(t, "sluice_backend_packets_total", "direction=\"from_backend\"",
		20 * n + n * (n - 1) / 2);
	want_be(t, "sluice_backend_bytes_total", "direction=\"to_backend\"",
		1000 * n + n * (n - 1) / 2);
	want_be(t, "sluice_backend_bytes_total", "direction=\"from_backend\"",
		2000 * n + n * (n - 1) / 2);
	want_be(t, "sluice_backend_new_flows_total", NULL, 5 * n);
	want_be(t, "sluice_backend_drops_total", "reason=\"no_route\"", n);
	want_be(t, "sluice_backend_drops_total", "reason=\"empty_pool\"", 0);
	want_be(t, "sluice_backend_errors_total", "kind=\"http_5xx\"", 2 * n);
	want_be(t, "sluice_backend_errors_total", "kind=\"rst\"", 0);
	want_be(t, "sluice_backend_http_responses_total", "class=\"2xx\"",
		3 * n);
	want_be(t, "sluice_backend_http_responses_total", "class=\"5xx\"",
		2 * n);
	want_be(t, "sluice_backend_http_responses_total", "class=\"1xx\"", 0);
	/* le = 2^i us: bucket 0 (< 1 us) is le 1 us; bucket 3 is [4, 8) us */
	H = "sluice_backend_handshake_seconds_bucket";
	want_be(t, H, "le=\"0.000001\"", n);
	want_be(t, H, "le=\"0.000004\"", n);
	want_be(t, H, "le=\"0.000008\"", 2 * n);
	want_be(t, H, "le=\"4.194304\"", 2 * n);
	want_be(t, H, "le=\"+Inf\"", 3 * n);
	want_be(t, "sluice_backend_handshake_seconds_count", NULL, 3 * n);
	want_value(t,
		   sample(s, sizeof(s), "sluice_backend_handshake_seconds_sum",
			  NULL),
		   seconds(5000006 * n, num, sizeof(num)));
	H = "sluice_backend_first_byte_seconds_bucket";
	want_be(t, H, "le=\"0.000512\"", 0);
	want_be(t, H, "le=\"0.001024\"", 4 * n);
	want_value(t,
		   sample(s, sizeof(s), "sluice_backend_first_byte_seconds_sum",
			  NULL),
		   seconds(2000 * n, num, sizeof(num)));
	want_be(t, "sluice_backend_weight", NULL, 3);
	want_be(t, "sluice_backend_draining", NULL, 0);
	/* the green backend exists, with zero counters */
	want_u64(
		t,
		"sluice_backend_new_flows_total{service=\"web\",color=\"green\",backend=\"198.18.2.10:8080\"}",
		0);

	want_value(
		t,
		"sluice_service_info{service=\"web\",vip=\"198.18.100.10:80\",protocol=\"tcp\",mode=\"nat\",affinity=\"flow\"}",
		"1");
	want_u64(
		t,
		"sluice_service_new_flows_total{service=\"web\",color=\"blue\"}",
		3 * n);
	want_u64(
		t,
		"sluice_service_new_flows_total{service=\"web\",color=\"green\"}",
		n);
	want_u64(
		t,
		"sluice_service_drops_total{service=\"web\",reason=\"empty_pool\"}",
		7 * n);
	want_u64(t, "sluice_service_segment_flows_total{service=\"web\"}", n);
	want_u64(t, "sluice_service_flow_misses_total{service=\"web\"}", 2 * n);
	want_u64(t, "sluice_service_packets_total{service=\"web\"}",
		 100 * n * (n + 1) / 2);
	want_u64(t, "sluice_service_bytes_total{service=\"web\"}", 6000 * n);
	want_value(
		t,
		"sluice_service_split_ratio{service=\"web\",color=\"green\"}",
		"0.25");
	want_value(t,
		   "sluice_service_split_ratio{service=\"web\",color=\"blue\"}",
		   "0.75");
	want_value(t,
		   "sluice_service_candidate{service=\"web\",color=\"green\"}",
		   "1");
	want_value(t,
		   "sluice_service_candidate{service=\"web\",color=\"blue\"}",
		   "0");
	/* the counters were written after the split: all of them count */
	want_value(t, "sluice_service_observed_split_ratio{service=\"web\"}",
		   "0.25");
	want_value(t, "sluice_rollout_step{service=\"web\"}", "0");
	want_value(t, "sluice_datapath_up", "1");
	want_u64(t, "sluice_datapath_passed_total{reason=\"not_ip\"}", 4 * n);
	want_u64(t, "sluice_datapath_passed_total{reason=\"fib\"}", 0);
	want_u64(t, "sluice_datapath_icmp_forwarded_total", n);
	want_u64(t, "sluice_ringbuf_events_lost_total", 9 * n);
	assert_non_null(strstr(t, "\nsluice_scrape_duration_seconds "));
	free(t);

	/* a split change: nothing observed since, so no sample */
	assert_int_equal(sluice_split_set(&E.m, id, 500000), 0);
	t = render(mx, &E.m);
	assert_null(strstr(t, "\nsluice_service_observed_split_ratio{"));
	want_value(
		t,
		"sluice_service_split_ratio{service=\"web\",color=\"green\"}",
		"0.5");
	free(t);

	/* a pool swapped in whole is read again; draining shows */
	{
		__u8 addr[16];
		__u16 port;

		sluice_parse_endpoint("198.18.1.10:8080", addr, &port, NULL);
		add_backend(id, SLUICE_BLUE, "198.18.1.11:8080");
		assert_int_equal(sluice_backend_del(&E.m, id, SLUICE_BLUE, addr,
						    port, false),
				 0);
	}
	t = render(mx, &E.m);
	want_be(t, "sluice_backend_draining", NULL, 1);
	want_value(
		t,
		"sluice_backend_weight{service=\"web\",color=\"blue\",backend=\"198.18.1.11:8080\"}",
		"3");
	free(t);
	assert_int_equal(sluice_service_destroy(&E.m, id), 0);
	t = render(mx, &E.m);
	assert_null(strstr(t, "service=\"web\""));
	free(t);
	sluice_metrics_free(mx);
}

static void test_agent_families(void **state)
{
	static struct sluice_rollout ro[2];
	struct sluice_metrics_shared sh;
	struct sluice_metrics *mx;
	int n = 2;
	char *t;
	__u32 id;

	(void)state;
	memset(ro, 0, sizeof(ro));
	strcpy(ro[0].service, "web");
	ro[0].state = SLUICE_RO_RUNNING;
	ro[0].step = 1;
	ro[0].policy.nsteps = 3;
	ro[0].policy.steps[0] = 10000;
	ro[0].policy.steps[1] = 50000;
	ro[0].policy.steps[2] = SLUICE_PPM;
	strcpy(ro[1].service, "old");
	ro[1].state = SLUICE_RO_ROLLED_BACK;
	sluice_metrics_shared_init(&sh, ro, &n);
	mx = sluice_metrics_new(&sh);
	assert_non_null(mx);
	pthread_mutex_lock(&sh.lock);
	sluice_metrics_count_decision(&sh, "web", "start");
	sluice_metrics_count_decision(&sh, "web", "advance");
	sluice_metrics_count_decision(&sh, "web", "advance");
	sluice_metrics_count_decision(&sh, "gone", "a new action");
	pthread_mutex_unlock(&sh.lock);
	sluice_metrics_count_event(SLUICE_EV_DROP);
	sluice_metrics_count_event(SLUICE_EV_DROP);
	sluice_metrics_count_event(1234);

	/* no data path: the agent's families alone */
	setenv("SLUICE_PIN_DIR", "/sys/fs/bpf/sluice-metrics-test-none", 1);
	t = render(mx, NULL);
	check_families(t);
	want_value(t, "sluice_datapath_up", "0");
	assert_null(strstr(t, "sluice_datapath_passed_total{"));
	want_value(t, "sluice_rollout_step{service=\"web\"}", "2");
	want_value(t, "sluice_rollout_step{service=\"old\"}", "1");
	want_value(t, "sluice_rollout_state{service=\"web\",state=\"running\"}",
		   "1");
	want_value(t, "sluice_rollout_state{service=\"web\",state=\"paused\"}",
		   "0");
	want_value(
		t,
		"sluice_rollout_state{service=\"web\",state=\"waiting at gate\"}",
		"0");
	want_value(
		t,
		"sluice_rollout_state{service=\"old\",state=\"rolled back\"}",
		"1");
	want_value(t, "sluice_rollout_state{service=\"old\",state=\"running\"}",
		   "0");
	want_value(t, "sluice_rollout_split_ratio{service=\"web\"}", "0.05");
	want_value(t, "sluice_rollout_split_ratio{service=\"old\"}", "0");
	want_value(
		t,
		"sluice_rollout_decisions_total{service=\"web\",action=\"start\"}",
		"1");
	want_value(
		t,
		"sluice_rollout_decisions_total{service=\"web\",action=\"advance\"}",
		"2");
	want_value(
		t,
		"sluice_rollout_decisions_total{service=\"web\",action=\"rollback\"}",
		"0");
	want_value(
		t,
		"sluice_rollout_decisions_total{service=\"gone\",action=\"a new action\"}",
		"1");
	/* a rollout with no decision since the start shows zeros */
	want_value(
		t,
		"sluice_rollout_decisions_total{service=\"old\",action=\"rollback\"}",
		"0");
	want_value(t, "sluice_ringbuf_events_total{type=\"drop\"}", "2");
	want_value(t, "sluice_ringbuf_events_total{type=\"new_flow\"}", "0");
	want_value(t, "sluice_ringbuf_events_total{type=\"unknown\"}", "1");
	free(t);

	/* with a data path: web is a service, its step is the rollout's */
	id = add_service("web", "198.18.100.10:80/tcp");
	t = render(mx, &E.m);
	check_families(t);
	want_value(t, "sluice_rollout_step{service=\"web\"}", "2");
	want_value(t, "sluice_rollout_step{service=\"old\"}", "1");
	assert_null(strstr(t, "sluice_service_observed_split_ratio{"));
	free(t);
	assert_int_equal(sluice_service_destroy(&E.m, id), 0);
	sluice_metrics_free(mx);
	sluice_metrics_shared_destroy(&sh);
}

/* One HTTP request over a plain socket; returns the status code. */
static int http(int family, int port, const char *req, char *body, size_t len)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	size_t got = 0;
	ssize_t r;
	int fd, code = -1;

	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	}
	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (void *)&ss, sl)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (write(fd, req, strlen(req)) < 0) {
		close(fd);
		return -1;
	}
	while (got + 1 < len && (r = read(fd, body + got, len - 1 - got)) > 0)
		got += r;
	body[got] = 0;
	close(fd);
	sscanf(body, "HTTP/1.%*d %d", &code);
	return code;
}

static void test_http(void **state)
{
	static char buf[1 << 20];
	struct sluice_metrics *mx = sluice_metrics_new(NULL), *other;
	char ep[64], err[256];
	int port = 20000 + getpid() % 20000;

	(void)state;
	snprintf(ep, sizeof(ep), "127.0.0.1:%d", port);
	assert_int_equal(sluice_metrics_listen(mx, ep, err, sizeof(err)), 0);
	assert_int_equal(http(AF_INET, port,
			      "GET /metrics HTTP/1.1\r\nHost: x\r\n"
			      "Connection: close\r\n\r\n",
			      buf, sizeof(buf)),
			 200);
	assert_non_null(strstr(buf, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(buf, "\r\n\r\n# HELP sluice_"));
	assert_int_equal(http(AF_INET, port,
			      "HEAD /metrics HTTP/1.1\r\nHost: x\r\n"
			      "Connection: close\r\n\r\n",
			      buf, sizeof(buf)),
			 200);
	assert_null(strstr(buf, "# HELP"));
	assert_int_equal(http(AF_INET, port,
			      "POST /metrics HTTP/1.1\r\nHost: x\r\n"
			      "Content-Length: 0\r\nConnection: close\r\n\r\n",
			      buf, sizeof(buf)),
			 405);
	assert_non_null(strstr(buf, "Allow: GET, HEAD"));
	assert_int_equal(http(AF_INET, port,
			      "GET / HTTP/1.1\r\nHost: x\r\n"
			      "Connection: close\r\n\r\n",
			      buf, sizeof(buf)),
			 404);

	/* the same port again: refused, and the message says why */
	other = sluice_metrics_new(NULL);
	assert_int_equal(sluice_metrics_listen(other, ep, err, sizeof(err)),
			 -EADDRINUSE);
	assert_non_null(strstr(err, "Address already in use"));
	assert_int_equal(sluice_metrics_listen(other, "localhost:1", err,
					       sizeof(err)),
			 -EINVAL);
	/* IPv6 loopback, given explicitly */
	snprintf(ep, sizeof(ep), "[::1]:%d", port);
	assert_int_equal(sluice_metrics_listen(other, ep, err, sizeof(err)), 0);
	assert_int_equal(http(AF_INET6, port, "GET /metrics HTTP/1.0\r\n\r\n",
			      buf, sizeof(buf)),
			 200);
	sluice_metrics_free(other);
	sluice_metrics_free(mx);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void fill_random(int cpu, void *v)
{
	struct sluice_backend_stats *s = v;
	__u64 *w = v;
	size_t i;

	for (i = 0; i < sizeof(*s) / 8; i++)
		w[i] = (__u64)rand() % 100000 + cpu;
}

/* 4 services x 2 pools x 125 backends: the cost of one scrape. */
static void test_scrape_1000_backends(void **state)
{
	struct sluice_metrics *mx = sluice_metrics_new(NULL);
	struct sluice_pool *pool = calloc(1, sizeof(*pool));
	double ms[11], first;
	char name[16], vip[32], *text;
	size_t len = 0, lines = 0, i;
	int s, c, b, r;
	__u32 id;

	(void)state;
	assert_non_null(pool);
	for (s = 0; s < 4; s++) {
		struct sluice_service v;

		snprintf(name, sizeof(name), "svc%d", s);
		snprintf(vip, sizeof(vip), "198.18.100.%d:80/tcp", 20 + s);
		id = add_service(name, vip);
		assert_int_equal(sluice_service_value(&E.m, id, &v), 0);
		for (c = 0; c < SLUICE_COLOURS; c++) {
			memset(pool, 0, sizeof(*pool));
			for (b = 0; b < 125; b++) {
				struct sluice_backend *be = &pool->backends[b];
				char ep[32];
				__u16 port;

				snprintf(ep, sizeof(ep), "198.18.%d.%d:%d",
					 10 + s * 2 + c, b + 1, 8080 + b);
				sluice_parse_endpoint(ep, be->addr, &port,
						      NULL);
				be->port = htons(port);
				be->weight = 1;
				be->id = sluice_backend_id(id, c, b);
				be->flags = SLUICE_BE_F_USED;
			}
			assert_int_equal(sluice_pool_publish(&E.m, id, c, pool,
							     v.hash_seed),
					 0);
			for (b = 0; b < 125; b++)
				put_percpu(E.m.backend_stats,
					   pool->backends[b].id,
					   sizeof(struct sluice_backend_stats),
					   fill_random);
		}
	}
	free(pool);
	for (r = 0; r < 11; r++) {
		double t0 = now_ms();

		assert_int_equal(sluice_metrics_render(mx, &E.m, &text, &len),
				 0);
		ms[r] = now_ms() - t0;
		if (r == 0) {
			for (i = 0; i < len; i++)
				lines += text[i] == '\n';
		}
		free(text);
	}
	first = ms[0];
	qsort(ms + 1, 10, sizeof(ms[0]), cmp_double);
	printf("# scrape of 1000 backends (%d CPUs): %zu lines, %zu bytes; "
	       "first %.1f ms (pools read), then median %.1f ms, max %.1f ms\n",
	       ncpu, lines, len, first, (ms[5] + ms[6]) / 2, ms[10]);
	assert_true(lines > 1000 * 60);
	sluice_metrics_free(mx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_datapath_families, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_agent_families, setup,
						teardown),
		cmocka_unit_test(test_http),
		cmocka_unit_test_setup_teardown(test_scrape_1000_backends,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("metrics_render", tests, NULL, NULL);
}
