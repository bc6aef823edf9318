// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hist.h"
#include "parse.h"
#include "top_model.h"

#define NS_PER_S 1000000000ull

int top_interval(const struct sluice_snapshot *prev,
		 const struct sluice_snapshot *cur, int colour, double seconds,
		 struct top_interval *out)
{
	__u64 hist[SLUICE_HIST_BUCKETS];
	int i;

	if (!(seconds > 0) || colour < 0 || colour >= SLUICE_COLOURS)
		return -EINVAL;
	/*
	 * Counters only grow while their backend exists; a smaller value
	 * means they were reset, and an unsigned difference would show a
	 * huge bogus rate for one interval.
	 */
	if (cur->flows[colour] < prev->flows[colour] ||
	    cur->errors[colour] < prev->errors[colour])
		return -ERANGE;
	for (i = 0; i < SLUICE_HIST_BUCKETS; i++) {
		if (cur->first_byte_hist[colour][i] <
		    prev->first_byte_hist[colour][i])
			return -ERANGE;
		hist[i] = cur->first_byte_hist[colour][i] -
			  prev->first_byte_hist[colour][i];
	}
	memset(out, 0, sizeof(*out));
	out->seconds = seconds;
	out->flows = cur->flows[colour] - prev->flows[colour];
	out->errors = cur->errors[colour] - prev->errors[colour];
	out->fb_samples = sluice_hist_count(hist);
	out->flows_per_s = (double)out->flows / seconds;
	/* Per new flow, as the agent judges a step, but over one interval. */
	out->error_ratio =
		out->flows ? (double)out->errors / (double)out->flows : NAN;
	out->p50_us = out->fb_samples ? sluice_hist_quantile_us(hist, 0.50) :
					NAN;
	out->p99_us = out->fb_samples ? sluice_hist_quantile_us(hist, 0.99) :
					NAN;
	return 0;
}

double top_share(__u64 part, __u64 whole)
{
	return whole ? (double)part / (double)whole : NAN;
}

const char *top_fmt_rate(double per_s, char *buf, size_t len)
{
	if (isnan(per_s))
		snprintf(buf, len, "-");
	else if (per_s < 9999.95)
		snprintf(buf, len, "%.1f", per_s);
	else if (per_s < 999999.5)
		snprintf(buf, len, "%.0f", per_s);
	else
		snprintf(buf, len, "%.2fM", per_s / 1e6);
	return buf;
}

const char *top_fmt_percent(double ratio, char *buf, size_t len)
{
	if (isnan(ratio))
		snprintf(buf, len, "-");
	else if (ratio < 9.99995)
		snprintf(buf, len, "%.2f%%", 100.0 * ratio);
	else /* more errors than flows, tenfold: the digits say nothing */
		snprintf(buf, len, ">999%%");
	return buf;
}

const char *top_fmt_us(double us, char *buf, size_t len)
{
	if (isnan(us))
		snprintf(buf, len, "-");
	else if (us < 999.5)
		snprintf(buf, len, "%.0fus", us);
	else if (us < 9995)
		snprintf(buf, len, "%.2fms", us / 1e3);
	else if (us < 99950)
		snprintf(buf, len, "%.1fms", us / 1e3);
	else if (us < 999500)
		snprintf(buf, len, "%.0fms", us / 1e3);
	else
		snprintf(buf, len, "%.2fs", us / 1e6);
	return buf;
}

const char *top_fmt_ns(__u64 ns, char *buf, size_t len)
{
	__u64 s = ns / NS_PER_S;
	int n = 0;

	if (!ns) {
		snprintf(buf, len, "0s");
	} else if (ns < 1000000ull) {
		snprintf(buf, len, "%lluus", (unsigned long long)(ns / 1000));
	} else if (ns < NS_PER_S) {
		snprintf(buf, len, "%.4gms", (double)ns / 1e6);
	} else if (ns < 60 * NS_PER_S) {
		snprintf(buf, len, "%.4gs", (double)ns / 1e9);
	} else {
		/* Past a minute the fraction of a second is noise. */
		buf[0] = 0;
		if (s >= 3600)
			n += snprintf(buf + n, len - n, "%lluh",
				      (unsigned long long)(s / 3600));
		if (s % 3600 / 60 && (size_t)n < len)
			n += snprintf(buf + n, len - n, "%llum",
				      (unsigned long long)(s % 3600 / 60));
		if (s % 60 && (size_t)n < len)
			snprintf(buf + n, len - n, "%llus",
				 (unsigned long long)(s % 60));
	}
	return buf;
}

static const struct {
	const char *title;
	int width;
	bool right; /* numbers line up on their last digit */
} columns[TOP_NCOLS] = {
	[TOP_COL_COLOUR] = { "COLOUR", 6, false },
	[TOP_COL_ROLE] = { "ROLE", 9, false },
	[TOP_COL_SPLIT] = { "SPLIT", 9, true },
	[TOP_COL_OBSERVED] = { "OBSERVED", 9, true },
	[TOP_COL_RATE] = { "FLOWS/S", 9, true },
	[TOP_COL_ERRORS] = { "ERRORS", 8, true },
	[TOP_COL_P50] = { "P50 FB", 8, true },
	[TOP_COL_P99] = { "P99 FB", 8, true },
};

#define TOP_INDENT 2 /* rows sit under their service's line */

void top_column(enum top_col c, int *start, int *width)
{
	int i, x = TOP_INDENT;

	for (i = 0; i < (int)c; i++)
		x += columns[i].width + 1;
	*start = x;
	*width = columns[c].width;
}

const char *top_row(const char *const cells[TOP_NCOLS], char *buf, size_t len)
{
	int i, n;
	size_t off;

	n = snprintf(buf, len, "%*s", TOP_INDENT, "");
	off = n < 0 ? 0 : (size_t)n;
	for (i = 0; i < TOP_NCOLS && off < len; i++) {
		int w = columns[i].width;

		/* A cell never spills into its neighbour: cut to its width. */
		n = snprintf(buf + off, len - off,
			     columns[i].right ? "%s%*.*s" : "%s%-*.*s",
			     i ? " " : "", w, w, cells[i]);
		off += n < 0 ? 0 : (size_t)n;
	}
	return buf;
}

const char *top_header_row(char *buf, size_t len)
{
	const char *cells[TOP_NCOLS];
	int i;

	for (i = 0; i < TOP_NCOLS; i++)
		cells[i] = columns[i].title;
	return top_row(cells, buf, len);
}

const char *top_colour_row(__u8 colour, bool candidate, __u32 split_ppm,
			   const struct top_interval *iv, double observed,
			   char *buf, size_t len)
{
	char split[SLUICE_PPM_STRLEN], obs[16], rate[16], err[16], p50[16],
		p99[16];
	const char *cells[TOP_NCOLS] = {
		[TOP_COL_COLOUR] = sluice_colour_name(colour),
		[TOP_COL_ROLE] = candidate ? "candidate" : "stable",
		[TOP_COL_SPLIT] =
			sluice_format_ppm(split_ppm, split, sizeof(split)),
		[TOP_COL_OBSERVED] =
			top_fmt_percent(iv ? observed : NAN, obs, sizeof(obs)),
		[TOP_COL_RATE] = top_fmt_rate(iv ? iv->flows_per_s : NAN, rate,
					      sizeof(rate)),
		[TOP_COL_ERRORS] = top_fmt_percent(iv ? iv->error_ratio : NAN,
						   err, sizeof(err)),
		[TOP_COL_P50] =
			top_fmt_us(iv ? iv->p50_us : NAN, p50, sizeof(p50)),
		[TOP_COL_P99] =
			top_fmt_us(iv ? iv->p99_us : NAN, p99, sizeof(p99)),
	};

	return top_row(cells, buf, len);
}

const char *top_service_line(const char *name, const char *vip,
			     const char *proto, const char *mode,
			     const char *affinity, char *buf, size_t len)
{
	snprintf(buf, len, "%s  %s/%s  %s  affinity %s", name, vip, proto, mode,
		 affinity);
	return buf;
}

const char *top_rollout_line(const struct sluice_rollout *r, __u64 now_ns,
			     char *buf, size_t len)
{
	char split[SLUICE_PPM_STRLEN], in_step[32], bake[32];
	size_t off;
	int n;

	n = snprintf(buf, len, "%*srollout %s: step %d of %d (%s to %s)",
		     TOP_INDENT, "", sluice_rollout_state_name(r->state),
		     r->step + 1, r->policy.nsteps,
		     sluice_format_ppm(sluice_rollout_split(r), split,
				       sizeof(split)),
		     sluice_colour_name(r->candidate));
	off = n < 0 ? 0 : (size_t)n;
	if (off < len && sluice_rollout_active(r)) {
		__u64 in = now_ns > r->step_started_ns ?
				   now_ns - r->step_started_ns :
				   0;

		/* Whole seconds: a fraction would flicker every refresh. */
		off += snprintf(buf + off, len - off, ", %s in step",
				top_fmt_ns(in - in % NS_PER_S, in_step,
					   sizeof(in_step)));
	}
	if (off < len && r->state == SLUICE_RO_RUNNING)
		off += snprintf(buf + off, len - off, ", bake %s",
				top_fmt_ns(r->policy.bake_ns, bake,
					   sizeof(bake)));
	if (off < len && r->failures && sluice_rollout_active(r))
		off += snprintf(buf + off, len - off, ", %u failing",
				r->failures);
	/* Why it paused or ended is what the operator looks for next. */
	if (off < len && r->reason[0] && r->state != SLUICE_RO_RUNNING)
		snprintf(buf + off, len - off, ": %s", r->reason);
	return buf;
}

const char *top_title_line(__u64 interval_ns, int services, bool measuring,
			   const char *clock, char *buf, size_t len)
{
	char every[32], left[TOP_LINE_MAX], right[64];
	int room;

	snprintf(left, sizeof(left), "sluice top  every %s  %d service%s%s",
		 top_fmt_ns(interval_ns, every, sizeof(every)), services,
		 services == 1 ? "" : "s", measuring ? "  measuring..." : "");
	snprintf(right, sizeof(right), "%s  q quit", clock);
	room = TOP_WIDTH - 1 - (int)strlen(right);
	if (room < 1)
		room = 1;
	snprintf(buf, len, "%-*.*s%s", room, room - 1, left, right);
	return buf;
}
