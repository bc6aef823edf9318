/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * A rollout policy: the steps the agent walks and the gates it judges
 * each step by. Filled from `sluice rollout start` flags or from a
 * service's `rollout:` block in the config file; both start from
 * sluice_policy_defaults().
 */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include <stdbool.h>
#include <linux/types.h>

#define SLUICE_MAX_STEPS 16

struct sluice_policy {
	__u32 steps[SLUICE_MAX_STEPS]; /* candidate split per step, ppm, rising */
	int nsteps;
	__u64 bake_ns; /* healthy this long (with evidence) -> next step */
	__u64 tick_ns; /* how often counters are read and judged */
	/* absolute limit on the candidate's error ratio; 0 = none */
	__u32 max_error_ratio_ppm;
	/* candidate may exceed stable's error ratio by at most this; 0 = none */
	__u32 max_error_ratio_increase_ppm;
	__u64 max_p99_first_byte_ns; /* 0 = no latency gate */
	__u32 min_flows; /* per pool per window before any verdict */
	__u32 failure_limit; /* consecutive failing ticks -> rollback */
	__u64 ramp_ns; /* rollback: 0 = one map write, else ramp down */
	/*
	 * On rollback or abort, forget the candidate's flows: their next
	 * packets are steered to the stable pool (whose backends reset
	 * them), instead of draining on the candidate.
	 */
	bool reset_on_rollback;
	__u32 gates[SLUICE_MAX_STEPS]; /* steps (ppm) that wait for promote */
	int ngates;
	__u64 inconclusive_timeout_ns; /* then pause for a human; 0 = never */
};

static inline void sluice_policy_defaults(struct sluice_policy *p)
{
	static const __u32 steps[] = { 10000, 50000, 250000, 500000, 1000000 };
	int i;

	*p = (struct sluice_policy){
		.nsteps = 5,
		.bake_ns = 30000000000ull,
		.tick_ns = 250000000ull,
		.max_error_ratio_ppm = 10000,
		.max_error_ratio_increase_ppm = 5000,
		.max_p99_first_byte_ns = 0,
		.min_flows = 200,
		.failure_limit = 3,
		.ramp_ns = 0,
		.ngates = 0,
		.inconclusive_timeout_ns = 300000000000ull,
	};
	for (i = 0; i < p->nsteps; i++)
		p->steps[i] = steps[i];
}

#endif /* SLUICE_POLICY_H */
