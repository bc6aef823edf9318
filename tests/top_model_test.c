// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * What `sluice top` computes and prints, without a terminal: interval
 * rates, error ratios and quantiles from two counter snapshots, the
 * cell formatters, and the widths of the lines an 80x24 screen holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "hist.h"
#include "top_model.h"

#define S 1000000000ull /* one second in ns */

static void test_interval_rates(void **state)
{
	struct sluice_snapshot prev = {}, cur = {};
	struct top_interval iv;

	(void)state;
	prev.flows[SLUICE_GREEN] = 1000;
	prev.errors[SLUICE_GREEN] = 400;
	cur.flows[SLUICE_GREEN] = 1200;
	cur.errors[SLUICE_GREEN] = 450;
	/* The other colour's counters must not leak in. */
	cur.flows[SLUICE_BLUE] = 999999;
	cur.errors[SLUICE_BLUE] = 999;
	assert_int_equal(top_interval(&prev, &cur, SLUICE_GREEN, 2.0, &iv), 0);
	assert_int_equal(iv.flows, 200);
	assert_int_equal(iv.errors, 50);
	assert_float_equal(iv.flows_per_s, 100.0, 1e-9);
	/* Over the interval (50 / 200), not since the start (450 / 1200). */
	assert_float_equal(iv.error_ratio, 0.25, 1e-9);
	assert_float_equal(iv.seconds, 2.0, 1e-12);
}

static void test_interval_quantiles_are_the_intervals(void **state)
{
	struct sluice_snapshot prev = {}, cur = {};
	__u64 delta[SLUICE_HIST_BUCKETS] = {};
	struct top_interval iv;

	(void)state;
	/* Before: 1000 slow first bytes (bucket 15, 16-32 ms). */
	prev.first_byte_hist[SLUICE_BLUE][15] = 1000;
	cur.first_byte_hist[SLUICE_BLUE][15] = 1000;
	/* In the interval: 90 fast (bucket 8) and 10 at bucket 12. */
	cur.first_byte_hist[SLUICE_BLUE][8] = 90;
	cur.first_byte_hist[SLUICE_BLUE][12] = 10;
	delta[8] = 90;
	delta[12] = 10;
	assert_int_equal(top_interval(&prev, &cur, SLUICE_BLUE, 1.0, &iv), 0);
	assert_int_equal(iv.fb_samples, 100);
	assert_float_equal(iv.p50_us, sluice_hist_quantile_us(delta, 0.50),
			   1e-9);
	assert_float_equal(iv.p99_us, sluice_hist_quantile_us(delta, 0.99),
			   1e-9);
	/* The old slow samples do not drag the interval's p99 up. */
	assert_true(iv.p50_us >= 128 && iv.p50_us <= 256);
	assert_true(iv.p99_us >= 2048 && iv.p99_us <= 4096);
}

static void test_interval_nothing_to_measure(void **state)
{
	struct sluice_snapshot prev = {}, cur = {};
	struct top_interval iv;

	(void)state;
	prev.flows[SLUICE_BLUE] = cur.flows[SLUICE_BLUE] = 10;
	prev.errors[SLUICE_BLUE] = 1;
	cur.errors[SLUICE_BLUE] = 3; /* late errors of older flows */
	assert_int_equal(top_interval(&prev, &cur, SLUICE_BLUE, 1.0, &iv), 0);
	assert_float_equal(iv.flows_per_s, 0.0, 0);
	assert_true(isnan(iv.error_ratio));
	assert_true(isnan(iv.p50_us));
	assert_true(isnan(iv.p99_us));
}

static void test_interval_refuses_resets_and_bad_input(void **state)
{
	struct sluice_snapshot prev = {}, cur = {};
	struct top_interval iv;

	(void)state;
	prev.flows[SLUICE_GREEN] = 500; /* a backend went, with its counters */
	cur.flows[SLUICE_GREEN] = 100;
	assert_int_equal(top_interval(&prev, &cur, SLUICE_GREEN, 1.0, &iv),
			 -ERANGE);
	cur.flows[SLUICE_GREEN] = 600;
	prev.errors[SLUICE_GREEN] = 5;
	assert_int_equal(top_interval(&prev, &cur, SLUICE_GREEN, 1.0, &iv),
			 -ERANGE);
	cur.errors[SLUICE_GREEN] = 5;
	prev.first_byte_hist[SLUICE_GREEN][3] = 1;
	assert_int_equal(top_interval(&prev, &cur, SLUICE_GREEN, 1.0, &iv),
			 -ERANGE);
	cur.first_byte_hist[SLUICE_GREEN][3] = 1;
	assert_int_equal(top_interval(&prev, &cur, SLUICE_GREEN, 1.0, &iv), 0);
	assert_int_equal(top_interval(&prev, &cur, SLUICE_GREEN, 0.0, &iv),
			 -EINVAL);
	assert_int_equal(top_interval(&prev, &cur, SLUICE_GREEN, NAN, &iv),
			 -EINVAL);
	assert_int_equal(top_interval(&prev, &cur, 2, 1.0, &iv), -EINVAL);
}

static void test_share(void **state)
{
	(void)state;
	assert_float_equal(top_share(1, 4), 0.25, 1e-12);
	assert_float_equal(top_share(0, 4), 0.0, 0);
	assert_true(isnan(top_share(0, 0)));
}

#define FMT(fn, v) fn(v, buf, sizeof(buf))

static void test_formatters(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(FMT(top_fmt_rate, NAN), "-");
	assert_string_equal(FMT(top_fmt_rate, 0.0), "0.0");
	assert_string_equal(FMT(top_fmt_rate, 97.9), "97.9");
	assert_string_equal(FMT(top_fmt_rate, 12345.6), "12346");
	assert_string_equal(FMT(top_fmt_rate, 2.5e6), "2.50M");

	assert_string_equal(FMT(top_fmt_percent, NAN), "-");
	assert_string_equal(FMT(top_fmt_percent, 0.0), "0.00%");
	assert_string_equal(FMT(top_fmt_percent, 0.25), "25.00%");
	assert_string_equal(FMT(top_fmt_percent, 1.0), "100.00%");
	assert_string_equal(FMT(top_fmt_percent, 20.0), ">999%");

	assert_string_equal(FMT(top_fmt_us, NAN), "-");
	assert_string_equal(FMT(top_fmt_us, 166.0), "166us");
	assert_string_equal(FMT(top_fmt_us, 6180.0), "6.18ms");
	assert_string_equal(FMT(top_fmt_us, 13600.0), "13.6ms");
	assert_string_equal(FMT(top_fmt_us, 250000.0), "250ms");
	assert_string_equal(FMT(top_fmt_us, 1.5e6), "1.50s");

	assert_string_equal(FMT(top_fmt_ns, 0), "0s");
	assert_string_equal(FMT(top_fmt_ns, 250000), "250us");
	assert_string_equal(FMT(top_fmt_ns, S / 2), "500ms");
	assert_string_equal(FMT(top_fmt_ns, S), "1s");
	assert_string_equal(FMT(top_fmt_ns, 3 * S / 2), "1.5s");
	assert_string_equal(FMT(top_fmt_ns, 60 * S), "1m");
	assert_string_equal(FMT(top_fmt_ns, 90 * S), "1m30s");
	assert_string_equal(FMT(top_fmt_ns, 5400 * S), "1h30m");
	assert_string_equal(FMT(top_fmt_ns, 3600 * S + 5 * S), "1h5s");
}

/* The widest values each cell can take still leave the last column free. */
static void test_rows_fit_and_align(void **state)
{
	struct top_interval wide = {
		.flows_per_s = 999999.0,
		.error_ratio = 9.99,
		.p50_us = 999.0,
		.p99_us = 99940.0,
	};
	char head[TOP_LINE_MAX], row[TOP_LINE_MAX];
	int c, x, w;

	(void)state;
	top_header_row(head, sizeof(head));
	top_colour_row(SLUICE_GREEN, true, 1, &wide, 0.123456, row,
		       sizeof(row));
	assert_true(strlen(head) < TOP_WIDTH);
	assert_true(strlen(row) < TOP_WIDTH);
	assert_int_equal(strlen(head), strlen(row));
	/* Every header title sits over its column, ending where values end. */
	for (c = 0; c < TOP_NCOLS; c++) {
		top_column(c, &x, &w);
		assert_true(x + w <= (int)strlen(head));
		assert_true(x == 0 || head[x - 1] == ' ');
		assert_true(head[x] != ' ' || head[x + w - 1] != ' ');
	}
	top_column(TOP_COL_COLOUR, &x, &w);
	assert_memory_equal(row + x, "green ", 6);
	top_column(TOP_COL_SPLIT, &x, &w);
	assert_memory_equal(row + x, "  0.0001%", 9);
	top_column(TOP_COL_ERRORS, &x, &w);
	assert_memory_equal(row + x, " 999.00%", 8);
	top_column(TOP_COL_P99, &x, &w);
	assert_memory_equal(row + x, "  99.9ms", 8);
}

static void test_row_before_the_first_interval(void **state)
{
	char row[TOP_LINE_MAX];

	(void)state;
	top_colour_row(SLUICE_BLUE, false, 950000, NULL, NAN, row, sizeof(row));
	assert_string_equal(row,
			    "  blue   stable          95%         -         "
			    "-        -        -        -");
}

static void test_title_line(void **state)
{
	char line[TOP_LINE_MAX];

	(void)state;
	top_title_line(S, 3, false, "12:03:04", line, sizeof(line));
	assert_int_equal(strlen(line), TOP_WIDTH - 1);
	assert_memory_equal(line, "sluice top  every 1s  3 services ", 33);
	assert_string_equal(line + strlen(line) - 16, "12:03:04  q quit");
	top_title_line(S / 2, 1, true, "12:03:04", line, sizeof(line));
	assert_non_null(strstr(line, "every 500ms  1 service  measuring"));
	assert_int_equal(strlen(line), TOP_WIDTH - 1);
}

static void test_rollout_line(void **state)
{
	struct sluice_rollout r = {
		.state = SLUICE_RO_RUNNING,
		.step = 0,
		.candidate = SLUICE_GREEN,
		.step_started_ns = 100 * S,
	};
	char line[TOP_LINE_MAX];

	(void)state;
	r.policy.nsteps = 2;
	r.policy.steps[0] = 500000;
	r.policy.steps[1] = 1000000;
	r.policy.bake_ns = 60 * S;
	top_rollout_line(&r, 112 * S + S / 3, line, sizeof(line));
	assert_string_equal(line, "  rollout running: step 1 of 2 (50% to "
				  "green), 12s in step, bake 1m");
	assert_true(strlen(line) < TOP_WIDTH);

	r.state = SLUICE_RO_PAUSED;
	r.failures = 2;
	strcpy(r.reason, "paused by a human");
	top_rollout_line(&r, 101 * S, line, sizeof(line));
	assert_string_equal(line, "  rollout paused: step 1 of 2 (50% to "
				  "green), 1s in step, 2 failing: paused by a "
				  "human");

	/* Done: no time in step, the reason says why it ended. */
	r.state = SLUICE_RO_ROLLED_BACK;
	strcpy(r.reason, "candidate error ratio 20%");
	top_rollout_line(&r, 101 * S, line, sizeof(line));
	assert_string_equal(line, "  rollout rolled back: step 1 of 2 (0% to "
				  "green): candidate error ratio 20%");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interval_rates),
		cmocka_unit_test(test_interval_quantiles_are_the_intervals),
		cmocka_unit_test(test_interval_nothing_to_measure),
		cmocka_unit_test(test_interval_refuses_resets_and_bad_input),
		cmocka_unit_test(test_share),
		cmocka_unit_test(test_formatters),
		cmocka_unit_test(test_rows_fit_and_align),
		cmocka_unit_test(test_row_before_the_first_interval),
		cmocka_unit_test(test_title_line),
		cmocka_unit_test(test_rollout_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
