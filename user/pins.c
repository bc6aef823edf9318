// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>

#include "pins.h"

#define PIN(n, k, v) { #n, offsetof(struct sluice_maps, n), k, v }
const struct sluice_map_pin sluice_map_pins[] = {
	PIN(services, sizeof(struct sluice_service_key),
	    sizeof(struct sluice_service)),
	PIN(service_meta, 4, sizeof(struct sluice_service_meta)),
	PIN(config, 4, sizeof(struct sluice_config)),
	PIN(pools, 4, 4),
	PIN(segments, sizeof(struct sluice_segment_key), 1),
	PIN(flows, sizeof(struct sluice_flow_key), sizeof(struct sluice_flow)),
	PIN(nat, sizeof(struct sluice_flow_key), sizeof(struct sluice_nat)),
	PIN(backend_stats, 4, sizeof(struct sluice_backend_stats)),
	PIN(service_stats, 4, sizeof(struct sluice_service_stats)),
	PIN(global_stats, 4, sizeof(struct sluice_global_stats)),
	PIN(events, 0, 0),
};
const size_t sluice_map_pins_n =
	sizeof(sluice_map_pins) / sizeof(sluice_map_pins[0]);

const char *sluice_pin_dir(void)
{
	const char *d = getenv("SLUICE_PIN_DIR");

	return d && *d ? d : SLUICE_PIN_DIR_DEFAULT;
}

int sluice_check_bpffs(const char *dir, char *why, size_t len)
{
	char buf[PATH_MAX];
	struct statfs st;

	snprintf(buf, sizeof(buf), "%s", dir);
	if (statfs(dirname(buf), &st)) {
		int err = -errno;

		snprintf(why, len, "%s: %s", buf, strerror(-err));
		return err;
	}
	if (st.f_type != BPF_FS_MAGIC) {
		snprintf(why, len,
			 "%s is not a bpffs mount (mount -t bpf bpf %s)", buf,
			 buf);
		return -ENOTDIR;
	}
	/* The pin directory itself, if present, must be on the same bpffs. */
	if (!statfs(dir, &st) && st.f_type != BPF_FS_MAGIC) {
		snprintf(why, len, "%s is not on bpffs", dir);
		return -ENOTDIR;
	}
	return 0;
}

int sluice_lock(void)
{
	const char *path = getenv("SLUICE_LOCK_FILE");
	int fd;

	if (!path || !*path)
		path = SLUICE_LOCK_DEFAULT;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

void sluice_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static bool pin_matches(int fd, const struct sluice_map_pin *p)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return false;
	return info.key_size == p->key_size && info.value_size == p->value_size;
}

int sluice_maps_open(struct sluice_maps *m)
{
	char path[PATH_MAX];
	size_t i;
	int fd;

	for (i = 0; i < sluice_map_pins_n; i++)
		*(int *)((char *)m + sluice_map_pins[i].off) = -1;
	for (i = 0; i < sluice_map_pins_n; i++) {
		snprintf(path, sizeof(path), "%s/%s", sluice_pin_dir(),
			 sluice_map_pins[i].name);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			int err = -errno;

			sluice_maps_close(m);
			return err;
		}
		*(int *)((char *)m + sluice_map_pins[i].off) = fd;
		/*
		 * Pins outlive binaries: maps left by another version of
		 * sluice would be read with the wrong sizes.
		 */
		if (!pin_matches(fd, &sluice_map_pins[i])) {
			sluice_maps_close(m);
			return -EPROTO;
		}
	}
	return 0;
}

void sluice_maps_close(struct sluice_maps *m)
{
	size_t i;
	int *fd;

	for (i = 0; i < sluice_map_pins_n; i++) {
		fd = (int *)((char *)m + sluice_map_pins[i].off);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}
