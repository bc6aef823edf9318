// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* sluice apply -f FILE [--prune] [--dry-run] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "cli.h"
#include "commands.h"
#include "config.h"

static const struct cli_cmd apply_cmd = {
	"apply",
	"Usage: sluice apply -f FILE [--prune] [--dry-run]\n"
	"\n"
	"Make services, pools, splits and segments what FILE says (YAML; see\n"
	"tools/sluice.example.yaml). Applying the same file again changes\n"
	"nothing. The whole file is checked first: an error is reported as\n"
	"FILE:LINE:COLUMN with the field and what is allowed, and nothing is\n"
	"applied. Backends the file no longer lists are drained (their flows\n"
	"finish); each pool is swapped whole. A service's split may not be\n"
	"changed while a rollout owns it.\n"
	"\n"
	"  -f, --file FILE  the config file\n"
	"  --prune          also delete services the file does not mention\n"
	"  --dry-run        print what would change, change nothing\n",
};

int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "prune", no_argument, NULL, 'p' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ 0 },
	};
	struct sluice_apply_opts ao = { .log = stdout };
	struct sluice_cfg cfg;
	struct sluice_maps m;
	const char *file = NULL;
	char err[512];
	int o, rc, lock;

	if (cli_wants_help(&apply_cmd, argc, argv))
		return EXIT_OK;
	cli_reset_getopt();
	while ((o = getopt_long(argc, argv, ":f:", opts, NULL)) != -1) {
		switch (o) {
		case 'f':
			file = optarg;
			break;
		case 'p':
			ao.prune = true;
			break;
		case 'n':
			ao.dry_run = true;
			break;
		case ':':
			return cli_usage(&apply_cmd, "option '%s' needs a value",
					 argv[optind - 1]);
		default:
			return cli_usage(&apply_cmd, "unknown option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage(&apply_cmd, "unexpected argument '%s'",
				 argv[optind]);
	if (!file)
		return cli_usage(&apply_cmd, "-f FILE is required");
	rc = sluice_cfg_load(file, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "sluice apply: %s\n", err);
		return rc == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	rc = cli_open(&apply_cmd, &m, true, &lock);
	if (rc) {
		sluice_cfg_free(&cfg);
		return rc;
	}
	rc = sluice_apply(&m, &cfg, &ao, err, sizeof(err));
	if (rc)
		rc = rc == -EBUSY || rc == -EEXIST || rc == -ENOSPC ?
			     cli_usage(&apply_cmd, "%s", err) :
			     cli_fail(&apply_cmd, "%s", err);
	else
		printf("%s: %d service%s in line with the file\n", file,
		       cfg.nservices, cfg.nservices == 1 ? "" : "s");
	cli_close(&m, lock);
	sluice_cfg_free(&cfg);
	return rc;
}
