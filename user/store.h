/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Where rollouts live on disk: one JSON file per service, replaced
 * atomically (write, fsync, rename, fsync the directory), so a kill -9
 * at any moment leaves either the old state or the new one, never a torn
 * file; and one JSON-lines history of decisions per service.
 */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include <jansson.h>
#include "rollout.h"

#define SLUICE_STATE_DIR_DEFAULT "/var/lib/sluice"
#define SLUICE_SOCKET_DEFAULT "/run/sluice/agent.sock"

/* SLUICE_STATE_DIR, or the default. */
const char *sluice_state_dir(void);
/* SLUICE_SOCKET, or the default. */
const char *sluice_socket_path(void);
void sluice_store_set_dir(const char *dir);

int sluice_store_save(const struct sluice_rollout *r);
/* -ENOENT when the service never had a rollout. */
int sluice_store_load(const char *svc, struct sluice_rollout *r);
/* Every rollout on disk; returns how many (up to max) or -errno. */
int sluice_store_load_all(struct sluice_rollout *out, int max);
int sluice_store_append_history(const char *svc, json_t *decision);
/* The history as a JSON array (empty when there is none). */
json_t *sluice_store_history(const char *svc);
/* Forget a service's rollout and history (service deleted). */
void sluice_store_remove(const char *svc);

#endif /* SLUICE_STORE_H */
