// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hist.h"
#include "rollout.h"

const char *sluice_rollout_state_name(enum sluice_rollout_state s)
{
	static const char *const names[] = {
		[SLUICE_RO_RUNNING] = "running",
		[SLUICE_RO_PAUSED] = "paused",
		[SLUICE_RO_GATE] = "waiting at gate",
		[SLUICE_RO_RAMPING_BACK] = "rolling back",
		[SLUICE_RO_PROMOTED] = "promoted",
		[SLUICE_RO_ROLLED_BACK] = "rolled back",
		[SLUICE_RO_ABORTED] = "aborted",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] :
								 "unknown";
}

bool sluice_rollout_active(const struct sluice_rollout *r)
{
	return r->state == SLUICE_RO_RUNNING || r->state == SLUICE_RO_PAUSED ||
	       r->state == SLUICE_RO_GATE ||
	       r->state == SLUICE_RO_RAMPING_BACK;
}

__u32 sluice_rollout_split(const struct sluice_rollout *r)
{
	switch (r->state) {
	case SLUICE_RO_PROMOTED:
		return SLUICE_PPM;
	case SLUICE_RO_ROLLED_BACK:
	case SLUICE_RO_ABORTED:
		return 0;
	case SLUICE_RO_RAMPING_BACK:
		return r->ramp_from_ppm;
	default:
		return r->policy.steps[r->step];
	}
}

/* Time since `since`; a clock stepped backwards counts as no time. */
static __u64 elapsed(__u64 now, __u64 since)
{
	return now > since ? now - since : 0;
}

/*
 * Counters only grow, unless a backend left its pool (its counts leave
 * the sums): then the window's differences are meaningless.
 */
static bool went_backwards(const struct sluice_snapshot *now,
			   const struct sluice_snapshot *base)
{
	int c, i;

	for (c = 0; c < SLUICE_COLOURS; c++) {
		if (now->flows[c] < base->flows[c] ||
		    now->errors[c] < base->errors[c])
			return true;
		for (i = 0; i < SLUICE_HIST_BUCKETS; i++)
			if (now->first_byte_hist[c][i] <
			    base->first_byte_hist[c][i])
				return true;
	}
	return false;
}

static bool is_gate(const struct sluice_rollout *r)
{
	int i;

	for (i = 0; i < r->policy.ngates; i++)
		if (r->policy.gates[i] == r->policy.steps[r->step])
			return true;
	return false;
}

static void window(const struct sluice_rollout *r,
		   const struct sluice_snapshot *now,
		   struct sluice_evidence *cand, struct sluice_evidence *stable)
{
	__u8 c = r->candidate, s = !c;
	int i;

	cand->flows = now->flows[c] - r->base.flows[c];
	cand->errors = now->errors[c] - r->base.errors[c];
	stable->flows = now->flows[s] - r->base.flows[s];
	stable->errors = now->errors[s] - r->base.errors[s];
	for (i = 0; i < SLUICE_HIST_BUCKETS; i++) {
		cand->first_byte_hist[i] = now->first_byte_hist[c][i] -
					   r->base.first_byte_hist[c][i];
		stable->first_byte_hist[i] = now->first_byte_hist[s][i] -
					     r->base.first_byte_hist[s][i];
	}
}

static json_t *pool_evidence(const struct sluice_evidence *e, double ratio,
			     double p99_us)
{
	return json_pack("{s:I, s:I, s:f, s:f}", "flows", (json_int_t)e->flows,
			 "errors", (json_int_t)e->errors, "error_ratio", ratio,
			 "p99_first_byte_ms", p99_us / 1000.0);
}

json_t *sluice_evidence_json(const struct sluice_evidence *cand,
			     const struct sluice_evidence *stable,
			     const struct sluice_judgement *j)
{
	json_t *o = json_object();

	json_object_set_new(o, "candidate",
			    pool_evidence(cand, j->cand_ratio, j->cand_p99_us));
	json_object_set_new(o, "stable",
			    pool_evidence(stable, j->stable_ratio,
					  j->stable_p99_us));
	json_object_set_new(o, "verdict",
			    json_string(sluice_verdict_name(j->verdict)));
	json_object_set_new(o, "candidate_error_ratio_lower_bound",
			    json_real(j->cand_lower));
	json_object_set_new(o, "z", json_real(j->z));
	return o;
}

static int begin_window(struct sluice_rollout *r,
			const struct sluice_rollout_io *io, __u64 now)
{
	int err = io->snapshot(io->ctx, r->service, &r->base);

	if (err)
		return err;
	r->step_started_ns = now;
	r->failures = 0;
	r->inconclusive_noted = false;
	return 0;
}

static void record(const struct sluice_rollout *r,
		   const struct sluice_rollout_io *io, const char *action,
		   const char *reason, json_t *evidence)
{
	io->record(io->ctx, r, action, reason, evidence);
}

/* Finish successfully: everything to the candidate, roles swap. */
static int complete(struct sluice_rollout *r,
		    const struct sluice_rollout_io *io, const char *why)
{
	int err;

	err = io->set_split(io->ctx, r->service, SLUICE_PPM);
	if (!err)
		err = io->complete(io->ctx, r);
	if (err)
		return err;
	r->state = SLUICE_RO_PROMOTED;
	r->settled = true;
	snprintf(r->reason, sizeof(r->reason), "%s", why);
	err = io->persist(io->ctx, r);
	record(r, io, "complete", why, NULL);
	return err;
}

/* Move to step i: persisted first, then the one map write. */
static int enter_step(struct sluice_rollout *r,
		      const struct sluice_rollout_io *io, int i, __u64 now,
		      json_t *evidence)
{
	char why[64];
	int err;

	r->step = i;
	if (r->policy.steps[i] >= SLUICE_PPM) {
		/* The last step: nothing left to compare against. */
		r->state = SLUICE_RO_RUNNING;
		err = io->persist(io->ctx, r);
		if (err)
			return err;
		record(r, io, "advance", "step 100%: promoting", evidence);
		return complete(r, io, "reached 100%");
	}
	err = begin_window(r, io, now);
	if (!err)
		err = io->persist(io->ctx, r);
	if (!err)
		err = io->set_split(io->ctx, r->service, r->policy.steps[i]);
	if (err)
		return err;
	snprintf(why, sizeof(why), "step %d of %d: split %.4g%%", i + 1,
		 r->policy.nsteps, r->policy.steps[i] / 1e4);
	record(r, io, i ? "advance" : "start", why, evidence);
	return 0;
}

int sluice_rollout_start(struct sluice_rollout *r, const char *svc,
			 const struct sluice_policy *p, __u8 candidate,
			 const struct sluice_rollout_io *io, __u64 now)
{
	__u64 created = r->service_created_ns;

	if (!p->nsteps || p->nsteps > SLUICE_MAX_STEPS)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->service_created_ns = created;
	snprintf(r->service, sizeof(r->service), "%s", svc);
	r->policy = *p;
	r->candidate = candidate;
	r->started_ns = now;
	r->state = SLUICE_RO_RUNNING;
	return enter_step(r, io, 0, now, NULL);
}

/* After the split went to 0: drain (default) or reset the candidate's flows. */
static void candidate_flows(struct sluice_rollout *r,
			    const struct sluice_rollout_io *io)
{
	if (r->policy.reset_on_rollback && io->forget_candidate &&
	    !io->forget_candidate(io->ctx, r))
		record(r, io, "reset flows",
		       "the candidate's flows were forgotten: their next "
		       "packets go to the stable pool",
		       NULL);
}

static int ramp_tick(struct sluice_rollout *r,
		     const struct sluice_rollout_io *io, __u64 now);

int sluice_rollout_resume_after_restart(struct sluice_rollout *r,
					const struct sluice_rollout_io *io,
					__u64 now)
{
	switch (r->state) {
	case SLUICE_RO_RUNNING:
		if (r->policy.steps[r->step] >= SLUICE_PPM)
			return complete(r, io, "reached 100%");
		return io->set_split(io->ctx, r->service,
				     sluice_rollout_split(r));
	case SLUICE_RO_PAUSED:
	case SLUICE_RO_GATE:
		return io->set_split(io->ctx, r->service,
				     sluice_rollout_split(r));
	case SLUICE_RO_RAMPING_BACK:
		/* Where the ramp is now, not where it started. */
		return ramp_tick(r, io, now);
	default:
		/* Finished: redo the last map write only if it may be lost. */
		if (r->settled)
			return 0;
		if (r->state == SLUICE_RO_PROMOTED)
			return complete(r, io, r->reason);
		if (io->set_split(io->ctx, r->service, 0))
			return -EIO;
		r->settled = true;
		return io->persist(io->ctx, r);
	}
}

static int roll_back(struct sluice_rollout *r,
		     const struct sluice_rollout_io *io, __u64 now,
		     const char *why, json_t *evidence)
{
	int err;

	snprintf(r->reason, sizeof(r->reason), "%s", why);
	if (r->policy.ramp_ns) {
		r->state = SLUICE_RO_RAMPING_BACK;
		r->ramp_started_ns = now;
		r->ramp_from_ppm = r->policy.steps[r->step];
		err = io->persist(io->ctx, r);
		record(r, io, "rollback", why, evidence);
		return err;
	}
	r->state = SLUICE_RO_ROLLED_BACK;
	err = io->persist(io->ctx, r);
	if (!err)
		err = io->set_split(io->ctx, r->service, 0);
	record(r, io, "rollback", why, evidence);
	if (!err) {
		candidate_flows(r, io);
		r->settled = true;
		err = io->persist(io->ctx, r);
	}
	return err;
}

static int ramp_tick(struct sluice_rollout *r,
		     const struct sluice_rollout_io *io, __u64 now)
{
	__u64 done = elapsed(now, r->ramp_started_ns);
	__u32 ppm;

	if (done >= r->policy.ramp_ns) {
		r->state = SLUICE_RO_ROLLED_BACK;
		if (io->persist(io->ctx, r))
			return -EIO;
		record(r, io, "rolled back", "ramp finished: split 0%", NULL);
		if (io->set_split(io->ctx, r->service, 0))
			return -EIO;
		candidate_flows(r, io);
		r->settled = true;
		return io->persist(io->ctx, r);
	}
	ppm = (__u32)((double)r->ramp_from_ppm *
		      (1.0 - (double)done / (double)r->policy.ramp_ns));
	return io->set_split(io->ctx, r->service, ppm);
}

int sluice_rollout_tick(struct sluice_rollout *r,
			const struct sluice_rollout_io *io, __u64 now)
{
	struct sluice_evidence cand, stable;
	struct sluice_judgement j;
	struct sluice_snapshot snap;
	json_t *ev;
	int err;

	if (r->state == SLUICE_RO_RAMPING_BACK)
		return ramp_tick(r, io, now);
	if (r->state != SLUICE_RO_RUNNING)
		return 0;
	err = io->snapshot(io->ctx, r->service, &snap);
	if (err)
		return err;
	if (went_backwards(&snap, &r->base)) {
		r->base = snap;
		r->step_started_ns = now;
		r->failures = 0;
		record(r, io, "new window",
		       "a backend left a pool: the evidence starts over", NULL);
		return io->persist(io->ctx, r);
	}
	window(r, &snap, &cand, &stable);
	sluice_judge(&r->policy, &cand, &stable, &j);
	ev = sluice_evidence_json(&cand, &stable, &j);

	switch (j.verdict) {
	case SLUICE_FAILING:
		r->failures++;
		record(r, io, "fail", j.reason, ev);
		if (r->failures >= r->policy.failure_limit) {
			char why[256];

			snprintf(why, sizeof(why),
				 "%u failing ticks in a row: %s", r->failures,
				 j.reason);
			err = roll_back(r, io, now, why, ev);
		} else {
			err = io->persist(io->ctx, r);
		}
		break;
	case SLUICE_INCONCLUSIVE:
		r->failures = 0;
		if (!r->inconclusive_noted) {
			r->inconclusive_noted = true;
			record(r, io, "inconclusive", j.reason, ev);
			err = io->persist(io->ctx, r);
		}
		if (r->policy.inconclusive_timeout_ns &&
		    elapsed(now, r->step_started_ns) >=
			    r->policy.inconclusive_timeout_ns) {
			r->state = SLUICE_RO_PAUSED;
			snprintf(r->reason, sizeof(r->reason),
				 "inconclusive too long: %s", j.reason);
			err = io->persist(io->ctx, r);
			record(r, io, "pause", r->reason, ev);
		}
		break;
	default:
		if (r->failures) {
			r->failures = 0;
			err = io->persist(io->ctx, r);
		}
		if (elapsed(now, r->step_started_ns) < r->policy.bake_ns)
			break;
		if (is_gate(r)) {
			r->state = SLUICE_RO_GATE;
			snprintf(r->reason, sizeof(r->reason),
				 "manual gate at %.4g%%: waiting for promote "
				 "or resume",
				 r->policy.steps[r->step] / 1e4);
			err = io->persist(io->ctx, r);
			record(r, io, "gate", r->reason, ev);
			break;
		}
		err = enter_step(r, io, r->step + 1, now, ev);
		break;
	}
	json_decref(ev);
	return err;
}

int sluice_rollout_pause(struct sluice_rollout *r,
			 const struct sluice_rollout_io *io, __u64 now)
{
	(void)now;
	if (r->state != SLUICE_RO_RUNNING)
		return -EINVAL;
	r->state = SLUICE_RO_PAUSED;
	snprintf(r->reason, sizeof(r->reason), "paused by request");
	record(r, io, "pause", r->reason, NULL);
	return io->persist(io->ctx, r);
}

int sluice_rollout_resume(struct sluice_rollout *r,
			  const struct sluice_rollout_io *io, __u64 now)
{
	int err;

	if (r->state == SLUICE_RO_GATE) {
		r->state = SLUICE_RO_RUNNING;
		return enter_step(r, io, r->step + 1, now, NULL);
	}
	if (r->state != SLUICE_RO_PAUSED)
		return -EINVAL;
	/* Evidence from before the pause is stale: a fresh window. */
	r->state = SLUICE_RO_RUNNING;
	r->reason[0] = 0;
	err = begin_window(r, io, now);
	if (!err)
		err = io->persist(io->ctx, r);
	record(r, io, "resume", "resumed by request: new evidence window", NULL);
	return err;
}

int sluice_rollout_promote(struct sluice_rollout *r,
			   const struct sluice_rollout_io *io, __u64 now)
{
	(void)now;
	if (r->state != SLUICE_RO_RUNNING && r->state != SLUICE_RO_PAUSED &&
	    r->state != SLUICE_RO_GATE)
		return -EINVAL;
	record(r, io, "promote", "promoted by request: split 100%", NULL);
	return complete(r, io, "promoted by request");
}

int sluice_rollout_abort(struct sluice_rollout *r,
			 const struct sluice_rollout_io *io, __u64 now,
			 const char *why)
{
	int err;

	(void)now;
	if (!sluice_rollout_active(r))
		return -EINVAL;
	r->state = SLUICE_RO_ABORTED;
	snprintf(r->reason, sizeof(r->reason), "%s", why);
	err = io->persist(io->ctx, r);
	if (!err)
		err = io->set_split(io->ctx, r->service, 0);
	record(r, io, "abort", why, NULL);
	if (!err) {
		candidate_flows(r, io);
		r->settled = true;
		err = io->persist(io->ctx, r);
	}
	return err;
}

/* ---- persisted form ---------------------------------------------------- */

static json_t *u32_array(const __u32 *v, int n)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *u64_array(const __u64 *v, int n)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer((json_int_t)v[i]));
	return a;
}

json_t *sluice_policy_to_json(const struct sluice_policy *p)
{
	return json_pack("{s:o, s:I, s:I, s:i, s:i, s:I, s:i, s:i, s:I, s:o, s:I, s:b}",
			 "steps", u32_array(p->steps, p->nsteps), "bake_ns",
			 (json_int_t)p->bake_ns, "tick_ns",
			 (json_int_t)p->tick_ns, "max_error_ratio_ppm",
			 p->max_error_ratio_ppm,
			 "max_error_ratio_increase_ppm",
			 p->max_error_ratio_increase_ppm,
			 "max_p99_first_byte_ns",
			 (json_int_t)p->max_p99_first_byte_ns, "min_flows",
			 p->min_flows, "failure_limit", p->failure_limit,
			 "ramp_ns", (json_int_t)p->ramp_ns, "gates",
			 u32_array(p->gates, p->ngates),
			 "inconclusive_timeout_ns",
			 (json_int_t)p->inconclusive_timeout_ns,
			 "reset_on_rollback", p->reset_on_rollback);
}

json_t *sluice_rollout_to_json(const struct sluice_rollout *r)
{
	json_t *pol = sluice_policy_to_json(&r->policy), *base, *o;
	int c;

	base = json_object();
	json_object_set_new(base, "flows", u64_array(r->base.flows, 2));
	json_object_set_new(base, "errors", u64_array(r->base.errors, 2));
	for (c = 0; c < SLUICE_COLOURS; c++)
		json_object_set_new(base, c ? "first_byte_hist_green" :
					      "first_byte_hist_blue",
				    u64_array(r->base.first_byte_hist[c],
					      SLUICE_HIST_BUCKETS));
	o = json_pack("{s:i, s:s, s:s, s:i, s:i, s:I, s:I, s:i, s:b, s:I, s:i, s:s}",
		      "version", 1, "service", r->service, "state",
		      sluice_rollout_state_name(r->state), "state_code",
		      r->state, "step", r->step, "started_ns",
		      (json_int_t)r->started_ns, "step_started_ns",
		      (json_int_t)r->step_started_ns, "failures", r->failures,
		      "inconclusive_noted", r->inconclusive_noted,
		      "ramp_started_ns", (json_int_t)r->ramp_started_ns,
		      "ramp_from_ppm", r->ramp_from_ppm, "reason", r->reason);
	json_object_set_new(o, "candidate", json_integer(r->candidate));
	json_object_set_new(o, "settled", json_boolean(r->settled));
	json_object_set_new(o, "service_created_ns",
			    json_integer((json_int_t)r->service_created_ns));
	json_object_set_new(o, "policy", pol);
	json_object_set_new(o, "base", base);
	return o;
}

static int get_u32s(json_t *a, __u32 *out, int max, int *n)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) > (size_t)max)
		return -EINVAL;
	json_array_foreach(a, i, v)
		out[i] = (__u32)json_integer_value(v);
	*n = (int)json_array_size(a);
	return 0;
}

static int get_u64s(json_t *a, __u64 *out, int n)
{
	int i;

	if (!json_is_array(a) || json_array_size(a) != (size_t)n)
		return -EINVAL;
	for (i = 0; i < n; i++)
		out[i] = (__u64)json_integer_value(json_array_get(a, i));
	return 0;
}

/* Steps rising, ending at 100%, gates among them, limits sane. */
int sluice_policy_check(const struct sluice_policy *p, char *why, size_t len)
{
	int i, j;

	if (p->nsteps < 1 || p->nsteps > SLUICE_MAX_STEPS) {
		snprintf(why, len, "want 1 to %d steps", SLUICE_MAX_STEPS);
		return -EINVAL;
	}
	for (i = 0; i < p->nsteps; i++) {
		if (!p->steps[i] || p->steps[i] > SLUICE_PPM ||
		    (i && p->steps[i] <= p->steps[i - 1])) {
			snprintf(why, len,
				 "steps must rise strictly, above 0%% and up to "
				 "100%%");
			return -EINVAL;
		}
	}
	if (p->steps[p->nsteps - 1] != SLUICE_PPM) {
		snprintf(why, len, "the last step must be 100%%");
		return -EINVAL;
	}
	for (i = 0; i < p->ngates; i++) {
		for (j = 0; j < p->nsteps; j++)
			if (p->gates[i] == p->steps[j])
				break;
		if (j == p->nsteps) {
			snprintf(why, len, "manual gate %.4g%% is not a step",
				 p->gates[i] / 1e4);
			return -EINVAL;
		}
	}
	if (!p->tick_ns || p->tick_ns > 3600000000000ull) {
		snprintf(why, len, "tick must be between 1ns and 1h");
		return -EINVAL;
	}
	if (!p->failure_limit) {
		snprintf(why, len, "failure limit must be at least 1");
		return -EINVAL;
	}
	return 0;
}

int sluice_policy_from_json(json_t *p, struct sluice_policy *out)
{
	struct sluice_policy pol;

	memset(&pol, 0, sizeof(pol));
	if (!json_is_object(p) ||
	    get_u32s(json_object_get(p, "steps"), pol.steps, SLUICE_MAX_STEPS,
		     &pol.nsteps) ||
	    get_u32s(json_object_get(p, "gates"), pol.gates, SLUICE_MAX_STEPS,
		     &pol.ngates))
		return -EINVAL;
	pol.bake_ns = json_integer_value(json_object_get(p, "bake_ns"));
	pol.tick_ns = json_integer_value(json_object_get(p, "tick_ns"));
	pol.max_error_ratio_ppm =
		json_integer_value(json_object_get(p, "max_error_ratio_ppm"));
	pol.max_error_ratio_increase_ppm = json_integer_value(
		json_object_get(p, "max_error_ratio_increase_ppm"));
	pol.max_p99_first_byte_ns =
		json_integer_value(json_object_get(p, "max_p99_first_byte_ns"));
	pol.min_flows = json_integer_value(json_object_get(p, "min_flows"));
	pol.failure_limit =
		json_integer_value(json_object_get(p, "failure_limit"));
	pol.ramp_ns = json_integer_value(json_object_get(p, "ramp_ns"));
	pol.inconclusive_timeout_ns = json_integer_value(
		json_object_get(p, "inconclusive_timeout_ns"));
	pol.reset_on_rollback =
		json_is_true(json_object_get(p, "reset_on_rollback"));
	*out = pol;
	return 0;
}

int sluice_rollout_from_json(json_t *o, struct sluice_rollout *r)
{
	char why[160];
	json_t *p = json_object_get(o, "policy"), *b = json_object_get(o, "base");
	const char *svc = json_string_value(json_object_get(o, "service"));
	const char *reason = json_string_value(json_object_get(o, "reason"));
	int n;

	memset(r, 0, sizeof(*r));
	if (!svc || !json_is_object(p) || !json_is_object(b) ||
	    json_integer_value(json_object_get(o, "version")) != 1)
		return -EINVAL;
	snprintf(r->service, sizeof(r->service), "%s", svc);
	snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
	r->state = (enum sluice_rollout_state)json_integer_value(
		json_object_get(o, "state_code"));
	r->step = (int)json_integer_value(json_object_get(o, "step"));
	r->candidate = json_integer_value(json_object_get(o, "candidate")) & 1;
	r->settled = json_is_true(json_object_get(o, "settled"));
	r->service_created_ns =
		json_integer_value(json_object_get(o, "service_created_ns"));
	r->started_ns = json_integer_value(json_object_get(o, "started_ns"));
	r->step_started_ns =
		json_integer_value(json_object_get(o, "step_started_ns"));
	r->failures = json_integer_value(json_object_get(o, "failures"));
	r->inconclusive_noted =
		json_is_true(json_object_get(o, "inconclusive_noted"));
	r->ramp_started_ns =
		json_integer_value(json_object_get(o, "ramp_started_ns"));
	r->ramp_from_ppm = json_integer_value(json_object_get(o, "ramp_from_ppm"));
	if (sluice_policy_from_json(p, &r->policy))
		return -EINVAL;
	if (get_u64s(json_object_get(b, "flows"), r->base.flows, 2) ||
	    get_u64s(json_object_get(b, "errors"), r->base.errors, 2) ||
	    get_u64s(json_object_get(b, "first_byte_hist_blue"),
		     r->base.first_byte_hist[0], SLUICE_HIST_BUCKETS) ||
	    get_u64s(json_object_get(b, "first_byte_hist_green"),
		     r->base.first_byte_hist[1], SLUICE_HIST_BUCKETS))
		return -EINVAL;
	n = r->policy.nsteps;
	/* A state file is input too: what it says must make sense. */
	if (sluice_policy_check(&r->policy, why, sizeof(why)) || !n ||
	    r->step < 0 || r->step >= n || r->state > SLUICE_RO_ABORTED ||
	    r->ramp_from_ppm > SLUICE_PPM)
		return -EINVAL;
	return 0;
}
