// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "store.h"

static const char *dir_override;

void sluice_store_set_dir(const char *dir)
{
	dir_override = dir;
}

const char *sluice_state_dir(void)
{
	const char *d = getenv("SLUICE_STATE_DIR");

	if (dir_override)
		return dir_override;
	return d && *d ? d : SLUICE_STATE_DIR_DEFAULT;
}

const char *sluice_socket_path(void)
{
	const char *s = getenv("SLUICE_SOCKET");

	return s && *s ? s : SLUICE_SOCKET_DEFAULT;
}

static int path_of(char *buf, size_t len, const char *svc, const char *ext)
{
	int n = snprintf(buf, len, "%s/%s.%s", sluice_state_dir(), svc, ext);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int ensure_dir(void)
{
	if (mkdir(sluice_state_dir(), 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int sluice_store_save(const struct sluice_rollout *r)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	json_t *o;
	int fd, err = 0, dfd;
	char *text;
	size_t len;

	err = ensure_dir();
	if (err)
		return err;
	if (path_of(path, sizeof(path), r->service, "rollout.json"))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	o = sluice_rollout_to_json(r);
	text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd))
		err = errno ? -errno : -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		goto out;
	}
	/* The rename itself must survive a crash too. */
	dfd = open(sluice_state_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	free(text);
	return err;
}

int sluice_store_load(const char *svc, struct sluice_rollout *r)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *o;
	int err;

	if (path_of(path, sizeof(path), svc, "rollout.json"))
		return -ENAMETOOLONG;
	if (access(path, F_OK))
		return -ENOENT;
	o = json_load_file(path, 0, &jerr);
	if (!o)
		return -EBADMSG;
	err = sluice_rollout_from_json(o, r);
	json_decref(o);
	return err ? -EBADMSG : 0;
}

int sluice_store_load_all(struct sluice_rollout *out, int max)
{
	const char *suffix = ".rollout.json";
	size_t sl = strlen(suffix), n;
	char svc[SLUICE_NAME_MAX];
	struct dirent *de;
	int count = 0;
	DIR *d = opendir(sluice_state_dir());

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) && count < max) {
		n = strlen(de->d_name);
		if (n <= sl || n - sl >= sizeof(svc) ||
		    strcmp(de->d_name + n - sl, suffix))
			continue;
		memcpy(svc, de->d_name, n - sl);
		svc[n - sl] = 0;
		if (!sluice_store_load(svc, &out[count]))
			count++;
	}
	closedir(d);
	return count;
}

int sluice_store_append_history(const char *svc, json_t *decision)
{
	char path[PATH_MAX], *line;
	int fd, err = 0;
	size_t len;

	err = ensure_dir();
	if (err)
		return err;
	if (path_of(path, sizeof(path), svc, "history.jsonl"))
		return -ENAMETOOLONG;
	line = json_dumps(decision, JSON_COMPACT | JSON_SORT_KEYS);
	if (!line)
		return -ENOMEM;
	len = strlen(line);
	line[len] = '\n';
	/* One write of one line: appends never interleave mid-line. */
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		err = -errno;
	else if (write(fd, line, len + 1) != (ssize_t)(len + 1))
		err = -EIO;
	if (fd >= 0)
		close(fd);
	free(line);
	return err;
}

json_t *sluice_store_history(const char *svc)
{
	char path[PATH_MAX], *buf = NULL;
	size_t cap = 0;
	json_t *arr = json_array(), *o;
	FILE *f;

	if (path_of(path, sizeof(path), svc, "history.jsonl"))
		return arr;
	f = fopen(path, "re");
	if (!f)
		return arr;
	while (getline(&buf, &cap, f) > 0) {
		o = json_loads(buf, 0, NULL);
		if (o)
			json_array_append_new(arr, o);
	}
	free(buf);
	fclose(f);
	return arr;
}

void sluice_store_remove(const char *svc)
{
	char path[PATH_MAX];

	if (!path_of(path, sizeof(path), svc, "rollout.json"))
		unlink(path);
	if (!path_of(path, sizeof(path), svc, "history.jsonl"))
		unlink(path);
}
