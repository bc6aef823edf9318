// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * libFuzzer harness: what the agent makes of bytes it did not write.
 *
 * The input is parsed as the agent parses a control-socket request line
 * (json_loadb with JSON_DISABLE_EOF_CHECK, as sluice_ctl_read does); its
 * "policy" member goes through sluice_policy_from_json and
 * sluice_policy_check (the `rollout start` path of handle(), before any
 * map is touched). The same object is also read as a persisted rollout
 * state file (sluice_rollout_from_json): a corrupted state file must not
 * crash the agent, and what it accepts must survive its own round trip
 * and a resume after restart.
 *
 * It also requires that an accepted state file holds a policy
 * sluice_policy_check accepts and a split of at most 100%
 * (FUZZ_CTL_STRICT=0 turns that off, to look at other failures alone).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "sluice_abi.h"
#include "rollout.h"

#define CHECK(c)                                                          \
	do {                                                              \
		if (!(c)) {                                               \
			fprintf(stderr, "%s:%d: %s failed\n", __FILE__, \
				__LINE__, #c);                            \
			abort();                                          \
		}                                                         \
	} while (0)

static bool strict;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e = getenv("FUZZ_CTL_STRICT");

	(void)argc;
	(void)argv;
	strict = !(e && !strcmp(e, "0"));
	return 0;
}

static int io_snapshot(void *ctx, const char *svc, struct sluice_snapshot *s)
{
	(void)ctx;
	(void)svc;
	memset(s, 0, sizeof(*s));
	return 0;
}

static int io_split(void *ctx, const char *svc, __u32 ppm)
{
	(void)ctx;
	(void)svc;
	CHECK(!strict || ppm <= SLUICE_PPM);
	return 0;
}

static int io_rollout(void *ctx, const struct sluice_rollout *r)
{
	json_t *o = sluice_rollout_to_json(r);

	(void)ctx;
	json_decref(o);
	return 0;
}

static void io_record(void *ctx, const struct sluice_rollout *r,
		      const char *action, const char *reason, json_t *evidence)
{
	char *s = evidence ? json_dumps(evidence, JSON_COMPACT) : NULL;

	(void)ctx;
	(void)r;
	CHECK(action && reason);
	free(s);
}

static const struct sluice_rollout_io fake_io = {
	.snapshot = io_snapshot,
	.set_split = io_split,
	.complete = io_rollout,
	.persist = io_rollout,
	.forget_candidate = io_rollout,
	.record = io_record,
};

static void policy_path(json_t *req)
{
	struct sluice_policy p, q;
	json_t *pj = json_object_get(req, "policy"), *back;
	char why[160];

	if (!pj || sluice_policy_from_json(pj, &p))
		return;
	why[0] = '\0';
	if (sluice_policy_check(&p, why, sizeof(why))) {
		CHECK(why[0]);
		return;
	}
	back = sluice_policy_to_json(&p);
	CHECK(back);
	CHECK(!sluice_policy_from_json(back, &q));
	CHECK(!memcmp(&p, &q, sizeof(p)));
	json_decref(back);
}

static void state_path(json_t *o)
{
	struct sluice_rollout r, r2;
	json_t *back;

	if (sluice_rollout_from_json(o, &r))
		return;
	CHECK(sluice_rollout_state_name(r.state));
	if (strict) {
		char why[160];

		CHECK(!sluice_policy_check(&r.policy, why, sizeof(why)));
		CHECK(sluice_rollout_split(&r) <= SLUICE_PPM);
	}
	(void)sluice_rollout_active(&r);
	back = sluice_rollout_to_json(&r);
	CHECK(back);
	CHECK(!sluice_rollout_from_json(back, &r2));
	CHECK(!memcmp(&r, &r2, sizeof(r)));
	json_decref(back);
	/* What the agent does next with a state file it could read. */
	(void)sluice_rollout_resume_after_restart(&r, &fake_io,
						  r.step_started_ns + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *o;

	o = json_loadb((const char *)data, size, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!o)
		return 0;
	if (json_is_object(o)) {
		policy_path(o);
		state_path(o);
	}
	json_decref(o);
	return 0;
}
