/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The declarative config file read by `sluice apply -f FILE` and
 * `sluice agent --config FILE`: agent settings, and services with their
 * pools, segments and rollout policies (tools/sluice.example.yaml shows
 * every key).
 *
 * The loader is strict in the same way as parse.h: unknown keys,
 * duplicate keys, wrong types and out-of-range values are all errors,
 * because a config that is half understood would steer traffic in a way
 * nobody wrote down. YAML anchors, aliases and explicit tags are
 * rejected too: a config is read by people during an incident, and
 * every value should be where it applies.
 *
 * Error messages are one line, "FILE:LINE:COLUMN: FIELD: what is wrong
 * (what is allowed)", with 1-based line and column (in characters) of
 * the offending node, e.g.
 *   sluice.yaml:7:11: services.web.rollout.bake: 'fast' is not a
 *   duration (e.g. 30s, 250ms, 1m30s)
 * FIELD is a path such as services.web.blue[1].weight; it is "yaml" for
 * errors in the YAML syntax itself and "document" for the top level.
 * I/O errors have no position: "FILE: cannot open: <strerror>".
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "sluice_abi.h"
#include "policy.h"

struct sluice_cfg_backend {
	__u8 addr[16];
	__u16 port; /* host byte order, as parse.h returns it */
	__u16 weight; /* 1 when not given, as `sluice backend add` */
};

struct sluice_cfg_segment {
	__u8 addr[16];
	__u32 plen128; /* bits of the 16-byte form: an IPv4 /24 is 120 */
	__u8 colour;
};

struct sluice_cfg_service {
	char name[SLUICE_NAME_MAX];
	struct sluice_service_key key; /* port in network byte order */
	__u8 mode; /* enum sluice_mode, default nat */
	__u8 affinity; /* enum sluice_affinity, default flow */
	__u8 candidate; /* enum sluice_colour, default green */
	bool has_split;
	__u32 split_ppm; /* candidate share, when has_split */
	struct sluice_cfg_backend *pool[SLUICE_COLOURS]; /* by colour */
	int npool[SLUICE_COLOURS];
	struct sluice_cfg_segment *segments;
	int nsegments;
	bool has_rollout; /* a rollout: key, even empty (then all defaults) */
	struct sluice_policy rollout;
	int line; /* of the service's name, for messages */
};

struct sluice_cfg {
	/* As written; validated with sluice_parse_endpoint. */
	char metrics[64];
	bool has_metrics;
	char events[256]; /* a file path, or "-" for stdout */
	bool has_events;
	char state_dir[256];
	bool has_state_dir;
	struct sluice_cfg_service *services; /* in file order */
	int nservices;
};

/*
 * Parse a whole file. Returns 0, -EINVAL for anything wrong in the
 * content, -ENOMEM, or -errno when the file cannot be read (-EFBIG past
 * 64 MiB). On error one line is written to err (if errlen > 0) and *cfg
 * is left zeroed: nothing is returned half-filled.
 */
int sluice_cfg_load(const char *path, struct sluice_cfg *cfg, char *err,
		    size_t errlen);

/* The same from a buffer of len bytes (need not be NUL-terminated). */
int sluice_cfg_parse(const char *name, const char *buf, size_t len,
		     struct sluice_cfg *cfg, char *err, size_t errlen);

/* Free what a successful load allocated and zero *cfg; safe to repeat. */
void sluice_cfg_free(struct sluice_cfg *cfg);

#endif /* SLUICE_CONFIG_H */
