// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The config file loader: a complete file read into every field, the
 * shipped example, defaults and limits, and for each kind of mistake
 * the exact one-line message an operator would see, position included.
 * Every error case also checks that nothing is handed back half-filled;
 * run under valgrind or ASan, the same cases show every error path
 * frees what it allocated.
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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sluice_abi.h"
#include "config.h"
#include "parse.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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

static bool is_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static int parse(const char *yaml, struct sluice_cfg *cfg, char *err,
		 size_t errlen)
{
	return sluice_cfg_parse("t.yaml", yaml, strlen(yaml), cfg, err, errlen);
}

/* Parse text that must be valid; a failure shows the loader's message. */
static void parse_ok(const char *yaml, struct sluice_cfg *cfg)
{
	char err[512] = "";
	int rc = parse(yaml, cfg, err, sizeof(err));

	if (rc)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
}

/* Parse text that must fail with exactly `want`, leaving cfg zeroed. */
static void parse_bad(const char *yaml, const char *want)
{
	struct sluice_cfg cfg;
	char err[512];

	/* Poisoned, so "left zeroed" is something the loader did. */
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(parse(yaml, &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, want);
	assert_true(is_zero(&cfg, sizeof(cfg)));
}

static void assert_backend(const struct sluice_cfg_backend *b,
			   const __u8 addr[16], __u16 port, __u16 weight)
{
	assert_memory_equal(b->addr, addr, 16);
	assert_int_equal(b->port, port);
	assert_int_equal(b->weight, weight);
}

static void assert_segment(const struct sluice_cfg_segment *s,
			   const __u8 addr[16], __u32 plen128, __u8 colour)
{
	assert_memory_equal(s->addr, addr, 16);
	assert_int_equal(s->plen128, plen128);
	assert_int_equal(s->colour, colour);
}

/* ---- valid files ------------------------------------------------------- */

static const char full_yaml[] =
	"agent:\n"
	"  metrics: \"[::1]:9464\"\n"
	"  events: \"-\"\n"
	"  state_dir: /var/lib/sluice\n"
	"services:\n"
	"  web:\n" /* line 6 */
	"    vip: 198.18.100.10:80/tcp\n"
	"    mode: dsr\n"
	"    affinity: prefix\n"
	"    blue:\n"
	"      - 198.18.1.10:8080\n"
	"      - {address: 198.18.1.11:8080, weight: 3}\n"
	"    green:\n"
	"      - address: 198.18.2.10:8081\n"
	"    split: 0.25%\n"
	"    candidate: blue\n"
	"    segments:\n"
	"      - {prefix: 198.18.7.0/24, colour: green}\n"
	"      - {prefix: 198.18.8.1, color: Blue}\n"
	"    rollout:\n"
	"      steps: [0.5, \"5%\", 25, 100]\n"
	"      bake: 1m30s\n"
	"      tick: 1s\n"
	"      max_error_ratio: 2%\n"
	"      max_error_ratio_increase: 0.1\n"
	"      max_p99_first_byte: 300ms\n"
	"      min_flows: 0\n"
	"      failure_limit: 5\n"
	"      on_failure: ramp:10s\n"
	"      manual_gates: [25, 5%]\n"
	"      inconclusive_timeout: 0\n"
	"  dns6:\n" /* line 32 */
	"    vip: \"[fd00::53]:53/UDP\"\n"
	"    affinity: client\n"
	"    green: [\"[fd00:2::53]:53\"]\n"
	"    segments: [{prefix: \"fd00:7::/48\", colour: green}]\n"
	"    rollout:\n";

static void test_full(void **state)
{
	const struct sluice_cfg_service *s;
	struct sluice_policy defaults;
	struct sluice_cfg cfg;
	__u8 a[16];

	(void)state;
	parse_ok(full_yaml, &cfg);
	assert_true(cfg.has_metrics);
	assert_string_equal(cfg.metrics, "[::1]:9464");
	assert_true(cfg.has_events);
	assert_string_equal(cfg.events, "-");
	assert_true(cfg.has_state_dir);
	assert_string_equal(cfg.state_dir, "/var/lib/sluice");
	assert_int_equal(cfg.nservices, 2);

	s = &cfg.services[0];
	assert_string_equal(s->name, "web");
	assert_int_equal(s->line, 6);
	v4(a, 198, 18, 100, 10);
	assert_memory_equal(s->key.vip, a, 16);
	assert_int_equal(s->key.port, htons(80));
	assert_int_equal(s->key.proto, IPPROTO_TCP);
	assert_int_equal(s->key.pad, 0);
	assert_int_equal(s->mode, SLUICE_MODE_DSR);
	assert_int_equal(s->affinity, SLUICE_AFFINITY_PREFIX);
	assert_int_equal(s->candidate, SLUICE_BLUE);
	assert_true(s->has_split);
	assert_int_equal(s->split_ppm, 2500);
	assert_int_equal(s->npool[SLUICE_BLUE], 2);
	v4(a, 198, 18, 1, 10);
	assert_backend(&s->pool[SLUICE_BLUE][0], a, 8080, 1);
	v4(a, 198, 18, 1, 11);
	assert_backend(&s->pool[SLUICE_BLUE][1], a, 8080, 3);
	assert_int_equal(s->npool[SLUICE_GREEN], 1);
	v4(a, 198, 18, 2, 10);
	assert_backend(&s->pool[SLUICE_GREEN][0], a, 8081, 1);
	assert_int_equal(s->nsegments, 2);
	v4(a, 198, 18, 7, 0);
	assert_segment(&s->segments[0], a, 120, SLUICE_GREEN);
	v4(a, 198, 18, 8, 1);
	assert_segment(&s->segments[1], a, 128, SLUICE_BLUE);
	assert_true(s->has_rollout);
	assert_int_equal(s->rollout.nsteps, 4);
	assert_int_equal(s->rollout.steps[0], 5000);
	assert_int_equal(s->rollout.steps[1], 50000);
	assert_int_equal(s->rollout.steps[2], 250000);
	assert_int_equal(s->rollout.steps[3], 1000000);
	assert_int_equal(s->rollout.bake_ns, 90000000000ull);
	assert_int_equal(s->rollout.tick_ns, 1000000000ull);
	assert_int_equal(s->rollout.max_error_ratio_ppm, 20000);
	assert_int_equal(s->rollout.max_error_ratio_increase_ppm, 1000);
	assert_int_equal(s->rollout.max_p99_first_byte_ns, 300000000ull);
	assert_int_equal(s->rollout.min_flows, 0);
	assert_int_equal(s->rollout.failure_limit, 5);
	assert_int_equal(s->rollout.ramp_ns, 10000000000ull);
	assert_int_equal(s->rollout.ngates, 2);
	assert_int_equal(s->rollout.gates[0], 250000);
	assert_int_equal(s->rollout.gates[1], 50000);
	assert_int_equal(s->rollout.inconclusive_timeout_ns, 0);

	s = &cfg.services[1];
	assert_string_equal(s->name, "dns6");
	assert_int_equal(s->line, 32);
	v6(a, "fd00::53");
	assert_memory_equal(s->key.vip, a, 16);
	assert_int_equal(s->key.port, htons(53));
	assert_int_equal(s->key.proto, IPPROTO_UDP);
	assert_int_equal(s->mode, SLUICE_MODE_NAT);
	assert_int_equal(s->affinity, SLUICE_AFFINITY_CLIENT);
	assert_int_equal(s->candidate, SLUICE_GREEN);
	assert_false(s->has_split);
	assert_int_equal(s->split_ppm, 0);
	assert_int_equal(s->npool[SLUICE_BLUE], 0);
	assert_null(s->pool[SLUICE_BLUE]);
	assert_int_equal(s->npool[SLUICE_GREEN], 1);
	v6(a, "fd00:2::53");
	assert_backend(&s->pool[SLUICE_GREEN][0], a, 53, 1);
	assert_int_equal(s->nsegments, 1);
	v6(a, "fd00:7::");
	assert_segment(&s->segments[0], a, 48, SLUICE_GREEN);
	/* An empty rollout: block is a rollout with every default. */
	assert_true(s->has_rollout);
	sluice_policy_defaults(&defaults);
	assert_memory_equal(&s->rollout, &defaults, sizeof(defaults));

	sluice_cfg_free(&cfg);
	assert_true(is_zero(&cfg, sizeof(cfg)));
	/* Freeing twice is harmless: free zeroes what it freed. */
	sluice_cfg_free(&cfg);
	sluice_cfg_free(NULL);
}

static void test_defaults(void **state)
{
	const struct sluice_cfg_service *s;
	struct sluice_cfg cfg;

	(void)state;
	parse_ok("services:\n"
		 "  a.b-c_D9:\n"
		 "    vip: 198.18.100.10:443/udp\n",
		 &cfg);
	assert_false(cfg.has_metrics || cfg.has_events || cfg.has_state_dir);
	assert_string_equal(cfg.metrics, "");
	assert_int_equal(cfg.nservices, 1);
	s = &cfg.services[0];
	assert_string_equal(s->name, "a.b-c_D9");
	assert_int_equal(s->line, 2);
	assert_int_equal(s->key.port, htons(443));
	assert_int_equal(s->key.proto, IPPROTO_UDP);
	assert_int_equal(s->mode, SLUICE_MODE_NAT);
	assert_int_equal(s->affinity, SLUICE_AFFINITY_FLOW);
	assert_int_equal(s->candidate, SLUICE_GREEN);
	assert_false(s->has_split);
	assert_int_equal(s->npool[0] + s->npool[1], 0);
	assert_null(s->pool[0]);
	assert_null(s->pool[1]);
	assert_int_equal(s->nsegments, 0);
	assert_null(s->segments);
	assert_false(s->has_rollout);
	assert_true(is_zero(&s->rollout, sizeof(s->rollout)));
	sluice_cfg_free(&cfg);
}

/* Keys left out of a rollout: block keep sluice_policy_defaults(). */
static void test_rollout_partial(void **state)
{
	struct sluice_policy want;
	struct sluice_cfg cfg;

	(void)state;
	parse_ok("services:\n"
		 "  web:\n"
		 "    vip: 198.18.100.10:80/tcp\n"
		 "    rollout:\n"
		 "      bake: 10s\n"
		 "      manual_gates: [25]\n"
		 "      max_p99_first_byte: 0\n"
		 "      on_failure: instant\n"
		 "      rollback_flows: reset\n",
		 &cfg);
	sluice_policy_defaults(&want);
	want.bake_ns = 10000000000ull;
	want.reset_on_rollback = true;
	want.gates[0] = 250000;
	want.ngates = 1;
	assert_true(cfg.services[0].has_rollout);
	assert_memory_equal(&cfg.services[0].rollout, &want, sizeof(want));
	sluice_cfg_free(&cfg);
}

/* Every way the split and the steps may be written. */
static void test_percent_forms(void **state)
{
	static const struct {
		const char *text;
		__u32 ppm;
	} forms[] = {
		{ "5", 50000 },	 { "5%", 50000 },	 { "\"5%\"", 50000 },
		{ "0.5", 5000 }, { "0.0001%", 1 },	 { "100", 1000000 },
		{ "0", 0 },	 { "'25.50%'", 255000 },
	};
	struct sluice_cfg cfg;
	char yaml[256];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(forms); i++) {
		snprintf(yaml, sizeof(yaml),
			 "services:\n"
			 "  web:\n"
			 "    vip: 198.18.100.10:80/tcp\n"
			 "    split: %s\n",
			 forms[i].text);
		parse_ok(yaml, &cfg);
		assert_true(cfg.services[0].has_split);
		assert_int_equal(cfg.services[0].split_ppm, forms[i].ppm);
		sluice_cfg_free(&cfg);
	}
}

/* Nothing declared is a valid, empty config. */
static void test_empty(void **state)
{
	static const char *const empty[] = {
		"",
		"\n\n",
		"# only a comment\n",
		"---\n",
		"---\n...\n",
		"~\n",
		"{}\n",
		"services:\n",
		"services: {}\n",
		"services: ~\n",
		"agent:\nservices:\n",
		"agent: {}\n",
	};
	struct sluice_cfg cfg;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(empty); i++) {
		parse_ok(empty[i], &cfg);
		assert_true(is_zero(&cfg, sizeof(cfg)));
		sluice_cfg_free(&cfg);
	}
	/* No buffer at all is an empty file too. */
	assert_int_equal(sluice_cfg_parse("x", NULL, 0, &cfg, NULL, 0), 0);
	assert_int_equal(cfg.nservices, 0);
}

/* Empty pools, segments and gates are written as [] or left empty. */
static void test_empty_lists(void **state)
{
	struct sluice_cfg cfg;

	(void)state;
	parse_ok("services:\n"
		 "  web:\n"
		 "    vip: 198.18.100.10:80/tcp\n"
		 "    blue: []\n"
		 "    green:\n"
		 "    segments: []\n"
		 "    rollout:\n"
		 "      manual_gates: []\n",
		 &cfg);
	assert_int_equal(cfg.services[0].npool[0], 0);
	assert_int_equal(cfg.services[0].npool[1], 0);
	assert_int_equal(cfg.services[0].nsegments, 0);
	assert_int_equal(cfg.services[0].rollout.ngates, 0);
	sluice_cfg_free(&cfg);
}

/* The same backend in both pools is allowed: each pool is its own. */
static void test_backend_in_both_pools(void **state)
{
	struct sluice_cfg cfg;

	(void)state;
	parse_ok("services:\n"
		 "  web:\n"
		 "    vip: 198.18.100.10:80/tcp\n"
		 "    blue: [198.18.1.10:8080, 198.18.1.10:8081]\n"
		 "    green: [198.18.1.10:8080]\n",
		 &cfg);
	assert_int_equal(cfg.services[0].npool[SLUICE_BLUE], 2);
	assert_int_equal(cfg.services[0].npool[SLUICE_GREEN], 1);
	sluice_cfg_free(&cfg);
}

/* The source tree's root, from where this file was compiled. */
static void src_path(char *buf, size_t len, const char *rel)
{
	const char *me = __FILE__, *tail = strstr(me, "tests/config_test.c");
	int n = tail ? (int)(tail - me) : 0;

	snprintf(buf, len, "%.*s%s", n, me, rel);
}

static void test_example(void **state)
{
	const struct sluice_cfg_service *s;
	struct sluice_cfg cfg;
	char path[4096], err[512] = "";
	int rc;

	(void)state;
	src_path(path, sizeof(path), "tools/sluice.example.yaml");
	rc = sluice_cfg_load(path, &cfg, err, sizeof(err));
	if (rc)
		print_error("%s\n", err);
	assert_int_equal(rc, 0);
	assert_string_equal(cfg.metrics, "127.0.0.1:9464");
	assert_int_equal(cfg.nservices, 2);
	s = &cfg.services[0];
	assert_string_equal(s->name, "web");
	assert_int_equal(s->npool[SLUICE_BLUE], 3);
	assert_int_equal(s->npool[SLUICE_GREEN], 2);
	assert_int_equal(s->pool[SLUICE_BLUE][2].weight, 2);
	assert_int_equal(s->nsegments, 2);
	assert_true(s->has_rollout);
	assert_int_equal(s->rollout.nsteps, 5);
	assert_int_equal(s->rollout.ngates, 1);
	assert_string_equal(cfg.services[1].name, "dns6");
	assert_int_equal(cfg.services[1].mode, SLUICE_MODE_DSR);
	sluice_cfg_free(&cfg);
}

/* ---- files ------------------------------------------------------------- */

static void test_load(void **state)
{
	char path[] = "/tmp/sluice-config-test-XXXXXX", err[512], want[600];
	static const char bad[] = "services:\n  web:\n    mode: dsr\n";
	struct sluice_cfg cfg;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad, sizeof(bad) - 1),
			 (ssize_t)sizeof(bad) - 1);
	close(fd);
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(sluice_cfg_load(path, &cfg, err, sizeof(err)),
			 -EINVAL);
	snprintf(
		want, sizeof(want),
		"%s:2:3: services.web.vip: missing (required, e.g. vip: 198.18.100.10:80/tcp)",
		path);
	assert_string_equal(err, want);
	assert_true(is_zero(&cfg, sizeof(cfg)));
	unlink(path);

	assert_int_equal(sluice_cfg_load(path, &cfg, err, sizeof(err)),
			 -ENOENT);
	snprintf(want, sizeof(want),
		 "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, want);
	assert_true(is_zero(&cfg, sizeof(cfg)));

	assert_int_equal(sluice_cfg_load("/", &cfg, err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "/: cannot read: Is a directory");

	/* An empty file is zero services. */
	assert_int_equal(sluice_cfg_load("/dev/null", &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(cfg.nservices, 0);
}

/* A short buffer gets the start of the message; no buffer, just rc. */
static void test_errlen(void **state)
{
	struct sluice_cfg cfg;
	char err[16];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(parse("x: 1\n", &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.yaml:1:1: x: ");
	assert_int_equal(parse("x: 1\n", &cfg, NULL, 0), -EINVAL);
	err[0] = 'x';
	assert_int_equal(parse("x: 1\n", &cfg, err, 0), -EINVAL);
	assert_int_equal(err[0], 'x');
	assert_int_equal(parse("", NULL, err, sizeof(err)), -EINVAL);
}

/*
 * A buffer need not end in NUL: only len bytes are read, so the text
 * past them (an invalid key here) is never seen.
 */
static void test_len(void **state)
{
	static const char text[] = "services: {}\nbogus: 1\n";
	struct sluice_cfg cfg;
	char err[256];

	(void)state;
	assert_int_equal(
		sluice_cfg_parse("t", text, 13, &cfg, err, sizeof(err)), 0);
	assert_int_equal(sluice_cfg_parse("t", text, sizeof(text) - 1, &cfg,
					  err, sizeof(err)),
			 -EINVAL);
}

/* ---- limits ------------------------------------------------------------ */

/* n services, one line each, with distinct VIPs. */
static char *services_yaml(int n)
{
	size_t len = 16 + (size_t)n * 64, off;
	char *s = malloc(len);
	int i;

	assert_non_null(s);
	off = (size_t)snprintf(s, len, "services:\n");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, len - off,
					"  s%d: {vip: 198.18.%d.%d:80/tcp}\n",
					i, i / 256, i % 256);
	return s;
}

static void test_max_services(void **state)
{
	struct sluice_cfg cfg;
	char *yaml;

	(void)state;
	yaml = services_yaml(SLUICE_MAX_SERVICES);
	parse_ok(yaml, &cfg);
	assert_int_equal(cfg.nservices, SLUICE_MAX_SERVICES);
	assert_string_equal(cfg.services[SLUICE_MAX_SERVICES - 1].name,
			    "s1023");
	sluice_cfg_free(&cfg);
	free(yaml);

	yaml = services_yaml(SLUICE_MAX_SERVICES + 1);
	parse_bad(
		yaml,
		"t.yaml:1026:3: services.s1024: too many services (at most 1024)");
	free(yaml);
}

/* One service whose blue pool has n backends, one per line. */
static char *pool_yaml(int n)
{
	size_t len = 128 + (size_t)n * 32, off;
	char *s = malloc(len);
	int i;

	assert_non_null(s);
	off = (size_t)snprintf(
		s, len,
		"services:\n  web:\n    vip: 198.18.100.10:80/tcp\n    blue:\n");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, len - off,
					"      - 198.18.%d.%d:8080\n", i / 256,
					i % 256);
	return s;
}

static void test_max_backends(void **state)
{
	struct sluice_cfg cfg;
	char *yaml;

	(void)state;
	yaml = pool_yaml(SLUICE_MAX_BACKENDS_PER_POOL);
	parse_ok(yaml, &cfg);
	assert_int_equal(cfg.services[0].npool[SLUICE_BLUE],
			 SLUICE_MAX_BACKENDS_PER_POOL);
	sluice_cfg_free(&cfg);
	free(yaml);

	yaml = pool_yaml(SLUICE_MAX_BACKENDS_PER_POOL + 1);
	parse_bad(
		yaml,
		"t.yaml:261:9: services.web.blue[256]: too many backends (at most 256 per pool)");
	free(yaml);
}

/* Two services sharing `total` segments, one per line; all distinct. */
static char *segments_yaml(int total)
{
	size_t len = 256 + (size_t)total * 64, off;
	char *s = malloc(len);
	int i, half = total / 2;

	assert_non_null(s);
	off = (size_t)snprintf(
		s, len,
		"services:\n  a:\n    vip: 198.18.100.10:80/tcp\n    segments:\n");
	for (i = 0; i < total; i++) {
		if (i == half)
			off += (size_t)snprintf(
				s + off, len - off,
				"  b:\n    vip: 198.18.100.11:80/tcp\n    segments:\n");
		off += (size_t)snprintf(
			s + off, len - off,
			"      - {prefix: %d.%d.%d.0/24, colour: green}\n",
			10 + (i >> 16), (i >> 8) & 255, i & 255);
	}
	return s;
}

static void test_max_segments(void **state)
{
	struct sluice_cfg cfg;
	char *yaml;

	(void)state;
	yaml = segments_yaml(SLUICE_MAX_SEGMENTS);
	parse_ok(yaml, &cfg);
	assert_int_equal(cfg.services[0].nsegments + cfg.services[1].nsegments,
			 SLUICE_MAX_SEGMENTS);
	sluice_cfg_free(&cfg);
	free(yaml);

	/* 4 lines for a, 32768 of its segments, 3 for b, then 32768 more. */
	yaml = segments_yaml(SLUICE_MAX_SEGMENTS + 1);
	parse_bad(
		yaml,
		"t.yaml:65544:9: services.b.segments[32768]: too many segments (at most 65536 in all services)");
	free(yaml);
}

static void test_max_steps(void **state)
{
	struct sluice_cfg cfg;

	(void)state;
	parse_ok(
		"services:\n"
		"  web:\n"
		"    vip: 198.18.100.10:80/tcp\n"
		"    rollout:\n"
		"      steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 100]\n"
		"      manual_gates: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 100]\n",
		&cfg);
	assert_int_equal(cfg.services[0].rollout.nsteps, SLUICE_MAX_STEPS);
	assert_int_equal(cfg.services[0].rollout.ngates, SLUICE_MAX_STEPS);
	assert_int_equal(cfg.services[0].rollout.steps[15], 1000000);
	sluice_cfg_free(&cfg);
}

/* Long values are cut in messages, and never overflow a field. */
static void test_long_values(void **state)
{
	char yaml[1024], want[512], a300[301];

	(void)state;
	memset(a300, 'a', 300);
	a300[300] = '\0';
	snprintf(yaml, sizeof(yaml), "agent:\n  state_dir: /%s\n", a300);
	snprintf(
		want, sizeof(want),
		"t.yaml:2:14: agent.state_dir: '/%.63s...' is longer than 255 bytes (want a directory path)",
		a300);
	parse_bad(yaml, want);

	snprintf(yaml, sizeof(yaml), "%s: 1\n", a300);
	snprintf(want, sizeof(want),
		 "t.yaml:1:1: %.64s...: unknown key (allowed: agent, services)",
		 a300);
	parse_bad(yaml, want);

	/* 32 characters: one more than a name may have. */
	parse_bad(
		"services:\n  abcdefghijklmnopqrstuvwxyz012345: {}\n",
		"t.yaml:2:3: services: 'abcdefghijklmnopqrstuvwxyz012345' is not a service name (1-31 letters, digits, '-', '_' or '.')");
}

static void test_deep_nesting(void **state)
{
	char yaml[128];

	(void)state;
	memset(yaml, '[', 100);
	memcpy(yaml, "agent: ", 7);
	yaml[100] = '\0';
	/* The root map is level 1; the 32nd '[' would be level 33. */
	parse_bad(
		yaml,
		"t.yaml:1:39: yaml: nested deeper than 32 levels (the schema needs 5)");
}

/* ---- one exact message per kind of mistake ----------------------------- */

struct bad {
	const char *name;
	const char *yaml;
	const char *err;
};

/* Lines 1-3 declare a valid service; cases add lines from line 4. */
#define SVC "services:\n  web:\n    vip: 198.18.100.10:80/tcp\n"
#define PCT "(0-100 with at most 4 decimals, e.g. 5%, 0.25%)"
#define STEPS \
	"(want a list of rising percents ending at 100, e.g. [1, 5, 25, 100])"
#define NO_ANCHORS \
	"(anchors and aliases are not supported: write the value out)"

static const struct bad bad_cases[] = {
	/* wrong types, at every level */
	{ "type_root_list", "- a\n",
	  "t.yaml:1:1: document: got a list (want a map with agent and services)" },
	{ "type_root_scalar", "hello\n",
	  "t.yaml:1:1: document: got 'hello' (want a map with agent and services)" },
	{ "type_agent", "agent: yes\n",
	  "t.yaml:1:8: agent: got 'yes' (want a map with metrics, events, state_dir)" },
	{ "type_metrics", "agent:\n  metrics: [1]\n",
	  "t.yaml:2:12: agent.metrics: got a list (want a listen address such as 127.0.0.1:9464)" },
	{ "type_services", "services: [web]\n",
	  "t.yaml:1:11: services: got a list (want a map of service names to settings)" },
	{ "type_service_list", "services:\n  web: [1]\n",
	  "t.yaml:2:8: services.web: got a list (want a map of service settings)" },
	{ "type_service_scalar", "services:\n  web: x\n",
	  "t.yaml:2:8: services.web: got 'x' (want a map of service settings)" },
	{ "type_vip", "services:\n  web:\n    vip: {a: 1}\n",
	  "t.yaml:3:10: services.web.vip: got a map (want a vip such as 198.18.100.10:80/tcp)" },
	{ "type_mode_null", SVC "    mode:\n",
	  "t.yaml:4:5: services.web.mode: got nothing (want nat or dsr)" },
	{ "type_pool_map", SVC "    blue: {a: 1}\n",
	  "t.yaml:4:11: services.web.blue: got a map (want a list of backends)" },
	{ "type_pool_scalar", SVC "    green: 198.18.2.10:8080\n",
	  "t.yaml:4:12: services.web.green: got '198.18.2.10:8080' (want a list of backends)" },
	{ "type_backend_list", SVC "    blue: [[198.18.1.10:8080]]\n",
	  "t.yaml:4:12: services.web.blue[0]: got a list (want ADDR:PORT, or a map with address and weight)" },
	{ "type_backend_null", SVC "    blue:\n      -\n",
	  "t.yaml:5:8: services.web.blue[0]: got nothing (want ADDR:PORT, or a map with address and weight)" },
	{ "type_weight",
	  SVC "    blue: [{address: 198.18.1.10:8080, weight: [3]}]\n",
	  "t.yaml:4:48: services.web.blue[0].weight: got a list (want a weight of 1-65535)" },
	{ "type_candidate", SVC "    candidate: [green]\n",
	  "t.yaml:4:16: services.web.candidate: got a list (want blue or green)" },
	{ "type_segments", SVC "    segments: {prefix: 198.18.7.0/24}\n",
	  "t.yaml:4:15: services.web.segments: got a map (want a list of segments)" },
	{ "type_segment_scalar", SVC "    segments: [198.18.7.0/24]\n",
	  "t.yaml:4:16: services.web.segments[0]: got '198.18.7.0/24' (want a map with prefix and colour)" },
	{ "type_segment_null", SVC "    segments: [~]\n",
	  "t.yaml:4:16: services.web.segments[0]: got nothing (want a map with prefix and colour)" },
	{ "type_rollout", SVC "    rollout: [1, 100]\n",
	  "t.yaml:4:14: services.web.rollout: got a list (want a map of rollout settings)" },
	{ "type_steps_scalar", SVC "    rollout:\n      steps: 5\n",
	  "t.yaml:5:14: services.web.rollout.steps: got '5' " STEPS },
	{ "type_steps_null", SVC "    rollout:\n      steps:\n",
	  "t.yaml:5:7: services.web.rollout.steps: got nothing " STEPS },
	{ "type_steps_empty", SVC "    rollout: {steps: []}\n",
	  "t.yaml:4:22: services.web.rollout.steps: got an empty list " STEPS },
	{ "type_gates", SVC "    rollout: {manual_gates: 50}\n",
	  "t.yaml:4:29: services.web.rollout.manual_gates: got '50' (want a list of steps, e.g. [50])" },
	{ "type_bake", SVC "    rollout: {bake: [30s]}\n",
	  "t.yaml:4:21: services.web.rollout.bake: got a list (want a duration such as 30s)" },
	{ "type_min_flows", SVC "    rollout: {min_flows: {a: 1}}\n",
	  "t.yaml:4:26: services.web.rollout.min_flows: got a map (want a whole number)" },
	{ "type_key_map", "services: {{a: 1}: x}\n",
	  "t.yaml:1:12: services: got a map as a key (keys are names)" },
	{ "type_key_list", "agent: {[a]: 1}\n",
	  "t.yaml:1:9: agent: got a list as a key (keys are names; quote IPv6 endpoints, e.g. \"[fd00::1]:8080\")" },
	{ "type_nul", "agent:\n  events: \"a\\0b\"\n",
	  "t.yaml:2:11: agent.events: contains a NUL character (want a file path, or - for stdout)" },
	{ "type_empty_string", "agent:\n  events: \"\"\n",
	  "t.yaml:2:11: agent.events: got an empty string (want a file path, or - for stdout)" },

	/* unknown keys, at every level */
	{ "unknown_top", "servics:\n  web: {}\n",
	  "t.yaml:1:1: servics: unknown key (allowed: agent, services)" },
	{ "unknown_agent", "agent:\n  metric: 127.0.0.1:9464\n",
	  "t.yaml:2:3: agent.metric: unknown key (allowed: metrics, events, state_dir)" },
	{ "unknown_service", SVC "    color: green\n",
	  "t.yaml:4:5: services.web.color: unknown key (allowed: vip, mode, affinity, blue, green, split, candidate, segments, rollout)" },
	{ "unknown_backend",
	  SVC "    blue:\n      - {address: 198.18.1.10:8080, wieght: 2}\n",
	  "t.yaml:5:37: services.web.blue[0].wieght: unknown key (allowed: address, weight)" },
	{ "unknown_segment",
	  SVC "    segments:\n      - {prefix: 198.18.7.0/24, colur: green}\n",
	  "t.yaml:5:33: services.web.segments[0].colur: unknown key (allowed: prefix, colour (or color))" },
	{ "unknown_rollout",
	  SVC "    rollout:\n      bake: 1s\n      step: [100]\n",
	  "t.yaml:6:7: services.web.rollout.step: unknown key (allowed: steps, bake, tick, max_error_ratio, max_error_ratio_increase, max_p99_first_byte, min_flows, failure_limit, on_failure, manual_gates, inconclusive_timeout, rollback_flows)" },
	{ "unknown_key_control", "\"a\\tb\": 1\n",
	  "t.yaml:1:1: a?b: unknown key (allowed: agent, services)" },

	/* durations */
	{ "duration_bad", SVC "    rollout:\n      bake: fast\n",
	  "t.yaml:5:13: services.web.rollout.bake: 'fast' is not a duration (e.g. 30s, 250ms, 1m30s)" },
	{ "duration_no_unit", SVC "    rollout:\n      bake: 30\n",
	  "t.yaml:5:13: services.web.rollout.bake: '30' is not a duration (e.g. 30s, 250ms, 1m30s)" },
	{ "duration_tick_zero", SVC "    rollout:\n      tick: 0s\n",
	  "t.yaml:5:13: services.web.rollout.tick: '0s' is not a duration above 0 (e.g. 250ms, 1s)" },
	{ "duration_tick_bare_zero", SVC "    rollout:\n      tick: 0\n",
	  "t.yaml:5:13: services.web.rollout.tick: '0' is not a duration (above 0, e.g. 250ms, 1s)" },
	{ "duration_p99", SVC "    rollout:\n      max_p99_first_byte: 300\n",
	  "t.yaml:5:27: services.web.rollout.max_p99_first_byte: '300' is not a duration (e.g. 300ms, or 0 for no latency gate)" },
	{ "duration_inconclusive",
	  SVC "    rollout:\n      inconclusive_timeout: 5x\n",
	  "t.yaml:5:29: services.web.rollout.inconclusive_timeout: '5x' is not a duration (e.g. 5m, or 0 for never)" },
	{ "duration_on_failure",
	  SVC "    rollout:\n      on_failure: rollback\n",
	  "t.yaml:5:19: services.web.rollout.on_failure: 'rollback' is not a rollback (instant, or ramp:DURATION above 0 such as ramp:10s)" },
	{ "duration_ramp_zero", SVC "    rollout:\n      on_failure: ramp:0s\n",
	  "t.yaml:5:19: services.web.rollout.on_failure: 'ramp:0s' is not a rollback (instant, or ramp:DURATION above 0 such as ramp:10s)" },
	{ "rollback_flows_bad", SVC "    rollout:\n      rollback_flows: kill\n",
	  "t.yaml:5:23: services.web.rollout.rollback_flows: 'kill' is not drain or reset" },
	{ "duration_ramp_bad", SVC "    rollout:\n      on_failure: ramp:10\n",
	  "t.yaml:5:19: services.web.rollout.on_failure: 'ramp:10' is not a rollback (instant, or ramp:DURATION above 0 such as ramp:10s)" },

	/* percentages */
	{ "percent_split", SVC "    split: 5.5.5\n",
	  "t.yaml:4:12: services.web.split: '5.5.5' is not a percentage " PCT },
	{ "percent_over", SVC "    split: 101\n",
	  "t.yaml:4:12: services.web.split: '101' is not a percentage " PCT },
	{ "percent_decimals", SVC "    split: 0.00001\n",
	  "t.yaml:4:12: services.web.split: '0.00001' is not a percentage " PCT },
	{ "percent_negative", SVC "    rollout:\n      max_error_ratio: -1%\n",
	  "t.yaml:5:24: services.web.rollout.max_error_ratio: '-1%' is not a percentage " PCT },
	{ "percent_increase",
	  SVC "    rollout:\n      max_error_ratio_increase: half\n",
	  "t.yaml:5:33: services.web.rollout.max_error_ratio_increase: 'half' is not a percentage " PCT },
	{ "percent_step", SVC "    rollout:\n      steps: [1, x, 100]\n",
	  "t.yaml:5:18: services.web.rollout.steps[1]: 'x' is not a percentage " PCT },
	{ "percent_gate", SVC "    rollout:\n      manual_gates: [fifty]\n",
	  "t.yaml:5:22: services.web.rollout.manual_gates[0]: 'fifty' is not a percentage " PCT },

	/* vip, endpoints, prefixes, colours, modes, affinities, numbers */
	{ "vip_no_proto", "services:\n  web:\n    vip: 198.18.100.10:80\n",
	  "t.yaml:3:10: services.web.vip: '198.18.100.10:80' is not a vip (ADDR:PORT/tcp or /udp, e.g. 198.18.100.10:80/tcp or [fd00::10]:53/udp)" },
	{ "vip_port_zero", "services:\n  web:\n    vip: 198.18.100.10:0/tcp\n",
	  "t.yaml:3:10: services.web.vip: '198.18.100.10:0/tcp' is not a vip (ADDR:PORT/tcp or /udp, e.g. 198.18.100.10:80/tcp or [fd00::10]:53/udp)" },
	{ "vip_v6_brackets",
	  "services:\n  web:\n    vip: \"fd00::10:80/tcp\"\n",
	  "t.yaml:3:10: services.web.vip: 'fd00::10:80/tcp' is not a vip (ADDR:PORT/tcp or /udp, e.g. 198.18.100.10:80/tcp or [fd00::10]:53/udp)" },
	{ "endpoint_backend", SVC "    blue: [198.18.1.10]\n",
	  "t.yaml:4:12: services.web.blue[0]: '198.18.1.10' is not a backend address (ADDR:PORT, e.g. 198.18.1.10:8080 or [fd00::1]:8080)" },
	{ "endpoint_backend_map",
	  SVC "    green:\n      - address: 198.18.2.10:http\n",
	  "t.yaml:5:18: services.web.green[0].address: '198.18.2.10:http' is not a backend address (ADDR:PORT, e.g. 198.18.1.10:8080 or [fd00::1]:8080)" },
	{ "endpoint_metrics", "agent:\n  metrics: localhost:9464\n",
	  "t.yaml:2:12: agent.metrics: 'localhost:9464' is not a listen address (ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:9464)" },
	{ "prefix_host_bits",
	  SVC "    segments:\n      - {prefix: 10.0.0.1/8, colour: green}\n",
	  "t.yaml:5:18: services.web.segments[0].prefix: '10.0.0.1/8' is not a prefix (ADDR/LEN with no host bits set, e.g. 198.18.7.0/24 or fd00:7::/48)" },
	{ "colour_segment",
	  SVC "    segments:\n      - {prefix: 10.0.0.0/8, colour: purple}\n",
	  "t.yaml:5:38: services.web.segments[0].colour: 'purple' is not a colour (blue or green)" },
	{ "colour_candidate", SVC "    candidate: red\n",
	  "t.yaml:4:16: services.web.candidate: 'red' is not a colour (blue or green)" },
	{ "mode_bad", SVC "    mode: NAT\n",
	  "t.yaml:4:11: services.web.mode: 'NAT' is not a mode (nat or dsr)" },
	{ "affinity_bad", SVC "    affinity: sticky\n",
	  "t.yaml:4:15: services.web.affinity: 'sticky' is not an affinity (flow, client or prefix)" },
	{ "weight_zero",
	  SVC "    blue: [{address: 198.18.1.10:8080, weight: 0}]\n",
	  "t.yaml:4:48: services.web.blue[0].weight: '0' is not a weight (1-65535)" },
	{ "weight_big",
	  SVC "    blue: [{address: 198.18.1.10:8080, weight: 65536}]\n",
	  "t.yaml:4:48: services.web.blue[0].weight: '65536' is not a weight (1-65535)" },
	{ "count_min_flows", SVC "    rollout:\n      min_flows: -1\n",
	  "t.yaml:5:18: services.web.rollout.min_flows: '-1' is not a count (0-4294967295)" },
	{ "count_failure_limit", SVC "    rollout:\n      failure_limit: 0\n",
	  "t.yaml:5:22: services.web.rollout.failure_limit: '0' is not a count (1-4294967295)" },
	{ "name_bad", "services:\n  we b:\n    vip: 198.18.100.10:80/tcp\n",
	  "t.yaml:2:3: services: 'we b' is not a service name (1-31 letters, digits, '-', '_' or '.')" },
	{ "family_v6_in_v4",
	  SVC
	  "    blue:\n      - 198.18.1.10:8080\n      - \"[fd00::1]:8080\"\n",
	  "t.yaml:6:9: services.web.blue[1]: [fd00::1]:8080 is IPv6 but the vip is IPv4 (backends use the vip's address family)" },
	{ "family_v4_in_v6",
	  "services:\n  web:\n    green: [198.18.2.10:8080]\n    vip: \"[fd00::10]:80/tcp\"\n",
	  "t.yaml:3:13: services.web.green[0]: 198.18.2.10:8080 is IPv4 but the vip is IPv6 (backends use the vip's address family)" },

	/* rollout steps and gates */
	{ "steps_repeat", SVC "    rollout:\n      steps: [1, 5, 5, 100]\n",
	  "t.yaml:5:21: services.web.rollout.steps[2]: 5% is not above the step before it, 5% (steps rise strictly to 100%)" },
	{ "steps_falling", SVC "    rollout:\n      steps: [1, 50, 25, 100]\n",
	  "t.yaml:5:22: services.web.rollout.steps[2]: 25% is not above the step before it, 50% (steps rise strictly to 100%)" },
	{ "steps_past_100", SVC "    rollout:\n      steps: [50, 100, 100]\n",
	  "t.yaml:5:24: services.web.rollout.steps[2]: 100% is not above the step before it, 100% (steps rise strictly to 100%)" },
	{ "steps_not_100", SVC "    rollout:\n      steps: [1, 5, 50]\n",
	  "t.yaml:5:21: services.web.rollout.steps[2]: the last step is 50% (the last step must be 100%)" },
	{ "steps_zero", SVC "    rollout:\n      steps: [0, 100]\n",
	  "t.yaml:5:15: services.web.rollout.steps[0]: 0% is not a step (steps rise strictly from above 0% to 100%)" },
	{ "steps_too_many",
	  SVC
	  "    rollout:\n      steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 100]\n",
	  "t.yaml:5:70: services.web.rollout.steps[16]: too many steps (at most 16)" },
	{ "gate_not_step", SVC "    rollout:\n      manual_gates: [40]\n",
	  "t.yaml:5:22: services.web.rollout.manual_gates[0]: 40% is not one of the steps (1%, 5%, 25%, 50%, 100%)" },
	{ "gate_before_steps",
	  SVC
	  "    rollout:\n      manual_gates: [25]\n      steps: [50, 100]\n",
	  "t.yaml:5:22: services.web.rollout.manual_gates[0]: 25% is not one of the steps (50%, 100%)" },
	{ "gate_twice", SVC "    rollout:\n      manual_gates: [50, 50%]\n",
	  "t.yaml:5:26: services.web.rollout.manual_gates[1]: 50% is already a gate at line 5 (each step at most once)" },
	{ "gates_too_many",
	  SVC
	  "    rollout:\n      manual_gates: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]\n",
	  "t.yaml:5:77: services.web.rollout.manual_gates[16]: too many gates (at most 16)" },

	/* duplicates */
	{ "dup_top_key", "services:\nagent:\nservices:\n",
	  "t.yaml:3:1: services: duplicate key, first at line 1 (each key at most once)" },
	{ "dup_agent_key", "agent:\n  events: a\n  events: b\n",
	  "t.yaml:3:3: agent.events: duplicate key, first at line 2 (each key at most once)" },
	{ "dup_service_key", SVC "    vip: 198.18.100.11:80/tcp\n",
	  "t.yaml:4:5: services.web.vip: duplicate key, first at line 3 (each key at most once)" },
	{ "dup_quoted_key", SVC "    \"vip\": 198.18.100.11:80/tcp\n",
	  "t.yaml:4:5: services.web.vip: duplicate key, first at line 3 (each key at most once)" },
	{ "dup_backend_key",
	  SVC
	  "    blue:\n      - {address: 198.18.1.10:80, address: 198.18.1.11:80}\n",
	  "t.yaml:5:35: services.web.blue[0].address: duplicate key, first at line 5 (each key at most once)" },
	{ "dup_rollout_key",
	  SVC "    rollout:\n      bake: 1s\n      bake: 2s\n",
	  "t.yaml:6:7: services.web.rollout.bake: duplicate key, first at line 5 (each key at most once)" },
	{ "dup_colour_color",
	  SVC
	  "    segments:\n      - {prefix: 10.0.0.0/8, colour: blue, color: green}\n",
	  "t.yaml:5:44: services.web.segments[0].color: duplicate key, same as 'colour' at line 5 (each key at most once)" },
	{ "dup_service", SVC "  web:\n    vip: 198.18.100.11:80/tcp\n",
	  "t.yaml:4:3: services.web: duplicate service, first at line 2 (each name once)" },
	{ "dup_vip", SVC "  api:\n    vip: 198.18.100.10:80/TCP\n",
	  "t.yaml:5:10: services.api.vip: '198.18.100.10:80/TCP' is already the vip of service 'web' at line 2 (one service per vip)" },
	{ "dup_vip_mapped",
	  SVC "  api:\n    vip: \"[::ffff:198.18.100.10]:80/tcp\"\n",
	  "t.yaml:5:10: services.api.vip: '[::ffff:198.18.100.10]:80/tcp' is already the vip of service 'web' at line 2 (one service per vip)" },
	{ "dup_backend",
	  SVC
	  "    blue:\n      - 198.18.1.10:8080\n      - {address: 198.18.1.10:8080, weight: 2}\n",
	  "t.yaml:6:9: services.web.blue[1]: 198.18.1.10:8080 is already in the pool at line 5 (each backend once per pool)" },
	{ "dup_segment",
	  SVC
	  "    segments:\n      - {prefix: 198.18.7.0/24, colour: green}\n      - {prefix: 198.18.7.0/24, colour: blue}\n",
	  "t.yaml:6:9: services.web.segments[1]: 198.18.7.0/24 is already a segment at line 5 (each prefix once per service)" },
	{ "dup_segment_v6",
	  SVC
	  "    segments:\n      - {prefix: \"fd00:7::/48\", colour: green}\n      - {prefix: \"fd00:7:0::/48\", colour: blue}\n",
	  "t.yaml:6:9: services.web.segments[1]: fd00:7::/48 is already a segment at line 5 (each prefix once per service)" },

	/* required keys */
	{ "missing_vip", "services:\n  web:\n    mode: dsr\n",
	  "t.yaml:2:3: services.web.vip: missing (required, e.g. vip: 198.18.100.10:80/tcp)" },
	{ "missing_vip_empty_service", "services:\n  web:\n",
	  "t.yaml:2:3: services.web.vip: missing (required, e.g. vip: 198.18.100.10:80/tcp)" },
	{ "missing_address", SVC "    blue:\n      - weight: 2\n",
	  "t.yaml:5:9: services.web.blue[0].address: missing (required, e.g. address: 198.18.1.10:8080)" },
	{ "missing_prefix", SVC "    segments: [{colour: green}]\n",
	  "t.yaml:4:16: services.web.segments[0].prefix: missing (required, e.g. prefix: 198.18.7.0/24)" },
	{ "missing_colour", SVC "    segments: [{prefix: 198.18.7.0/24}]\n",
	  "t.yaml:4:16: services.web.segments[0].colour: missing (required: blue or green)" },

	/* YAML itself */
	{ "yaml_unclosed", "services: [\n",
	  "t.yaml:2:1: yaml: did not find expected node content (while parsing a flow node at 2:1)" },
	{ "yaml_indent",
	  "services:\n  web:\n    vip: 198.18.100.10:80/tcp\n   mode: nat\n",
	  "t.yaml:4:4: yaml: did not find expected key (while parsing a block mapping at 2:3)" },
	{ "yaml_tab", "services:\n\tweb: {}\n",
	  "t.yaml:2:1: yaml: found character that cannot start any token (while scanning for the next token at 2:1; indent with spaces, not tabs)" },
	{ "yaml_ipv6_unquoted",
	  "services:\n  web:\n    vip: [fd00::10]:80/tcp\n",
	  "t.yaml:3:20: yaml: did not find expected key (while parsing a block mapping at 3:5; quote IPv6 endpoints, e.g. \"[fd00::1]:8080\")" },
	{ "yaml_utf8", "agent:\n  events: \xff\n",
	  "t.yaml:2:11: yaml: invalid leading UTF-8 octet: 0xFF (the file must be UTF-8 text)" },
	{ "yaml_two_documents", "agent: {}\n---\nservices: {}\n",
	  "t.yaml:2:1: yaml: a second document (a config file holds one)" },
	{ "yaml_anchor", SVC "    blue: &pool [198.18.1.10:8080]\n",
	  "t.yaml:4:11: services.web.blue: anchor '&pool' " NO_ANCHORS },
	{ "yaml_anchor_key", "&k services: {}\n",
	  "t.yaml:1:1: services: anchor '&k' " NO_ANCHORS },
	{ "yaml_alias", SVC "    green: *pool\n",
	  "t.yaml:4:12: services.web.green: alias '*pool' " NO_ANCHORS },
	{ "yaml_tag", SVC "    split: !!float 5\n",
	  "t.yaml:4:12: services.web.split: tag 'tag:yaml.org,2002:float' (tags are not supported: write the plain value)" },
};

static void test_bad(void **state)
{
	const struct bad *b = *state;

	parse_bad(b->yaml, b->err);
}

static const struct CMUnitTest fixed_tests[] = {
	cmocka_unit_test(test_full),
	cmocka_unit_test(test_defaults),
	cmocka_unit_test(test_rollout_partial),
	cmocka_unit_test(test_percent_forms),
	cmocka_unit_test(test_empty),
	cmocka_unit_test(test_empty_lists),
	cmocka_unit_test(test_backend_in_both_pools),
	cmocka_unit_test(test_example),
	cmocka_unit_test(test_load),
	cmocka_unit_test(test_errlen),
	cmocka_unit_test(test_len),
	cmocka_unit_test(test_max_services),
	cmocka_unit_test(test_max_backends),
	cmocka_unit_test(test_max_segments),
	cmocka_unit_test(test_max_steps),
	cmocka_unit_test(test_long_values),
	cmocka_unit_test(test_deep_nesting),
};

static struct CMUnitTest tests[ARRAY_SIZE(fixed_tests) + ARRAY_SIZE(bad_cases)];

int main(void)
{
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(fixed_tests); i++)
		tests[n++] = fixed_tests[i];
	/* One test per error case, so a report names the case that broke. */
	for (i = 0; i < ARRAY_SIZE(bad_cases); i++)
		tests[n++] = (struct CMUnitTest){
			.name = bad_cases[i].name,
			.test_func = test_bad,
			.initial_state = (void *)&bad_cases[i],
		};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
