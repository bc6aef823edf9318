/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The agent's control socket: a Unix stream socket (mode 0600 in a 0700
 * directory, root only). One request per connection: a JSON object on
 * one line, answered by one JSON object on one line.
 */
#ifndef SLUICE_CTLSOCK_H
#define SLUICE_CTLSOCK_H

#include <stddef.h>
#include <jansson.h>

#define SLUICE_CTL_MAX 65536

int sluice_ctl_listen(const char *path);
/* Read one request from an accepted connection; NULL + err on failure. */
json_t *sluice_ctl_read(int fd, char *err, size_t errlen);
int sluice_ctl_write(int fd, json_t *msg);
/*
 * Send a request and wait for the answer. -ECONNREFUSED / -ENOENT mean
 * no agent is listening.
 */
int sluice_ctl_call(const char *path, json_t *req, json_t **resp);

#endif /* SLUICE_CTLSOCK_H */
