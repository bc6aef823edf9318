// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* sluice service add | del | list */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "cli.h"
#include "commands.h"
#include "parse.h"
#include "names.h"
#include "rollout.h"
#include "store.h"
#include "state.h"

static const struct cli_cmd service_cmd = {
	"service",
	"Usage: sluice service add NAME --vip ADDR:PORT/tcp|udp\n"
	"                          [--mode nat|dsr] [--affinity flow|client|prefix]\n"
	"       sluice service del NAME\n"
	"       sluice service list\n"
	"\n"
	"A service is a VIP, port and protocol that clients reach; its new\n"
	"flows are split between a blue and a green pool.\n"
	"\n"
	"  --vip       198.18.0.10:80/tcp or [fd00::10]:443/tcp\n"
	"  --mode      nat (default): rewrite to the backend, translate replies\n"
	"              dsr: rewrite MACs only; backends own the VIP and reply\n"
	"              to clients directly\n"
	"  --affinity  what the split hashes: flow (5-tuple, default), client\n"
	"              (source address) or prefix (source /24 or /48)\n"
	"\n"
	"'del' stops steering the VIP at once and forgets its pools, segments,\n"
	"counters and flows. A new service starts with blue stable, green as\n"
	"candidate and a split of 0%.\n"
	"\n"
	"Example: sluice service add web --vip 198.18.0.10:80/tcp --affinity client\n",
};


static int name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (!n || n >= SLUICE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!(name[i] == '-' || name[i] == '_' || name[i] == '.' ||
		      (name[i] >= '0' && name[i] <= '9') ||
		      (name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= 'A' && name[i] <= 'Z')))
			return 0;
	return 1;
}

static int lookup_name(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static int service_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vip", required_argument, NULL, 'v' },
		{ "mode", required_argument, NULL, 'm' },
		{ "affinity", required_argument, NULL, 'a' },
		{ 0 },
	};
	struct sluice_service_key key = {};
	const char *name, *vip = NULL;
	int mode = SLUICE_MODE_NAT, aff = SLUICE_AFFINITY_FLOW, o, rc, lock,
	    err;
	struct sluice_maps m;
	char what[96];
	__u16 port;
	__u32 id;

	cli_reset_getopt();
	while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (o) {
		case 'v':
			vip = optarg;
			break;
		case 'm':
			mode = lookup_name(sluice_mode_names, 2, optarg);
			if (mode < 0)
				return cli_usage(&service_cmd,
						 "mode '%s': use nat or dsr",
						 optarg);
			break;
		case 'a':
			aff = lookup_name(sluice_affinity_names, 3, optarg);
			if (aff < 0)
				return cli_usage(&service_cmd,
						 "affinity '%s': use flow, client or prefix",
						 optarg);
			break;
		case ':':
			return cli_usage(&service_cmd,
					 "option '%s' needs a value",
					 argv[optind - 1]);
		default:
			return cli_usage(&service_cmd, "unknown option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind == argc)
		return cli_usage(&service_cmd, "service add: NAME is missing");
	if (optind + 1 != argc)
		return cli_usage(&service_cmd, "unexpected argument '%s'",
				 argv[optind + 1]);
	name = argv[optind];
	if (!name_ok(name))
		return cli_usage(&service_cmd,
				 "service name '%s': use 1-%d letters, digits, '-', '_' or '.'",
				 name, SLUICE_NAME_MAX - 1);
	if (!vip)
		return cli_usage(&service_cmd, "--vip ADDR:PORT/tcp|udp is required");
	if (sluice_parse_vip(vip, key.vip, &port, &key.proto, NULL))
		return cli_usage(&service_cmd,
				 "vip '%s': want ADDR:PORT/tcp or [ADDR6]:PORT/udp, port 1-65535",
				 vip);
	key.port = htons(port);

	rc = cli_open(&service_cmd, &m, true, &lock);
	if (rc)
		return rc;
	err = sluice_service_create(&m, name, &key, mode, aff, &id);
	if (err == -EEXIST) {
		if (!sluice_service_find(&m, name, NULL, NULL))
			snprintf(what, sizeof(what), "service '%s'", name);
		else
			snprintf(what, sizeof(what), "a service with vip %s",
				 vip);
		rc = cli_state_error(&service_cmd, err, what);
	} else if (err == -ENOSPC) {
		rc = cli_usage(&service_cmd,
			       "cannot add '%s': all %d services are in use",
			       name, SLUICE_MAX_SERVICES);
	} else if (err) {
		rc = cli_state_error(&service_cmd, err, name);
	} else {
		printf("service %s: %s %s, affinity %s\n", name, vip,
		       sluice_mode_names[mode], sluice_affinity_names[aff]);
	}
	cli_close(&m, lock);
	return rc;
}

static int service_del(int argc, char **argv)
{
	struct sluice_maps m;
	char what[64];
	int rc, lock, err;
	__u32 id;

	if (argc < 2)
		return cli_usage(&service_cmd, "service del: NAME is missing");
	if (argc > 2)
		return cli_usage(&service_cmd, "unexpected argument '%s'",
				 argv[2]);
	rc = cli_open(&service_cmd, &m, true, &lock);
	if (rc)
		return rc;
	snprintf(what, sizeof(what), "service '%s'", argv[1]);
	err = sluice_service_find(&m, argv[1], &id, NULL);
	if (!err)
		err = sluice_service_destroy(&m, id);
	if (err) {
		rc = cli_state_error(&service_cmd, err, what);
	} else {
		struct sluice_rollout r;

		/* Its rollout ends with it (the agent notices as well). */
		if (!sluice_store_load(argv[1], &r) && sluice_rollout_active(&r)) {
			r.state = SLUICE_RO_ABORTED;
			r.settled = true;
			snprintf(r.reason, sizeof(r.reason),
				 "service '%s' was deleted during the rollout",
				 argv[1]);
			sluice_store_save(&r);
		}
		printf("service %s deleted\n", argv[1]);
	}
	cli_close(&m, lock);
	return rc;
}

static int service_list(int argc, char **argv)
{
	struct sluice_service_meta meta;
	struct sluice_service v;
	struct sluice_maps m;
	char vip[SLUICE_ENDPOINT_STRLEN], split[SLUICE_PPM_STRLEN];
	char vipp[SLUICE_ENDPOINT_STRLEN + 4];
	int rc, lock, n = 0;
	__u32 id;

	if (argc != 1)
		return cli_usage(&service_cmd, "unexpected argument '%s'",
				 argv[1]);
	rc = cli_open(&service_cmd, &m, false, &lock);
	if (rc)
		return rc;
	for (id = 0; id < SLUICE_MAX_SERVICES; id++) {
		if (sluice_meta_read(&m, id, &meta) ||
		    sluice_service_value(&m, id, &v))
			continue;
		if (!n++)
			printf("%-16s %-28s %-4s %-8s %-9s %s\n", "NAME", "VIP",
			       "MODE", "AFFINITY", "CANDIDATE", "SPLIT");
		sluice_format_endpoint(meta.key.vip, ntohs(meta.key.port), vip,
				       sizeof(vip));
		snprintf(vipp, sizeof(vipp), "%s/%s", vip,
			 meta.key.proto == IPPROTO_TCP ? "tcp" : "udp");
		printf("%-16s %-28s %-4s %-8s %-9s %s\n", meta.name, vipp,
		       sluice_mode_names[v.mode & 1],
		       sluice_affinity_names[v.affinity % 3],
		       sluice_colour_name(meta.candidate),
		       sluice_format_ppm(meta.split_ppm, split, sizeof(split)));
	}
	if (!n)
		printf("no services\n");
	cli_close(&m, lock);
	return EXIT_OK;
}

int cmd_service(int argc, char **argv)
{
	if (cli_wants_help(&service_cmd, argc, argv))
		return EXIT_OK;
	if (argc < 2)
		return cli_usage(&service_cmd, "add, del or list?");
	if (!strcmp(argv[1], "add"))
		return service_add(argc - 1, argv + 1);
	if (!strcmp(argv[1], "del"))
		return service_del(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return service_list(argc - 1, argv + 1);
	return cli_usage(&service_cmd, "unknown subcommand '%s'", argv[1]);
}
