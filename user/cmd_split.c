// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* sluice split | flip: move new flows between the pools. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "parse.h"
#include "ctlsock.h"
#include "rollout.h"
#include "state.h"
#include "store.h"

static const struct cli_cmd split_cmd = {
	"split",
	"Usage: sluice split SERVICE PERCENT [--force]\n"
	"\n"
	"Set the candidate pool's share of new flows: '5', '5%', '0.5%',\n"
	"'0.0001%' (the finest step, one part per million), 0 to 100.\n"
	"Established flows keep their backend. As the split rises, a client\n"
	"that saw the candidate keeps seeing it (monotone exposure).\n"
	"The change is one map write: the next packet sees it.\n"
	"During a rollout the agent owns the split: a manual change is\n"
	"refused unless --force, which aborts the rollout first.\n"
	"\n"
	"Example: sluice split web 5%\n",
};

static const struct cli_cmd flip_cmd = {
	"flip",
	"Usage: sluice flip SERVICE [--force]\n"
	"\n"
	"Blue/green switch: every new flow goes to the candidate pool, which\n"
	"becomes stable; the old stable pool becomes the candidate at 0%.\n"
	"Established flows drain where they are. Flip again to switch back.\n"
	"Refused during a rollout unless --force, which aborts it first.\n",
};

/*
 * A rollout in progress owns the split. --force aborts it: through the
 * agent if one listens, else in its state file (the agent reads that
 * when it starts).
 */
static int rollout_guard(const struct cli_cmd *c, const char *svc, bool force)
{
	struct sluice_rollout r;
	json_t *req, *resp = NULL;
	int err;

	if (sluice_store_load(svc, &r) || !sluice_rollout_active(&r))
		return EXIT_OK;
	if (!force)
		return cli_usage(c,
				 "a rollout of '%s' is %s at step %d; use "
				 "--force to abort it and set the split by hand",
				 svc, sluice_rollout_state_name(r.state),
				 r.step + 1);
	req = json_pack("{s:s, s:s, s:s}", "cmd", "abort", "service", svc,
			"reason", "aborted by a manual change (--force)");
	err = sluice_ctl_call(sluice_socket_path(), req, &resp);
	json_decref(req);
	if (!err) {
		bool done = json_is_true(json_object_get(resp, "ok"));
		const char *e = json_string_value(json_object_get(resp, "error"));

		/* The agent listened but did not abort: nothing changes. */
		if (!done)
			err = cli_fail(c, "the agent did not abort the rollout: %s",
				       e ? e : "no reason given");
		json_decref(resp);
		return done ? EXIT_OK : err;
	}
	r.state = SLUICE_RO_ABORTED;
	/* The manual split that follows is the last word on the split. */
	r.settled = true;
	snprintf(r.reason, sizeof(r.reason),
		 "aborted by a manual change (--force)");
	err = sluice_store_save(&r);
	return err ? cli_fail(c, "cannot abort the rollout: %s",
			      strerror(-err)) :
		     EXIT_OK;
}

static int open_service(const struct cli_cmd *c, struct sluice_maps *m,
			int *lock, const char *name, __u32 *id,
			struct sluice_service_meta *meta)
{
	char what[64];
	int rc, err;

	rc = cli_open(c, m, true, lock);
	if (rc)
		return rc;
	err = sluice_service_find(m, name, id, meta);
	if (!err)
		return EXIT_OK;
	snprintf(what, sizeof(what), "service '%s'", name);
	rc = cli_state_error(c, err, what);
	cli_close(m, *lock);
	return rc;
}

int cmd_split(int argc, char **argv)
{
	struct sluice_service_meta meta;
	char buf[SLUICE_PPM_STRLEN];
	struct sluice_maps m;
	int rc, lock, err;
	__u32 id, ppm;

	bool force = false;

	if (cli_wants_help(&split_cmd, argc, argv))
		return EXIT_OK;
	if (argc == 4 && !strcmp(argv[3], "--force")) {
		force = true;
		argc--;
	}
	if (argc != 3)
		return cli_usage(&split_cmd, "want SERVICE PERCENT [--force]");
	if (sluice_parse_percent(argv[2], &ppm))
		return cli_usage(&split_cmd,
				 "percent '%s': want 0 to 100, e.g. 5, 5%% or 0.5%%",
				 argv[2]);
	/* Before the lock: aborting through the agent needs it. */
	rc = rollout_guard(&split_cmd, argv[1], force);
	if (rc)
		return rc;
	rc = open_service(&split_cmd, &m, &lock, argv[1], &id, &meta);
	if (rc)
		return rc;
	err = sluice_split_set(&m, id, ppm);
	if (err)
		rc = cli_fail(&split_cmd, "cannot set the split: %s",
			      strerror(-err));
	else
		printf("%s: %s of new flows to %s (candidate), rest to %s\n",
		       argv[1], sluice_format_ppm(ppm, buf, sizeof(buf)),
		       sluice_colour_name(meta.candidate),
		       sluice_colour_name(!meta.candidate));
	cli_close(&m, lock);
	return rc;
}

int cmd_flip(int argc, char **argv)
{
	struct sluice_service_meta meta;
	struct sluice_maps m;
	int rc, lock, err;
	__u32 id;

	bool force = false;

	if (cli_wants_help(&flip_cmd, argc, argv))
		return EXIT_OK;
	if (argc == 3 && !strcmp(argv[2], "--force")) {
		force = true;
		argc--;
	}
	if (argc != 2)
		return cli_usage(&flip_cmd, "want SERVICE [--force]");
	/* Before the lock: aborting through the agent needs it. */
	rc = rollout_guard(&flip_cmd, argv[1], force);
	if (rc)
		return rc;
	rc = open_service(&flip_cmd, &m, &lock, argv[1], &id, &meta);
	if (rc)
		return rc;
	err = sluice_flip(&m, id);
	if (err)
		rc = cli_fail(&flip_cmd, "cannot flip: %s", strerror(-err));
	else
		printf("%s: all new flows to %s (now stable); %s is the "
		       "candidate at 0%%\n",
		       argv[1], sluice_colour_name(meta.candidate),
		       sluice_colour_name(!meta.candidate));
	cli_close(&m, lock);
	return rc;
}
