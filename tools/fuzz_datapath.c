// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * fuzz_datapath: the long run of the data-path packet fuzzer (`make
 * fuzz`). The engine is tests/fuzz_datapath_test.c, whose short run with
 * a fixed seed is part of `make test`; this drives it with millions of
 * frames and a fresh seed, printed first so any failure replays.
 *
 * Environment:
 *   FUZZ_FRAMES       frames to send (default 10000000)
 *   FUZZ_SEED         seed (default: from the clock); a failure prints it
 *   FUZZ_OUT          where a failing frame is written as hex (default
 *                     build/fuzz-failure-SEED.hex)
 *   FUZZ_CHECK_EVERY  frames between counter checkpoints (default 1024)
 *   FUZZ_STRICT       1: known, reported bugs fail the run too; or
 *                     the names of some of them, comma-separated
 *
 * A per-frame check failure names the frame. A counter or event
 * mismatch is found at a checkpoint, so the run is replayed with the
 * same seed and a checkpoint after every frame up to that point, which
 * names the frame that moved the wrong counter (the fuzzer pins itself
 * to one CPU, so LRU eviction replays the same).
 *
 * Exit status: 0 no failure, 1 an invariant failed, 2 setup failed.
 */
#define FUZZ_DATAPATH_TOOL
#include "../tests/fuzz_datapath_test.c"

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

static int write_failure(const char *path, const struct fz_opts *o,
			 const struct fz_result *r)
{
	FILE *f = fopen(path, "w");
	size_t i;

	if (!f)
		return -1;
	/* First line: the input frame alone, as hex, for any replay tool. */
	for (i = 0; i < r->fail_in_len; i++)
		fprintf(f, "%02x", r->fail_in[i]);
	fprintf(f, "\n");
	fz_print_failure(f, o, r);
	return fclose(f);
}

int main(void)
{
	struct fz_opts o = {
		.frames = env_u64("FUZZ_FRAMES", 10000000),
		.check_every = env_u64("FUZZ_CHECK_EVERY", 1024),
		.strict = fz_strict_from_env(),
		.progress_secs = 10,
	};
	struct fz_result *r = calloc(1, sizeof(*r));
	const char *out = getenv("FUZZ_OUT");
	char path[256];
	struct timespec ts;

	if (!r)
		return 2;
	clock_gettime(CLOCK_REALTIME, &ts);
	o.seed = env_u64("FUZZ_SEED", (uint64_t)ts.tv_sec * 1000000007ull ^
					      (uint64_t)ts.tv_nsec ^
					      (uint64_t)getpid());
	if (!o.check_every)
		o.check_every = 1;
	printf("# fuzz_datapath: seed 0x%" PRIx64 ", %" PRIu64
	       " frames (replay: FUZZ_SEED=0x%" PRIx64 " make fuzz)\n",
	       o.seed, o.frames, o.seed);
	fflush(stdout);
	if (env_netns())
		return 2;
	if (fz_run(&o, r) == 0) {
		fz_print_summary(stdout, &o, r);
		fz_print_examples(stdout, r);
		printf("# ok: no invariant failed\n");
		return 0;
	}
	if (!r->fail_in_len && !r->frames) {
		fprintf(stderr, "# %s\n", r->fail_msg);
		return 2;
	}
	fz_print_failure(stderr, &o, r);
	fz_print_summary(stderr, &o, r);
	if (!strncmp(r->fail_what, "invariant 4", 11) && o.check_every > 1) {
		/* Found at a checkpoint: replay, checking after every frame. */
		struct fz_result *again_r = calloc(1, sizeof(*again_r));
		struct fz_opts again = o;

		fprintf(stderr,
			"# replaying up to frame %" PRIu64
			" with a checkpoint after every frame\n",
			r->fail_frame);
		again.check_every = 1;
		again.stop_at = r->fail_frame;
		again.progress_secs = 0;
		if (!again_r || fz_run(&again, again_r) == 0) {
			fprintf(stderr,
				"# the replay did not fail: the frame is not pinned down\n");
		} else {
			fz_print_failure(stderr, &again, again_r);
			memcpy(r, again_r, sizeof(*r));
		}
		free(again_r);
	}
	if (!out) {
		snprintf(path, sizeof(path),
			 "build/fuzz-failure-%016" PRIx64 ".hex", o.seed);
		out = path;
	}
	if (write_failure(out, &o, r) == 0)
		fprintf(stderr, "# failing frame written to %s\n", out);
	else
		fprintf(stderr, "# could not write %s: %s\n", out,
			strerror(errno));
	return 1;
}
