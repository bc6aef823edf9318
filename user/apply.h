/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Make the kernel's state match a config file: services, their pools,
 * split and segments. Idempotent: applying the same file twice changes
 * nothing the second time. Each pool is swapped whole, once per apply.
 */
#ifndef SLUICE_APPLY_H
#define SLUICE_APPLY_H

#include <stdbool.h>
#include <stdio.h>
#include "config.h"
#include "maps.h"

struct sluice_apply_opts {
	bool prune; /* delete services the file does not mention */
	bool dry_run; /* say what would change, change nothing */
	FILE *log; /* one line per change; NULL = quiet */
};

/*
 * Returns 0, or -errno with a message in err. Everything is checked
 * (capacity, active rollouts owning a split) before the first change.
 */
int sluice_apply(const struct sluice_maps *m, const struct sluice_cfg *cfg,
		 const struct sluice_apply_opts *o, char *err, size_t errlen);

#endif /* SLUICE_APPLY_H */
