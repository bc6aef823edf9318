// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Prometheus /metrics for the agent (see metrics.h).
 *
 * The text is built with plain appends rather than printf: a host with
 * a thousand backends exports some seventy thousand samples (each
 * histogram alone is 26 lines), and formatting is most of a scrape's
 * cost. Label sets are formatted once per backend and reused by every
 * family.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>

#include "metrics.h"
#include "names.h"
#include "parse.h"
#include "pins.h"
#include "state.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* Keys per batch syscall: big enough that a hash bucket always fits. */
#define BATCH_KEYS 512
#define EVENT_TYPES 32
#define MHD_CONN_LIMIT 32
#define MHD_CONN_TIMEOUT_S 10
/* service="<31 characters, escaped>" */
#define SVC_LABEL_MAX 80
/* Longest label set: that, then ,color="green",backend="<54>". */
#define LABELS_MAX 192

/* ---- decision counters (under the agent's lock) -------------------------- */

/* The rollout's actions, so each service shows all of them from zero. */
static const char *const known_actions[] = {
	"start",    "advance",	   "inconclusive", "fail",
	"rollback", "rolled back", "gate",	   "pause",
	"resume",   "promote",	   "abort",	   "complete",
};

void sluice_metrics_shared_init(struct sluice_metrics_shared *sh,
				const struct sluice_rollout *ro, const int *n)
{
	size_t i;

	memset(sh, 0, sizeof(*sh));
	pthread_mutex_init(&sh->lock, NULL);
	sh->ro = ro;
	sh->n = n;
	for (i = 0; i < sizeof(known_actions) / sizeof(known_actions[0]); i++)
		snprintf(sh->decisions.action[sh->decisions.nactions++],
			 SLUICE_METRICS_ACTION_LEN, "%s", known_actions[i]);
}

void sluice_metrics_shared_destroy(struct sluice_metrics_shared *sh)
{
	free(sh->decisions.rows);
	sh->decisions.rows = NULL;
	sh->decisions.nrows = sh->decisions.cap = 0;
	pthread_mutex_destroy(&sh->lock);
}

void sluice_metrics_count_decision(struct sluice_metrics_shared *sh,
				   const char *service, const char *action)
{
	struct sluice_decisions *d = &sh->decisions;
	int i, a;

	for (a = 0; a < d->nactions; a++)
		if (!strcmp(d->action[a], action))
			break;
	if (a == d->nactions) {
		/*
		 * A new action name: keep it rather than lose the count; one
		 * too long or past the table is counted as "other".
		 */
		if (strlen(action) >= SLUICE_METRICS_ACTION_LEN ||
		    d->nactions == SLUICE_METRICS_ACTIONS - 1)
			action = "other";
		for (a = 0; a < d->nactions; a++)
			if (!strcmp(d->action[a], action))
				break;
		if (a == d->nactions)
			snprintf(d->action[d->nactions++],
				 SLUICE_METRICS_ACTION_LEN, "%s", action);
	}
	for (i = 0; i < d->nrows; i++)
		if (!strcmp(d->rows[i].service, service))
			break;
	if (i == d->nrows) {
		if (d->nrows == d->cap) {
			int cap = d->cap ? d->cap * 2 : 16;
			void *p = realloc(d->rows, cap * sizeof(*d->rows));

			if (!p)
				return; /* a lost count beats a dead agent */
			d->rows = p;
			d->cap = cap;
		}
		memset(&d->rows[i], 0, sizeof(d->rows[i]));
		snprintf(d->rows[i].service, sizeof(d->rows[i].service), "%s",
			 service);
		d->nrows++;
	}
	d->rows[i].n[a]++;
}

/* ---- ring-buffer events (any thread) ------------------------------------- */

/* Slot 0 is never a real type: it collects types past the table. */
static _Atomic __u64 event_counts[EVENT_TYPES];

void sluice_metrics_count_event(__u32 type)
{
	atomic_fetch_add_explicit(&event_counts[type < EVENT_TYPES ? type : 0],
				  1, memory_order_relaxed);
}

/* ---- text ---------------------------------------------------------------- */

struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

static bool reserve(struct text *t, size_t n)
{
	size_t cap;
	char *p;

	if (t->oom)
		return false;
	if (t->cap - t->len >= n)
		return true;
	cap = t->cap ? t->cap : 65536;
	while (cap - t->len < n)
		cap *= 2;
	p = realloc(t->p, cap);
	if (!p) {
		t->oom = true;
		return false;
	}
	t->p = p;
	t->cap = cap;
	return true;
}

static void put(struct text *t, const char *s, size_t n)
{
	if (!reserve(t, n))
		return;
	memcpy(t->p + t->len, s, n);
	t->len += n;
}

static void put_s(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

static void put_u64(struct text *t, __u64 v)
{
	char b[20];
	int i = sizeof(b);

	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(t, b + i, sizeof(b) - i);
}

/*
 * v millionths as an exact decimal: 1 -> 0.000001, 1500000 -> 1.5.
 * Microseconds become seconds and ppm becomes a ratio this way, with
 * no binary rounding in the text.
 */
static void put_micro(struct text *t, __u64 v)
{
	char b[8];
	__u32 frac = v % 1000000;
	int n = 7, i;

	put_u64(t, v / 1000000);
	if (!frac)
		return;
	b[0] = '.';
	for (i = 6; i >= 1; i--, frac /= 10)
		b[i] = (char)('0' + frac % 10);
	while (b[n - 1] == '0')
		n--;
	put(t, b, n);
}

static void put_double(struct text *t, double d)
{
	char b[40];
	int n = snprintf(b, sizeof(b), "%.9g", d);

	put(t, b, (size_t)n);
}

/* A label value, escaped as the exposition format requires. */
static size_t escape(char *out, size_t len, const char *s)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			out[o++] = '\\';
			out[o++] = *s == '\n' ? 'n' : *s;
		} else {
			out[o++] = *s;
		}
	}
	out[o] = 0;
	return o;
}

static void put_label(struct text *t, const char *v)
{
	char b[2 * 64 + 1];

	/* Every value here is short: names, reasons, endpoints. */
	put(t, b, escape(b, sizeof(b), v));
}

static void family(struct text *t, const char *name, const char *type,
		   const char *help)
{
	put_s(t, "# HELP ");
	put_s(t, name);
	put(t, " ", 1);
	put_s(t, help);
	put_s(t, "\n# TYPE ");
	put_s(t, name);
	put(t, " ", 1);
	put_s(t, type);
	put(t, "\n", 1);
}

/*
 * NAME{LABELS,K="V"} — labels is a formatted set (or ""), k an optional
 * extra label. The value follows.
 */
static void head(struct text *t, const char *name, const char *labels,
		 const char *k, const char *v)
{
	put_s(t, name);
	if (!*labels && !k) {
		put(t, " ", 1);
		return;
	}
	put(t, "{", 1);
	put_s(t, labels);
	if (k) {
		if (*labels)
			put(t, ",", 1);
		put_s(t, k);
		put(t, "=\"", 2);
		put_label(t, v);
		put(t, "\"", 1);
	}
	put(t, "} ", 2);
}

static void sample_u64(struct text *t, const char *name, const char *labels,
		       const char *k, const char *v, __u64 val)
{
	head(t, name, labels, k, v);
	put_u64(t, val);
	put(t, "\n", 1);
}

static void sample_micro(struct text *t, const char *name, const char *labels,
			 const char *k, const char *v, __u64 millionths)
{
	head(t, name, labels, k, v);
	put_micro(t, millionths);
	put(t, "\n", 1);
}

/* le of bucket i, in seconds (see histogram()); filled once. */
static char le_text[SLUICE_HIST_BUCKETS][16];
static size_t le_len[SLUICE_HIST_BUCKETS];
static pthread_once_t le_once = PTHREAD_ONCE_INIT;

static void le_init(void)
{
	struct text t = { 0 };
	int i;

	for (i = 0; i < SLUICE_HIST_BUCKETS; i++) {
		t.len = 0;
		if (i < SLUICE_HIST_BUCKETS - 1)
			put_micro(&t, 1ull << i);
		else
			put_s(&t, "+Inf");
		if (t.oom || t.len >= sizeof(le_text[i]))
			continue; /* cannot happen: at most "4.194304" */
		memcpy(le_text[i], t.p, t.len);
		le_len[i] = t.len;
	}
	free(t.p);
}

/*
 * The kernel's log2 buckets as a Prometheus histogram: bucket 0 is
 * below 1 us and bucket i holds [2^(i-1), 2^i) us, so the cumulative
 * count up to bucket i is everything at most le = 2^i us (in seconds);
 * the last, open-ended bucket only reaches +Inf.
 */
static void histogram(struct text *t, const char *name, const char *labels,
		      const __u64 *hist, __u64 sum_us)
{
	/* NAME_bucket{LABELS,le=" once: it starts 24 lines. */
	char n[96], pre[96 + LABELS_MAX + 8];
	size_t nl = strlen(name), pl;
	__u64 cum = 0;
	int i;

	memcpy(n, name, nl);
	memcpy(n + nl, "_bucket", 8);
	pl = (size_t)snprintf(pre, sizeof(pre), "%s{%s,le=\"", n, labels);
	for (i = 0; i < SLUICE_HIST_BUCKETS; i++) {
		cum += hist[i];
		put(t, pre, pl);
		put(t, le_text[i], le_len[i]);
		put(t, "\"} ", 3);
		put_u64(t, cum);
		put(t, "\n", 1);
	}
	memcpy(n + nl, "_sum", 5);
	sample_micro(t, n, labels, NULL, NULL, sum_us);
	memcpy(n + nl, "_count", 7);
	sample_u64(t, n, labels, NULL, NULL, cum);
}

/* ---- reading the maps ---------------------------------------------------- */

/* A pool as last read, kept while its inner map (by id) is the same. */
struct pool_cache {
	__u32 map_id; /* 0: no pool */
	int n;
	struct cached_backend {
		__u32 id;
		__u16 weight;
		__u8 flags;
		char ep[SLUICE_ENDPOINT_STRLEN];
	} *be;
};

struct sluice_metrics {
	struct sluice_metrics_shared *sh;
	pthread_mutex_t render_lock; /* one scrape at a time: the caches */
	struct pool_cache pools[SLUICE_MAX_POOLS];
	struct sluice_pool *pool_buf;
	struct MHD_Daemon *daemon;
	char endpoint[SLUICE_ENDPOINT_STRLEN];
	size_t last_len; /* the previous scrape's size: one allocation */
};

/* Keys and summed values read from a map, sorted by key. */
struct sums {
	__u32 *keys;
	__u64 *vals; /* words per key */
	size_t words, n, cap;
};

static int sums_add(struct sums *s, __u32 key, const __u64 *vals, int ncpu,
		    size_t stride_words)
{
	__u64 *out;
	size_t j;
	int c;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		__u32 *k = realloc(s->keys, cap * sizeof(*k));
		__u64 *v;

		if (!k)
			return -ENOMEM;
		s->keys = k;
		v = realloc(s->vals, cap * s->words * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->vals = v;
		s->cap = cap;
	}
	s->keys[s->n] = key;
	out = s->vals + s->n * s->words;
	memset(out, 0, s->words * sizeof(*out));
	for (c = 0; c < ncpu; c++)
		for (j = 0; j < s->words; j++)
			out[j] += vals[(size_t)c * stride_words + j];
	s->n++;
	return 0;
}

static void sums_free(struct sums *s)
{
	free(s->keys);
	free(s->vals);
	memset(s, 0, sizeof(*s));
}

/*
 * Every entry of a per-CPU map with __u32 keys, summed over CPUs, in as
 * few syscalls as the kernel allows: BATCH_KEYS keys per
 * bpf_map_lookup_batch. limit > 0 stops after that many keys (an array
 * need not be read past its last service). -EOPNOTSUPP when the kernel
 * has no batch lookup for this map: the caller reads key by key.
 */
static int batch_sum(int fd, size_t vsize, __u32 limit, struct sums *s)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	size_t stride = (vsize + 7) / 8, chunk = BATCH_KEYS, i;
	__u64 in_tok = 0, out_tok = 0, *vals = NULL;
	__u32 *keys = NULL, count;
	bool first = true;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	if (ncpu < 0)
		return ncpu;
	s->words = vsize / 8;
	for (;;) {
		if (!keys) {
			keys = malloc(chunk * sizeof(*keys));
			vals = malloc(chunk * ncpu * stride * sizeof(*vals));
			if (!keys || !vals) {
				err = -ENOMEM;
				break;
			}
		}
		count = chunk;
		if (limit && limit - s->n < count)
			count = limit - (__u32)s->n;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in_tok, &out_tok,
					   keys, vals, &count, &opts);
		if (err)
			err = -errno;
		if (err == -ENOSPC && chunk < 65536) {
			/* A hash bucket larger than the chunk: retry bigger. */
			chunk *= 4;
			free(keys);
			free(vals);
			keys = NULL;
			vals = NULL;
			continue;
		}
		if (err && err != -ENOENT) {
			if (first && (err == -EINVAL || err == -ENOTSUP ||
				      err == -EOPNOTSUPP))
				err = -EOPNOTSUPP;
			break;
		}
		for (i = 0; i < count; i++)
			if (sums_add(s, keys[i], vals + i * ncpu * stride, ncpu,
				     stride))
				goto oom;
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		if (limit && s->n >= limit)
			break;
		in_tok = out_tok;
		first = false;
	}
	free(keys);
	free(vals);
	return err;
oom:
	free(keys);
	free(vals);
	return -ENOMEM;
}

static int cmp_u32_at(const void *a, const void *b)
{
	__u32 x = **(const __u32 *const *)a, y = **(const __u32 *const *)b;

	return x < y ? -1 : x > y;
}

/* Sort keys and values together (a hash gives them in bucket order). */
static int sums_sort(struct sums *s)
{
	__u32 **idx = malloc(s->n * sizeof(*idx)), *keys;
	__u64 *vals;
	size_t i;

	keys = malloc(s->n * sizeof(*keys));
	vals = malloc(s->n * s->words * sizeof(*vals));
	if (!idx || !keys || !vals) {
		free(idx);
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (i = 0; i < s->n; i++)
		idx[i] = &s->keys[i];
	qsort(idx, s->n, sizeof(*idx), cmp_u32_at);
	for (i = 0; i < s->n; i++) {
		size_t from = idx[i] - s->keys;

		keys[i] = s->keys[from];
		memcpy(vals + i * s->words, s->vals + from * s->words,
		       s->words * sizeof(*vals));
	}
	free(idx);
	free(s->keys);
	free(s->vals);
	s->keys = keys;
	s->vals = vals;
	s->cap = s->n;
	return 0;
}

static const __u64 *sums_find(const struct sums *s, __u32 key)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->keys[mid] == key)
			return s->vals + mid * s->words;
		if (s->keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * The pool's backends, from the cache while its inner map is the same
 * one: a pool is only ever changed by swapping in a new inner map, so
 * the map id names one content.
 */
static struct pool_cache *pool_get(struct sluice_metrics *mx,
				   const struct sluice_maps *m, __u32 svc_id,
				   __u8 colour)
{
	__u32 idx = sluice_pool_index(svc_id, colour), id, zero = 0;
	struct pool_cache *pc = &mx->pools[idx];
	struct sluice_pool *pool = mx->pool_buf;
	int tries, fd, i, n;

	for (tries = 0; tries < 3; tries++) {
		if (bpf_map_lookup_elem(m->pools, &idx, &id)) {
			pc->map_id = 0;
			pc->n = 0;
			return pc;
		}
		if (id == pc->map_id)
			return pc;
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue; /* swapped out meanwhile: look again */
		if (bpf_map_lookup_elem(fd, &zero, pool)) {
			close(fd);
			continue;
		}
		close(fd);
		for (i = 0, n = 0; i < SLUICE_MAX_BACKENDS_PER_POOL; i++)
			n += !!(pool->backends[i].flags & SLUICE_BE_F_USED);
		free(pc->be);
		pc->be = calloc(n ? n : 1, sizeof(*pc->be));
		pc->map_id = 0;
		pc->n = 0;
		if (!pc->be)
			return pc;
		for (i = 0; i < SLUICE_MAX_BACKENDS_PER_POOL; i++) {
			const struct sluice_backend *b = &pool->backends[i];
			struct cached_backend *c = &pc->be[pc->n];

			if (!(b->flags & SLUICE_BE_F_USED))
				continue;
			c->id = b->id;
			c->weight = b->weight;
			c->flags = b->flags;
			if (!sluice_format_endpoint(b->addr, ntohs(b->port),
						    c->ep, sizeof(c->ep)))
				snprintf(c->ep, sizeof(c->ep), "unknown");
			pc->n++;
		}
		pc->map_id = id;
		return pc;
	}
	pc->map_id = 0;
	pc->n = 0;
	return pc;
}

/* ---- one scrape ---------------------------------------------------------- */

struct svc {
	__u32 id;
	struct sluice_service_meta meta;
	struct sluice_service v;
	bool have_v;
	struct sluice_service_stats st;
	char lab[SVC_LABEL_MAX]; /* service="NAME" */
};

struct be_row {
	const struct svc *svc;
	__u8 colour;
	const struct cached_backend *b;
	const struct sluice_backend_stats *st;
	char lab[LABELS_MAX]; /* service=..,color=..,backend=.. */
};

struct ro_view {
	char service[SLUICE_NAME_MAX];
	enum sluice_rollout_state state;
	int step;
	__u32 split;
	bool in_datapath;
};

struct scrape {
	struct svc *svcs;
	int nsvcs;
	struct be_row *rows;
	size_t nrows;
	struct sluice_global_stats g;
	bool up;
	struct ro_view *ro;
	int nro;
	struct sluice_decisions dec; /* a copy; rows owned here */
	struct sums bstats, sstats;
};

static const struct sluice_backend_stats zero_bstats;

static void copy_agent_state(struct sluice_metrics *mx, struct scrape *s)
{
	struct sluice_metrics_shared *sh = mx->sh;
	int i, n;

	if (!sh)
		return;
	pthread_mutex_lock(&sh->lock);
	n = *sh->n;
	s->ro = calloc(n ? n : 1, sizeof(*s->ro));
	if (s->ro) {
		for (i = 0; i < n; i++) {
			const struct sluice_rollout *r = &sh->ro[i];

			memcpy(s->ro[i].service, r->service,
			       sizeof(s->ro[i].service));
			s->ro[i].service[SLUICE_NAME_MAX - 1] = 0;
			s->ro[i].state = r->state;
			s->ro[i].step = r->step;
			s->ro[i].split = sluice_rollout_split(r);
		}
		s->nro = n;
	}
	s->dec = sh->decisions;
	s->dec.rows = malloc((sh->decisions.nrows ? sh->decisions.nrows : 1) *
			     sizeof(*s->dec.rows));
	if (s->dec.rows)
		memcpy(s->dec.rows, sh->decisions.rows,
		       sh->decisions.nrows * sizeof(*s->dec.rows));
	else
		s->dec.nrows = 0;
	pthread_mutex_unlock(&sh->lock);
}

static void service_label(struct svc *v)
{
	char e[2 * SLUICE_NAME_MAX + 1];

	escape(e, sizeof(e), v->meta.name);
	snprintf(v->lab, sizeof(v->lab), "service=\"%s\"", e);
}

/* Every used service_meta slot: one batch read, or key by key. */
static int read_services(const struct sluice_maps *m, struct scrape *s)
{
	struct sluice_service_meta *metas = NULL;
	__u32 *keys = NULL, count = SLUICE_MAX_SERVICES, id;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 tok = 0;
	int err = 0, i, n = 0;

	s->svcs = calloc(SLUICE_MAX_SERVICES, sizeof(*s->svcs));
	metas = calloc(SLUICE_MAX_SERVICES, sizeof(*metas));
	keys = calloc(SLUICE_MAX_SERVICES, sizeof(*keys));
	if (!s->svcs || !metas || !keys) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_batch(m->service_meta, NULL, &tok, keys, metas,
				 &count, &opts) &&
	    errno != ENOENT) {
		/* No batch ops: one lookup per slot. */
		for (id = 0, count = 0; id < SLUICE_MAX_SERVICES; id++)
			if (!bpf_map_lookup_elem(m->service_meta, &id,
						 &metas[count]))
				keys[count++] = id;
	}
	for (i = 0; i < (int)count; i++) {
		struct svc *v = &s->svcs[n];

		if (!metas[i].used)
			continue;
		v->id = keys[i];
		v->meta = metas[i];
		v->meta.name[SLUICE_NAME_MAX - 1] = 0;
		v->have_v =
			!bpf_map_lookup_elem(m->services, &v->meta.key, &v->v);
		service_label(v);
		n++;
	}
	s->nsvcs = n;
out:
	free(metas);
	free(keys);
	return err;
}

static int read_service_stats(const struct sluice_maps *m, struct scrape *s)
{
	__u32 limit = 0;
	int i, err;

	for (i = 0; i < s->nsvcs; i++)
		if (s->svcs[i].id + 1 > limit)
			limit = s->svcs[i].id + 1;
	if (!limit)
		return 0;
	err = batch_sum(m->service_stats, sizeof(struct sluice_service_stats),
			limit, &s->sstats);
	if (err && err != -EOPNOTSUPP)
		return err;
	for (i = 0; i < s->nsvcs; i++) {
		struct svc *v = &s->svcs[i];
		const __u64 *p = err ? NULL : sums_find(&s->sstats, v->id);

		if (p)
			memcpy(&v->st, p, sizeof(v->st));
		else if (err)
			sluice_service_stats_read(m, v->id, &v->st);
	}
	return 0;
}

/* Backends of every pool with their counters, in service/colour order. */
static int read_backends(struct sluice_metrics *mx, const struct sluice_maps *m,
			 struct scrape *s)
{
	struct pool_cache *pcs[SLUICE_COLOURS];
	size_t total = 0, r = 0;
	bool per_key;
	int i, c, j, err;

	err = batch_sum(m->backend_stats, sizeof(struct sluice_backend_stats),
			0, &s->bstats);
	if (err && err != -EOPNOTSUPP)
		return err;
	per_key = err == -EOPNOTSUPP;
	if (!per_key && sums_sort(&s->bstats))
		return -ENOMEM;
	for (i = 0; i < s->nsvcs; i++)
		for (c = 0; c < SLUICE_COLOURS; c++)
			total += pool_get(mx, m, s->svcs[i].id, c)->n;
	s->rows = calloc(total ? total : 1, sizeof(*s->rows));
	if (!s->rows)
		return -ENOMEM;
	if (per_key) {
		/* Room for the values that a batch would have given. */
		s->bstats.words = sizeof(struct sluice_backend_stats) / 8;
		s->bstats.vals = calloc(total ? total : 1,
					sizeof(struct sluice_backend_stats));
		if (!s->bstats.vals)
			return -ENOMEM;
	}
	for (i = 0; i < s->nsvcs; i++) {
		const struct svc *v = &s->svcs[i];

		for (c = 0; c < SLUICE_COLOURS; c++)
			pcs[c] = &mx->pools[sluice_pool_index(v->id, c)];
		for (c = 0; c < SLUICE_COLOURS; c++) {
			for (j = 0; j < pcs[c]->n && r < total; j++, r++) {
				struct be_row *row = &s->rows[r];
				const __u64 *p;

				row->svc = v;
				row->colour = (__u8)c;
				row->b = &pcs[c]->be[j];
				if (per_key) {
					struct sluice_backend_stats *st =
						(void *)(s->bstats.vals +
							 r * s->bstats.words);

					sluice_backend_stats_read(m, row->b->id,
								  st);
					row->st = st;
				} else {
					p = sums_find(&s->bstats, row->b->id);
					row->st = p ? (const void *)p :
						      &zero_bstats;
				}
				snprintf(row->lab, sizeof(row->lab),
					 "%s,color=\"%s\",backend=\"%s\"",
					 v->lab, sluice_colour_name((__u8)c),
					 row->b->ep);
			}
		}
	}
	s->nrows = r;
	return 0;
}

static void read_datapath(struct sluice_metrics *mx,
			  const struct sluice_maps *m, struct scrape *s)
{
	memset(&s->g, 0, sizeof(s->g));
	if (read_services(m, s) || read_service_stats(m, s) ||
	    read_backends(mx, m, s))
		return;
	sluice_global_stats_read(m, &s->g);
	s->up = true;
}

/* ---- families ------------------------------------------------------------ */

static void emit_backends(struct text *t, const struct scrape *s)
{
	char k[8];
	size_t i;
	int j;

	family(t, "sluice_backend_packets_total", "counter",
	       "Packets steered through sluice, by direction: to_backend "
	       "(client to backend) or from_backend (replies, nat mode).");
	for (i = 0; i < s->nrows; i++) {
		sample_u64(t, "sluice_backend_packets_total", s->rows[i].lab,
			   "direction", "to_backend",
			   s->rows[i].st->fwd_packets);
		sample_u64(t, "sluice_backend_packets_total", s->rows[i].lab,
			   "direction", "from_backend",
			   s->rows[i].st->rev_packets);
	}
	family(t, "sluice_backend_bytes_total", "counter",
	       "Bytes of the packets in sluice_backend_packets_total.");
	for (i = 0; i < s->nrows; i++) {
		sample_u64(t, "sluice_backend_bytes_total", s->rows[i].lab,
			   "direction", "to_backend", s->rows[i].st->fwd_bytes);
		sample_u64(t, "sluice_backend_bytes_total", s->rows[i].lab,
			   "direction", "from_backend",
			   s->rows[i].st->rev_bytes);
	}
	family(t, "sluice_backend_new_flows_total", "counter",
	       "New flows steered to the backend.");
	for (i = 0; i < s->nrows; i++)
		sample_u64(t, "sluice_backend_new_flows_total", s->rows[i].lab,
			   NULL, NULL, s->rows[i].st->new_flows);
	family(t, "sluice_backend_drops_total", "counter",
	       "Packets for the backend that the data path dropped, by reason.");
	for (i = 0; i < s->nrows; i++)
		for (j = 0; j < SLUICE_DROP_MAX; j++)
			sample_u64(t, "sluice_backend_drops_total",
				   s->rows[i].lab, "reason",
				   sluice_drop_names[j],
				   s->rows[i].st->drops[j]);
	family(t, "sluice_backend_errors_total", "counter",
	       "Errors the data path saw from the backend: rst (TCP reset), "
	       "icmp (ICMP error), http_5xx (first response line 5xx).");
	for (i = 0; i < s->nrows; i++)
		for (j = 0; j < SLUICE_ERR_MAX; j++)
			sample_u64(t, "sluice_backend_errors_total",
				   s->rows[i].lab, "kind",
				   sluice_error_names[j],
				   s->rows[i].st->errors[j]);
	family(t, "sluice_backend_http_responses_total", "counter",
	       "HTTP/1.x responses by the status class of their first line "
	       "(plaintext, nat mode).");
	for (i = 0; i < s->nrows; i++)
		for (j = 0; j < 5; j++) {
			snprintf(k, sizeof(k), "%dxx", j + 1);
			sample_u64(t, "sluice_backend_http_responses_total",
				   s->rows[i].lab, "class", k,
				   s->rows[i].st->http[j]);
		}
	family(t, "sluice_backend_handshake_seconds", "histogram",
	       "Time from the client's SYN to the backend's SYN-ACK.");
	for (i = 0; i < s->nrows; i++)
		histogram(t, "sluice_backend_handshake_seconds", s->rows[i].lab,
			  s->rows[i].st->handshake_hist,
			  s->rows[i].st->handshake_us_sum);
	family(t, "sluice_backend_first_byte_seconds", "histogram",
	       "Time from the client's first payload byte to the backend's "
	       "first response byte.");
	for (i = 0; i < s->nrows; i++)
		histogram(t, "sluice_backend_first_byte_seconds",
			  s->rows[i].lab, s->rows[i].st->first_byte_hist,
			  s->rows[i].st->first_byte_us_sum);
	family(t, "sluice_backend_weight", "gauge",
	       "The backend's weight inside its pool (a ratio).");
	for (i = 0; i < s->nrows; i++)
		sample_u64(t, "sluice_backend_weight", s->rows[i].lab, NULL,
			   NULL, s->rows[i].b->weight);
	family(t, "sluice_backend_draining", "gauge",
	       "1 while the backend drains: no new flows, existing ones finish.");
	for (i = 0; i < s->nrows; i++)
		sample_u64(t, "sluice_backend_draining", s->rows[i].lab, NULL,
			   NULL,
			   !!(s->rows[i].b->flags & SLUICE_BE_F_DRAINING));
}

static void emit_services(struct text *t, const struct scrape *s)
{
	char lab[LABELS_MAX + 160], vip[SLUICE_ENDPOINT_STRLEN];
	int i, c, j;

	family(t, "sluice_service_info", "gauge",
	       "Always 1: the service's VIP, protocol, mode and affinity.");
	for (i = 0; i < s->nsvcs; i++) {
		const struct svc *v = &s->svcs[i];

		if (!sluice_format_endpoint(v->meta.key.vip,
					    ntohs(v->meta.key.port), vip,
					    sizeof(vip)))
			snprintf(vip, sizeof(vip), "unknown");
		snprintf(lab, sizeof(lab),
			 "%s,vip=\"%s\",protocol=\"%s\",mode=\"%s\","
			 "affinity=\"%s\"",
			 v->lab, vip,
			 v->meta.key.proto == IPPROTO_TCP ? "tcp" : "udp",
			 v->have_v ? sluice_mode_names[v->v.mode & 1] :
				     "unknown",
			 v->have_v ? sluice_affinity_names[v->v.affinity % 3] :
				     "unknown");
		sample_u64(t, "sluice_service_info", lab, NULL, NULL, 1);
	}
	family(t, "sluice_service_new_flows_total", "counter",
	       "New flows of the service, by the colour they were steered to.");
	for (i = 0; i < s->nsvcs; i++)
		for (c = 0; c < SLUICE_COLOURS; c++)
			sample_u64(t, "sluice_service_new_flows_total",
				   s->svcs[i].lab, "color",
				   sluice_colour_name((__u8)c),
				   s->svcs[i].st.new_flows[c]);
	family(t, "sluice_service_drops_total", "counter",
	       "Packets of the service that the data path dropped, by reason.");
	for (i = 0; i < s->nsvcs; i++)
		for (j = 0; j < SLUICE_DROP_MAX; j++)
			sample_u64(t, "sluice_service_drops_total",
				   s->svcs[i].lab, "reason",
				   sluice_drop_names[j],
				   s->svcs[i].st.drops[j]);
	family(t, "sluice_service_segment_flows_total", "counter",
	       "New flows whose colour a segment (source prefix) pinned.");
	for (i = 0; i < s->nsvcs; i++)
		sample_u64(t, "sluice_service_segment_flows_total",
			   s->svcs[i].lab, NULL, NULL,
			   s->svcs[i].st.segment_flows);
	family(t, "sluice_service_flow_misses_total", "counter",
	       "TCP segments other than SYN with no flow state, steered "
	       "afresh (state evicted, or older than sluice).");
	for (i = 0; i < s->nsvcs; i++)
		sample_u64(t, "sluice_service_flow_misses_total",
			   s->svcs[i].lab, NULL, NULL,
			   s->svcs[i].st.flow_misses);
	family(t, "sluice_service_packets_total", "counter",
	       "Client packets steered for the service.");
	for (i = 0; i < s->nsvcs; i++)
		sample_u64(t, "sluice_service_packets_total", s->svcs[i].lab,
			   NULL, NULL, s->svcs[i].st.packets);
	family(t, "sluice_service_bytes_total", "counter",
	       "Bytes of the packets in sluice_service_packets_total.");
	for (i = 0; i < s->nsvcs; i++)
		sample_u64(t, "sluice_service_bytes_total", s->svcs[i].lab,
			   NULL, NULL, s->svcs[i].st.bytes);
	family(t, "sluice_service_split_ratio", "gauge",
	       "Configured share of new flows for each colour (0 to 1).");
	for (i = 0; i < s->nsvcs; i++) {
		__u32 green = sluice_green_ppm(&s->svcs[i].meta);

		sample_micro(t, "sluice_service_split_ratio", s->svcs[i].lab,
			     "color", "blue", SLUICE_PPM - green);
		sample_micro(t, "sluice_service_split_ratio", s->svcs[i].lab,
			     "color", "green", green);
	}
	family(t, "sluice_service_candidate", "gauge",
	       "1 for the colour being released (the candidate), 0 for the "
	       "stable one.");
	for (i = 0; i < s->nsvcs; i++)
		for (c = 0; c < SLUICE_COLOURS; c++)
			sample_u64(t, "sluice_service_candidate",
				   s->svcs[i].lab, "color",
				   sluice_colour_name((__u8)c),
				   s->svcs[i].meta.candidate == c);
	family(t, "sluice_service_observed_split_ratio", "gauge",
	       "The candidate's share of the new flows since the last split "
	       "change (absent until there is one).");
	for (i = 0; i < s->nsvcs; i++) {
		const struct svc *v = &s->svcs[i];
		__u8 cand = v->meta.candidate & 1;
		__u64 nc = v->st.new_flows[cand] - v->meta.base_new_flows[cand];
		__u64 total = nc + v->st.new_flows[!cand] -
			      v->meta.base_new_flows[!cand];

		if (!total)
			continue;
		head(t, "sluice_service_observed_split_ratio", v->lab, NULL,
		     NULL);
		put_double(t, (double)nc / (double)total);
		put(t, "\n", 1);
	}
}

static const struct ro_view *ro_of(const struct scrape *s, const char *svc)
{
	int i;

	for (i = 0; i < s->nro; i++)
		if (!strcmp(s->ro[i].service, svc))
			return &s->ro[i];
	return NULL;
}

/* service="NAME" for a rollout of a service the data path may not have. */
static void ro_label(char *lab, size_t len, const char *name)
{
	char e[2 * SLUICE_NAME_MAX + 1];

	escape(e, sizeof(e), name);
	snprintf(lab, len, "service=\"%s\"", e);
}

static void emit_rollouts(struct text *t, struct scrape *s)
{
	char lab[LABELS_MAX];
	const struct ro_view *r;
	const char *name;
	int i, k, st;

	for (i = 0; i < s->nsvcs; i++) {
		struct ro_view *rv =
			(struct ro_view *)ro_of(s, s->svcs[i].meta.name);

		if (rv)
			rv->in_datapath = true;
	}
	family(t, "sluice_rollout_step", "gauge",
	       "Current step of the service's rollout, from 1; 0 when the "
	       "agent has no rollout of it.");
	for (i = 0; i < s->nsvcs; i++) {
		r = ro_of(s, s->svcs[i].meta.name);
		sample_u64(t, "sluice_rollout_step", s->svcs[i].lab, NULL, NULL,
			   r ? (__u64)r->step + 1 : 0);
	}
	for (i = 0; i < s->nro; i++) {
		if (s->ro[i].in_datapath)
			continue;
		ro_label(lab, sizeof(lab), s->ro[i].service);
		sample_u64(t, "sluice_rollout_step", lab, NULL, NULL,
			   (__u64)s->ro[i].step + 1);
	}
	family(t, "sluice_rollout_state", "gauge",
	       "1 for the rollout's current state, 0 for the others.");
	for (i = 0; i < s->nro; i++) {
		ro_label(lab, sizeof(lab), s->ro[i].service);
		for (st = 0;; st++) {
			name = sluice_rollout_state_name(st);
			if (!strcmp(name, "unknown"))
				break;
			sample_u64(t, "sluice_rollout_state", lab, "state",
				   name, s->ro[i].state == (unsigned)st);
		}
	}
	family(t, "sluice_rollout_split_ratio", "gauge",
	       "The candidate's share of new flows that the rollout has put "
	       "in force (0 to 1).");
	for (i = 0; i < s->nro; i++) {
		ro_label(lab, sizeof(lab), s->ro[i].service);
		sample_micro(t, "sluice_rollout_split_ratio", lab, NULL, NULL,
			     s->ro[i].split);
	}
	family(t, "sluice_rollout_decisions_total", "counter",
	       "Rollout decisions since the agent started, by action.");
	for (i = 0; i < s->dec.nrows; i++) {
		ro_label(lab, sizeof(lab), s->dec.rows[i].service);
		for (k = 0; k < s->dec.nactions; k++)
			sample_u64(t, "sluice_rollout_decisions_total", lab,
				   "action", s->dec.action[k],
				   s->dec.rows[i].n[k]);
	}
	/* Rollouts with no decision yet (loaded from disk) start at 0. */
	for (i = 0; i < s->nro; i++) {
		for (k = 0; k < s->dec.nrows; k++)
			if (!strcmp(s->dec.rows[k].service, s->ro[i].service))
				break;
		if (k < s->dec.nrows)
			continue;
		ro_label(lab, sizeof(lab), s->ro[i].service);
		for (k = 0; k < s->dec.nactions; k++)
			sample_u64(t, "sluice_rollout_decisions_total", lab,
				   "action", s->dec.action[k], 0);
	}
}

static void emit_datapath(struct text *t, const struct scrape *s)
{
	__u32 ty;
	int i;

	family(t, "sluice_datapath_up", "gauge",
	       "1 when this scrape could read the data path's pinned maps.");
	sample_u64(t, "sluice_datapath_up", "", NULL, NULL, s->up);
	if (s->up) {
		family(t, "sluice_datapath_passed_total", "counter",
		       "Packets handed to the kernel stack, by reason.");
		for (i = 0; i < SLUICE_PASS_MAX; i++)
			sample_u64(t, "sluice_datapath_passed_total", "",
				   "reason", sluice_pass_names[i],
				   s->g.pass[i]);
		family(t, "sluice_datapath_icmp_forwarded_total", "counter",
		       "ICMP errors about a steered flow sent on to its backend.");
		sample_u64(t, "sluice_datapath_icmp_forwarded_total", "", NULL,
			   NULL, s->g.icmp_forwarded);
		family(t, "sluice_ringbuf_events_lost_total", "counter",
		       "Events the data path could not write: ring buffer full.");
		sample_u64(t, "sluice_ringbuf_events_lost_total", "", NULL,
			   NULL, s->g.events_lost);
	}
	family(t, "sluice_ringbuf_events_total", "counter",
	       "Events the agent read from the data path's ring buffer, by "
	       "type.");
	for (ty = 0; ty < EVENT_TYPES; ty++) {
		__u64 v = atomic_load_explicit(&event_counts[ty],
					       memory_order_relaxed);

		/* The kernel's three types always; others once seen. */
		if (ty == SLUICE_EV_NEW_FLOW || ty == SLUICE_EV_DROP ||
		    ty == SLUICE_EV_ERROR || v)
			sample_u64(t, "sluice_ringbuf_events_total", "", "type",
				   sluice_event_type_name(ty), v);
	}
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sluice_metrics_render(struct sluice_metrics *mx,
			  const struct sluice_maps *m, char **text, size_t *len)
{
	struct scrape s;
	struct sluice_maps own;
	struct text t = { 0 };
	double t0 = mono_s();
	bool opened = false;

	memset(&s, 0, sizeof(s));
	pthread_once(&le_once, le_init);
	pthread_mutex_lock(&mx->render_lock);
	reserve(&t, mx->last_len + mx->last_len / 8);
	copy_agent_state(mx, &s);
	if (!m && !sluice_maps_open(&own)) {
		m = &own;
		opened = true;
	}
	if (m)
		read_datapath(mx, m, &s);
	if (!s.up)
		s.nsvcs = 0, s.nrows = 0;
	emit_backends(&t, &s);
	emit_services(&t, &s);
	emit_rollouts(&t, &s);
	emit_datapath(&t, &s);
	if (opened)
		sluice_maps_close(&own);
	family(&t, "sluice_scrape_duration_seconds", "gauge",
	       "Time this scrape took to read the counters and format them.");
	head(&t, "sluice_scrape_duration_seconds", "", NULL, NULL);
	put_double(&t, mono_s() - t0);
	put(&t, "\n", 1);
	mx->last_len = t.len;
	pthread_mutex_unlock(&mx->render_lock);

	free(s.svcs);
	free(s.rows);
	free(s.ro);
	free(s.dec.rows);
	sums_free(&s.bstats);
	sums_free(&s.sstats);
	if (t.oom) {
		free(t.p);
		return -ENOMEM;
	}
	*text = t.p;
	*len = t.len;
	return 0;
}

/* ---- HTTP ---------------------------------------------------------------- */

static enum MHD_Result reply_static(struct MHD_Connection *c, unsigned int code,
				    const char *body, bool allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct sluice_metrics *mx = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text;
	size_t len;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(url, "/metrics"))
		return reply_static(c, MHD_HTTP_NOT_FOUND,
				    "not found: sluice serves /metrics only\n",
				    false);
	/* Nothing here can be written to. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_static(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				    "method not allowed: GET or HEAD\n", true);
	if (sluice_metrics_render(mx, NULL, &text, &len))
		return reply_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    "out of memory\n", false);
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fputs("sluice-agent: metrics: ", stderr);
	vfprintf(stderr, fmt, ap);
}

struct sluice_metrics *sluice_metrics_new(struct sluice_metrics_shared *sh)
{
	struct sluice_metrics *mx = calloc(1, sizeof(*mx));

	if (!mx)
		return NULL;
	mx->pool_buf = malloc(sizeof(*mx->pool_buf));
	if (!mx->pool_buf) {
		free(mx);
		return NULL;
	}
	mx->sh = sh;
	pthread_mutex_init(&mx->render_lock, NULL);
	return mx;
}

/* Our own socket, so a port in use is reported with its errno. */
static int listen_socket(const __u8 addr[16], __u16 port, int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, err;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, addr + 12, 4);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, addr, 16);
		len = sizeof(*s6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A restarted agent must not wait out TIME_WAIT of its old self. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::]:PORT means IPv6 only: every address is given explicitly. */
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int sluice_metrics_listen(struct sluice_metrics *mx, const char *endpoint,
			  char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_ERROR_LOG;
	sigset_t all, old;
	__u8 addr[16];
	__u16 port;
	int family, fd;

	if (sluice_parse_endpoint(endpoint, addr, &port, &family)) {
		snprintf(err, errlen,
			 "'%s' is not a listen address (ADDR:PORT, e.g. "
			 "127.0.0.1:9464 or [::1]:9464)",
			 endpoint);
		return -EINVAL;
	}
	fd = listen_socket(addr, port, family);
	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s for /metrics: %s",
			 endpoint, strerror(-fd));
		return fd;
	}
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/*
	 * The server thread inherits this mask: SIGTERM and SIGINT must
	 * reach the agent's loop, whose poll() they interrupt.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	/* The logger first, so that every message goes through it. */
	mx->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, mx,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)MHD_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)MHD_CONN_TIMEOUT_S, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!mx->daemon) {
		close(fd);
		snprintf(err, errlen,
			 "cannot serve /metrics on %s: the HTTP server did "
			 "not start",
			 endpoint);
		return -EIO;
	}
	snprintf(mx->endpoint, sizeof(mx->endpoint), "%s", endpoint);
	return 0;
}

void sluice_metrics_free(struct sluice_metrics *mx)
{
	int i;

	if (!mx)
		return;
	/* Closes the listening socket too, and waits for the thread. */
	if (mx->daemon)
		MHD_stop_daemon(mx->daemon);
	for (i = 0; i < SLUICE_MAX_POOLS; i++)
		free(mx->pools[i].be);
	free(mx->pool_buf);
	pthread_mutex_destroy(&mx->render_lock);
	free(mx);
}
