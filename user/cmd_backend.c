// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* sluice backend add | del | list */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "cli.h"
#include "commands.h"
#include "parse.h"
#include "state.h"

static const struct cli_cmd backend_cmd = {
	"backend",
	"Usage: sluice backend add SERVICE blue|green ADDR:PORT [--weight N]\n"
	"       sluice backend del SERVICE blue|green ADDR:PORT [--now]\n"
	"       sluice backend list SERVICE\n"
	"\n"
	"Backends of one colour form a pool. New flows pick a backend through\n"
	"a consistent-hash table built from the weights, which are plain\n"
	"ratios (90 and 10 get 90% and 10%). A pool change swaps the whole\n"
	"table at once; removing one of N backends moves only its own flows.\n"
	"\n"
	"  --weight N  1-65535, default 1\n"
	"  --now       del only: also forget the backend's established flows\n"
	"              (their next packets are steered anew); by default the\n"
	"              backend drains: no new flows, existing ones finish.\n"
	"              'del --now' also removes a backend that is draining.\n"
	"\n"
	"Example: sluice backend add web green 198.18.2.10:8080 --weight 3\n",
};

/* SERVICE COLOUR ADDR:PORT, the shared head of add and del. */
static int parse_target(int argc, char **argv, int first, __u8 *colour,
			__u8 addr[16], __u16 *port)
{
	if (argc - first < 3)
		return cli_usage(&backend_cmd,
				 "want SERVICE blue|green ADDR:PORT");
	if (argc - first > 3)
		return cli_usage(&backend_cmd, "unexpected argument '%s'",
				 argv[first + 3]);
	if (sluice_parse_colour(argv[first + 1], colour))
		return cli_usage(&backend_cmd, "colour '%s': use blue or green",
				 argv[first + 1]);
	if (sluice_parse_endpoint(argv[first + 2], addr, port, NULL))
		return cli_usage(&backend_cmd,
				 "backend '%s': want ADDR:PORT or [ADDR6]:PORT, port 1-65535",
				 argv[first + 2]);
	return EXIT_OK;
}

static int find_service(struct sluice_maps *m, const char *name, __u32 *id)
{
	char what[64];
	int err = sluice_service_find(m, name, id, NULL);

	if (!err)
		return EXIT_OK;
	snprintf(what, sizeof(what), "service '%s'", name);
	return cli_state_error(&backend_cmd, err, what);
}

/*
 * nat translates the destination only: the backend sees the client's own
 * address and port. Another nat service with this endpoint would see a
 * client that reaches both from one source port as one connection (at
 * the backend itself and in the reverse-NAT table). Allowed, but said.
 */
static void warn_shared(const struct sluice_maps *m, __u32 id,
			const __u8 addr[16], __u16 port)
{
	struct sluice_pool *pool = malloc(sizeof(*pool));
	struct sluice_service_meta meta;
	struct sluice_service v;
	char ep[SLUICE_ENDPOINT_STRLEN];
	__u32 other;
	int c;

	if (!pool || sluice_service_value(m, id, &v) ||
	    v.mode != SLUICE_MODE_NAT) {
		free(pool);
		return;
	}
	for (other = 0; other < SLUICE_MAX_SERVICES; other++) {
		if (other == id || sluice_meta_read(m, other, &meta) ||
		    sluice_service_value(m, other, &v) ||
		    v.mode != SLUICE_MODE_NAT)
			continue;
		for (c = 0; c < SLUICE_COLOURS; c++) {
			if (sluice_pool_read(m, other, c, pool) ||
			    sluice_backend_slot(pool, addr, port) < 0)
				continue;
			fprintf(stderr,
				"sluice backend: note: %s also serves nat "
				"service '%s'; a client that reaches both "
				"from one source port looks like one "
				"connection to it: give each service its own "
				"backend port\n",
				sluice_format_endpoint(addr, port, ep,
						       sizeof(ep)),
				meta.name);
			break;
		}
	}
	free(pool);
}

static int backend_change(int argc, char **argv, bool add)
{
	static const struct option add_opts[] = {
		{ "weight", required_argument, NULL, 'w' },
		{ 0 },
	};
	static const struct option del_opts[] = {
		{ "now", no_argument, NULL, 'n' },
		{ 0 },
	};
	__u8 colour, addr[16];
	__u16 port, weight = 1;
	bool now = false;
	struct sluice_maps m;
	char what[128];
	int o, rc, lock, err;
	__u32 id;

	cli_reset_getopt();
	while ((o = getopt_long(argc, argv, ":", add ? add_opts : del_opts,
				NULL)) != -1) {
		switch (o) {
		case 'w':
			if (sluice_parse_weight(optarg, &weight))
				return cli_usage(&backend_cmd,
						 "weight '%s': want 1-%d",
						 optarg, SLUICE_MAX_WEIGHT);
			break;
		case 'n':
			now = true;
			break;
		case ':':
			return cli_usage(&backend_cmd,
					 "option '%s' needs a value",
					 argv[optind - 1]);
		default:
			return cli_usage(&backend_cmd, "unknown option '%s'",
					 argv[optind - 1]);
		}
	}
	rc = parse_target(argc, argv, optind, &colour, addr, &port);
	if (rc)
		return rc;
	rc = cli_open(&backend_cmd, &m, true, &lock);
	if (rc)
		return rc;
	rc = find_service(&m, argv[optind], &id);
	if (rc)
		goto out;
	snprintf(what, sizeof(what), "%s backend %s of '%s'",
		 sluice_colour_name(colour), argv[optind + 2], argv[optind]);
	err = add ? sluice_backend_add(&m, id, colour, addr, port, weight) :
		    sluice_backend_del(&m, id, colour, addr, port, now);
	if (err == -EAFNOSUPPORT)
		rc = cli_usage(&backend_cmd,
			       "backend '%s' is not of the VIP's address family "
			       "(IPv4 VIP: IPv4 backends; IPv6: IPv6)",
			       argv[optind + 2]);
	else if (err == -ENOSPC)
		rc = cli_usage(&backend_cmd,
			       "the %s pool of '%s' is full (%d backends; "
			       "draining ones count until 'del --now')",
			       sluice_colour_name(colour), argv[optind],
			       SLUICE_MAX_BACKENDS_PER_POOL);
	else if (err)
		rc = cli_state_error(&backend_cmd, err, what);
	else if (add) {
		printf("%s added (weight %u)\n", what, weight);
		warn_shared(&m, id, addr, port);
	}
	else
		printf("%s %s\n", what, now ? "removed" : "draining");
out:
	cli_close(&m, lock);
	return rc;
}

static int backend_list(int argc, char **argv)
{
	struct sluice_pool *pool = calloc(1, sizeof(*pool));
	char ep[SLUICE_ENDPOINT_STRLEN];
	struct sluice_maps m;
	int rc, lock, i, n = 0;
	__u32 id;
	__u8 c;

	if (!pool)
		return cli_fail(&backend_cmd, "out of memory");
	if (argc != 2) {
		free(pool);
		return argc < 2 ? cli_usage(&backend_cmd,
					    "backend list: SERVICE is missing") :
				  cli_usage(&backend_cmd,
					    "unexpected argument '%s'", argv[2]);
	}
	rc = cli_open(&backend_cmd, &m, false, &lock);
	if (rc) {
		free(pool);
		return rc;
	}
	rc = find_service(&m, argv[1], &id);
	for (c = 0; !rc && c < SLUICE_COLOURS; c++) {
		if (sluice_pool_read(&m, id, c, pool))
			continue;
		for (i = 0; i < SLUICE_MAX_BACKENDS_PER_POOL; i++) {
			struct sluice_backend *b = &pool->backends[i];

			if (!(b->flags & SLUICE_BE_F_USED))
				continue;
			if (!n++)
				printf("%-6s %-30s %-6s %s\n", "COLOUR",
				       "BACKEND", "WEIGHT", "STATE");
			sluice_format_endpoint(b->addr, ntohs(b->port), ep,
					       sizeof(ep));
			printf("%-6s %-30s %-6u %s\n", sluice_colour_name(c),
			       ep, b->weight,
			       b->flags & SLUICE_BE_F_DRAINING ? "draining" :
								 "active");
		}
	}
	if (!rc && !n)
		printf("no backends\n");
	cli_close(&m, lock);
	free(pool);
	return rc;
}

int cmd_backend(int argc, char **argv)
{
	if (cli_wants_help(&backend_cmd, argc, argv))
		return EXIT_OK;
	if (argc < 2)
		return cli_usage(&backend_cmd, "add, del or list?");
	if (!strcmp(argv[1], "add"))
		return backend_change(argc - 1, argv + 1, true);
	if (!strcmp(argv[1], "del"))
		return backend_change(argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "list"))
		return backend_list(argc - 1, argv + 1);
	return cli_usage(&backend_cmd, "unknown subcommand '%s'", argv[1]);
}
