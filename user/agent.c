// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * sluice agent: runs rollouts, one tick at a time, on the counters the
 * data path keeps in pinned maps, and takes commands on a control
 * socket. The data path never depends on it: stopping, killing or
 * upgrading the agent leaves traffic alone, and a restarted agent picks
 * every rollout up from its state file where it stood.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent.h"
#include "apply.h"
#include "config.h"
#include "cli.h"
#include "commands.h"
#include "ctlsock.h"
#include "events.h"
#include "metrics.h"
#include "parse.h"
#include "pins.h"
#include "state.h"
#include "store.h"

#define MAX_ROLLOUTS 256

static const struct cli_cmd agent_cmd = {
	"agent",
	"Usage: sluice agent [--config FILE] [--state-dir DIR] [--socket PATH]\n"
	"                    [--events FILE|-] [--metrics ADDR:PORT]\n"
	"\n"
	"Run rollouts and take commands ('sluice rollout ...') on a control\n"
	"socket. Stays in the foreground and logs to stderr; stop it with\n"
	"SIGTERM. Traffic does not depend on it: the data path keeps\n"
	"steering while the agent is stopped, killed or upgraded, and a\n"
	"restarted agent resumes every rollout at the step it was at, with\n"
	"the same evidence window.\n"
	"\n"
	"  --config FILE    apply FILE (as 'sluice apply -f') when the data path\n"
	"                   is up, and take rollout policies from it: 'sluice\n"
	"                   rollout start SVC' without flags uses SVC's\n"
	"                   rollout: block; its agent: block sets the defaults\n"
	"                   of the options below\n"
	"  --state-dir DIR  rollout state and decision history\n"
	"                   (default " SLUICE_STATE_DIR_DEFAULT ", or $SLUICE_STATE_DIR)\n"
	"  --socket PATH    control socket, mode 0600\n"
	"                   (default " SLUICE_SOCKET_DEFAULT ", or $SLUICE_SOCKET)\n"
	"  --events FILE    write the data path's events (drops, errors,\n"
	"                   sampled new flows, lost counts) and every decision\n"
	"                   as JSON lines to FILE ('-' for stdout); the agent\n"
	"                   then is the ring buffer's one reader\n"
	"  --metrics ADDR:PORT\n"
	"                   serve Prometheus metrics at http://ADDR:PORT/metrics\n"
	"                   (e.g. 127.0.0.1:9464 or [::1]:9464; default: none).\n"
	"                   The address is used as given: only a loopback one\n"
	"                   keeps the endpoint to this host\n",
};

struct agent {
	struct sluice_maps m;
	bool maps_open;
	struct sluice_rollout ro[MAX_ROLLOUTS];
	__u64 next_tick[MAX_ROLLOUTS]; /* CLOCK_MONOTONIC ns */
	int n;
	FILE *events;
	int listen_fd;
	struct sluice_cfg cfg;
	bool have_cfg;
	/* /metrics: its thread reads ro[] and n under shared.lock */
	const char *metrics; /* ADDR:PORT, or NULL: no endpoint */
	struct sluice_metrics_shared shared;
	struct sluice_metrics *mx;
	/* the data path's ring buffer, read when --events is given */
	struct ring_buffer *rb;
	struct sluice_namer *namer;
	__u64 lost_seen;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void iso_time(__u64 ns, char *buf, size_t len)
{
	time_t t = ns / 1000000000ull;
	struct tm tm;
	char base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03lluZ", base,
		 (unsigned long long)(ns / 1000000ull % 1000));
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	char ts[40];
	va_list ap;

	iso_time(clock_ns(CLOCK_REALTIME), ts, sizeof(ts));
	fprintf(stderr, "%s sluice-agent: ", ts);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static struct sluice_rollout *find(struct agent *a, const char *svc)
{
	int i;

	for (i = 0; i < a->n; i++)
		if (!strcmp(a->ro[i].service, svc))
			return &a->ro[i];
	return NULL;
}

/* ---- the rollout's view of the world ---------------------------------- */

static int snapshot(void *ctx, const char *svc, struct sluice_snapshot *s)
{
	struct agent *a = ctx;

	if (!a->maps_open)
		return -ENODEV;
	return sluice_agent_snapshot(&a->m, svc, s);
}

static int set_split(void *ctx, const char *svc, __u32 ppm)
{
	struct agent *a = ctx;
	struct sluice_rollout *r = find(a, svc);
	struct sluice_service_meta meta;
	int lock, err;
	__u32 id;

	if (!a->maps_open || !r)
		return -ENODEV;
	if (ppm > SLUICE_PPM)
		return -ERANGE;
	lock = sluice_lock();
	if (lock < 0)
		return lock;
	err = sluice_service_find(&a->m, svc, &id, &meta);
	/* After the roles swapped, the rollout's candidate is the stable. */
	if (!err)
		err = sluice_split_set(&a->m, id,
				       meta.candidate == r->candidate ?
					       ppm :
					       SLUICE_PPM - ppm);
	sluice_unlock(lock);
	return err;
}

static int complete(void *ctx, const struct sluice_rollout *r)
{
	struct agent *a = ctx;
	struct sluice_service_meta meta;
	int lock, err;
	__u32 id;

	lock = sluice_lock();
	if (lock < 0)
		return lock;
	err = sluice_service_find(&a->m, r->service, &id, &meta);
	if (!err && meta.candidate == r->candidate)
		err = sluice_flip(&a->m, id);
	sluice_unlock(lock);
	return err;
}

static int forget_candidate(void *ctx, const struct sluice_rollout *r)
{
	struct agent *a = ctx;
	struct sluice_pool *pool = malloc(sizeof(*pool));
	__u32 id;
	int i, err;

	if (!pool)
		return -ENOMEM;
	err = sluice_service_find(&a->m, r->service, &id, NULL);
	if (!err)
		err = sluice_pool_read(&a->m, id, r->candidate, pool);
	for (i = 0; !err && i < SLUICE_MAX_BACKENDS_PER_POOL; i++)
		if (pool->backends[i].flags & SLUICE_BE_F_USED)
			sluice_flows_forget(&a->m, id, pool->backends[i].id);
	free(pool);
	return err;
}

static int persist(void *ctx, const struct sluice_rollout *r)
{
	(void)ctx;
	return sluice_store_save(r);
}

static void record(void *ctx, const struct sluice_rollout *r,
		   const char *action, const char *reason, json_t *evidence)
{
	struct agent *a = ctx;
	__u64 now = clock_ns(CLOCK_REALTIME);
	char ts[40], split[SLUICE_PPM_STRLEN];
	json_t *d;

	/* Every caller holds shared.lock: a tick or a command. */
	sluice_metrics_count_decision(&a->shared, r->service, action);
	iso_time(now, ts, sizeof(ts));
	sluice_format_ppm(sluice_rollout_split(r), split, sizeof(split));
	d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s}",
		      "ts", ts, "type", "decision", "service", r->service,
		      "action", action, "reason", reason ? reason : "", "step",
		      r->step + 1, "steps", r->policy.nsteps, "split", split,
		      "state", sluice_rollout_state_name(r->state), "candidate",
		      sluice_colour_name(r->candidate));
	json_object_set_new(d, "ts_ns", json_integer((json_int_t)now));
	if (evidence)
		json_object_set(d, "evidence", evidence);
	if (sluice_store_append_history(r->service, d))
		logf_("%s: cannot append to the history", r->service);
	if (a->events) {
		json_dumpf(d, a->events, JSON_COMPACT | JSON_SORT_KEYS);
		fputc('\n', a->events);
		fflush(a->events);
	}
	logf_("%s: %s at %s (step %d/%d): %s", r->service, action, split,
	      r->step + 1, r->policy.nsteps, reason ? reason : "");
	json_decref(d);
}

static const struct sluice_rollout_io io_template = {
	.snapshot = snapshot,
	.set_split = set_split,
	.complete = complete,
	.persist = persist,
	.forget_candidate = forget_candidate,
	.record = record,
};

/*
 * A rollout belongs to one incarnation of its service: deleted (or
 * deleted and re-created), the rollout ends without touching the split.
 */
static bool service_gone(struct agent *a, const struct sluice_rollout *r)
{
	struct sluice_service_meta meta;

	if (sluice_service_find(&a->m, r->service, NULL, &meta))
		return true;
	return r->service_created_ns && meta.created_ns != r->service_created_ns;
}

static void end_orphan(struct agent *a, struct sluice_rollout *r)
{
	r->state = SLUICE_RO_ABORTED;
	snprintf(r->reason, sizeof(r->reason),
		 "service '%s' was deleted during the rollout", r->service);
	sluice_store_save(r);
	record(a, r, "abort", r->reason, NULL);
}

/* ---- control socket ----------------------------------------------------- */

static json_t *reply_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static json_t *reply_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *reply_rollout(const struct sluice_rollout *r)
{
	json_t *o = json_pack("{s:b}", "ok", 1);

	json_object_set_new(o, "rollout", sluice_rollout_to_json(r));
	return o;
}

static json_t *do_start(struct agent *a, const struct sluice_rollout_io *io,
			const char *svc, json_t *req)
{
	struct sluice_service_meta meta;
	struct sluice_policy p;
	struct sluice_rollout *r = find(a, svc), tmp, old;
	bool fresh = false;
	struct sluice_pool *pool;
	char why[160];
	__u32 id;
	int err, active;

	if (!json_object_get(req, "policy")) {
		/* No flags given: the config file's policy, or the defaults. */
		int k;

		sluice_policy_defaults(&p);
		for (k = 0; a->have_cfg && k < a->cfg.nservices; k++)
			if (!strcmp(a->cfg.services[k].name, svc) &&
			    a->cfg.services[k].has_rollout)
				p = a->cfg.services[k].rollout;
	} else if (sluice_policy_from_json(json_object_get(req, "policy"),
					   &p)) {
		return reply_error("malformed policy");
	}
	if (sluice_policy_check(&p, why, sizeof(why)))
		return reply_error("policy: %s", why);
	if (sluice_service_find(&a->m, svc, &id, &meta))
		return reply_error("service '%s' does not exist", svc);
	if (r && sluice_rollout_active(r) && service_gone(a, r))
		end_orphan(a, r);
	if (r && sluice_rollout_active(r))
		return reply_error("a rollout of '%s' is already %s at step "
				   "%d; abort it first",
				   svc, sluice_rollout_state_name(r->state),
				   r->step + 1);
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return reply_error("out of memory");
	active = sluice_pool_read(&a->m, id, meta.candidate, pool) ?
			 0 :
			 (int)pool->active;
	free(pool);
	if (!active)
		return reply_error("the %s pool of '%s' (the candidate) has no "
				   "active backend",
				   sluice_colour_name(meta.candidate), svc);
	if (!r) {
		if (a->n == MAX_ROLLOUTS)
			return reply_error("too many rollouts");
		r = &a->ro[a->n];
		fresh = true;
	} else {
		old = *r;
	}
	/* Fill the slot first: set_split finds the rollout by name. */
	memset(&tmp, 0, sizeof(tmp));
	snprintf(tmp.service, sizeof(tmp.service), "%s", svc);
	tmp.candidate = meta.candidate;
	tmp.service_created_ns = meta.created_ns;
	*r = tmp;
	if (fresh)
		a->n++;
	err = sluice_rollout_start(r, svc, &p, meta.candidate, io,
				   clock_ns(CLOCK_REALTIME));
	if (err) {
		/* Nothing half-started stays behind to be ticked. */
		if (fresh)
			a->n--;
		else
			*r = old;
		return reply_error("cannot start: %s", strerror(-err));
	}
	a->next_tick[r - a->ro] = clock_ns(CLOCK_MONOTONIC) + p.tick_ns;
	return reply_rollout(r);
}

static json_t *handle(struct agent *a, json_t *req)
{
	struct sluice_rollout_io io = io_template;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	const char *svc = json_string_value(json_object_get(req, "service"));
	__u64 now = clock_ns(CLOCK_REALTIME);
	struct sluice_rollout *r;
	int err;

	io.ctx = a;
	if (!cmd)
		return reply_error("request without a 'cmd'");
	if (!strcmp(cmd, "ping"))
		return json_pack("{s:b, s:i}", "ok", 1, "rollouts", a->n);
	if (!svc || !*svc || strlen(svc) >= SLUICE_NAME_MAX)
		return reply_error("request without a valid 'service'");
	if (!a->maps_open)
		return reply_error("sluice is not up: no pinned maps at %s",
				   sluice_pin_dir());
	if (!strcmp(cmd, "start"))
		return do_start(a, &io, svc, req);
	r = find(a, svc);
	if (!r)
		return reply_error("no rollout of '%s'", svc);
	if (!strcmp(cmd, "status"))
		return reply_rollout(r);
	if (!strcmp(cmd, "pause"))
		err = sluice_rollout_pause(r, &io, now);
	else if (!strcmp(cmd, "resume"))
		err = sluice_rollout_resume(r, &io, now);
	else if (!strcmp(cmd, "promote"))
		err = sluice_rollout_promote(r, &io, now);
	else if (!strcmp(cmd, "abort"))
		err = sluice_rollout_abort(r, &io, now,
					   json_string_value(json_object_get(
						   req, "reason")) ?:
						   "aborted by request");
	else
		return reply_error("unknown command '%s'", cmd);
	if (err == -EINVAL)
		return reply_error("cannot %s: the rollout of '%s' is %s", cmd,
				   svc, sluice_rollout_state_name(r->state));
	if (err)
		return reply_error("%s failed: %s", cmd, strerror(-err));
	a->next_tick[r - a->ro] = clock_ns(CLOCK_MONOTONIC) + r->policy.tick_ns;
	return reply_rollout(r);
}

static void serve_one(struct agent *a)
{
	char err[256];
	json_t *req, *resp;
	int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	req = sluice_ctl_read(fd, err, sizeof(err));
	pthread_mutex_lock(&a->shared.lock);
	resp = req ? handle(a, req) : reply_error("%s", err);
	pthread_mutex_unlock(&a->shared.lock);
	sluice_ctl_write(fd, resp);
	json_decref(req);
	json_decref(resp);
	close(fd);
}

/* ---- data-path events ----------------------------------------------------- */

static int on_ring_event(void *ctx, void *data, size_t len)
{
	struct agent *a = ctx;
	const struct sluice_event *e = data;
	json_t *o;

	if (len >= sizeof(*e))
		sluice_metrics_count_event(e->type);
	o = sluice_event_json(a->namer, data, len);
	if (!o)
		return 0;
	json_dumpf(o, a->events, JSON_COMPACT | JSON_SORT_KEYS);
	fputc('\n', a->events);
	json_decref(o);
	return 0;
}

/*
 * The ring has one reader: the agent takes it only when asked to write
 * events, so `sluice events` works beside an agent that does not.
 */
static void open_ring(struct agent *a)
{
	struct sluice_global_stats g;

	if (!a->events || a->rb)
		return;
	a->namer = sluice_namer_new(&a->m);
	a->rb = a->namer ? ring_buffer__new(a->m.events, on_ring_event, a,
					    NULL) :
			   NULL;
	if (!a->rb) {
		logf_("cannot read the ring buffer: %s", strerror(errno));
		return;
	}
	if (!sluice_global_stats_read(&a->m, &g))
		a->lost_seen = g.events_lost;
}

/* Drain the ring; a loss since the last drain becomes an event too. */
static void drain_ring(struct agent *a)
{
	struct sluice_global_stats g;
	char ts[40];

	if (!a->rb)
		return;
	ring_buffer__consume(a->rb);
	if (!sluice_global_stats_read(&a->m, &g) &&
	    g.events_lost > a->lost_seen) {
		sluice_iso8601(clock_ns(CLOCK_REALTIME), ts, sizeof(ts));
		fprintf(a->events,
			"{\"count\":%llu,\"ts\":\"%s\",\"type\":\"lost\"}\n",
			(unsigned long long)(g.events_lost - a->lost_seen), ts);
		a->lost_seen = g.events_lost;
	}
	fflush(a->events);
}

/* ---- main loop ----------------------------------------------------------- */

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) ? info.id :
								       0;
}

/*
 * After `sluice down` (and maybe a new `up`) the maps held open are no
 * longer the data path's: let go, so that they are opened again.
 */
static void check_maps_current(struct agent *a)
{
	char path[4096];
	int fd;
	bool same;

	if (!a->maps_open)
		return;
	snprintf(path, sizeof(path), "%s/services", sluice_pin_dir());
	fd = bpf_obj_get(path);
	same = fd >= 0 && map_id(fd) == map_id(a->m.services);
	if (fd >= 0)
		close(fd);
	if (same)
		return;
	logf_("the data path went down or was replaced: reopening its maps");
	ring_buffer__free(a->rb);
	a->rb = NULL;
	sluice_namer_free(a->namer);
	a->namer = NULL;
	sluice_maps_close(&a->m);
	a->maps_open = false;
}

static void try_open_maps(struct agent *a)
{
	struct sluice_rollout_io io = io_template;
	int i;

	if (a->maps_open || sluice_maps_open(&a->m))
		return;
	a->maps_open = true;
	logf_("pinned maps open at %s", sluice_pin_dir());
	open_ring(a);
	if (a->have_cfg) {
		struct sluice_apply_opts ao = { .log = stderr };
		char err[512];
		int lock = sluice_lock();

		if (sluice_apply(&a->m, &a->cfg, &ao, err, sizeof(err)))
			logf_("config not applied: %s", err);
		else
			logf_("config applied: %d services", a->cfg.nservices);
		sluice_unlock(lock);
	}
	io.ctx = a;
	for (i = 0; i < a->n; i++) {
		if (sluice_rollout_active(&a->ro[i]) &&
		    service_gone(a, &a->ro[i])) {
			end_orphan(a, &a->ro[i]);
			continue;
		}
		if (sluice_rollout_resume_after_restart(
			    &a->ro[i], &io, clock_ns(CLOCK_REALTIME)))
			logf_("%s: cannot re-apply the split of the persisted "
			      "state",
			      a->ro[i].service);
		else if (sluice_rollout_active(&a->ro[i]))
			logf_("%s: resumed %s at step %d/%d", a->ro[i].service,
			      sluice_rollout_state_name(a->ro[i].state),
			      a->ro[i].step + 1, a->ro[i].policy.nsteps);
	}
}

static int parse_args(int argc, char **argv, struct agent *a)
{
	bool state_dir_flag = false;
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "events", required_argument, NULL, 'e' },
		{ "config", required_argument, NULL, 'c' },
		{ "metrics", required_argument, NULL, 'm' },
		{ 0 },
	};
	const char *events = NULL;
	char err[512];
	int o;

	cli_reset_getopt();
	while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			sluice_store_set_dir(optarg);
			state_dir_flag = true;
			break;
		case 's':
			setenv("SLUICE_SOCKET", optarg, 1);
			break;
		case 'e':
			events = optarg;
			break;
		case 'c':
			if (sluice_cfg_load(optarg, &a->cfg, err, sizeof(err))) {
				fprintf(stderr, "sluice agent: %s\n", err);
				return EXIT_USAGE;
			}
			a->have_cfg = true;
			break;
		case 'm': {
			__u8 addr[16];
			__u16 port;

			if (sluice_parse_endpoint(optarg, addr, &port, NULL))
				return cli_usage(
					&agent_cmd,
					"--metrics '%s' is not a listen address (ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:9464)",
					optarg);
			a->metrics = optarg;
			break;
		}
		case ':':
			return cli_usage(&agent_cmd, "option '%s' needs a value",
					 argv[optind - 1]);
		default:
			return cli_usage(&agent_cmd, "unknown option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage(&agent_cmd, "unexpected argument '%s'",
				 argv[optind]);
	/* Flags win over the config file's agent: block. */
	if (!events && a->have_cfg && a->cfg.has_events)
		events = a->cfg.events;
	if (!a->metrics && a->have_cfg && a->cfg.has_metrics)
		a->metrics = a->cfg.metrics;
	if (a->have_cfg && a->cfg.has_state_dir && !state_dir_flag)
		sluice_store_set_dir(a->cfg.state_dir);
	if (events) {
		a->events = strcmp(events, "-") ? fopen(events, "ae") : stdout;
		if (!a->events)
			return cli_usage(&agent_cmd, "events file '%s': %s",
					 events, strerror(errno));
	}
	return EXIT_OK;
}

/*
 * One agent per state directory: two would both tick the same rollouts
 * and apply every step twice. The lock dies with the process, kill -9
 * included.
 */
static int take_agent_lock(void)
{
	char path[4096];
	int fd;

	if (mkdir(sluice_state_dir(), 0700) && errno != EEXIST)
		return cli_fail(&agent_cmd, "cannot create %s: %s",
				sluice_state_dir(), strerror(errno));
	snprintf(path, sizeof(path), "%s/agent.lock", sluice_state_dir());
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return cli_fail(&agent_cmd, "cannot open %s: %s", path,
				strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return cli_fail(&agent_cmd,
				"another agent is running with state in %s",
				sluice_state_dir());
	}
	return 0; /* kept open, and locked, for the agent's lifetime */
}

int cmd_agent(int argc, char **argv)
{
	static struct agent a;
	struct sluice_rollout_io io = io_template;
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd pfd;
	__u64 now, next;
	int rc, i, timeout;

	if (cli_wants_help(&agent_cmd, argc, argv))
		return EXIT_OK;
	memset(&a, 0, sizeof(a));
	sluice_metrics_shared_init(&a.shared, a.ro, &a.n);
	rc = parse_args(argc, argv, &a);
	if (rc)
		return rc;
	if (geteuid() != 0)
		return cli_usage(&agent_cmd, "must run as root");
	io.ctx = &a;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = take_agent_lock();
	if (rc)
		return rc;
	a.n = sluice_store_load_all(a.ro, MAX_ROLLOUTS);
	if (a.n < 0) {
		rc = cli_fail(&agent_cmd, "cannot read %s: %s",
			      sluice_state_dir(), strerror(-a.n));
		return rc;
	}
	if (a.metrics) {
		char why[256];

		a.mx = sluice_metrics_new(&a.shared);
		if (!a.mx)
			return cli_fail(&agent_cmd, "out of memory");
		if (sluice_metrics_listen(a.mx, a.metrics, why, sizeof(why))) {
			sluice_metrics_free(a.mx);
			return cli_fail(&agent_cmd, "%s", why);
		}
		logf_("serving metrics on http://%s/metrics", a.metrics);
	}
	a.listen_fd = sluice_ctl_listen(sluice_socket_path());
	if (a.listen_fd < 0) {
		sluice_metrics_free(a.mx);
		return cli_fail(&agent_cmd, "cannot listen on %s: %s",
				sluice_socket_path(), strerror(-a.listen_fd));
	}
	logf_("listening on %s, state in %s, %d rollout%s on disk",
	      sluice_socket_path(), sluice_state_dir(), a.n,
	      a.n == 1 ? "" : "s");
	now = clock_ns(CLOCK_MONOTONIC);
	for (i = 0; i < a.n; i++)
		a.next_tick[i] = now;
	pthread_mutex_lock(&a.shared.lock);
	try_open_maps(&a);
	pthread_mutex_unlock(&a.shared.lock);

	while (!stop) {
		now = clock_ns(CLOCK_MONOTONIC);
		next = now + 1000000000ull;
		for (i = 0; i < a.n; i++)
			if (sluice_rollout_active(&a.ro[i]) &&
			    a.next_tick[i] < next)
				next = a.next_tick[i];
		timeout = next > now ? (int)((next - now + 999999) / 1000000) :
				       0;
		/* Events leave within 200 ms even with nothing to judge. */
		if (a.rb && timeout > 200)
			timeout = 200;
		pfd = (struct pollfd){ .fd = a.listen_fd, .events = POLLIN };
		if (poll(&pfd, 1, timeout) > 0)
			serve_one(&a);
		pthread_mutex_lock(&a.shared.lock);
		check_maps_current(&a);
		try_open_maps(&a);
		pthread_mutex_unlock(&a.shared.lock);
		if (!a.maps_open)
			continue;
		drain_ring(&a);
		now = clock_ns(CLOCK_MONOTONIC);
		for (i = 0; i < a.n; i++) {
			struct sluice_rollout *r = &a.ro[i];

			if (!sluice_rollout_active(r) || a.next_tick[i] > now)
				continue;
			a.next_tick[i] = now + r->policy.tick_ns;
			pthread_mutex_lock(&a.shared.lock);
			rc = 0;
			if (service_gone(&a, r))
				end_orphan(&a, r);
			else
				rc = sluice_rollout_tick(
					r, &io, clock_ns(CLOCK_REALTIME));
			pthread_mutex_unlock(&a.shared.lock);
			if (rc)
				logf_("%s: tick failed: %s", r->service,
				      strerror(-rc));
		}
	}
	logf_("stopping; rollouts stay where they are");
	sluice_metrics_free(a.mx);
	sluice_metrics_shared_destroy(&a.shared);
	close(a.listen_fd);
	unlink(sluice_socket_path());
	drain_ring(&a);
	ring_buffer__free(a.rb);
	sluice_namer_free(a.namer);
	if (a.maps_open)
		sluice_maps_close(&a.m);
	if (a.events && a.events != stdout)
		fclose(a.events);
	sluice_cfg_free(&a.cfg);
	return EXIT_OK;
}
