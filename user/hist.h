/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Quantiles from the data path's log2 microsecond histograms. */
#ifndef SLUICE_HIST_H
#define SLUICE_HIST_H

#include <linux/types.h>

/* Upper bound in microseconds of histogram bucket i. */
double sluice_hist_upper_us(int i);
/*
 * The q-quantile (0 < q <= 1) in microseconds, interpolated linearly
 * inside its bucket; 0 when the histogram is empty.
 */
double sluice_hist_quantile_us(const __u64 *hist, double q);
__u64 sluice_hist_count(const __u64 *hist);

#endif /* SLUICE_HIST_H */
