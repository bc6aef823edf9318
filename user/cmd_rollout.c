// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* sluice rollout start | status | pause | resume | promote | abort | history */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "ctlsock.h"
#include "parse.h"
#include "policy.h"
#include "report.h"
#include "rollout.h"
#include "store.h"

static const struct cli_cmd rollout_cmd = {
	"rollout",
	"Usage: sluice rollout start SERVICE [--steps 1,5,25,50,100] [--bake 30s]\n"
	"           [--tick 250ms] [--max-error-ratio 1%]\n"
	"           [--max-error-ratio-increase 0.5%] [--max-p99-first-byte 300ms]\n"
	"           [--min-flows 200] [--failure-limit 3]\n"
	"           [--on-failure instant|ramp:10s] [--manual-gate 50 ...]\n"
	"           [--inconclusive-timeout 5m] [--rollback-flows drain|reset]\n"
	"       sluice rollout status|history SERVICE [--json]\n"
	"       sluice rollout pause|resume|promote|abort SERVICE\n"
	"       sluice rollout report SERVICE --html FILE|- [--all]\n"
	"\n"
	"The agent ('sluice agent') walks the candidate pool's split through\n"
	"the steps. Every tick it reads the kernel's per-backend counters over\n"
	"the step's window and judges the candidate: errors (backend RSTs,\n"
	"ICMP errors, HTTP 5xx, drops) per new flow against --max-error-ratio\n"
	"and against the stable pool plus --max-error-ratio-increase (one-sided\n"
	"tests at a 0.1% false-alarm rate per tick), and p99 first-byte time\n"
	"against --max-p99-first-byte (0 = no latency gate).\n"
	"\n"
	"Until both pools have --min-flows new flows in the window the verdict\n"
	"is inconclusive and the step holds; after --inconclusive-timeout it\n"
	"pauses for a human. --failure-limit failing ticks in a row roll back:\n"
	"split 0% in one map write (instant) or ramped down; the candidate's\n"
	"established flows drain there (--rollback-flows drain) or are forgotten\n"
	"so their next packets go to the stable pool, which resets them\n"
	"(reset); abort does the same. Healthy for --bake\n"
	"moves to the next step; a --manual-gate step waits for 'resume' (next\n"
	"step) or 'promote'. Reaching 100% completes the rollout and the pools\n"
	"swap roles: the candidate becomes stable.\n"
	"\n"
	"  pause    hold at the current split, stop judging\n"
	"  resume   continue (a fresh evidence window), or pass a manual gate\n"
	"  promote  jump to 100% and complete\n"
	"  abort    split 0% now\n"
	"  status   state, step, split and the last decision\n"
	"  history  every decision with its evidence\n"
	"  report   a self-contained HTML page: split, error ratios and p99\n"
	"           first byte over time, and every decision (latest\n"
	"           rollout; --all for every one in the history)\n"
	"\n"
	"Defaults are shown above. With no option at all, the agent uses the\n"
	"service's rollout: block from its --config file, if it has one.\n"
	"Example:\n"
	"  sluice rollout start web --steps 1,5,25,50,100 --bake 30s \\\n"
	"      --max-error-ratio 1% --max-p99-first-byte 300ms --min-flows 200\n",
};

/* "1,5,25,100" as ppm, into out[max]; returns the count or -1. */
static int parse_steps(const char *s, __u32 *out, int max)
{
	char buf[256], *tok, *save = NULL;
	int n = 0;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == max || sluice_parse_percent(tok, &out[n]))
			return -1;
		n++;
	}
	return n ? n : -1;
}

static int parse_policy(int argc, char **argv, struct sluice_policy *p,
			bool *any)
{
	static const struct option opts[] = {
		{ "steps", required_argument, NULL, 's' },
		{ "bake", required_argument, NULL, 'b' },
		{ "tick", required_argument, NULL, 't' },
		{ "max-error-ratio", required_argument, NULL, 'e' },
		{ "max-error-ratio-increase", required_argument, NULL, 'i' },
		{ "max-p99-first-byte", required_argument, NULL, 'l' },
		{ "min-flows", required_argument, NULL, 'm' },
		{ "failure-limit", required_argument, NULL, 'f' },
		{ "on-failure", required_argument, NULL, 'o' },
		{ "manual-gate", required_argument, NULL, 'g' },
		{ "inconclusive-timeout", required_argument, NULL, 'c' },
		{ "rollback-flows", required_argument, NULL, 'r' },
		{ 0 },
	};
	char why[160];
	int o, n;

	sluice_policy_defaults(p);
	*any = false;
	cli_reset_getopt();
	while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		*any = true;
		switch (o) {
		case 's':
			n = parse_steps(optarg, p->steps, SLUICE_MAX_STEPS);
			if (n < 0)
				return cli_usage(&rollout_cmd,
						 "steps '%s': want percents like 1,5,25,50,100",
						 optarg);
			p->nsteps = n;
			break;
		case 'b':
			if (sluice_parse_duration(optarg, &p->bake_ns))
				return cli_usage(&rollout_cmd,
						 "bake '%s' is not a duration (e.g. 30s, 1m)",
						 optarg);
			break;
		case 't':
			if (sluice_parse_duration(optarg, &p->tick_ns) ||
			    p->tick_ns < 10000000ull)
				return cli_usage(&rollout_cmd,
						 "tick '%s': want a duration of at least 10ms",
						 optarg);
			break;
		case 'e':
			if (sluice_parse_percent(optarg, &p->max_error_ratio_ppm))
				return cli_usage(&rollout_cmd,
						 "max-error-ratio '%s': want 0-100%%",
						 optarg);
			break;
		case 'i':
			if (sluice_parse_percent(optarg,
						 &p->max_error_ratio_increase_ppm))
				return cli_usage(&rollout_cmd,
						 "max-error-ratio-increase '%s': want 0-100%%",
						 optarg);
			break;
		case 'l':
			if (sluice_parse_duration(optarg,
						  &p->max_p99_first_byte_ns))
				return cli_usage(&rollout_cmd,
						 "max-p99-first-byte '%s' is not a duration",
						 optarg);
			break;
		case 'm':
			if (sluice_parse_u32(optarg, 1, 100000000, &p->min_flows))
				return cli_usage(&rollout_cmd,
						 "min-flows '%s': want a number >= 1",
						 optarg);
			break;
		case 'f':
			if (sluice_parse_u32(optarg, 1, 1000000,
					     &p->failure_limit))
				return cli_usage(&rollout_cmd,
						 "failure-limit '%s': want a number >= 1",
						 optarg);
			break;
		case 'o':
			if (!strcmp(optarg, "instant"))
				p->ramp_ns = 0;
			else if (strncmp(optarg, "ramp:", 5) ||
				 sluice_parse_duration(optarg + 5, &p->ramp_ns) ||
				 !p->ramp_ns)
				return cli_usage(&rollout_cmd,
						 "on-failure '%s': want instant or ramp:DURATION",
						 optarg);
			break;
		case 'g':
			n = parse_steps(optarg, p->gates + p->ngates,
					SLUICE_MAX_STEPS - p->ngates);
			if (n < 0)
				return cli_usage(&rollout_cmd,
						 "manual-gate '%s': want a step percent",
						 optarg);
			p->ngates += n;
			break;
		case 'r':
			if (strcmp(optarg, "drain") && strcmp(optarg, "reset"))
				return cli_usage(&rollout_cmd,
						 "rollback-flows '%s': want drain or reset",
						 optarg);
			p->reset_on_rollback = !strcmp(optarg, "reset");
			break;
		case 'c':
			if (sluice_parse_duration(optarg,
						  &p->inconclusive_timeout_ns))
				return cli_usage(&rollout_cmd,
						 "inconclusive-timeout '%s' is not a duration",
						 optarg);
			break;
		case ':':
			return cli_usage(&rollout_cmd,
					 "option '%s' needs a value",
					 argv[optind - 1]);
		default:
			return cli_usage(&rollout_cmd, "unknown option '%s'",
					 argv[optind - 1]);
		}
	}
	if (sluice_policy_check(p, why, sizeof(why)))
		return cli_usage(&rollout_cmd, "%s", why);
	return EXIT_OK;
}

static int call_agent(const char *cmd, const char *svc, json_t *extra,
		      json_t **rollout)
{
	json_t *req = json_pack("{s:s, s:s}", "cmd", cmd, "service", svc);
	json_t *resp = NULL;
	int err;

	if (extra)
		json_object_update(req, extra);
	err = sluice_ctl_call(sluice_socket_path(), req, &resp);
	json_decref(req);
	if (err == -ENOENT || err == -ECONNREFUSED)
		return cli_fail(&rollout_cmd,
				"no agent is listening on %s; start 'sluice agent'",
				sluice_socket_path());
	if (err)
		return cli_fail(&rollout_cmd, "talking to the agent: %s",
				strerror(-err));
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *e = json_string_value(json_object_get(resp, "error"));
		int rc;

		/* The agent refused: the request was wrong, nothing changed. */
		rc = cli_usage(&rollout_cmd, "%s", e ? e : "agent said no");
		json_decref(resp);
		return rc;
	}
	if (rollout)
		*rollout = json_incref(json_object_get(resp, "rollout"));
	json_decref(resp);
	return EXIT_OK;
}

static void print_rollout(const struct sluice_rollout *r)
{
	char split[SLUICE_PPM_STRLEN];
	__u64 now;
	struct timespec ts;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	printf("%s: %s, step %d of %d, split %s to %s\n", r->service,
	       sluice_rollout_state_name(r->state), r->step + 1,
	       r->policy.nsteps,
	       sluice_format_ppm(sluice_rollout_split(r), split, sizeof(split)),
	       sluice_colour_name(r->candidate));
	printf("  steps:");
	for (i = 0; i < r->policy.nsteps; i++)
		printf("%s%s%s", i ? " " : " ",
		       sluice_format_ppm(r->policy.steps[i], split,
					 sizeof(split)),
		       i == r->step ? "*" : "");
	printf("\n");
	if (sluice_rollout_active(r))
		printf("  in this step for %.1fs; %u failing tick%s in a row\n",
		       (now - r->step_started_ns) / 1e9, r->failures,
		       r->failures == 1 ? "" : "s");
	if (r->reason[0])
		printf("  reason: %s\n", r->reason);
}

static int rollout_show(const char *what, int argc, char **argv)
{
	bool as_json = argc == 3 && !strcmp(argv[2], "--json");
	struct sluice_rollout r;
	json_t *hist, *d;
	size_t i;
	int err;

	if (argc < 2)
		return cli_usage(&rollout_cmd, "rollout %s: SERVICE is missing",
				 what);
	if (argc > 3 || (argc == 3 && !as_json))
		return cli_usage(&rollout_cmd, "unexpected argument '%s'",
				 argv[2]);
	/* Read from disk: status works while the agent is down. */
	err = sluice_store_load(argv[1], &r);
	if (err == -ENOENT)
		return cli_usage(&rollout_cmd, "no rollout of '%s' in %s",
				 argv[1], sluice_state_dir());
	if (err)
		return cli_fail(&rollout_cmd, "cannot read the state of '%s': %s",
				argv[1], strerror(-err));
	hist = sluice_store_history(argv[1]);
	if (!strcmp(what, "status")) {
		if (as_json) {
			json_t *o = sluice_rollout_to_json(&r);
			size_t n = json_array_size(hist);

			if (n)
				json_object_set(o, "last_decision",
						json_array_get(hist, n - 1));
			json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
			putchar('\n');
			json_decref(o);
		} else {
			print_rollout(&r);
			d = json_array_get(hist, json_array_size(hist) - 1);
			if (d)
				printf("  last decision: %s %s: %s\n",
				       json_string_value(json_object_get(d, "ts")),
				       json_string_value(json_object_get(d, "action")),
				       json_string_value(json_object_get(d, "reason")));
		}
	} else if (as_json) {
		json_dumpf(hist, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	} else {
		json_array_foreach(hist, i, d)
			printf("%s  %-12s %-8s %s\n",
			       json_string_value(json_object_get(d, "ts")),
			       json_string_value(json_object_get(d, "action")),
			       json_string_value(json_object_get(d, "split")),
			       json_string_value(json_object_get(d, "reason")));
	}
	json_decref(hist);
	return EXIT_OK;
}

int cmd_rollout(int argc, char **argv)
{
	static const char *const simple[] = { "pause", "resume", "promote",
					       "abort" };
	struct sluice_policy p;
	struct sluice_rollout r;
	json_t *ro = NULL, *extra;
	size_t i;
	int rc;

	if (cli_wants_help(&rollout_cmd, argc, argv))
		return EXIT_OK;
	if (argc < 2)
		return cli_usage(&rollout_cmd,
				 "start, status, pause, resume, promote, abort, history or report?");
	if (!strcmp(argv[1], "status") || !strcmp(argv[1], "history"))
		return rollout_show(argv[1], argc - 1, argv + 1);
	/* report: user/report.c */
	if (!strcmp(argv[1], "report"))
		return sluice_cmd_rollout_report(argc - 1, argv + 1);
	if (!strcmp(argv[1], "start")) {
		bool any;

		rc = parse_policy(argc - 1, argv + 1, &p, &any);
		if (rc)
			return rc;
		if (optind + 1 != argc - 1)
			return cli_usage(&rollout_cmd,
					 "rollout start: want one SERVICE");
		/* No flags: the agent uses the config file's policy. */
		extra = any ? json_pack("{s:o}", "policy",
					sluice_policy_to_json(&p)) :
			      NULL;
		rc = call_agent("start", argv[optind + 1], extra, &ro);
		json_decref(extra);
	} else {
		for (i = 0; i < 4; i++)
			if (!strcmp(argv[1], simple[i]))
				break;
		if (i == 4)
			return cli_usage(&rollout_cmd, "unknown subcommand '%s'",
					 argv[1]);
		if (argc != 3)
			return cli_usage(&rollout_cmd, "rollout %s: want SERVICE",
					 argv[1]);
		rc = call_agent(argv[1], argv[2], NULL, &ro);
	}
	if (!rc && ro && !sluice_rollout_from_json(ro, &r))
		print_rollout(&r);
	json_decref(ro);
	return rc;
}
