/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * `sluice rollout report`: one self-contained HTML page that shows why a
 * rollout advanced or rolled back. The split, both pools' error ratios
 * and p99 first-byte times over time are drawn as inline SVG (three
 * panels on one time axis, steps and the outcome as vertical lines),
 * followed by every decision with its evidence.
 *
 * The page loads nothing: no scripts, no fonts, no URLs, and a
 * Content-Security-Policy that forbids fetching anything, so it can be
 * mailed, attached to an incident or opened on an air-gapped host.
 *
 * Input is what the agent leaves in the state directory: the persisted
 * rollout, the decision history and, when present, SERVICE.timeline.jsonl
 * (one sample per line: ts_ns, split_ppm, candidate and stable objects
 * with flows, errors, error_ratio, p99_first_byte_ms) for denser curves.
 */
#ifndef SLUICE_REPORT_H
#define SLUICE_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>
#include <linux/types.h>

#include "rollout.h"

struct sluice_report_input {
	const char *service;
	const struct sluice_rollout *rollout; /* the latest, persisted */
	json_t *history; /* array of decisions, oldest first */
	json_t *timeline; /* array of samples, or NULL */
	bool all; /* every rollout in the history, not only the latest */
	__u64 now_ns; /* CLOCK_REALTIME: "generated at", active rollouts */
};

/* Write the page to f; 0, or -EIO when f reports an error. */
int sluice_report_html(FILE *f, const struct sluice_report_input *in);

/* The timeline of svc from the state directory; NULL when there is none. */
json_t *sluice_report_load_timeline(const char *svc);

/* `sluice rollout report SERVICE --html FILE [--all]`; argv[0] "report". */
int sluice_cmd_rollout_report(int argc, char **argv);

#endif /* SLUICE_REPORT_H */
