// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "apply.h"
#include "names.h"
#include "parse.h"
#include "rollout.h"
#include "state.h"
#include "store.h"

static void say(const struct sluice_apply_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const struct sluice_apply_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->log)
		return;
	if (o->dry_run)
		fputs("would ", o->log);
	va_start(ap, fmt);
	vfprintf(o->log, fmt, ap);
	va_end(ap);
	fputc('\n', o->log);
}

static const struct sluice_cfg_service *wanted(const struct sluice_cfg *cfg,
					       const char *name)
{
	int i;

	for (i = 0; i < cfg->nservices; i++)
		if (!strcmp(cfg->services[i].name, name))
			return &cfg->services[i];
	return NULL;
}

static bool rollout_owns_split(const char *svc)
{
	struct sluice_rollout r;

	return !sluice_store_load(svc, &r) && sluice_rollout_active(&r);
}

/* Checks that need the current state, before anything is written. */
static int precheck(const struct sluice_maps *m, const struct sluice_cfg *cfg,
		    const struct sluice_apply_opts *o, char *err, size_t len)
{
	struct sluice_service_meta meta;
	int i, fresh = 0, used = 0;
	__u32 id;

	for (id = 0; id < SLUICE_MAX_SERVICES; id++) {
		if (sluice_meta_read(m, id, &meta))
			continue;
		used++;
		/* A VIP held by a service of another name blocks a create. */
		for (i = 0; i < cfg->nservices; i++) {
			const struct sluice_cfg_service *s = &cfg->services[i];

			if (strcmp(s->name, meta.name) &&
			    !memcmp(&s->key, &meta.key, sizeof(s->key)) &&
			    !(o->prune && !wanted(cfg, meta.name))) {
				snprintf(err, len,
					 "service '%s': its vip belongs to "
					 "service '%s' (delete that one, or use "
					 "--prune)",
					 s->name, meta.name);
				return -EEXIST;
			}
		}
		if (o->prune && !wanted(cfg, meta.name))
			used--;
	}
	for (i = 0; i < cfg->nservices; i++) {
		const struct sluice_cfg_service *s = &cfg->services[i];

		if (sluice_service_find(m, s->name, NULL, &meta))
			fresh++;
		else if (rollout_owns_split(s->name) &&
			 ((s->has_split && meta.split_ppm != s->split_ppm) ||
			  meta.candidate != s->candidate)) {
			snprintf(err, len,
				 "service '%s': a rollout owns its split and "
				 "roles; leave 'split' and 'candidate' as they "
				 "are, or abort the rollout",
				 s->name);
			return -EBUSY;
		}
	}
	if (used + fresh > SLUICE_MAX_SERVICES) {
		snprintf(err, len, "%d services would exceed the limit of %d",
			 used + fresh, SLUICE_MAX_SERVICES);
		return -ENOSPC;
	}
	return 0;
}

/* The pool as the file wants it, keeping slots of backends that stay. */
static int pool_converge(const struct sluice_maps *m, __u32 id, __u8 colour,
			 __u32 seed, const struct sluice_cfg_service *s,
			 const struct sluice_apply_opts *o,
			 struct sluice_pool_batch *batch, bool *changed)
{
	struct sluice_pool *cur = calloc(1, sizeof(*cur));
	struct sluice_pool *next = calloc(1, sizeof(*next));
	char ep[SLUICE_ENDPOINT_STRLEN];
	__u32 fresh[SLUICE_MAX_BACKENDS_PER_POOL];
	int i, slot, err = 0, nfresh = 0;

	*changed = false;
	if (!cur || !next) {
		err = -ENOMEM;
		goto out;
	}
	err = sluice_pool_read(m, id, colour, cur);
	if (err && err != -ENOENT)
		goto out;
	err = 0;
	*next = *cur;
	/* Backends the file drops: drain (their flows finish). */
	for (i = 0; i < SLUICE_MAX_BACKENDS_PER_POOL; i++) {
		struct sluice_backend *b = &next->backends[i];
		int k;

		if (!(b->flags & SLUICE_BE_F_USED) ||
		    (b->flags & SLUICE_BE_F_DRAINING))
			continue;
		for (k = 0; k < s->npool[colour]; k++)
			if (!memcmp(s->pool[colour][k].addr, b->addr, 16) &&
			    htons(s->pool[colour][k].port) == b->port)
				break;
		if (k == s->npool[colour]) {
			b->flags |= SLUICE_BE_F_DRAINING;
			say(o, "drain %s backend %s of '%s'",
			    sluice_colour_name(colour),
			    sluice_format_endpoint(b->addr, ntohs(b->port), ep,
						   sizeof(ep)),
			    s->name);
			*changed = true;
		}
	}
	for (i = 0; i < s->npool[colour]; i++) {
		const struct sluice_cfg_backend *cb = &s->pool[colour][i];
		struct sluice_backend *b;

		sluice_format_endpoint(cb->addr, cb->port, ep, sizeof(ep));
		slot = sluice_backend_slot(next, cb->addr, cb->port);
		if (slot >= 0) {
			b = &next->backends[slot];
			if (b->weight == cb->weight &&
			    !(b->flags & SLUICE_BE_F_DRAINING))
				continue;
			say(o, "set %s backend %s of '%s': weight %u, active",
			    sluice_colour_name(colour), ep, s->name,
			    cb->weight);
			b->weight = cb->weight;
			b->flags &= ~SLUICE_BE_F_DRAINING;
			*changed = true;
			continue;
		}
		for (slot = 0; slot < SLUICE_MAX_BACKENDS_PER_POOL; slot++)
			if (!(next->backends[slot].flags & SLUICE_BE_F_USED))
				break;
		if (slot == SLUICE_MAX_BACKENDS_PER_POOL) {
			err = -ENOSPC;
			goto out;
		}
		b = &next->backends[slot];
		memset(b, 0, sizeof(*b));
		memcpy(b->addr, cb->addr, 16);
		b->port = htons(cb->port);
		b->weight = cb->weight;
		b->id = sluice_backend_id(id, colour, slot);
		b->flags = SLUICE_BE_F_USED;
		say(o, "add %s backend %s of '%s' (weight %u)",
		    sluice_colour_name(colour), ep, s->name, cb->weight);
		*changed = true;
		fresh[nfresh++] = b->id;
	}
	if (!*changed || o->dry_run)
		goto out;
	/*
	 * New backends start from zero (a slot may have held another);
	 * those that stay have had counters since they were added.
	 */
	err = sluice_backend_stats_reset(m, fresh, nfresh);
	if (!err) {
		next->generation++;
		err = sluice_pool_stage(m, batch, id, colour, next, seed, true);
	}
out:
	free(cur);
	free(next);
	return err;
}

static int segments_converge(const struct sluice_maps *m, __u32 id,
			     const struct sluice_cfg_service *s,
			     const struct sluice_apply_opts *o)
{
	struct sluice_segment *have = calloc(SLUICE_MAX_SEGMENTS, sizeof(*have));
	char a[SLUICE_ADDR_STRLEN];
	int n, i, k, err = 0;

	if (!have)
		return -ENOMEM;
	n = sluice_segment_list(m, id, have, SLUICE_MAX_SEGMENTS);
	if (n < 0) {
		free(have);
		return n;
	}
	for (i = 0; i < n && !err; i++) {
		for (k = 0; k < s->nsegments; k++)
			if (!memcmp(s->segments[k].addr, have[i].addr, 16) &&
			    s->segments[k].plen128 == have[i].plen128)
				break;
		if (k < s->nsegments)
			continue;
		say(o, "delete segment %s/%u of '%s'",
		    sluice_format_addr(have[i].addr, a, sizeof(a)),
		    sluice_addr_is_v4(have[i].addr) ? have[i].plen128 - 96 :
						      have[i].plen128,
		    s->name);
		if (!o->dry_run)
			err = sluice_segment_del(m, id, have[i].addr,
						 have[i].plen128);
	}
	for (k = 0; k < s->nsegments && !err; k++) {
		const struct sluice_cfg_segment *w = &s->segments[k];

		for (i = 0; i < n; i++)
			if (!memcmp(w->addr, have[i].addr, 16) &&
			    w->plen128 == have[i].plen128 &&
			    w->colour == have[i].colour)
				break;
		if (i < n)
			continue;
		say(o, "pin segment %s/%u of '%s' to %s",
		    sluice_format_addr(w->addr, a, sizeof(a)),
		    sluice_addr_is_v4(w->addr) ? w->plen128 - 96 : w->plen128,
		    s->name, sluice_colour_name(w->colour));
		if (!o->dry_run)
			err = sluice_segment_add(m, id, w->addr, w->plen128,
						 w->colour);
	}
	free(have);
	return err;
}

/*
 * What the first pass learnt of a service for the second: its id, unless
 * a dry run only would create it; and, for one this apply creates, the
 * value packets find once its pools are out.
 */
struct pending {
	bool found;
	__u32 id;
	bool hidden;
	struct sluice_service v;
};

/*
 * First pass over a service: it exists with the file's VIP, mode and
 * affinity, and its pools are built and staged in `batch`. One it
 * creates is prepared but not exposed (pd): until its pools are
 * published, its VIP's packets go to the stack as before, rather than
 * to empty pools.
 */
static int service_converge(const struct sluice_maps *m,
			    const struct sluice_cfg_service *s,
			    const struct sluice_apply_opts *o,
			    struct sluice_pool_batch *batch, struct pending *pd)
{
	struct sluice_service_meta meta;
	struct sluice_service v;
	bool changed;
	__u32 id;
	int err, c;

	err = sluice_service_find(m, s->name, &id, &meta);
	if (!err && memcmp(&meta.key, &s->key, sizeof(s->key))) {
		say(o, "re-create service '%s' (its vip changed)", s->name);
		if (!o->dry_run && (err = sluice_service_destroy(m, id)))
			return err;
		err = -ENOENT;
	}
	if (err == -ENOENT) {
		say(o, "create service '%s' (%s, affinity %s)", s->name,
		    sluice_mode_names[s->mode],
		    sluice_affinity_names[s->affinity]);
		if (o->dry_run)
			return 0;
		err = sluice_service_prepare(m, s->name, &s->key, s->mode,
					     s->affinity, &id, &pd->v);
		if (err)
			return err;
		pd->hidden = true;
		v = pd->v;
	} else if (err) {
		return err;
	} else {
		err = sluice_service_value(m, id, &v);
		if (err)
			return err;
	}
	pd->found = true;
	pd->id = id;
	if (v.mode != s->mode || v.affinity != s->affinity) {
		say(o, "set service '%s' to %s, affinity %s", s->name,
		    sluice_mode_names[s->mode],
		    sluice_affinity_names[s->affinity]);
		v.mode = s->mode;
		v.affinity = s->affinity;
		if (!o->dry_run &&
		    bpf_map_update_elem(m->services, &meta.key, &v, BPF_EXIST))
			return -errno;
	}
	for (c = 0; c < SLUICE_COLOURS; c++) {
		err = pool_converge(m, id, c, v.hash_seed, s, o, batch,
				    &changed);
		if (err)
			return err;
	}
	return 0;
}

/*
 * A rollout of this very service (not an older one of the same name)
 * that finished, releasing the colour the file still calls the
 * candidate: the file predates that outcome. Re-applied (an agent
 * restarting with --config, say), its roles and split would undo a
 * promotion or expose again a candidate that was rolled back, silently.
 */
static bool release_decided(const struct sluice_cfg_service *s,
			    const struct sluice_service_meta *meta)
{
	struct sluice_rollout r;

	return !sluice_store_load(s->name, &r) && !sluice_rollout_active(&r) &&
	       r.service_created_ns == meta->created_ns &&
	       r.candidate == s->candidate;
}

/*
 * Second pass, once the pools are published: segments, roles and the
 * split, so no new flow is sent to a pool before it holds its backends.
 */
static int service_route(const struct sluice_maps *m,
			 const struct sluice_cfg_service *s,
			 const struct sluice_apply_opts *o,
			 const struct pending *pd)
{
	struct sluice_service_meta meta;
	__u32 id = pd->id;
	int err;

	/* A dry run of a service it would (re-)create: nothing more to say. */
	if (!pd->found)
		return 0;
	err = sluice_meta_read(m, id, &meta);
	if (err)
		return err;
	err = segments_converge(m, id, s, o);
	if (err)
		return err;
	if (meta.candidate != s->candidate ||
	    (s->has_split && meta.split_ppm != s->split_ppm)) {
		char buf[SLUICE_PPM_STRLEN];
		__u32 ppm = s->has_split ? s->split_ppm : 0;

		if (release_decided(s, &meta)) {
			say(o, "keep the roles and split of '%s' as its "
			    "finished rollout left them (%s stable, %s at %s): "
			    "the file still names %s as the candidate; change "
			    "them with 'sluice split' or 'sluice flip', or name "
			    "the other colour as candidate in the file",
			    s->name, sluice_colour_name(!meta.candidate),
			    sluice_colour_name(meta.candidate),
			    sluice_format_ppm(meta.split_ppm, buf, sizeof(buf)),
			    sluice_colour_name(s->candidate));
			return 0;
		}

		say(o, "set the split of '%s' to %s to %s", s->name,
		    sluice_format_ppm(ppm, buf, sizeof(buf)),
		    sluice_colour_name(s->candidate));
		if (o->dry_run)
			return 0;
		if (meta.candidate != s->candidate) {
			/* Roles as the file says; the split follows. */
			err = sluice_flip(m, id);
			if (err)
				return err;
		}
		err = sluice_split_set(m, id, ppm);
	}
	return err;
}

int sluice_apply(const struct sluice_maps *m, const struct sluice_cfg *cfg,
		 const struct sluice_apply_opts *o, char *err, size_t errlen)
{
	struct sluice_pool_batch batch = { 0 };
	struct sluice_service_meta meta;
	struct pending *pd;
	int i, k, ok, rc, crc;
	__u32 id;

	rc = precheck(m, cfg, o, err, errlen);
	if (rc)
		return rc;
	if (o->prune) {
		for (id = 0; id < SLUICE_MAX_SERVICES; id++) {
			if (sluice_meta_read(m, id, &meta) ||
			    wanted(cfg, meta.name))
				continue;
			say(o, "delete service '%s' (not in the file)",
			    meta.name);
			if (!o->dry_run && (rc = sluice_service_destroy(m, id))) {
				snprintf(err, errlen, "deleting '%s': %s",
					 meta.name, strerror(-rc));
				return rc;
			}
		}
	}
	pd = calloc(cfg->nservices ? cfg->nservices : 1, sizeof(*pd));
	if (!pd) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < cfg->nservices; i++) {
		rc = service_converge(m, &cfg->services[i], o, &batch, &pd[i]);
		if (rc)
			break;
	}
	/*
	 * Even after a failure, what was built is published, the services
	 * created are exposed and those before the failing one finished
	 * (segments, roles, split), as when each was applied in turn.
	 */
	ok = i;
	crc = sluice_pool_commit(m, &batch);
	for (k = 0; k < cfg->nservices; k++) {
		int erc;

		if (!pd[k].hidden)
			continue;
		erc = sluice_service_expose(m, &cfg->services[k].key, &pd[k].v);
		if (erc && !rc && !crc) {
			rc = erc;
			ok = i = k;
		}
	}
	if (crc && !rc) {
		free(pd);
		snprintf(err, errlen, "publishing the pools: %s", strerror(-crc));
		return crc;
	}
	for (k = 0; k < ok && !crc; k++) {
		int rrc = service_route(m, &cfg->services[k], o, &pd[k]);

		if (rrc && !rc) {
			rc = rrc;
			i = k;
		}
	}
	free(pd);
	if (rc)
		snprintf(err, errlen, "service '%s': %s", cfg->services[i].name,
			 rc == -ENOSPC ? "a limit is reached" : strerror(-rc));
	return rc;
}
