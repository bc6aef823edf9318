// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
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

#define PIN(n) { #n, offsetof(struct sluice_maps, n) }
const struct sluice_map_pin sluice_map_pins[] = {
	PIN(services),	    PIN(service_meta),	PIN(config),
	PIN(pools),	    PIN(segments),	PIN(flows),
	PIN(nat),	    PIN(backend_stats), PIN(service_stats),
	PIN(global_stats),  PIN(events),
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
