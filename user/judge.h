/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Judging a canary step: the candidate pool's evidence against absolute
 * limits and against the stable pool, over one window of kernel
 * counters.
 *
 * Error ratios are compared with one-sided tests at a per-tick false
 * alarm rate of 0.1% (z = 3.09): the candidate fails the absolute limit
 * when the Wilson lower bound of its error ratio is above it, and the
 * relative limit when (candidate - stable - allowed increase) is more
 * than z standard errors above zero. Too few flows in either pool is
 * "inconclusive", never a failure.
 */
#ifndef SLUICE_JUDGE_H
#define SLUICE_JUDGE_H

#include "policy.h"
#include "sluice_abi.h"

#define SLUICE_JUDGE_Z 3.09 /* one-sided, alpha = 0.001 */

/* One pool's counters over the window (deltas since the window began). */
struct sluice_evidence {
	__u64 flows; /* new flows */
	__u64 errors; /* RSTs + ICMP errors + HTTP 5xx + drops */
	__u64 first_byte_hist[SLUICE_HIST_BUCKETS];
};

enum sluice_verdict {
	SLUICE_HEALTHY = 0,
	SLUICE_INCONCLUSIVE,
	SLUICE_FAILING,
};

struct sluice_judgement {
	enum sluice_verdict verdict;
	char reason[192]; /* the threshold crossed, in words */
	double cand_ratio, stable_ratio;
	double cand_lower; /* Wilson lower bound of the candidate ratio */
	double z; /* relative test statistic (0 when not computed) */
	double cand_p99_us, stable_p99_us;
};

void sluice_judge(const struct sluice_policy *p,
		  const struct sluice_evidence *cand,
		  const struct sluice_evidence *stable,
		  struct sluice_judgement *out);
/* Wilson score interval lower bound for k successes in n trials. */
double sluice_wilson_lower(__u64 k, __u64 n, double z);
const char *sluice_verdict_name(enum sluice_verdict v);

#endif /* SLUICE_JUDGE_H */
