// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include "hist.h"
#include "sluice_abi.h"

double sluice_hist_upper_us(int i)
{
	/* Bucket 0 is [0, 1) us; bucket i is [2^(i-1), 2^i) us. */
	return (double)(1ull << i);
}

static double lower_us(int i)
{
	return i ? (double)(1ull << (i - 1)) : 0.0;
}

__u64 sluice_hist_count(const __u64 *hist)
{
	__u64 n = 0;
	int i;

	for (i = 0; i < SLUICE_HIST_BUCKETS; i++)
		n += hist[i];
	return n;
}

double sluice_hist_quantile_us(const __u64 *hist, double q)
{
	__u64 total = sluice_hist_count(hist), seen = 0;
	double rank;
	int i;

	if (!total)
		return 0;
	rank = q * (double)total;
	for (i = 0; i < SLUICE_HIST_BUCKETS; i++) {
		if (hist[i] && (double)(seen + hist[i]) >= rank) {
			double f = (rank - (double)seen) / (double)hist[i];

			return lower_us(i) +
			       f * (sluice_hist_upper_us(i) - lower_us(i));
		}
		seen += hist[i];
	}
	return sluice_hist_upper_us(SLUICE_HIST_BUCKETS - 1);
}
