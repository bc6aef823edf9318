// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* sluice events [--json] [--follow] */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "commands.h"
#include "events.h"

static const struct cli_cmd events_cmd = {
	"events",
	"Usage: sluice events [--json] [--follow]\n"
	"\n"
	"Read the data path's ring buffer: every drop and every error (backend\n"
	"RST, ICMP error, HTTP 5xx) with its reason and the client-side\n"
	"5-tuple, and new flows sampled 1 in N ('sluice up --sample-every N').\n"
	"Reading consumes: the ring has one reader. When the agent runs with\n"
	"--events, read its output instead.\n"
	"\n"
	"  --json    one JSON object per line (ts, type, service, colour,\n"
	"            backend, proto, src, sport, dst, dport, reason, status):\n"
	"            the shape Vector, Fluent Bit and Loki ingest as is\n"
	"  --follow  keep reading until interrupted\n"
	"\n"
	"Events the kernel could not write because the ring was full are\n"
	"counted: the total since 'sluice up' is reported first, as\n"
	"{\"type\": \"lost\", \"count\": N, \"scope\": \"since up\"}, then each\n"
	"new loss as {\"type\": \"lost\", \"count\": N}.\n",
};

struct reader {
	struct sluice_namer *namer;
	bool json;
	unsigned long n;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct reader *r = ctx;
	json_t *o = sluice_event_json(r->namer, data, len);
	json_t *v;

	if (!o)
		return 0;
	r->n++;
	if (r->json) {
		json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		putchar('\n');
	} else {
		printf("%s %-8s %-10s %-6s %-22s %s:%lld -> %s:%lld",
		       json_string_value(json_object_get(o, "ts")),
		       json_string_value(json_object_get(o, "type")),
		       json_string_value(json_object_get(o, "service")) ?: "?",
		       json_string_value(json_object_get(o, "colour")),
		       json_string_value(json_object_get(o, "backend")) ?: "-",
		       json_string_value(json_object_get(o, "src")),
		       json_integer_value(json_object_get(o, "sport")),
		       json_string_value(json_object_get(o, "dst")),
		       json_integer_value(json_object_get(o, "dport")));
		v = json_object_get(o, "reason");
		if (v)
			printf(" %s", json_string_value(v));
		v = json_object_get(o, "status");
		if (v)
			printf(" %lld", json_integer_value(v));
		putchar('\n');
	}
	json_decref(o);
	return 0;
}

static void report_lost(const struct sluice_maps *m, bool json, __u64 *seen)
{
	struct sluice_global_stats g;

	if (sluice_global_stats_read(m, &g) || g.events_lost <= *seen)
		return;
	if (json)
		printf("{\"count\":%llu,\"type\":\"lost\"}\n",
		       (unsigned long long)(g.events_lost - *seen));
	else
		printf("lost %llu events (the ring buffer was full)\n",
		       (unsigned long long)(g.events_lost - *seen));
	*seen = g.events_lost;
}

int cmd_events(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct reader r = { 0 };
	struct ring_buffer *rb;
	struct sluice_maps m;
	struct sluice_global_stats g;
	bool follow = false;
	__u64 lost_seen = 0;
	int rc, lock, i;

	if (cli_wants_help(&events_cmd, argc, argv))
		return EXIT_OK;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			r.json = true;
		else if (!strcmp(argv[i], "--follow"))
			follow = true;
		else
			return cli_usage(&events_cmd, "unexpected argument '%s'",
					 argv[i]);
	}
	rc = cli_open(&events_cmd, &m, false, &lock);
	if (rc)
		return rc;
	/*
	 * Nobody can tell which reader missed what: say how many were lost
	 * since 'up' first, then every new loss as it happens.
	 */
	if (!sluice_global_stats_read(&m, &g) && g.events_lost) {
		if (r.json)
			printf("{\"count\":%llu,\"scope\":\"since up\","
			       "\"type\":\"lost\"}\n",
			       (unsigned long long)g.events_lost);
		else
			printf("%llu events lost since 'sluice up' (the ring "
			       "buffer was full)\n",
			       (unsigned long long)g.events_lost);
		lost_seen = g.events_lost;
	}
	r.namer = sluice_namer_new(&m);
	rb = r.namer ? ring_buffer__new(m.events, on_event, &r, NULL) : NULL;
	if (!rb) {
		sluice_namer_free(r.namer);
		cli_close(&m, lock);
		return cli_fail(&events_cmd, "cannot open the ring buffer: %s",
				strerror(errno));
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	do {
		if (follow)
			ring_buffer__poll(rb, 250);
		else
			ring_buffer__consume(rb);
		report_lost(&m, r.json, &lost_seen);
	} while (follow && !stop);
	ring_buffer__free(rb);
	sluice_namer_free(r.namer);
	cli_close(&m, lock);
	return EXIT_OK;
}
