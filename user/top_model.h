/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The numbers and text lines of `sluice top`, kept apart from curses so
 * they can be unit tested: what one refresh interval amounts to (rates,
 * error ratio, first-byte quantiles) from two snapshots of the kernel's
 * cumulative counters, and the fixed-width lines the screen is made of.
 *
 * Every line is at most TOP_WIDTH - 1 columns, so a whole row fits an
 * 80-column terminal without touching its last column (writing there
 * makes some terminals wrap).
 */
#ifndef SLUICE_TOP_MODEL_H
#define SLUICE_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "rollout.h"

#define TOP_WIDTH 80
#define TOP_HEIGHT 24
#define TOP_LINE_MAX 256 /* buffer size for any line below */

/* One colour of one service over one refresh interval. */
struct top_interval {
	double seconds;
	__u64 flows; /* new flows in the interval */
	__u64 errors; /* RSTs + ICMP errors + HTTP 5xx + drops */
	__u64 fb_samples; /* first-byte times measured */
	double flows_per_s;
	double error_ratio; /* errors per new flow; NAN without new flows */
	double p50_us, p99_us; /* first byte; NAN without samples */
};

/*
 * The interval between two snapshots of the same service for one colour.
 * -EINVAL when seconds is not positive; -ERANGE when a counter went
 * backwards (a backend's counters were removed with it, or the service
 * was re-created), because the difference would then be meaningless.
 */
int top_interval(const struct sluice_snapshot *prev,
		 const struct sluice_snapshot *cur, int colour, double seconds,
		 struct top_interval *out);

/* part / whole, or NAN when whole is 0. */
double top_share(__u64 part, __u64 whole);

/*
 * Cell formatters: "-" for NAN, so an interval without evidence reads
 * as "nothing to say" and never as a misleading zero.
 */
const char *top_fmt_rate(double per_s, char *buf, size_t len);
const char *top_fmt_percent(double ratio, char *buf, size_t len);
const char *top_fmt_us(double us, char *buf, size_t len);
/* A duration for humans: "1s", "250ms", "1.5s", "2m", "1h30m". */
const char *top_fmt_ns(__u64 ns, char *buf, size_t len);

/* The table's columns, left to right. */
enum top_col {
	TOP_COL_COLOUR,
	TOP_COL_ROLE,
	TOP_COL_SPLIT,
	TOP_COL_OBSERVED,
	TOP_COL_RATE,
	TOP_COL_ERRORS,
	TOP_COL_P50,
	TOP_COL_P99,
	TOP_NCOLS,
};

/* Where a column starts on the screen and how wide it is. */
void top_column(enum top_col c, int *start, int *width);
/* One table row from its cells (left- or right-aligned per column). */
const char *top_row(const char *const cells[TOP_NCOLS], char *buf, size_t len);
/* The column titles as a row. */
const char *top_header_row(char *buf, size_t len);

/*
 * One colour's row: configured share in ppm, the interval (NULL before
 * the second sample) and the share of the interval's new flows it got.
 */
const char *top_colour_row(__u8 colour, bool candidate, __u32 split_ppm,
			   const struct top_interval *iv, double observed,
			   char *buf, size_t len);

/* "web  198.18.100.10:80/tcp  nat  affinity client" */
const char *top_service_line(const char *name, const char *vip,
			     const char *proto, const char *mode,
			     const char *affinity, char *buf, size_t len);

/*
 * "  rollout running: step 1 of 2 (50% to green), 12s in step, bake
 * 1m" and, when stopped, its reason. now_ns is CLOCK_REALTIME, like the
 * rollout's own times.
 */
const char *top_rollout_line(const struct sluice_rollout *r, __u64 now_ns,
			     char *buf, size_t len);

/* The first line: interval, service count and the keys. */
const char *top_title_line(__u64 interval_ns, int services, bool measuring,
			   const char *clock, char *buf, size_t len);

#endif /* SLUICE_TOP_MODEL_H */
