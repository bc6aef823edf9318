// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The rollout state machine and the judge, driven with a fake world:
 * counters are set by the test, and every split write, persist and
 * decision is logged in order, so the tests can check what happened and
 * that state was persisted before each map write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "rollout.h"

#define S 1000000000ull /* one second in ns */

struct fake {
	struct sluice_snapshot snap;
	__u32 split;
	int completes;
	int forgets;
	__u32 split_at_forget;
	char log[4096];
	int persisted_since_split; /* persists since the last split write */
	bool split_without_persist;
	char last_action[32];
	char actions[1024];
};

static int f_snapshot(void *ctx, const char *svc, struct sluice_snapshot *s)
{
	(void)svc;
	*s = ((struct fake *)ctx)->snap;
	return 0;
}

static int f_set_split(void *ctx, const char *svc, __u32 ppm)
{
	struct fake *f = ctx;

	(void)svc;
	if (ppm != f->split && !f->persisted_since_split)
		f->split_without_persist = true;
	f->split = ppm;
	f->persisted_since_split = 0;
	return 0;
}

static int f_complete(void *ctx, const struct sluice_rollout *r)
{
	(void)r;
	((struct fake *)ctx)->completes++;
	return 0;
}

static int f_forget(void *ctx, const struct sluice_rollout *r)
{
	struct fake *f = ctx;

	(void)r;
	f->forgets++;
	f->split_at_forget = f->split;
	return 0;
}

static int f_persist(void *ctx, const struct sluice_rollout *r)
{
	(void)r;
	((struct fake *)ctx)->persisted_since_split++;
	return 0;
}

static void f_record(void *ctx, const struct sluice_rollout *r,
		     const char *action, const char *reason, json_t *ev)
{
	struct fake *f = ctx;

	(void)r;
	(void)reason;
	(void)ev;
	snprintf(f->last_action, sizeof(f->last_action), "%s", action);
	strncat(f->actions, action, sizeof(f->actions) - strlen(f->actions) - 2);
	strcat(f->actions, " ");
}

static struct fake F;
static struct sluice_rollout R;
static struct sluice_rollout_io IO = {
	.ctx = &F,
	.snapshot = f_snapshot,
	.set_split = f_set_split,
	.complete = f_complete,
	.persist = f_persist,
	.record = f_record,
	.forget_candidate = f_forget,
};

static int reset(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	memset(&R, 0, sizeof(R));
	return 0;
}

static struct sluice_policy policy(void)
{
	struct sluice_policy p;

	sluice_policy_defaults(&p);
	p.steps[0] = 10000;
	p.steps[1] = 250000;
	p.steps[2] = 1000000;
	p.nsteps = 3;
	/* Entries past nsteps are not part of a policy. */
	memset(p.steps + 3, 0, sizeof(p.steps) - 3 * sizeof(p.steps[0]));
	p.bake_ns = 10 * S;
	p.tick_ns = S / 4;
	p.min_flows = 100;
	p.failure_limit = 3;
	p.inconclusive_timeout_ns = 60 * S;
	return p;
}

/* Traffic in the window: flows and errors per colour (green candidate). */
static void traffic(__u64 green, __u64 green_err, __u64 blue, __u64 blue_err)
{
	F.snap.flows[SLUICE_GREEN] += green;
	F.snap.errors[SLUICE_GREEN] += green_err;
	F.snap.flows[SLUICE_BLUE] += blue;
	F.snap.errors[SLUICE_BLUE] += blue_err;
}

static void test_healthy_walk_completes(void **state)
{
	struct sluice_policy p = policy();
	__u64 t = 1000 * S;

	(void)state;
	assert_int_equal(sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO,
					      t),
			 0);
	assert_int_equal(F.split, 10000);
	assert_string_equal(F.last_action, "start");
	traffic(200, 0, 2000, 0);
	/* Healthy but not baked: holds. */
	assert_int_equal(sluice_rollout_tick(&R, &IO, t + 5 * S), 0);
	assert_int_equal(F.split, 10000);
	assert_int_equal(R.step, 0);
	/* Baked: next step, a fresh window. */
	assert_int_equal(sluice_rollout_tick(&R, &IO, t + 10 * S), 0);
	assert_int_equal(R.step, 1);
	assert_int_equal(F.split, 250000);
	assert_string_equal(F.last_action, "advance");
	/* Old evidence does not count in the new window. */
	assert_int_equal(sluice_rollout_tick(&R, &IO, t + 21 * S), 0);
	assert_int_equal(R.step, 1);
	traffic(500, 1, 1500, 1);
	assert_int_equal(sluice_rollout_tick(&R, &IO, t + 22 * S), 0);
	/* 100% is the end: split written, roles swapped, promoted. */
	assert_int_equal(F.split, 1000000);
	assert_int_equal(F.completes, 1);
	assert_int_equal(R.state, SLUICE_RO_PROMOTED);
	assert_false(sluice_rollout_active(&R));
	assert_false(F.split_without_persist);
}

static void test_inconclusive_holds_then_pauses(void **state)
{
	struct sluice_policy p = policy();
	__u64 t = 1000 * S;

	(void)state;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, t);
	traffic(20, 10, 5000, 0); /* 50% errors, but only 20 flows */
	assert_int_equal(sluice_rollout_tick(&R, &IO, t + 30 * S), 0);
	assert_int_equal(R.state, SLUICE_RO_RUNNING);
	assert_int_equal(R.step, 0);
	assert_int_equal(F.split, 10000);
	assert_string_equal(F.last_action, "inconclusive");
	assert_int_equal(sluice_rollout_tick(&R, &IO, t + 59 * S), 0);
	assert_int_equal(R.state, SLUICE_RO_RUNNING);
	assert_int_equal(sluice_rollout_tick(&R, &IO, t + 60 * S), 0);
	assert_int_equal(R.state, SLUICE_RO_PAUSED);
	assert_non_null(strstr(R.reason, "inconclusive"));
	assert_int_equal(F.split, 10000); /* neither rolled back nor advanced */
}

static void test_failures_roll_back(void **state)
{
	struct sluice_policy p = policy();
	__u64 t = 1000 * S;

	(void)state;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, t);
	traffic(400, 40, 4000, 4); /* 10% vs 0.1% */
	sluice_rollout_tick(&R, &IO, t + S);
	sluice_rollout_tick(&R, &IO, t + 2 * S);
	assert_int_equal(R.failures, 2);
	assert_int_equal(F.split, 10000);
	sluice_rollout_tick(&R, &IO, t + 3 * S);
	assert_int_equal(R.state, SLUICE_RO_ROLLED_BACK);
	assert_int_equal(F.split, 0);
	assert_string_equal(F.last_action, "rollback");
	assert_non_null(strstr(R.reason, "3 failing ticks"));
	assert_false(F.split_without_persist);
}

/* rollback_flows: drain by default; reset forgets them after split 0. */
static void test_rollback_resets_flows(void **state)
{
	struct sluice_policy p = policy();
	__u64 t = 1000 * S;

	(void)state;
	p.failure_limit = 1;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, t);
	traffic(400, 200, 4000, 0);
	sluice_rollout_tick(&R, &IO, t + S);
	assert_int_equal(R.state, SLUICE_RO_ROLLED_BACK);
	assert_int_equal(F.forgets, 0);

	reset(NULL);
	p.reset_on_rollback = true;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, t);
	traffic(400, 200, 4000, 0);
	sluice_rollout_tick(&R, &IO, t + S);
	assert_int_equal(F.forgets, 1);
	assert_int_equal(F.split_at_forget, 0);
	assert_string_equal(F.last_action, "reset flows");
}

static void test_failures_must_be_consecutive(void **state)
{
	struct sluice_policy p = policy();
	__u64 t = 1000 * S;

	(void)state;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, t);
	traffic(400, 40, 4000, 4);
	sluice_rollout_tick(&R, &IO, t + S);
	sluice_rollout_tick(&R, &IO, t + 2 * S);
	traffic(100000, 0, 100000, 0); /* the window recovers */
	sluice_rollout_tick(&R, &IO, t + 3 * S);
	assert_int_equal(R.failures, 0);
	assert_int_equal(R.state, SLUICE_RO_RUNNING);
}

static void test_ramp_rollback(void **state)
{
	struct sluice_policy p = policy();
	__u64 t = 1000 * S;

	(void)state;
	p.ramp_ns = 4 * S;
	p.failure_limit = 1;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, t);
	traffic(400, 200, 4000, 0);
	sluice_rollout_tick(&R, &IO, t + S);
	assert_int_equal(R.state, SLUICE_RO_RAMPING_BACK);
	sluice_rollout_tick(&R, &IO, t + 3 * S);
	assert_int_equal(F.split, 5000); /* halfway down from 1% */
	sluice_rollout_tick(&R, &IO, t + 5 * S);
	assert_int_equal(F.split, 0);
	assert_int_equal(R.state, SLUICE_RO_ROLLED_BACK);
}

static void test_manual_gate(void **state)
{
	struct sluice_policy p = policy();
	__u64 t = 1000 * S;

	(void)state;
	p.gates[0] = 10000;
	p.ngates = 1;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, t);
	traffic(200, 0, 2000, 0);
	sluice_rollout_tick(&R, &IO, t + 10 * S);
	assert_int_equal(R.state, SLUICE_RO_GATE);
	assert_int_equal(F.split, 10000);
	sluice_rollout_tick(&R, &IO, t + 20 * S);
	assert_int_equal(R.state, SLUICE_RO_GATE); /* waits for a human */
	assert_int_equal(sluice_rollout_resume(&R, &IO, t + 21 * S), 0);
	assert_int_equal(R.step, 1);
	assert_int_equal(F.split, 250000);
	assert_int_equal(sluice_rollout_promote(&R, &IO, t + 22 * S), 0);
	assert_int_equal(F.split, 1000000);
	assert_int_equal(R.state, SLUICE_RO_PROMOTED);
	assert_int_equal(F.completes, 1);
}

static void test_pause_resume_abort(void **state)
{
	struct sluice_policy p = policy();
	__u64 t = 1000 * S;

	(void)state;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, t);
	assert_int_equal(sluice_rollout_resume(&R, &IO, t), -EINVAL);
	assert_int_equal(sluice_rollout_pause(&R, &IO, t + S), 0);
	traffic(400, 200, 4000, 0);
	sluice_rollout_tick(&R, &IO, t + 2 * S);
	sluice_rollout_tick(&R, &IO, t + 3 * S);
	sluice_rollout_tick(&R, &IO, t + 4 * S);
	assert_int_equal(R.state, SLUICE_RO_PAUSED); /* paused: not judged */
	assert_int_equal(sluice_rollout_pause(&R, &IO, t + 5 * S), -EINVAL);
	assert_int_equal(sluice_rollout_resume(&R, &IO, t + 6 * S), 0);
	assert_int_equal(R.step_started_ns, t + 6 * S);
	assert_int_equal(sluice_rollout_abort(&R, &IO, t + 7 * S, "test"), 0);
	assert_int_equal(R.state, SLUICE_RO_ABORTED);
	assert_int_equal(F.split, 0);
	assert_int_equal(sluice_rollout_abort(&R, &IO, t + 8 * S, "x"), -EINVAL);
	assert_int_equal(sluice_rollout_promote(&R, &IO, t + 9 * S), -EINVAL);
}

static void test_persisted_round_trip(void **state)
{
	struct sluice_policy p = policy();
	struct sluice_rollout back;
	json_t *o;

	(void)state;
	p.gates[0] = 250000;
	p.ngates = 1;
	p.ramp_ns = 3 * S;
	traffic(123, 4, 5678, 9);
	F.snap.first_byte_hist[SLUICE_GREEN][7] = 42;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, 77 * S);
	R.failures = 2;
	snprintf(R.reason, sizeof(R.reason), "why not");
	o = sluice_rollout_to_json(&R);
	assert_int_equal(sluice_rollout_from_json(o, &back), 0);
	json_decref(o);
	assert_memory_equal(&back.policy, &R.policy, sizeof(R.policy));
	assert_memory_equal(&back.base, &R.base, sizeof(R.base));
	assert_int_equal(back.step, R.step);
	assert_int_equal(back.state, R.state);
	assert_int_equal(back.failures, 2);
	assert_int_equal(back.step_started_ns, 77 * S);
	assert_string_equal(back.reason, "why not");
	o = json_pack("{s:i}", "version", 2);
	assert_int_equal(sluice_rollout_from_json(o, &back), -EINVAL);
	json_decref(o);
}

/* A restart re-applies the split in force, without moving a step. */
static void test_restart_reapplies(void **state)
{
	struct sluice_policy p = policy();

	(void)state;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, 10 * S);
	F.split = 777; /* as if the map write had been lost */
	assert_int_equal(sluice_rollout_resume_after_restart(&R, &IO, 11 * S),
			 0);
	assert_int_equal(F.split, 10000);
	assert_int_equal(R.step, 0);
}

/* A finished rollout's split is left alone: an operator may own it now. */
static void test_restart_leaves_finished_alone(void **state)
{
	struct sluice_policy p = policy();

	(void)state;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, 10 * S);
	assert_int_equal(sluice_rollout_promote(&R, &IO, 11 * S), 0);
	assert_true(R.settled);
	F.split = 123; /* a manual split since */
	F.completes = 0;
	assert_int_equal(sluice_rollout_resume_after_restart(&R, &IO, 12 * S),
			 0);
	assert_int_equal(F.split, 123);
	assert_int_equal(F.completes, 0);
	/* Rolled back but the last map write not known to have happened. */
	R.state = SLUICE_RO_ROLLED_BACK;
	R.settled = false;
	assert_int_equal(sluice_rollout_resume_after_restart(&R, &IO, 13 * S),
			 0);
	assert_int_equal(F.split, 0);
	assert_true(R.settled);
}

/* Restarted mid-ramp: the split is where the ramp is now. */
static void test_restart_mid_ramp(void **state)
{
	struct sluice_policy p = policy();
	__u64 t = 1000 * S;

	(void)state;
	p.ramp_ns = 4 * S;
	p.failure_limit = 1;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, t);
	traffic(400, 200, 4000, 0);
	sluice_rollout_tick(&R, &IO, t + S);
	assert_int_equal(R.state, SLUICE_RO_RAMPING_BACK);
	F.split = 10000; /* what a naive restart would write */
	assert_int_equal(sluice_rollout_resume_after_restart(&R, &IO, t + 4 * S),
			 0);
	assert_int_equal(F.split, 2500);
}

/* A backend leaving its pool takes its counts out: start a new window. */
static void test_counters_backwards_new_window(void **state)
{
	struct sluice_policy p = policy();
	__u64 t = 1000 * S;

	(void)state;
	p.failure_limit = 1;
	traffic(1000, 10, 1000, 10);
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, t);
	F.snap.flows[SLUICE_GREEN] -= 600; /* a backend removed --now */
	assert_int_equal(sluice_rollout_tick(&R, &IO, t + S), 0);
	assert_string_equal(F.last_action, "new window");
	assert_int_equal(R.state, SLUICE_RO_RUNNING);
	assert_int_equal(R.step_started_ns, t + S);
	assert_memory_equal(&R.base, &F.snap, sizeof(F.snap));
}

/* The wall clock stepping back is no reason to skip a bake. */
static void test_clock_backwards(void **state)
{
	struct sluice_policy p = policy();
	__u64 t = 1000 * S;

	(void)state;
	sluice_rollout_start(&R, "web", &p, SLUICE_GREEN, &IO, t);
	traffic(200, 0, 2000, 0);
	assert_int_equal(sluice_rollout_tick(&R, &IO, t - S), 0);
	assert_int_equal(R.step, 0);
}

static void test_policy_check(void **state)
{
	struct sluice_policy p = policy();
	char why[160];

	(void)state;
	assert_int_equal(sluice_policy_check(&p, why, sizeof(why)), 0);
	p.steps[2] = 500000;
	assert_int_equal(sluice_policy_check(&p, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "the last step must be 100%");
	p = policy();
	p.steps[1] = 5000;
	assert_int_equal(sluice_policy_check(&p, why, sizeof(why)), -EINVAL);
	p = policy();
	p.gates[0] = 333;
	p.ngates = 1;
	assert_int_equal(sluice_policy_check(&p, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not a step"));
}

/* ---- judge ------------------------------------------------------------- */

static void test_wilson(void **state)
{
	(void)state;
	/* 0 of n: lower bound 0; 50 of 100 at z=1.96: about 0.404 */
	assert_true(sluice_wilson_lower(0, 100, 3.09) == 0.0);
	assert_true(fabs(sluice_wilson_lower(50, 100, 1.96) - 0.4038) < 1e-3);
	assert_true(sluice_wilson_lower(0, 0, 3.09) == 0.0);
}

static void test_judge_relative(void **state)
{
	struct sluice_policy p = policy();
	struct sluice_evidence c = { .flows = 1000, .errors = 30 };
	struct sluice_evidence s = { .flows = 10000, .errors = 100 };
	struct sluice_judgement j;

	(void)state;
	p.max_error_ratio_ppm = 0; /* only the relative test */
	p.max_error_ratio_increase_ppm = 5000;
	/* 3% vs 1%: diff 2% > 0.5% with z = (0.02-0.005)/0.0055 = 2.7 */
	sluice_judge(&p, &c, &s, &j);
	assert_int_equal(j.verdict, SLUICE_HEALTHY);
	c.flows = 4000;
	c.errors = 120; /* same ratio, more evidence: z = 5.2 */
	sluice_judge(&p, &c, &s, &j);
	assert_int_equal(j.verdict, SLUICE_FAILING);
	assert_true(j.z > SLUICE_JUDGE_Z);
	assert_non_null(strstr(j.reason, "exceeds stable"));
}

/* Errors are per packet: more than flows must fail, not turn into NaN. */
static void test_judge_more_errors_than_flows(void **state)
{
	struct sluice_policy p = policy();
	struct sluice_evidence c = { .flows = 300, .errors = 600 };
	struct sluice_evidence s = { .flows = 300, .errors = 0 };
	struct sluice_judgement j;

	(void)state;
	sluice_judge(&p, &c, &s, &j);
	assert_int_equal(j.verdict, SLUICE_FAILING);
	p.max_error_ratio_ppm = 0; /* the relative test alone */
	sluice_judge(&p, &c, &s, &j);
	assert_int_equal(j.verdict, SLUICE_FAILING);
}

static void test_judge_latency(void **state)
{
	struct sluice_policy p = policy();
	struct sluice_evidence c = { .flows = 500 }, s = { .flows = 500 };
	struct sluice_judgement j;

	(void)state;
	p.max_p99_first_byte_ns = 100000000ull; /* 100 ms */
	c.first_byte_hist[18] = 500; /* [131, 262) ms */
	s.first_byte_hist[10] = 500; /* [0.5, 1) ms */
	sluice_judge(&p, &c, &s, &j);
	assert_int_equal(j.verdict, SLUICE_FAILING);
	assert_non_null(strstr(j.reason, "p99 first byte"));
	c.first_byte_hist[18] = 0;
	c.first_byte_hist[12] = 500;
	sluice_judge(&p, &c, &s, &j);
	assert_int_equal(j.verdict, SLUICE_HEALTHY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_healthy_walk_completes, reset),
		cmocka_unit_test_setup(test_inconclusive_holds_then_pauses,
				       reset),
		cmocka_unit_test_setup(test_failures_roll_back, reset),
		cmocka_unit_test_setup(test_rollback_resets_flows, reset),
		cmocka_unit_test_setup(test_failures_must_be_consecutive,
				       reset),
		cmocka_unit_test_setup(test_ramp_rollback, reset),
		cmocka_unit_test_setup(test_manual_gate, reset),
		cmocka_unit_test_setup(test_pause_resume_abort, reset),
		cmocka_unit_test_setup(test_persisted_round_trip, reset),
		cmocka_unit_test_setup(test_restart_reapplies, reset),
		cmocka_unit_test_setup(test_restart_leaves_finished_alone,
				       reset),
		cmocka_unit_test_setup(test_restart_mid_ramp, reset),
		cmocka_unit_test_setup(test_counters_backwards_new_window,
				       reset),
		cmocka_unit_test_setup(test_clock_backwards, reset),
		cmocka_unit_test(test_judge_more_errors_than_flows),
		cmocka_unit_test_setup(test_policy_check, reset),
		cmocka_unit_test(test_wilson),
		cmocka_unit_test(test_judge_relative),
		cmocka_unit_test(test_judge_latency),
	};

	return cmocka_run_group_tests_name("rollout", tests, NULL, NULL);
}
