/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Pinned state under /sys/fs/bpf/sluice: the maps by name and one XDP
 * link per interface (link_IFNAME). SLUICE_PIN_DIR overrides the place,
 * so tests never touch a real deployment's pins.
 */
#ifndef SLUICE_PINS_H
#define SLUICE_PINS_H

#include <stddef.h>
#include "maps.h"

#define SLUICE_PIN_DIR_DEFAULT "/sys/fs/bpf/sluice"
#define SLUICE_LOCK_DEFAULT "/run/lock/sluice.lock"
#define SLUICE_LINK_PREFIX "link_"

struct sluice_map_pin {
	const char *name; /* map name in the object, and its pin name */
	size_t off; /* offset of its fd in struct sluice_maps */
	__u32 key_size, value_size; /* as this build's ABI says */
};

extern const struct sluice_map_pin sluice_map_pins[];
extern const size_t sluice_map_pins_n;

const char *sluice_pin_dir(void);
/* 0 if dir's parent is a mounted bpffs; else -errno and a reason. */
int sluice_check_bpffs(const char *dir, char *why, size_t len);
/* Exclusive lock around commands that change state; returns an fd. */
int sluice_lock(void);
void sluice_unlock(int fd);
/* Open every pinned map; -ENOENT when sluice is not up. */
int sluice_maps_open(struct sluice_maps *m);
void sluice_maps_close(struct sluice_maps *m);

#endif /* SLUICE_PINS_H */
