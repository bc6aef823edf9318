// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* sluice status [SERVICE] [--json] */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "state.h"
#include "status.h"

static const struct cli_cmd status_cmd = {
	"status",
	"Usage: sluice status [SERVICE] [--json]\n"
	"\n"
	"Per service: the configured split and the split observed in new\n"
	"flows since it was last changed, and per pool and backend the\n"
	"kernel's counters: new flows, packets and bytes each way, drops by\n"
	"reason, errors by kind (backend RSTs, ICMP errors, HTTP 5xx) and\n"
	"p50/p99 handshake and first-byte times. Then the data path's own\n"
	"counters: packets passed to the stack by reason, flow-table use.\n"
	"\n"
	"  --json  one JSON document instead of the table\n",
};

static long long geti(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static double getf(json_t *o, const char *path1, const char *path2)
{
	return json_real_value(json_object_get(json_object_get(o, path1), path2));
}

static void print_service(json_t *s)
{
	json_t *split = json_object_get(s, "split"), *pools, *obs, *pool, *b;
	const char *colour;
	size_t i;

	obs = json_object_get(split, "observed");
	printf("%s  %s/%s  %s  affinity %s\n",
	       json_string_value(json_object_get(s, "name")),
	       json_string_value(json_object_get(s, "vip")),
	       json_string_value(json_object_get(s, "proto")),
	       json_string_value(json_object_get(s, "mode")),
	       json_string_value(json_object_get(s, "affinity")));
	printf("  split: %s to %s (candidate)", 
	       json_string_value(json_object_get(split, "configured")),
	       json_string_value(json_object_get(s, "candidate")));
	if (json_is_real(obs))
		printf("; observed %.2f%% of %lld new flows since the change\n",
		       100.0 * json_real_value(obs),
		       geti(split, "new_flows_since_change"));
	else
		printf("; no new flows since the change\n");
	printf("  drops: empty pool %lld, no route %lld, too big %lld; segment "
	       "flows %lld, flow misses %lld\n",
	       geti(json_object_get(s, "drops"), "empty_pool"),
	       geti(json_object_get(s, "drops"), "no_route"),
	       geti(json_object_get(s, "drops"), "too_big"),
	       geti(s, "segment_flows"), geti(s, "flow_misses"));
	pools = json_object_get(s, "pools");
	json_object_foreach(pools, colour, pool)
	{
		json_t *arr = json_object_get(pool, "backends");

		printf("  %s (%s): %zu backend%s\n", colour,
		       json_string_value(json_object_get(pool, "role")),
		       json_array_size(arr),
		       json_array_size(arr) == 1 ? "" : "s");
		if (!json_array_size(arr))
			continue;
		printf("    %-26s %-8s %9s %10s %10s %6s %6s %6s %9s %9s\n",
		       "BACKEND", "STATE", "NEWFLOWS", "PKTS_IN", "PKTS_OUT",
		       "RST", "ICMP", "5XX", "P50_FB", "P99_FB");
		json_array_foreach(arr, i, b)
		{
			json_t *e = json_object_get(b, "errors");

			printf("    %-26s %-8s %9lld %10lld %10lld %6lld %6lld "
			       "%6lld %7.1fms %7.1fms\n",
			       json_string_value(json_object_get(b, "backend")),
			       json_string_value(json_object_get(b, "state")),
			       geti(b, "new_flows"), geti(b, "fwd_packets"),
			       geti(b, "rev_packets"), geti(e, "rst"),
			       geti(e, "icmp"), geti(e, "http_5xx"),
			       getf(b, "first_byte_us", "p50") / 1000.0,
			       getf(b, "first_byte_us", "p99") / 1000.0);
		}
	}
}

static void print_datapath(json_t *d)
{
	json_t *passed = json_object_get(d, "passed"), *v;
	const char *k;
	int n = 0;

	printf("data path: flows %lld live of %lld; ICMP errors forwarded "
	       "%lld; events lost %lld\n",
	       geti(json_object_get(d, "flows"), "live"),
	       geti(json_object_get(d, "flows"), "max"),
	       geti(d, "icmp_forwarded"), geti(d, "events_lost"));
	printf("  passed to the stack:");
	json_object_foreach(passed, k, v)
	{
		if (!json_integer_value(v))
			continue;
		printf(" %s %lld", k, json_integer_value(v));
		n++;
	}
	printf("%s\n", n ? "" : " none");
}

int cmd_status(int argc, char **argv)
{
	const char *name = NULL;
	bool as_json = false;
	struct sluice_maps m;
	json_t *root, *s;
	int rc, lock, i, only = -1;
	size_t k;
	__u32 id;

	if (cli_wants_help(&status_cmd, argc, argv))
		return EXIT_OK;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			as_json = true;
		else if (argv[i][0] == '-')
			return cli_usage(&status_cmd, "unknown option '%s'",
					 argv[i]);
		else if (!name)
			name = argv[i];
		else
			return cli_usage(&status_cmd,
					 "unexpected argument '%s'", argv[i]);
	}
	rc = cli_open(&status_cmd, &m, false, &lock);
	if (rc)
		return rc;
	if (name) {
		if (sluice_service_find(&m, name, &id, NULL)) {
			cli_close(&m, lock);
			return cli_usage(&status_cmd, "service '%s' does not exist",
					 name);
		}
		only = (int)id;
	}
	root = sluice_status_json(&m, only);
	cli_close(&m, lock);
	if (!root)
		return cli_fail(&status_cmd, "cannot read state");
	if (as_json) {
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	} else {
		json_array_foreach(json_object_get(root, "services"), k, s)
			print_service(s);
		if (!json_array_size(json_object_get(root, "services")))
			printf("no services\n");
		print_datapath(json_object_get(root, "datapath"));
	}
	json_decref(root);
	return EXIT_OK;
}
