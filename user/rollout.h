/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The rollout state machine: walk the candidate's split through the
 * policy's steps, judge every tick on kernel counters, advance after a
 * healthy bake, hold while the evidence is thin, roll back after
 * failure_limit failing ticks in a row.
 *
 * It does no I/O itself: reading counters, writing the split, persisting
 * and recording decisions go through struct sluice_rollout_io, so the
 * agent drives it with the maps and tests drive it with fakes. Every
 * transition is persisted before the map write it leads to; re-applying
 * the current step's split is idempotent, so a restart after a crash at
 * any point neither repeats a step nor skips one.
 */
#ifndef SLUICE_ROLLOUT_H
#define SLUICE_ROLLOUT_H

#include <stdbool.h>
#include <jansson.h>

#include "judge.h"
#include "policy.h"

enum sluice_rollout_state {
	SLUICE_RO_RUNNING = 0,
	SLUICE_RO_PAUSED, /* by a human, or inconclusive for too long */
	SLUICE_RO_GATE, /* a manual gate: waits for resume or promote */
	SLUICE_RO_RAMPING_BACK, /* rolling back step by step */
	SLUICE_RO_PROMOTED, /* done: the candidate is stable */
	SLUICE_RO_ROLLED_BACK, /* done: failed, split 0 */
	SLUICE_RO_ABORTED, /* done: stopped by a human, split 0 */
};

/* Per-colour totals at one instant; a window is the difference of two. */
struct sluice_snapshot {
	__u64 flows[SLUICE_COLOURS];
	__u64 errors[SLUICE_COLOURS];
	__u64 first_byte_hist[SLUICE_COLOURS][SLUICE_HIST_BUCKETS];
};

struct sluice_rollout {
	char service[SLUICE_NAME_MAX];
	struct sluice_policy policy;
	enum sluice_rollout_state state;
	int step; /* index into policy.steps */
	__u8 candidate; /* colour being released, fixed at start */
	__u64 service_created_ns; /* which incarnation of the service */
	__u64 started_ns; /* CLOCK_REALTIME, like every time here */
	__u64 step_started_ns; /* the evidence window began */
	__u32 failures; /* consecutive failing ticks */
	bool inconclusive_noted; /* this step's first inconclusive tick recorded */
	__u64 ramp_started_ns;
	__u32 ramp_from_ppm;
	struct sluice_snapshot base; /* counters when the window began */
	char reason[320]; /* why it paused, failed or stopped */
	/*
	 * A finished rollout's last map write happened: a restart leaves
	 * the split alone (an operator may have changed it since).
	 */
	bool settled;
};

struct sluice_rollout_io {
	void *ctx;
	int (*snapshot)(void *ctx, const char *svc, struct sluice_snapshot *s);
	/* the candidate's share of new flows, ppm: one map write */
	int (*set_split)(void *ctx, const char *svc, __u32 ppm);
	/* roles swap: the candidate becomes stable (idempotent) */
	int (*complete)(void *ctx, const struct sluice_rollout *r);
	int (*persist)(void *ctx, const struct sluice_rollout *r);
	/* forget the candidate pool's flow state (NULL: not supported) */
	int (*forget_candidate)(void *ctx, const struct sluice_rollout *r);
	/* a decision with its evidence (evidence may be NULL; not consumed) */
	void (*record)(void *ctx, const struct sluice_rollout *r,
		       const char *action, const char *reason, json_t *evidence);
};

bool sluice_rollout_active(const struct sluice_rollout *r);
const char *sluice_rollout_state_name(enum sluice_rollout_state s);
__u32 sluice_rollout_split(const struct sluice_rollout *r);

int sluice_rollout_start(struct sluice_rollout *r, const char *svc,
			 const struct sluice_policy *p, __u8 candidate,
			 const struct sluice_rollout_io *io, __u64 now);
/* After a restart: re-apply what the persisted state says is in force. */
int sluice_rollout_resume_after_restart(struct sluice_rollout *r,
					const struct sluice_rollout_io *io,
					__u64 now);
int sluice_rollout_tick(struct sluice_rollout *r,
			const struct sluice_rollout_io *io, __u64 now);
/* Human commands; -EINVAL when not allowed in the current state. */
int sluice_rollout_pause(struct sluice_rollout *r,
			 const struct sluice_rollout_io *io, __u64 now);
int sluice_rollout_resume(struct sluice_rollout *r,
			  const struct sluice_rollout_io *io, __u64 now);
int sluice_rollout_promote(struct sluice_rollout *r,
			   const struct sluice_rollout_io *io, __u64 now);
int sluice_rollout_abort(struct sluice_rollout *r,
			 const struct sluice_rollout_io *io, __u64 now,
			 const char *why);

/* The evidence of the current window, as JSON for decisions. */
json_t *sluice_evidence_json(const struct sluice_evidence *cand,
			     const struct sluice_evidence *stable,
			     const struct sluice_judgement *j);

/* Policies on the wire and on disk; check says what is wrong. */
json_t *sluice_policy_to_json(const struct sluice_policy *p);
int sluice_policy_from_json(json_t *o, struct sluice_policy *p);
int sluice_policy_check(const struct sluice_policy *p, char *why, size_t len);

/* Persisted form. */
json_t *sluice_rollout_to_json(const struct sluice_rollout *r);
int sluice_rollout_from_json(json_t *o, struct sluice_rollout *r);

#endif /* SLUICE_ROLLOUT_H */
