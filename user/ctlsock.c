// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include "ctlsock.h"

static int fill_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

int sluice_ctl_listen(const char *path)
{
	char dir[PATH_MAX];
	struct sockaddr_un a;
	int fd, err;

	err = fill_addr(&a, path);
	if (err)
		return err;
	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0700) && errno != EEXIST)
		return -errno;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* a stale socket from a killed agent */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    chmod(path, 0600) || listen(fd, 16)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void timeouts(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Read up to a newline or EOF. */
static char *read_line(int fd, size_t *len)
{
	char *buf = malloc(SLUICE_CTL_MAX + 1);
	size_t n = 0;
	ssize_t r;

	if (!buf)
		return NULL;
	while (n < SLUICE_CTL_MAX) {
		r = read(fd, buf + n, SLUICE_CTL_MAX - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
		if (memchr(buf + n - r, '\n', r))
			break;
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

json_t *sluice_ctl_read(int fd, char *err, size_t errlen)
{
	json_error_t jerr;
	size_t len;
	char *buf;
	json_t *o;

	timeouts(fd, 2);
	buf = read_line(fd, &len);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &jerr);
	free(buf);
	if (!o || !json_is_object(o)) {
		snprintf(err, errlen, "request is not a JSON object: %s",
			 o ? "wrong type" : jerr.text);
		json_decref(o);
		return NULL;
	}
	return o;
}

int sluice_ctl_write(int fd, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t len, off = 0;
	ssize_t w;
	int err = 0;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	text[len] = '\n';
	len++;
	while (off < len) {
		w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = -EIO;
			break;
		}
		off += w;
	}
	free(text);
	return err;
}

int sluice_ctl_call(const char *path, json_t *req, json_t **resp)
{
	struct sockaddr_un a;
	size_t len;
	char *buf;
	int fd, err;

	*resp = NULL;
	err = fill_addr(&a, path);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	timeouts(fd, 10);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		err = -errno;
		close(fd);
		return err;
	}
	err = sluice_ctl_write(fd, req);
	if (!err) {
		buf = read_line(fd, &len);
		*resp = buf ? json_loadb(buf, len, JSON_DISABLE_EOF_CHECK,
					 NULL) :
			      NULL;
		free(buf);
		if (!*resp)
			err = -EPROTO;
	}
	close(fd);
	return err;
}
