// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * libFuzzer harness: the config file parser (sluice apply -f, the agent's
 * --config). Any input must give 0 or an error with a one-line message,
 * never a crash, a leak or undefined behaviour; on error *cfg is zeroed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct sluice_cfg zero;
	struct sluice_cfg cfg;
	char err[512];
	int rc;

	memset(&cfg, 0xa5, sizeof(cfg));
	err[0] = '\0';
	rc = sluice_cfg_parse("fuzz.yaml", (const char *)data, size, &cfg, err,
			      sizeof(err));
	if (rc) {
		/* An error says what is wrong, and returns nothing. */
		if (!err[0] || strchr(err, '\n') ||
		    memcmp(&cfg, &zero, sizeof(cfg)))
			abort();
		return 0;
	}
	if (cfg.nservices < 0 || (cfg.nservices && !cfg.services))
		abort();
	sluice_cfg_free(&cfg);
	sluice_cfg_free(&cfg); /* documented as safe to repeat */
	return 0;
}
