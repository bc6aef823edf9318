// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hist.h"
#include "judge.h"

double sluice_wilson_lower(__u64 k, __u64 n, double z)
{
	double p, z2, centre, half;

	if (!n)
		return 0;
	if (k > n)
		k = n;
	p = (double)k / (double)n;
	z2 = z * z;
	centre = p + z2 / (2.0 * n);
	half = z * sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
	return (centre - half) / (1 + z2 / n);
}

const char *sluice_verdict_name(enum sluice_verdict v)
{
	switch (v) {
	case SLUICE_HEALTHY:
		return "healthy";
	case SLUICE_INCONCLUSIVE:
		return "inconclusive";
	default:
		return "failing";
	}
}

/*
 * Errors are counted per packet (every RST, every ICMP error), so a
 * flow can carry more than one: a ratio is capped at 1, which keeps the
 * statistics defined and judges "more errors than flows" as all-failing.
 */
static double ratio(__u64 k, __u64 n)
{
	if (!n)
		return 0;
	return k >= n ? 1.0 : (double)k / (double)n;
}

void sluice_judge(const struct sluice_policy *p,
		  const struct sluice_evidence *cand,
		  const struct sluice_evidence *stable,
		  struct sluice_judgement *out)
{
	double pc, ps, se, limit, inc;

	memset(out, 0, sizeof(*out));
	pc = out->cand_ratio = ratio(cand->errors, cand->flows);
	ps = out->stable_ratio = ratio(stable->errors, stable->flows);
	out->cand_lower = sluice_wilson_lower(cand->errors, cand->flows,
					      SLUICE_JUDGE_Z);
	out->cand_p99_us = sluice_hist_quantile_us(cand->first_byte_hist, 0.99);
	out->stable_p99_us =
		sluice_hist_quantile_us(stable->first_byte_hist, 0.99);

	if (cand->flows < p->min_flows || stable->flows < p->min_flows) {
		out->verdict = SLUICE_INCONCLUSIVE;
		snprintf(out->reason, sizeof(out->reason),
			 "too little evidence: %llu candidate and %llu stable "
			 "flows, %u each needed",
			 (unsigned long long)cand->flows,
			 (unsigned long long)stable->flows, p->min_flows);
		return;
	}

	limit = p->max_error_ratio_ppm / 1e6;
	if (p->max_error_ratio_ppm && out->cand_lower > limit) {
		out->verdict = SLUICE_FAILING;
		snprintf(out->reason, sizeof(out->reason),
			 "candidate error ratio %.2f%% (%llu of %llu) is above "
			 "the %.2f%% limit (99.9%% lower bound %.2f%%)",
			 100 * pc, (unsigned long long)cand->errors,
			 (unsigned long long)cand->flows, 100 * limit,
			 100 * out->cand_lower);
		return;
	}

	inc = p->max_error_ratio_increase_ppm / 1e6;
	if (p->max_error_ratio_increase_ppm) {
		se = sqrt(pc * (1 - pc) / cand->flows +
			  ps * (1 - ps) / stable->flows);
		out->z = se > 0 ? (pc - ps - inc) / se : 0;
		if ((se > 0 && out->z > SLUICE_JUDGE_Z) ||
		    (!(se > 0) && pc - ps > inc)) {
			out->verdict = SLUICE_FAILING;
			snprintf(out->reason, sizeof(out->reason),
				 "candidate error ratio %.2f%% exceeds stable's "
				 "%.2f%% by more than %.2f%% (z = %.2f > %.2f)",
				 100 * pc, 100 * ps, 100 * inc, out->z,
				 SLUICE_JUDGE_Z);
			return;
		}
	}

	if (p->max_p99_first_byte_ns &&
	    sluice_hist_count(cand->first_byte_hist) >= p->min_flows &&
	    out->cand_p99_us * 1000.0 > (double)p->max_p99_first_byte_ns) {
		out->verdict = SLUICE_FAILING;
		snprintf(out->reason, sizeof(out->reason),
			 "candidate p99 first byte %.1f ms is above the %.1f ms "
			 "limit (stable %.1f ms)",
			 out->cand_p99_us / 1000.0,
			 p->max_p99_first_byte_ns / 1e6,
			 out->stable_p99_us / 1000.0);
		return;
	}
	out->verdict = SLUICE_HEALTHY;
	snprintf(out->reason, sizeof(out->reason),
		 "candidate %.2f%% errors over %llu flows, stable %.2f%% over "
		 "%llu",
		 100 * pc, (unsigned long long)cand->flows, 100 * ps,
		 (unsigned long long)stable->flows);
}
