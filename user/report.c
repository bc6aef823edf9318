// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* sluice rollout report: the rollout's story as one HTML page. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "parse.h"
#include "report.h"
#include "store.h"

/* ---- geometry and colours of the chart --------------------------------- */

#define CH_W 1120
#define CH_LEFT 64 /* y tick labels */
#define CH_RIGHT 16
#define CH_PAD 10 /* inside the frame, so markers at the ends show whole */
#define CH_ROW 15 /* one row of event labels above the panels */
#define CH_ROWS 3
#define CH_TITLE 24 /* panel title and legend */
#define CH_PLOT 150
#define CH_GAP 18
#define CH_AXIS 42 /* time tick labels and the axis title */
#define CH_PLOT_W (CH_W - CH_LEFT - CH_RIGHT)

/* The evidence key of the bound the absolute error limit is tested on. */
#define LOWER "candidate_error_ratio_lower_bound"

/* Beyond this many vertices a line keeps each pixel column's extremes. */
#define MAX_VERTICES (2 * CH_PLOT_W)

/*
 * Line colours are used nowhere else on the page, so a screenshot can be
 * checked for the chart by colour alone.
 */
#define COL_SPLIT "#6741d9"
#define COL_CAND "#f76707"
#define COL_STABLE "#1c7ed6"
#define COL_FAIL "#e03131"
#define COL_DONE "#2f9e44"
#define COL_ABORT "#f59f00"
#define COL_LIMIT "#c2255c"
#define COL_STEP "#adb5bd"
#define COL_HOLD "#868e96"

/* ---- output helpers ----------------------------------------------------- */

/* Everything that came from a file or the command line goes through here. */
static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			/* Control characters have no business in a page. */
			if ((unsigned char)*s < 0x20 && *s != '\n' &&
			    *s != '\t')
				fputc(' ', f);
			else
				fputc(*s, f);
		}
	}
}

static void escf(FILE *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void escf(FILE *f, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	esc(f, buf);
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static double jnum(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* "rolled back" -> "rolled-back": usable in a class attribute. */
static void css_name(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (s[i] >= 'a' && s[i] <= 'z') ? s[i] : '-';
	buf[i] = 0;
}

/* ---- time ---------------------------------------------------------------- */

/* Older records may lack ts_ns; "2026-11-26T17:56:13.147Z" still works. */
static __u64 decision_ns(json_t *d)
{
	json_t *v = json_object_get(d, "ts_ns");
	const char *ts = jstr(d, "ts");
	struct tm tm = { 0 };
	double frac = 0;
	int n = 0;
	time_t t;

	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (__u64)json_integer_value(v);
	if (sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return 0;
	if (ts[n] == '.')
		frac = strtod(ts + n, NULL);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	return t < 0 ? 0 : (__u64)t * 1000000000ull + (__u64)(frac * 1e9);
}

/* style 0: "2026-11-26 17:56:13.147 UTC"; 1: "17:56:13.147" */
static const char *fmt_utc(__u64 ns, int style, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000ull);
	unsigned ms = (unsigned)(ns % 1000000000ull / 1000000);
	struct tm tm;
	char hms[32];

	gmtime_r(&s, &tm);
	if (style) {
		strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
		snprintf(buf, len, "%s.%03u", hms, ms);
	} else {
		strftime(hms, sizeof(hms), "%Y-%m-%d %H:%M:%S", &tm);
		snprintf(buf, len, "%s.%03u UTC", hms, ms);
	}
	return buf;
}

/* 3500000000 -> "3.5s", 90e9 -> "1m30s", 250e6 -> "250ms" */
static const char *fmt_dur(__u64 ns, char *buf, size_t len)
{
	__u64 s = ns / 1000000000ull;

	if (ns < 1000000000ull)
		snprintf(buf, len, "%gms", ns / 1e6);
	else if (s < 60)
		snprintf(buf, len, "%.4gs", ns / 1e9);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(buf, len, "%lluh%02llum", s / 3600, s / 60 % 60);
	return buf;
}

/* ---- what the chart is made of ----------------------------------------- */

struct pool_ev {
	bool have; /* the pool had flows in the window */
	double flows, errors, ratio, p99_ms;
};

static void pool_from_json(json_t *o, struct pool_ev *p)
{
	memset(p, 0, sizeof(*p));
	if (!json_is_object(o))
		return;
	p->flows = jnum(o, "flows");
	p->errors = jnum(o, "errors");
	p->ratio = jnum(o, "error_ratio");
	p->p99_ms = jnum(o, "p99_first_byte_ms");
	/*
	 * With no flows the ratio and the p99 are 0 by convention, not
	 * measurements: drawing them would show a healthy dip that never
	 * happened.
	 */
	p->have = p->flows > 0;
}

enum mark { MARK_NONE, MARK_JUDGED, MARK_THIN, MARK_FAILING };

struct pt {
	double t; /* seconds since the chart's origin */
	double v;
	enum mark mark;
	const char *tip; /* shown on hover; NULL for none */
};

struct series {
	const char *id; /* data-series: stable names for tests and tools */
	const char *label;
	const char *colour;
	const char *dash; /* stroke-dasharray, or NULL for solid */
	double width;
	size_t samples; /* source samples, before stepping */
	struct pt *p;
	size_t n, cap;
};

static void series_add(struct series *s, double t, double v, enum mark m,
		       const char *tip)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct pt *p = realloc(s->p, cap * sizeof(*p));

		if (!p)
			return; /* a shorter line beats no page */
		s->p = p;
		s->cap = cap;
	}
	s->p[s->n++] = (struct pt){ t, v, m, tip };
}

/* A step function: hold the previous value until t, then jump. */
static void series_step(struct series *s, double t, double v)
{
	if (s->n && s->p[s->n - 1].v != v)
		series_add(s, t, s->p[s->n - 1].v, MARK_NONE, NULL);
	if (!s->n || s->p[s->n - 1].v != v)
		series_add(s, t, v, MARK_NONE, NULL);
	s->samples++;
}

struct panel {
	const char *id;
	const char *title;
	const char *unit; /* tick suffix */
	struct series *s[3];
	int ns;
	double limit; /* the policy's threshold; < 0 for none */
	const char *limit_label;
	double ymax;
	int top; /* y of the plot area */
};

/* A vertical line: a step, the outcome, a human's command. */
struct event {
	double t;
	const char *colour;
	const char *dash; /* stroke-dasharray, or NULL for solid */
	char label[40];
	const char *tip;
	int row; /* of labels */
	bool right; /* label to the left of the line */
};

struct chart {
	double span; /* seconds from the origin to the last instant */
	__u64 t0;
	struct series split, cand_ratio, stable_ratio, cand_p99, stable_p99;
	struct series cand_lower; /* what the absolute limit is tested on */
	struct panel panels[3];
	int rows; /* of event labels */
	struct event *ev;
	size_t nev;
	bool from_timeline;
};

/*
 * Seconds since the chart's origin. The realtime clock can step back
 * (NTP): a decision stamped before the start is drawn at the start.
 */
static double rel_s(const struct chart *c, __u64 ns)
{
	return ns > c->t0 ? (ns - c->t0) / 1e9 : 0;
}

static double xpos(const struct chart *c, double t)
{
	return CH_LEFT + CH_PAD + t / c->span * (CH_PLOT_W - 2 * CH_PAD);
}

static double ypos(const struct panel *p, double v)
{
	if (v < 0)
		v = 0;
	if (v > p->ymax)
		v = p->ymax;
	return p->top + CH_PLOT - v / p->ymax * CH_PLOT;
}

/* 1, 2, 2.5 or 5 times a power of ten: ticks a person reads at once. */
static double nice_step(double range, int want)
{
	double raw = range / want, mag, f;

	if (!(raw > 0))
		return 1;
	mag = pow(10, floor(log10(raw)));
	f = raw / mag;
	if (f <= 1)
		return mag;
	if (f <= 2)
		return 2 * mag;
	if (f <= 2.5)
		return 2.5 * mag;
	if (f <= 5)
		return 5 * mag;
	return 10 * mag;
}

static void panel_scale(struct panel *p, double floor_max)
{
	double m = floor_max, step;
	size_t i;
	int k;

	for (k = 0; k < p->ns; k++)
		for (i = 0; i < p->s[k]->n; i++)
			if (p->s[k]->p[i].v > m)
				m = p->s[k]->p[i].v;
	if (p->limit > m)
		m = p->limit;
	/* Headroom, so a line at the maximum is not drawn on the frame. */
	m *= 1.08;
	step = nice_step(m, 4);
	p->ymax = ceil(m / step - 1e-9) * step;
}

/* ---- building the chart from decisions or timeline samples -------------- */

/* The hover text of a point: the decision and the pool's counts. */
static const char *decision_tip(const struct chart *c, json_t *d, bool cand)
{
	static const char fmt[] = "+%.3fs %s (%s): %s: %.0f errors in %.0f "
				  "flows (%.2f%%), p99 first byte %.1f ms";
	json_t *ev = json_object_get(d, "evidence");
	json_t *o = json_object_get(ev, cand ? "candidate" : "stable");
	char *s = NULL;

	if (asprintf(&s, fmt, rel_s(c, decision_ns(d)), jstr(d, "action"),
		     jstr(ev, "verdict"), cand ? "candidate" : "stable",
		     jnum(o, "errors"), jnum(o, "flows"),
		     100 * jnum(o, "error_ratio"),
		     jnum(o, "p99_first_byte_ms")) < 0)
		return NULL;
	return s;
}

static double split_pct(json_t *d)
{
	__u32 ppm;
	char buf[32];

	snprintf(buf, sizeof(buf), "%s", jstr(d, "split"));
	if (sluice_parse_percent(buf, &ppm))
		return -1;
	return ppm / 1e4;
}

static void add_event(struct chart *c, double t, const char *colour,
		      const char *dash, const char *label, const char *tip)
{
	struct event *e = realloc(c->ev, (c->nev + 1) * sizeof(*e));

	if (!e)
		return;
	c->ev = e;
	e = &c->ev[c->nev++];
	e->t = t;
	e->colour = colour;
	e->dash = dash;
	snprintf(e->label, sizeof(e->label), "%s", label);
	e->tip = tip;
}

static void chart_events(struct chart *c, json_t *hist, size_t from, size_t to)
{
	double prev = -1;
	size_t i;

	for (i = from; i < to; i++) {
		json_t *d = json_array_get(hist, i);
		const char *a = jstr(d, "action");
		double t = rel_s(c, decision_ns(d)), v = split_pct(d);
		const char *why = jstr(d, "reason");
		char label[40];

		if (!strcmp(a, "rollback") || !strcmp(a, "rolled back"))
			add_event(c, t, COL_FAIL, NULL, a, why);
		else if (!strcmp(a, "complete") || !strcmp(a, "promote"))
			add_event(c, t, COL_DONE, NULL, a, why);
		else if (!strcmp(a, "abort"))
			add_event(c, t, COL_ABORT, NULL, a, why);
		else if (!strcmp(a, "pause") || !strcmp(a, "resume") ||
			 !strcmp(a, "gate"))
			add_event(c, t, COL_HOLD, "2 3", a, why);
		else if ((!strcmp(a, "start") || !strcmp(a, "advance")) &&
			 v >= 0 && v != prev) {
			snprintf(label, sizeof(label), "%s%s",
				 !strcmp(a, "start") ? "start " : "",
				 jstr(d, "split"));
			add_event(c, t, COL_STEP, "4 3", label, why);
		}
		if (v >= 0)
			prev = v;
	}
}

static void chart_from_decisions(struct chart *c, json_t *hist, size_t from,
				 size_t to)
{
	double prev_t = 0;
	size_t i;

	for (i = from; i < to; i++) {
		json_t *d = json_array_get(hist, i);
		json_t *ev = json_object_get(d, "evidence");
		double t = rel_s(c, decision_ns(d)), v = split_pct(d);
		const char *verdict = jstr(ev, "verdict");
		struct pool_ev cand, stable;
		enum mark m = MARK_JUDGED, m_ratio, m_p99;
		bool slow;

		if (v >= 0) {
			/*
			 * The ramp down is linear from the rollback (the
			 * decision before) to its end: a slope, not a step.
			 */
			if (!strcmp(jstr(d, "action"), "rolled back") &&
			    c->split.n) {
				struct pt last = c->split.p[c->split.n - 1];

				if (last.t < prev_t)
					series_add(&c->split, prev_t, last.v,
						   MARK_NONE, NULL);
				series_add(&c->split, t, v, MARK_NONE, NULL);
				c->split.samples++;
			} else {
				series_step(&c->split, t, v);
			}
			prev_t = t;
		}
		if (!json_is_object(ev))
			continue;
		if (!strcmp(verdict, "inconclusive"))
			m = MARK_THIN;
		else if (!strcmp(verdict, "failing"))
			m = MARK_FAILING;
		/*
		 * Red where the judge found the fault: the latency gate
		 * names the p99, the error tests name the ratio.
		 */
		slow = strstr(jstr(d, "reason"), "p99") != NULL;
		m_ratio = m == MARK_FAILING && slow ? MARK_JUDGED : m;
		m_p99 = m == MARK_FAILING && !slow ? MARK_JUDGED : m;
		pool_from_json(json_object_get(ev, "candidate"), &cand);
		pool_from_json(json_object_get(ev, "stable"), &stable);
		if (cand.have) {
			series_add(&c->cand_ratio, t, 100 * cand.ratio, m_ratio,
				   decision_tip(c, d, true));
			series_add(&c->cand_p99, t, cand.p99_ms, m_p99,
				   decision_tip(c, d, true));
			c->cand_ratio.samples++;
			c->cand_p99.samples++;
			if (json_is_number(json_object_get(ev, LOWER))) {
				series_add(&c->cand_lower, t,
					   100 * jnum(ev, LOWER), MARK_NONE,
					   NULL);
				c->cand_lower.samples++;
			}
		}
		if (stable.have) {
			/* Only the candidate is judged: stable's never fail. */
			series_add(&c->stable_ratio, t, 100 * stable.ratio,
				   m == MARK_FAILING ? MARK_JUDGED : m,
				   decision_tip(c, d, false));
			series_add(&c->stable_p99, t, stable.p99_ms,
				   m == MARK_FAILING ? MARK_JUDGED : m,
				   decision_tip(c, d, false));
			c->stable_ratio.samples++;
			c->stable_p99.samples++;
		}
	}
}

static __u64 sample_ns(json_t *s)
{
	json_t *v = json_object_get(s, "ts_ns");

	return json_is_integer(v) && json_integer_value(v) > 0 ?
		       (__u64)json_integer_value(v) :
		       0;
}

/* Samples in [t0, t_end): this rollout's part of the timeline. */
static void chart_from_timeline(struct chart *c, json_t *tl, __u64 t_end)
{
	struct pool_ev cand, stable;
	size_t i;
	json_t *s;

	json_array_foreach(tl, i, s) {
		__u64 ns = sample_ns(s);
		json_t *ppm = json_object_get(s, "split_ppm");
		double t;

		if (ns < c->t0 || ns >= t_end)
			continue;
		t = rel_s(c, ns);
		if (json_is_number(ppm))
			series_step(&c->split, t, json_number_value(ppm) / 1e4);
		pool_from_json(json_object_get(s, "candidate"), &cand);
		pool_from_json(json_object_get(s, "stable"), &stable);
		if (cand.have) {
			series_add(&c->cand_ratio, t, 100 * cand.ratio,
				   MARK_NONE, NULL);
			series_add(&c->cand_p99, t, cand.p99_ms, MARK_NONE,
				   NULL);
			c->cand_ratio.samples++;
			c->cand_p99.samples++;
		}
		if (stable.have) {
			series_add(&c->stable_ratio, t, 100 * stable.ratio,
				   MARK_NONE, NULL);
			series_add(&c->stable_p99, t, stable.p99_ms, MARK_NONE,
				   NULL);
			c->stable_ratio.samples++;
			c->stable_p99.samples++;
		}
	}
}

/* Does the timeline have anything for [t0, t_end)? */
static bool timeline_covers(json_t *tl, __u64 t0, __u64 t_end, __u64 *last)
{
	bool any = false;
	size_t i;
	json_t *s;

	*last = 0;
	json_array_foreach(tl, i, s) {
		__u64 ns = sample_ns(s);

		if (ns < t0 || ns >= t_end)
			continue;
		any = true;
		if (ns > *last)
			*last = ns;
	}
	return any;
}

static void chart_free(struct chart *c)
{
	struct series *all[] = { &c->split,    &c->cand_ratio, &c->stable_ratio,
				 &c->cand_p99, &c->stable_p99, &c->cand_lower };
	size_t i, k;

	for (k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
		for (i = 0; i < all[k]->n; i++)
			free((void *)all[k]->p[i].tip);
		free(all[k]->p);
	}
	free(c->ev);
}

/* ---- drawing ------------------------------------------------------------ */

static void draw_line(FILE *f, const struct chart *c, const struct panel *p,
		      const struct series *s)
{
	size_t i, j;

	if (!s->n)
		return;
	fprintf(f,
		"<polyline class=\"series\" data-series=\"%s\" "
		"data-samples=\"%zu\" fill=\"none\" stroke=\"%s\" "
		"stroke-width=\"%.1f\"%s%s%s stroke-linejoin=\"round\" "
		"points=\"",
		s->id, s->samples, s->colour, s->width ? s->width : 2,
		s->dash ? " stroke-dasharray=\"" : "", s->dash ? s->dash : "",
		s->dash ? "\"" : "");
	if (s->n <= MAX_VERTICES) {
		for (i = 0; i < s->n; i++)
			fprintf(f, "%s%.1f,%.1f", i ? " " : "",
				xpos(c, s->p[i].t), ypos(p, s->p[i].v));
	} else {
		/*
		 * Too dense to see anyway: per pixel column keep the lowest
		 * and the highest value, in time order, so a spike that made
		 * the agent roll back is never thinned away.
		 */
		for (i = 0; i < s->n; i = j) {
			int col = (int)xpos(c, s->p[i].t);
			size_t lo = i, hi = i;

			for (j = i; j < s->n && (int)xpos(c, s->p[j].t) == col;
			     j++) {
				if (s->p[j].v < s->p[lo].v)
					lo = j;
				if (s->p[j].v > s->p[hi].v)
					hi = j;
			}
			if (hi < lo) {
				size_t x = lo;

				lo = hi;
				hi = x;
			}
			fprintf(f, "%s%.1f,%.1f", i ? " " : "",
				xpos(c, s->p[lo].t), ypos(p, s->p[lo].v));
			if (hi != lo)
				fprintf(f, " %.1f,%.1f", xpos(c, s->p[hi].t),
					ypos(p, s->p[hi].v));
		}
	}
	fputs("\"/>\n", f);
}

static void draw_markers(FILE *f, const struct chart *c, const struct panel *p,
			 const struct series *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct pt *q = &s->p[i];

		if (q->mark == MARK_NONE)
			continue;
		fprintf(f,
			"<circle class=\"point %s\" cx=\"%.1f\" cy=\"%.1f\" "
			"r=\"%s\" fill=\"%s\" stroke=\"%s\" "
			"stroke-width=\"1.5\">",
			q->mark == MARK_FAILING ? "failing" :
			q->mark == MARK_THIN	? "thin" :
						  "judged",
			xpos(c, q->t), ypos(p, q->v),
			q->mark == MARK_FAILING ? "4.5" : "3",
			q->mark == MARK_FAILING ? COL_FAIL :
			q->mark == MARK_THIN	? "#fff" :
						  s->colour,
			s->colour);
		if (q->tip) {
			fputs("<title>", f);
			esc(f, q->tip);
			fputs("</title>", f);
		}
		fputs("</circle>\n", f);
	}
}

/* Text widths are estimated: about 0.6 em per character at 11 px. */
static double text_w(const char *s)
{
	return 6.4 * strlen(s);
}

static void draw_legend(FILE *f, const struct panel *p)
{
	double x = CH_W - CH_RIGHT, y = p->top - 8;
	int k;

	/* Right to left: the limit last, so it sits at the far right. */
	if (p->limit >= 0) {
		x -= text_w(p->limit_label);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x, y);
		esc(f, p->limit_label);
		fputs("</text>\n", f);
		x -= 24;
		fprintf(f,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"%s\" stroke-width=\"1.5\" "
			"stroke-dasharray=\"6 3\"/>\n",
			x, y - 4, x + 18, y - 4, COL_LIMIT);
		x -= 14;
	}
	for (k = p->ns - 1; k >= 0; k--) {
		const struct series *s = p->s[k];

		x -= text_w(s->label);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x, y);
		esc(f, s->label);
		fputs("</text>\n", f);
		x -= 24;
		fprintf(f,
			"<line class=\"swatch\" x1=\"%.1f\" y1=\"%.1f\" "
			"x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			"stroke-width=\"%s\"%s%s%s/>\n",
			x, y - 4, x + 18, y - 4, s->colour,
			s->dash ? "1.5" : "3",
			s->dash ? " stroke-dasharray=\"" : "",
			s->dash ? s->dash : "", s->dash ? "\"" : "");
		x -= 14;
	}
}

/* Time ticks at round instants: whole seconds, minutes, hours. */
static double time_step(double span)
{
	/* clang-format off */
	static const double steps[] = {
		0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, /* seconds */
		60, 120, 300, 600, 900, 1800, /* minutes */
		3600, 7200, 10800, 21600, 43200, 86400, /* hours */
	};
	/* clang-format on */
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (span / steps[i] <= 9)
			return steps[i];
	return 86400 * ceil(span / 86400 / 9);
}

static void draw_time_axis(FILE *f, const struct chart *c, int top, int bottom,
			   bool labels)
{
	double step = time_step(c->span), t0s = c->t0 / 1e9, t;
	/* First tick: the first round instant at or after the origin. */
	double first = ceil(t0s / step - 1e-9) * step - t0s;
	char buf[48], hms[32];

	for (t = first; t <= c->span + 1e-9; t += step) {
		__u64 ns = c->t0 + (__u64)llround(t * 1e9);
		time_t s = (time_t)(ns / 1000000000ull);
		struct tm tm;
		double x = xpos(c, t);

		gmtime_r(&s, &tm);
		strftime(hms, sizeof(hms), step >= 86400 ? "%m-%d" : "%H:%M:%S",
			 &tm);
		if (step < 1)
			snprintf(buf, sizeof(buf), "%s.%u", hms,
				 (unsigned)(ns % 1000000000ull / 100000000));
		else
			snprintf(buf, sizeof(buf), "%s", hms);
		fprintf(f,
			"<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
			"y2=\"%d\"/>\n",
			x, top, x, bottom);
		if (labels)
			fprintf(f,
				"<text class=\"tick\" x=\"%.1f\" y=\"%d\" "
				"text-anchor=\"middle\">%s</text>\n",
				x, bottom + 15, buf);
	}
	if (labels)
		fprintf(f,
			"<text class=\"axis-title\" x=\"%d\" y=\"%d\" "
			"text-anchor=\"middle\">time (UTC)</text>\n",
			CH_LEFT + CH_PLOT_W / 2, bottom + 34);
}

static void draw_panel(FILE *f, const struct chart *c, const struct panel *p)
{
	double step = nice_step(p->ymax, 4), v;
	int k;

	fprintf(f, "<g class=\"panel\" id=\"panel-%s\">\n", p->id);
	fprintf(f, "<text class=\"panel-title\" x=\"%d\" y=\"%d\">", CH_LEFT,
		p->top - 8);
	esc(f, p->title);
	fputs("</text>\n", f);
	draw_legend(f, p);
	fprintf(f,
		"<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" "
		"height=\"%d\"/>\n",
		CH_LEFT, p->top, CH_PLOT_W, CH_PLOT);
	for (v = 0; v <= p->ymax + step / 1e6; v += step) {
		double y = ypos(p, v);

		fprintf(f,
			"<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
			"y2=\"%.1f\"/>\n",
			CH_LEFT, y, CH_LEFT + CH_PLOT_W, y);
		fprintf(f,
			"<text class=\"tick\" x=\"%d\" y=\"%.1f\" "
			"text-anchor=\"end\">%.4g%s</text>\n",
			CH_LEFT - 6, y + 4, v, p->unit);
	}
	if (p->limit >= 0)
		fprintf(f,
			"<line class=\"limit\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
			"y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" "
			"stroke-dasharray=\"6 3\"/>\n",
			CH_LEFT, ypos(p, p->limit), CH_LEFT + CH_PLOT_W,
			ypos(p, p->limit), COL_LIMIT);
	/* Stable under the candidate: equal values still show both. */
	for (k = p->ns - 1; k >= 0; k--)
		draw_line(f, c, p, p->s[k]);
	for (k = p->ns - 1; k >= 0; k--)
		draw_markers(f, c, p, p->s[k]);
	for (k = 0; k < p->ns && !p->s[k]->n; k++)
		;
	if (k == p->ns)
		fprintf(f,
			"<text class=\"empty\" x=\"%d\" y=\"%d\" "
			"text-anchor=\"middle\">no evidence recorded</text>\n",
			CH_LEFT + CH_PLOT_W / 2, p->top + CH_PLOT / 2);
	fputs("</g>\n", f);
}

/*
 * Labels go in rows above the panels: each in the first row where it
 * does not overlap the previous label, else the least crowded row.
 */
static void layout_events(struct chart *c)
{
	double end[CH_ROWS];
	size_t i;
	int r, best;

	for (r = 0; r < CH_ROWS; r++)
		end[r] = -1e9;
	c->rows = 1;
	for (i = 0; i < c->nev; i++) {
		struct event *e = &c->ev[i];
		double x = xpos(c, e->t), w = text_w(e->label) + 8, left;

		/* Labels near the right edge grow leftwards. */
		e->right = x + 3 + w > CH_W;
		left = e->right ? x - w : x;
		best = 0;
		for (r = 0; r < CH_ROWS; r++) {
			if (end[r] < left) {
				best = r;
				break;
			}
			if (end[r] < end[best])
				best = r;
		}
		end[best] = e->right ? x : x + w;
		e->row = best;
		if (best + 1 > c->rows)
			c->rows = best + 1;
	}
}

static void draw_events(FILE *f, const struct chart *c, int bottom)
{
	size_t i;

	fputs("<g class=\"events\">\n", f);
	for (i = 0; i < c->nev; i++) {
		const struct event *e = &c->ev[i];
		double x = xpos(c, e->t);

		fprintf(f,
			"<line class=\"event\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
			"y2=\"%d\" stroke=\"%s\" stroke-width=\"%s\"%s%s%s>",
			x, 4 + e->row * CH_ROW, x, bottom, e->colour,
			e->dash ? "1" : "2",
			e->dash ? " stroke-dasharray=\"" : "",
			e->dash ? e->dash : "", e->dash ? "\"" : "");
		if (e->tip && *e->tip) {
			fputs("<title>", f);
			esc(f, e->tip);
			fputs("</title>", f);
		}
		fputs("</line>\n", f);
		fprintf(f,
			"<text class=\"event-label\" x=\"%.1f\" y=\"%d\" "
			"text-anchor=\"%s\" fill=\"%s\">",
			e->right ? x - 3 : x + 3, 14 + e->row * CH_ROW,
			e->right ? "end" : "start",
			strcmp(e->colour, COL_STEP) ? e->colour : "#495057");
		esc(f, e->label);
		fputs("</text>\n", f);
	}
	fputs("</g>\n", f);
}

static void draw_chart(FILE *f, struct chart *c)
{
	int height, i, bottom, strip;

	layout_events(c);
	strip = c->rows * CH_ROW + 8;
	for (i = 0; i < 3; i++)
		c->panels[i].top =
			strip + CH_TITLE + i * (CH_TITLE + CH_PLOT + CH_GAP);
	bottom = c->panels[2].top + CH_PLOT;
	height = bottom + CH_AXIS;
	fprintf(f,
		"<svg class=\"chart\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"split, "
		"error ratio and p99 first-byte time over time\">\n",
		CH_W, height, CH_W, height);
	/* The time grid first, under everything; labels under the last. */
	for (i = 0; i < 3; i++)
		draw_time_axis(f, c, c->panels[i].top,
			       c->panels[i].top + CH_PLOT, i == 2);
	for (i = 0; i < 3; i++)
		draw_panel(f, c, &c->panels[i]);
	draw_events(f, c, bottom);
	fputs("</svg>\n", f);
}

/* ---- the page ------------------------------------------------------------ */

/* One rollout: the decisions [from, to) of the history. */
struct segment {
	size_t from, to;
	__u64 t0, t1; /* its first and last decision */
	__u64 t_end; /* where the next rollout starts */
	int index, count; /* 1-based, of all rollouts in the history */
	bool latest;
};

struct verdict {
	const char *cls; /* promoted, rolled-back, aborted, active, unknown */
	const char *headline;
	char detail[512];
	json_t *decisive; /* the decision that settled it, or NULL */
};

static bool is_action(json_t *d, const char *a)
{
	return !strcmp(jstr(d, "action"), a);
}

/* The latest rollout's state is on disk; older ones only in decisions. */
static void verdict_of(const struct sluice_report_input *in,
		       const struct segment *sg, struct verdict *v)
{
	const struct sluice_rollout *r = in->rollout;
	char split[SLUICE_PPM_STRLEN];
	bool by_request = false;
	size_t i;

	memset(v, 0, sizeof(*v));
	for (i = sg->to; i-- > sg->from;) {
		json_t *d = json_array_get(in->history, i);

		if (is_action(d, "promote"))
			by_request = true;
		if (!v->decisive &&
		    (is_action(d, "complete") || is_action(d, "rollback") ||
		     is_action(d, "abort")))
			v->decisive = d;
	}
	if (sg->latest && r) {
		sluice_format_ppm(sluice_rollout_split(r), split,
				  sizeof(split));
		switch (r->state) {
		case SLUICE_RO_PROMOTED:
			v->cls = "promoted";
			v->headline = "Promoted";
			snprintf(v->detail, sizeof(v->detail),
				 "%s: the candidate is the stable pool now",
				 r->reason);
			return;
		case SLUICE_RO_ROLLED_BACK:
			v->cls = "rolled-back";
			v->headline = "Rolled back";
			snprintf(v->detail, sizeof(v->detail), "%s", r->reason);
			return;
		case SLUICE_RO_RAMPING_BACK:
			v->cls = "rolled-back";
			v->headline = "Rolling back";
			snprintf(v->detail, sizeof(v->detail),
				 "%s (ramping down from %s)", r->reason, split);
			return;
		case SLUICE_RO_ABORTED:
			v->cls = "aborted";
			v->headline = "Aborted";
			snprintf(v->detail, sizeof(v->detail), "%s", r->reason);
			return;
		case SLUICE_RO_PAUSED:
			v->cls = "active";
			v->headline = "Paused";
			snprintf(v->detail, sizeof(v->detail),
				 "at step %d of %d (split %s): %s", r->step + 1,
				 r->policy.nsteps, split, r->reason);
			v->decisive = NULL;
			return;
		case SLUICE_RO_GATE:
			v->cls = "active";
			v->headline = "Waiting at a manual gate";
			snprintf(v->detail, sizeof(v->detail),
				 "step %d of %d (split %s): 'sluice rollout "
				 "resume' or 'promote'",
				 r->step + 1, r->policy.nsteps, split);
			v->decisive = NULL;
			return;
		default:
			v->cls = "active";
			v->headline = "Running";
			snprintf(v->detail, sizeof(v->detail),
				 "at step %d of %d (split %s)", r->step + 1,
				 r->policy.nsteps, split);
			v->decisive = NULL;
			return;
		}
	}
	if (!v->decisive) {
		v->cls = "unknown";
		v->headline = "Unfinished";
		snprintf(v->detail, sizeof(v->detail),
			 "no final decision was recorded before the next "
			 "rollout started");
	} else if (is_action(v->decisive, "complete")) {
		v->cls = "promoted";
		v->headline = "Promoted";
		snprintf(v->detail, sizeof(v->detail), "%s",
			 by_request ? "promoted by request" :
				      jstr(v->decisive, "reason"));
	} else if (is_action(v->decisive, "rollback")) {
		v->cls = "rolled-back";
		v->headline = "Rolled back";
		snprintf(v->detail, sizeof(v->detail), "%s",
			 jstr(v->decisive, "reason"));
	} else {
		v->cls = "aborted";
		v->headline = "Aborted";
		snprintf(v->detail, sizeof(v->detail), "%s",
			 jstr(v->decisive, "reason"));
	}
}

static bool active_latest(const struct sluice_report_input *in,
			  const struct segment *sg)
{
	return sg->latest && in->rollout && sluice_rollout_active(in->rollout);
}

/* How long without a decision the chart still runs on to now. */
static __u64 quiet_limit(const struct sluice_report_input *in,
			 const struct segment *sg)
{
	__u64 ran = sg->t1 - sg->t0, bake = in->rollout->policy.bake_ns;

	return ran > bake ? ran : bake;
}

static void pool_sentence(FILE *f, const char *who, json_t *o)
{
	escf(f,
	     "%s %.0f error%s in %.0f flows (%.2f%%), p99 first byte %.1f ms",
	     who, jnum(o, "errors"), jnum(o, "errors") == 1 ? "" : "s",
	     jnum(o, "flows"), 100 * jnum(o, "error_ratio"),
	     jnum(o, "p99_first_byte_ms"));
}

static void policy_facts(FILE *f, const struct sluice_rollout *r)
{
	const struct sluice_policy *p = &r->policy;
	char a[32], b[32];
	int i, k;

	fputs("<dt>Steps</dt><dd>", f);
	for (i = 0; i < p->nsteps; i++) {
		bool gate = false;

		for (k = 0; k < p->ngates; k++)
			gate |= p->gates[k] == p->steps[i];
		fprintf(f, "%s%s%s%s%s", i ? " &rarr; " : "",
			i == r->step ? "<b>" : "",
			sluice_format_ppm(p->steps[i], a, sizeof(a)),
			gate ? " (gate)" : "", i == r->step ? "</b>" : "");
	}
	fprintf(f,
		" <span class=\"note\">(bold: step %d of %d, where it "
		"stands or stopped)</span></dd>\n",
		r->step + 1, p->nsteps);
	fputs("<dt>Policy</dt><dd>", f);
	escf(f, "bake %s, tick %s, min %u flows per pool, ",
	     fmt_dur(p->bake_ns, a, sizeof(a)),
	     fmt_dur(p->tick_ns, b, sizeof(b)), p->min_flows);
	if (p->max_error_ratio_ppm)
		escf(f, "candidate error ratio at most %s, ",
		     sluice_format_ppm(p->max_error_ratio_ppm, a, sizeof(a)));
	if (p->max_error_ratio_increase_ppm)
		escf(f, "at most %s above stable's, ",
		     sluice_format_ppm(p->max_error_ratio_increase_ppm, a,
				       sizeof(a)));
	if (p->max_p99_first_byte_ns)
		escf(f, "p99 first byte at most %s, ",
		     fmt_dur(p->max_p99_first_byte_ns, a, sizeof(a)));
	else
		esc(f, "no latency gate, ");
	escf(f, "roll back after %u failing tick%s in a row, %s",
	     p->failure_limit, p->failure_limit == 1 ? "" : "s",
	     p->ramp_ns ? "ramped" : "in one map write");
	if (p->ramp_ns)
		escf(f, " over %s", fmt_dur(p->ramp_ns, a, sizeof(a)));
	fputs("</dd>\n", f);
}

static void section_facts(FILE *f, const struct sluice_report_input *in,
			  const struct segment *sg, const struct verdict *v)
{
	json_t *first = json_array_get(in->history, sg->from);
	json_t *ev = NULL, *d;
	char a[48], b[48], c[32];
	double max_split = -1;
	const char *max_label = "";
	size_t i;

	fputs("<dl class=\"facts\">\n", f);
	if (first) {
		const char *cand = jstr(first, "candidate");

		fputs("<dt>Candidate</dt><dd>", f);
		escf(f, "%s (stable: %s)", cand,
		     !strcmp(cand, "blue")  ? "green" :
		     !strcmp(cand, "green") ? "blue" :
					      "?");
		fputs("</dd>\n<dt>Time</dt><dd>", f);
		escf(f, "%s to %s (%s)", fmt_utc(sg->t0, 0, a, sizeof(a)),
		     fmt_utc(sg->t1, 1, b, sizeof(b)),
		     fmt_dur(sg->t1 - sg->t0, c, sizeof(c)));
		if (active_latest(in, sg) && in->now_ns > sg->t1)
			escf(f, "; the last decision was %s ago",
			     fmt_dur(in->now_ns - sg->t1, c, sizeof(c)));
		fputs("</dd>\n", f);
	} else if (in->rollout) {
		fputs("<dt>Candidate</dt><dd>", f);
		esc(f, sluice_colour_name(in->rollout->candidate));
		fputs("</dd>\n", f);
	}
	if (sg->latest && in->rollout) {
		policy_facts(f, in->rollout);
	} else {
		for (i = sg->from; i < sg->to; i++) {
			d = json_array_get(in->history, i);
			if (split_pct(d) > max_split &&
			    (is_action(d, "start") ||
			     is_action(d, "advance"))) {
				max_split = split_pct(d);
				max_label = jstr(d, "split");
				snprintf(c, sizeof(c), "step %lld of %lld",
					 json_integer_value(
						 json_object_get(d, "step")),
					 json_integer_value(
						 json_object_get(d, "steps")));
			}
		}
		if (max_split >= 0) {
			fputs("<dt>Reached</dt><dd>", f);
			escf(f, "%s (%s)", max_label, c);
			fputs("</dd>\n", f);
		}
	}
	/* The evidence that settled it, or the latest there is. */
	d = v->decisive;
	if (!d || !json_object_get(d, "evidence"))
		for (i = sg->to; i-- > sg->from;) {
			d = json_array_get(in->history, i);
			if (json_object_get(d, "evidence"))
				break;
			d = NULL;
		}
	ev = json_object_get(d, "evidence");
	if (ev) {
		fprintf(f, "<dt>%s</dt><dd>",
			d == v->decisive ? "Deciding evidence" :
					   "Latest evidence");
		escf(f, "%s at %s: ", jstr(d, "action"),
		     fmt_utc(decision_ns(d), 1, a, sizeof(a)));
		pool_sentence(f, "candidate", json_object_get(ev, "candidate"));
		esc(f, "; ");
		pool_sentence(f, "stable", json_object_get(ev, "stable"));
		escf(f, "; verdict %s", jstr(ev, "verdict"));
		fputs("</dd>\n", f);
	}
	fputs("</dl>\n", f);
}

static void chart_section(FILE *f, const struct sluice_report_input *in,
			  const struct segment *sg)
{
	struct chart c = { 0 };
	__u64 t1 = sg->t1, last;
	const struct sluice_policy *p =
		sg->latest && in->rollout ? &in->rollout->policy : NULL;
	char lim1[40], lim2[40];
	double end;

	c.t0 = sg->t0;
	/*
	 * An active rollout holds its split until now; but after a long
	 * silence (an agent that is down, a gate nobody passed) the chart
	 * ends at the last decision rather than squeeze them all into one
	 * edge. The header says how long ago that was.
	 */
	if (active_latest(in, sg) && in->now_ns > t1 &&
	    in->now_ns - t1 <= quiet_limit(in, sg))
		t1 = in->now_ns;
	if (in->timeline &&
	    timeline_covers(in->timeline, sg->t0, sg->t_end, &last)) {
		c.from_timeline = true;
		if (last > t1)
			t1 = last;
	}
	c.span = (t1 - c.t0) / 1e9;
	if (c.span < 1)
		c.span = 1;
	/*
	 * Room after the last instant: a rollback or completion is drawn
	 * on the edge otherwise, and the split it left behind is hidden.
	 */
	c.span *= 1.04;
	c.split = (struct series){ .id = "split",
				   .label = "split",
				   .colour = COL_SPLIT };
	c.cand_ratio = (struct series){ .id = "candidate-error-ratio",
					.label = "candidate",
					.colour = COL_CAND };
	c.stable_ratio = (struct series){ .id = "stable-error-ratio",
					  .label = "stable",
					  .colour = COL_STABLE,
					  .width = 3.5 };
	c.cand_lower =
		(struct series){ .id = "candidate-error-ratio-lower-bound",
				 .label = "candidate, 99.9% lower bound",
				 .colour = COL_CAND,
				 .dash = "3 3",
				 .width = 1.2 };
	c.cand_p99 = (struct series){ .id = "candidate-p99",
				      .label = "candidate",
				      .colour = COL_CAND };
	c.stable_p99 = (struct series){ .id = "stable-p99",
					.label = "stable",
					.colour = COL_STABLE,
					.width = 3.5 };
	c.panels[0] = (struct panel){
		.id = "split",
		.title = "Split: the candidate's share of new flows (%)",
		.unit = "%",
		.s = { &c.split },
		.ns = 1,
		.limit = -1,
	};
	c.panels[1] = (struct panel){
		.id = "error-ratio",
		.title = "Error ratio: errors per new flow (%)",
		.unit = "%",
		.s = { &c.cand_ratio, &c.cand_lower, &c.stable_ratio },
		.ns = 3,
		.limit = p && p->max_error_ratio_ppm ?
				 p->max_error_ratio_ppm / 1e4 :
				 -1,
	};
	c.panels[2] = (struct panel){
		.id = "p99",
		.title = "p99 first-byte time (ms)",
		.unit = "",
		.s = { &c.cand_p99, &c.stable_p99 },
		.ns = 2,
		.limit = p && p->max_p99_first_byte_ns ?
				 p->max_p99_first_byte_ns / 1e6 :
				 -1,
	};
	snprintf(lim1, sizeof(lim1), "limit %.4g%%", c.panels[1].limit);
	snprintf(lim2, sizeof(lim2), "limit %.4g ms", c.panels[2].limit);
	c.panels[1].limit_label = lim1;
	c.panels[2].limit_label = lim2;

	chart_events(&c, in->history, sg->from, sg->to);
	if (c.from_timeline)
		chart_from_timeline(&c, in->timeline, sg->t_end);
	else
		chart_from_decisions(&c, in->history, sg->from, sg->to);
	/* The last split holds to the end of the chart. */
	end = c.split.n ? c.split.p[c.split.n - 1].t : 0;
	if (c.split.n && end < c.span)
		series_add(&c.split, c.span, c.split.p[c.split.n - 1].v,
			   MARK_NONE, NULL);
	panel_scale(&c.panels[0], 1);
	if (c.panels[0].ymax > 100)
		c.panels[0].ymax = 100;
	panel_scale(&c.panels[1], 1);
	panel_scale(&c.panels[2], 1);

	fputs("<figure>\n", f);
	draw_chart(f, &c);
	fputs("<figcaption>", f);
	if (c.from_timeline)
		esc(f, "Curves: per-tick samples from the timeline. ");
	else
		esc(f, "Points: the evidence of each decision, counted since "
		       "its step began (the agent's evidence window); hollow: "
		       "too few flows to judge; red: failing. ");
	esc(f, "Vertical lines: steps (dashed), rollback (red), completion "
	       "(green), abort (amber), pause, gate and resume (dotted). ");
	if (!p)
		esc(f, "Limits are drawn for the latest rollout only.");
	else
		esc(f, "Dashed red-violet lines: the policy's limits, where "
		       "it sets them.");
	fputs("</figcaption>\n</figure>\n", f);
	chart_free(&c);
}

static void num_cell(FILE *f, json_t *o, const char *k, const char *fmt,
		     double scale)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_number(v)) {
		fputs("<td></td>", f);
		return;
	}
	fputs("<td class=\"num\">", f);
	escf(f, fmt, scale * json_number_value(v));
	fputs("</td>", f);
}

static void decision_table(FILE *f, const struct sluice_report_input *in,
			   const struct segment *sg)
{
	char a[48], cls[32];
	size_t i;

	fputs("<table class=\"decisions\">\n<thead><tr>"
	      "<th rowspan=\"2\">Time (UTC)</th><th rowspan=\"2\">+s</th>"
	      "<th rowspan=\"2\">Action</th><th rowspan=\"2\">Step</th>"
	      "<th rowspan=\"2\">Split</th><th rowspan=\"2\">Verdict</th>"
	      "<th colspan=\"5\" class=\"group\">Candidate</th>"
	      "<th colspan=\"4\" class=\"group\">Stable</th>"
	      "<th rowspan=\"2\">z</th><th rowspan=\"2\">Reason</th></tr>\n"
	      "<tr><th>flows</th><th>errors</th><th>ratio</th>"
	      "<th title=\"99.9% Wilson lower bound of the error ratio: "
	      "what the absolute limit is tested on\">lower bound</th>"
	      "<th>p99 ms</th><th>flows</th><th>errors</th><th>ratio</th>"
	      "<th>p99 ms</th></tr></thead>\n<tbody>\n",
	      f);
	for (i = sg->from; i < sg->to; i++) {
		json_t *d = json_array_get(in->history, i);
		json_t *ev = json_object_get(d, "evidence");
		json_t *pools[2] = { json_object_get(ev, "candidate"),
				     json_object_get(ev, "stable") };
		__u64 t = decision_ns(d);
		int k;

		css_name(jstr(d, "action"), cls, sizeof(cls));
		fprintf(f, "<tr class=\"decision act-%s\"><td title=\"", cls);
		esc(f, jstr(d, "ts"));
		fprintf(f, "\">%s</td>", fmt_utc(t, 1, a, sizeof(a)));
		fprintf(f, "<td class=\"num\">%.3f</td><td>",
			t >= sg->t0 ? (t - sg->t0) / 1e9 : 0.0);
		esc(f, jstr(d, "action"));
		fputs("</td><td>", f);
		if (json_is_integer(json_object_get(d, "step")))
			fprintf(f, "%lld/%lld",
				json_integer_value(json_object_get(d, "step")),
				json_integer_value(
					json_object_get(d, "steps")));
		fputs("</td><td class=\"num\">", f);
		esc(f, jstr(d, "split"));
		fputs("</td><td>", f);
		esc(f, jstr(ev, "verdict"));
		fputs("</td>", f);
		for (k = 0; k < 2; k++) {
			num_cell(f, pools[k], "flows", "%.0f", 1);
			num_cell(f, pools[k], "errors", "%.0f", 1);
			num_cell(f, pools[k], "error_ratio", "%.2f%%", 100);
			if (k == 0)
				num_cell(f, ev, LOWER, "%.2f%%", 100);
			num_cell(f, pools[k], "p99_first_byte_ms", "%.1f", 1);
		}
		num_cell(f, ev, "z", "%.2f", 1);
		fputs("<td class=\"reason\">", f);
		esc(f, jstr(d, "reason"));
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody>\n</table>\n", f);
}

static void section(FILE *f, const struct sluice_report_input *in,
		    const struct segment *sg)
{
	struct verdict v;
	char a[48];

	verdict_of(in, sg, &v);
	fprintf(f, "<section class=\"rollout\" id=\"rollout-%d\">\n",
		sg->index);
	fputs("<h2>", f);
	if (in->all)
		escf(f, "Rollout %d of %d", sg->index, sg->count);
	else
		esc(f, "Latest rollout");
	if (sg->to > sg->from)
		escf(f, ", started %s", fmt_utc(sg->t0, 0, a, sizeof(a)));
	fputs("</h2>\n", f);
	fprintf(f, "<p class=\"verdict v-%s\"><span class=\"badge\">", v.cls);
	esc(f, v.headline);
	fputs("</span> ", f);
	esc(f, v.detail);
	fputs("</p>\n", f);
	if (!in->all && sg->count > 1)
		fprintf(f,
			"<p class=\"note\">%d earlier rollout%s in the history: "
			"<code>--all</code> shows %s.</p>\n",
			sg->count - 1, sg->count == 2 ? "" : "s",
			sg->count == 2 ? "it" : "them");
	section_facts(f, in, sg, &v);
	if (sg->to > sg->from) {
		chart_section(f, in, sg);
		fprintf(f, "<h3>Decisions (%zu)</h3>\n", sg->to - sg->from);
		decision_table(f, in, sg);
	} else {
		fputs("<p class=\"note\">No decision recorded yet.</p>\n", f);
	}
	fputs("</section>\n", f);
}

static const char page_style[] =
	"body{font:14px/1.45 'DejaVu Sans',system-ui,sans-serif;color:#212529;"
	"background:#fff;margin:0 auto;padding:16px 20px;max-width:1140px}"
	"h1{font-size:22px;margin:0 0 2px}h2{font-size:18px;margin:26px 0 6px;"
	"padding-top:10px;border-top:1px solid #dee2e6}"
	"h3{font-size:15px;margin:14px 0 6px}"
	".note,.meta{color:#6c757d;font-size:12.5px;margin:2px 0}"
	".verdict{font-size:16px;margin:6px 0 10px}"
	".badge{display:inline-block;padding:2px 10px;border-radius:4px;"
	"font-weight:bold;margin-right:6px}"
	".v-promoted .badge{background:#d3f9d8;color:#2b8a3e}"
	".v-rolled-back .badge{background:#ffe3e3;color:#c92a2a}"
	".v-aborted .badge{background:#fff3bf;color:#e67700}"
	".v-active .badge{background:#e7f5ff;color:#1864ab}"
	".v-unknown .badge{background:#f1f3f5;color:#495057}"
	"dl.facts{display:grid;grid-template-columns:max-content 1fr;"
	"gap:2px 14px;margin:8px 0 12px}dl.facts dt{color:#6c757d}"
	"dl.facts dd{margin:0}figure{margin:8px 0}"
	"figcaption{color:#6c757d;font-size:12px;margin-top:2px}"
	"svg.chart{display:block;max-width:100%;height:auto}"
	"svg text{font:11px 'DejaVu Sans',system-ui,sans-serif;fill:#495057}"
	"svg text.panel-title{font-weight:bold;fill:#343a40;font-size:12px}"
	"svg text.axis-title{font-size:11.5px}"
	"svg .frame{fill:none;stroke:#ced4da}svg .grid{stroke:#f1f3f5}"
	"table.decisions{border-collapse:collapse;font-size:12px;width:100%}"
	".decisions th,.decisions td{border-bottom:1px solid #e9ecef;"
	"padding:3px 5px;text-align:left;vertical-align:top}"
	".decisions th{background:#f8f9fa;font-weight:600;white-space:nowrap}"
	".decisions th.group{text-align:center}"
	".decisions td.reason{min-width:150px}"
	".decisions td.num{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}"
	".act-fail td{background:#fff5f5}"
	".act-rollback td,.act-rolled-back td{background:#ffe3e3;"
	"font-weight:600}"
	".act-complete td,.act-promote td{background:#ebfbee;font-weight:600}"
	".act-abort td{background:#fff9db}"
	".act-inconclusive td{color:#868e96}"
	".act-pause td,.act-gate td,.act-resume td{background:#f8f9fa}"
	"table.summary{border-collapse:collapse;font-size:13px}"
	".summary td,.summary th{padding:2px 10px 2px 0;text-align:left;"
	"vertical-align:top}.summary td.when{white-space:nowrap}";

int sluice_report_html(FILE *f, const struct sluice_report_input *in)
{
	size_t n = json_array_size(in->history), i, nseg = 0, k;
	struct segment *segs;
	char a[48];

	/* A rollout runs from one "start" to the next. */
	segs = calloc(n + 1, sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (i && !is_action(json_array_get(in->history, i), "start"))
			continue;
		if (nseg)
			segs[nseg - 1].to = i;
		segs[nseg++].from = i;
	}
	if (nseg)
		segs[nseg - 1].to = n;
	else
		nseg = 1; /* persisted but nothing recorded: one empty */
	for (k = 0; k < nseg; k++) {
		struct segment *sg = &segs[k];

		sg->index = (int)k + 1;
		sg->count = (int)nseg;
		sg->latest = k == nseg - 1;
		if (sg->to > sg->from)
			sg->t0 = decision_ns(
				json_array_get(in->history, sg->from));
		/* The latest instant, not the last line: clocks step. */
		sg->t1 = sg->t0;
		for (i = sg->from; i < sg->to; i++) {
			__u64 t = decision_ns(json_array_get(in->history, i));

			if (t > sg->t1)
				sg->t1 = t;
		}
		sg->t_end = ULLONG_MAX;
		if (k)
			segs[k - 1].t_end = sg->t0;
	}

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	      "<meta charset=\"utf-8\">\n"
	      /* Belt and braces: even a stray URL could fetch nothing. */
	      "<meta http-equiv=\"Content-Security-Policy\" "
	      "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, "
	      "initial-scale=1\">\n<title>",
	      f);
	escf(f, "sluice rollout report: %s", in->service);
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n",
		page_style);
	fputs("<header><h1>Rollout report: ", f);
	esc(f, in->service);
	fputs("</h1><p class=\"meta\">", f);
	escf(f, "Generated %s by sluice rollout report from %s; ",
	     fmt_utc(in->now_ns, 0, a, sizeof(a)), sluice_state_dir());
	escf(f, "%zu decision%s in the history.", n, n == 1 ? "" : "s");
	fputs("</p></header>\n", f);

	if (in->all && nseg > 1) {
		fputs("<table class=\"summary\"><thead><tr><th>#</th>"
		      "<th>Started</th><th>Candidate</th><th>Outcome</th>"
		      "</tr></thead><tbody>\n",
		      f);
		for (k = 0; k < nseg; k++) {
			struct verdict v;

			verdict_of(in, &segs[k], &v);
			fprintf(f,
				"<tr><td><a href=\"#rollout-%d\">%d</a></td>"
				"<td class=\"when\">",
				segs[k].index, segs[k].index);
			esc(f, fmt_utc(segs[k].t0, 0, a, sizeof(a)));
			fputs("</td><td>", f);
			esc(f, jstr(json_array_get(in->history, segs[k].from),
				    "candidate"));
			fprintf(f,
				"</td><td class=\"v-%s\"><span class=\"badge\">",
				v.cls);
			esc(f, v.headline);
			fputs("</span> ", f);
			esc(f, v.detail);
			fputs("</td></tr>\n", f);
		}
		fputs("</tbody></table>\n", f);
	}
	for (k = in->all ? 0 : nseg - 1; k < nseg; k++)
		section(f, in, &segs[k]);
	fputs("</body>\n</html>\n", f);
	free(segs);
	return ferror(f) ? -EIO : 0;
}

/* ---- input and the command ----------------------------------------------- */

json_t *sluice_report_load_timeline(const char *svc)
{
	char path[PATH_MAX], *buf = NULL;
	size_t cap = 0;
	json_t *arr, *o;
	FILE *f;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s.timeline.jsonl",
		     sluice_state_dir(), svc);
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	f = fopen(path, "re");
	if (!f)
		return NULL;
	arr = json_array();
	/* A line being appended while we read is skipped, not fatal. */
	while (getline(&buf, &cap, f) > 0) {
		o = json_loads(buf, 0, NULL);
		if (json_is_object(o))
			json_array_append(arr, o);
		json_decref(o);
	}
	free(buf);
	fclose(f);
	return arr;
}

static const struct cli_cmd report_cmd = {
	"rollout report",
	"Usage: sluice rollout report SERVICE --html FILE|- [--all]\n",
};

/* The rule 'service add' applies; it also keeps the name a file name. */
static bool service_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n >= SLUICE_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' ||
		      (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

int sluice_cmd_rollout_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "html", required_argument, NULL, 'H' },
		{ "all", no_argument, NULL, 'a' },
		{ 0 },
	};
	struct sluice_report_input in = { 0 };
	const char *out = NULL, *svc;
	struct sluice_rollout r;
	struct timespec ts;
	char *page = NULL;
	size_t len = 0;
	FILE *mem, *f;
	int o, err, rc = EXIT_OK;

	cli_reset_getopt();
	while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (o) {
		case 'H':
			if (!*optarg)
				return cli_usage(
					&report_cmd,
					"html '': want a file name, or - for stdout");
			out = optarg;
			break;
		case 'a':
			in.all = true;
			break;
		case ':':
			return cli_usage(
				&report_cmd,
				"option '%s' needs a value (a file name, or - for stdout)",
				argv[optind - 1]);
		default:
			return cli_usage(&report_cmd, "unknown option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage(&report_cmd, "SERVICE is missing");
	if (optind + 1 < argc)
		return cli_usage(&report_cmd, "unexpected argument '%s'",
				 argv[optind + 1]);
	svc = argv[optind];
	if (!service_name_ok(svc))
		return cli_usage(
			&report_cmd,
			"service name '%s': use 1-%d letters, digits, '-', '_' or '.'",
			svc, SLUICE_NAME_MAX - 1);
	if (!out)
		return cli_usage(&report_cmd,
				 "want --html FILE (or --html - for stdout)");

	err = sluice_store_load(svc, &r);
	if (err == -ENOENT)
		return cli_usage(&report_cmd, "no rollout of '%s' in %s", svc,
				 sluice_state_dir());
	if (err)
		return cli_fail(&report_cmd,
				"cannot read the state of '%s': %s", svc,
				strerror(-err));
	clock_gettime(CLOCK_REALTIME, &ts);
	in.service = svc;
	in.rollout = &r;
	in.history = sluice_store_history(svc);
	in.timeline = sluice_report_load_timeline(svc);
	in.now_ns = (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;

	/* Render whole first: a failure never leaves half a page behind. */
	mem = open_memstream(&page, &len);
	if (!mem) {
		rc = cli_fail(&report_cmd, "out of memory");
		goto out;
	}
	err = sluice_report_html(mem, &in);
	if (fclose(mem) || err) {
		rc = cli_fail(&report_cmd, "cannot render the report: %s",
			      strerror(err ? -err : ENOMEM));
		goto out;
	}
	if (!strcmp(out, "-")) {
		if (fwrite(page, 1, len, stdout) != len || fflush(stdout))
			rc = cli_fail(&report_cmd, "cannot write to stdout: %s",
				      strerror(errno));
		goto out;
	}
	f = fopen(out, "we");
	if (!f) {
		rc = cli_fail(&report_cmd, "cannot write '%s': %s", out,
			      strerror(errno));
		goto out;
	}
	if (fwrite(page, 1, len, f) != len) {
		rc = cli_fail(&report_cmd, "cannot write '%s': %s", out,
			      strerror(errno));
		fclose(f);
	} else if (fclose(f)) {
		rc = cli_fail(&report_cmd, "cannot write '%s': %s", out,
			      strerror(errno));
	}
out:
	free(page);
	json_decref(in.history);
	json_decref(in.timeline);
	return rc;
}
