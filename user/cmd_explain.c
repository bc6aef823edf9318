// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * sluice explain SERVICE CLIENT...: where a new flow from a client goes
 * now, and why. It reads the same maps and runs the same decision code
 * (sluice_affinity.h) as the data path, so "why did this user see the
 * canary?" has an exact answer, not a guess.
 */
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "cli.h"
#include "commands.h"
#include "parse.h"
#include "state.h"
#include "sluice_affinity.h"

#define SEGMENTS_MAX SLUICE_MAX_SEGMENTS

static const struct cli_cmd explain_cmd = {
	"explain",
	"Usage: sluice explain SERVICE CLIENT... [--json]\n"
	"\n"
	"Say which colour and backend a new flow from each CLIENT would get\n"
	"now, and why: the segment that pins it, or where the client's hash\n"
	"falls against the split. The answer comes from the pinned maps and\n"
	"the data path's own decision code, so it is what the next packet\n"
	"gets. With a source port, a flow of that 5-tuple already in the flow\n"
	"table is shown too: established flows keep their backend.\n"
	"\n"
	"CLIENT is ADDR or ADDR:PORT ([ADDR6]:PORT for IPv6), in the VIP's\n"
	"family. A service with flow affinity hashes the source port too, so\n"
	"there the port is required.\n"
	"\n"
	"  --json  one JSON array, an object per client\n"
	"\n"
	"Examples:\n"
	"  sluice explain web 198.18.64.5:40000\n"
	"  sluice explain api 198.18.64.5 fd00:64::5 --json\n",
};

struct client {
	const char *text;
	__u8 addr[16];
	__u16 port; /* host order; 0 when not given */
	int family;
};

static int parse_client(const char *s, struct client *c)
{
	c->text = s;
	c->port = 0;
	if (!sluice_parse_addr(s, c->addr, &c->family))
		return 0;
	return sluice_parse_endpoint(s, c->addr, &c->port, &c->family);
}

/* The longest configured segment holding addr, for naming it. */
static const struct sluice_segment *
segment_of(const struct sluice_segment *segs, int n, const __u8 addr[16])
{
	const struct sluice_segment *best = NULL;
	int i, b;

	for (i = 0; i < n; i++) {
		const struct sluice_segment *s = &segs[i];
		bool in = true;

		for (b = 0; b < (int)s->plen128 && in; b++) {
			int byte = b / 8, mask = 0x80 >> (b % 8);

			in = (addr[byte] & mask) == (s->addr[byte] & mask);
		}
		if (in && (!best || s->plen128 > best->plen128))
			best = s;
	}
	return best;
}

static json_t *flow_json(const struct sluice_flow *f)
{
	char ep[SLUICE_ENDPOINT_STRLEN];

	return json_pack("{s:s, s:s}", "colour", sluice_colour_name(f->colour),
			 "backend",
			 sluice_format_endpoint(f->backend,
						ntohs(f->backend_port), ep,
						sizeof(ep)));
}

struct world {
	const struct sluice_maps *m;
	__u32 id;
	struct sluice_service_meta meta;
	struct sluice_service svc;
	struct sluice_pool pool[SLUICE_COLOURS];
	bool have_pool[SLUICE_COLOURS];
	struct sluice_segment segs[SEGMENTS_MAX];
	int nsegs;
};

static json_t *explain_one(const struct world *w, const struct client *c)
{
	const struct sluice_service_key *k = &w->meta.key;
	__u32 words[4], w4, w5, hash_ppm = 0, idx;
	const struct sluice_pool *pool;
	const struct sluice_segment *seg = NULL;
	struct sluice_flow_key fk;
	struct sluice_flow fl;
	char buf[SLUICE_ENDPOINT_STRLEN];
	json_t *o;
	int colour = -1;

	sluice_affinity_words(c->addr, htons(c->port), k->port, k->proto,
			      c->family == AF_INET6, w->svc.affinity, words,
			      &w4, &w5);
	if (w->svc.flags & SLUICE_SVC_F_SEGMENTS) {
		struct sluice_segment_key sk = { .prefixlen = 32 + 128,
						 .svc_id = htonl(w->id) };
		__u8 v;

		memcpy(sk.addr, c->addr, 16);
		if (!bpf_map_lookup_elem(w->m->segments, &sk, &v)) {
			colour = v & 1;
			seg = segment_of(w->segs, w->nsegs, c->addr);
		}
	}
	o = json_pack("{s:s}", "client", c->text);
	if (colour < 0) {
		colour = sluice_split_colour(w->svc.hash_seed, words, w4, w5,
					     w->svc.green_ppm, &hash_ppm);
		json_object_set_new(o, "reason", json_string("split"));
		json_object_set_new(o, "hash_ppm", json_integer(hash_ppm));
		json_object_set_new(o, "green_ppm",
				    json_integer(w->svc.green_ppm));
	} else {
		json_object_set_new(o, "reason", json_string("segment"));
		if (seg) {
			char a[SLUICE_ADDR_STRLEN + 8];

			snprintf(a, sizeof(a), "%s/%u",
				 sluice_format_addr(seg->addr, buf,
						    sizeof(buf)),
				 sluice_addr_is_v4(seg->addr) ?
					 seg->plen128 - 96 :
					 seg->plen128);
			json_object_set_new(o, "segment", json_string(a));
		}
	}
	json_object_set_new(o, "colour",
			    json_string(sluice_colour_name(colour)));
	json_object_set_new(o, "role",
			    json_string(colour == w->meta.candidate ?
						"candidate" :
						"stable"));
	pool = w->have_pool[colour] ? &w->pool[colour] : NULL;
	if (pool && pool->active) {
		const struct sluice_backend *be;

		idx = sluice_table_index(w->svc.hash_seed, words, w4, w5);
		be = &pool->backends[pool->table[idx] &
				     (SLUICE_MAX_BACKENDS_PER_POOL - 1)];
		json_object_set_new(o, "backend",
				    json_string(sluice_format_endpoint(
					    be->addr, ntohs(be->port), buf,
					    sizeof(buf))));
	} else {
		json_object_set_new(o, "backend", json_null());
	}

	json_object_set_new(o, "established", json_null());
	if (c->port) {
		memset(&fk, 0, sizeof(fk));
		memcpy(fk.src, c->addr, 16);
		memcpy(fk.dst, k->vip, 16);
		fk.sport = htons(c->port);
		fk.dport = k->port;
		fk.proto = k->proto;
		if (!bpf_map_lookup_elem(w->m->flows, &fk, &fl) &&
		    fl.svc_id == w->id)
			json_object_set_new(o, "established", flow_json(&fl));
	}
	return o;
}

static void print_text(json_t *o)
{
	json_t *est = json_object_get(o, "established");
	const char *backend = json_string_value(json_object_get(o, "backend"));
	const char *reason = json_string_value(json_object_get(o, "reason"));
	char split[SLUICE_PPM_STRLEN], hash[SLUICE_PPM_STRLEN];

	printf("%s: new flow -> %s (%s) %s", json_string_value(json_object_get(o, "client")),
	       json_string_value(json_object_get(o, "colour")),
	       json_string_value(json_object_get(o, "role")),
	       backend ? backend : "none: the pool is empty, it is dropped");
	if (!strcmp(reason, "segment")) {
		const char *seg =
			json_string_value(json_object_get(o, "segment"));

		printf(", pinned by segment %s\n", seg ? seg : "(changing)");
	} else {
		__u32 h = json_integer_value(json_object_get(o, "hash_ppm"));
		__u32 g = json_integer_value(json_object_get(o, "green_ppm"));

		sluice_format_ppm(h, hash, sizeof(hash));
		sluice_format_ppm(g, split, sizeof(split));
		printf(", hash at %s %s green's %s\n", hash,
		       h < g ? "is below" : "is not below", split);
	}
	if (json_is_object(est))
		printf("  established flow -> %s %s\n",
		       json_string_value(json_object_get(est, "colour")),
		       json_string_value(json_object_get(est, "backend")));
}

static int load_world(struct world *w)
{
	int err, c;

	err = sluice_service_value(w->m, w->id, &w->svc);
	if (err)
		return err;
	for (c = 0; c < SLUICE_COLOURS; c++) {
		err = sluice_pool_read(w->m, w->id, c, &w->pool[c]);
		if (err && err != -ENOENT)
			return err;
		w->have_pool[c] = !err;
	}
	w->nsegs = sluice_segment_list(w->m, w->id, w->segs, SEGMENTS_MAX);
	return w->nsegs < 0 ? w->nsegs : 0;
}

int cmd_explain(int argc, char **argv)
{
	static struct world w;
	static struct client clients[4096];
	struct sluice_maps m;
	bool json = false;
	int rc, lock, err, i, n = 0;
	json_t *all;

	if (cli_wants_help(&explain_cmd, argc, argv))
		return EXIT_OK;
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		if (argv[i][0] == '-')
			return cli_usage(&explain_cmd, "unknown option '%s'",
					 argv[i]);
		if (n == (int)(sizeof(clients) / sizeof(clients[0])))
			return cli_usage(&explain_cmd,
					 "at most %d clients at once", n);
		if (parse_client(argv[i], &clients[n]))
			return cli_usage(&explain_cmd,
					 "client '%s': want ADDR, ADDR:PORT or "
					 "[ADDR6]:PORT",
					 argv[i]);
		n++;
	}
	if (argc < 2 || argv[1][0] == '-' || !n)
		return cli_usage(&explain_cmd, "want SERVICE CLIENT...");

	rc = cli_open(&explain_cmd, &m, false, &lock);
	if (rc)
		return rc;
	w.m = &m;
	err = sluice_service_find(&m, argv[1], &w.id, &w.meta);
	if (!err)
		err = load_world(&w);
	if (err) {
		char what[96];

		snprintf(what, sizeof(what), "service '%s'", argv[1]);
		rc = cli_state_error(&explain_cmd, err, what);
		cli_close(&m, lock);
		return rc;
	}
	for (i = 0; i < n; i++) {
		bool v4 = sluice_addr_is_v4(w.meta.key.vip);

		if ((clients[i].family == AF_INET) != v4) {
			cli_close(&m, lock);
			return cli_usage(&explain_cmd,
					 "client '%s': service '%s' has an %s VIP",
					 clients[i].text, argv[1],
					 v4 ? "IPv4" : "IPv6");
		}
		if (!clients[i].port &&
		    w.svc.affinity == SLUICE_AFFINITY_FLOW) {
			cli_close(&m, lock);
			return cli_usage(&explain_cmd,
					 "client '%s': service '%s' hashes the "
					 "source port (flow affinity); give ADDR:PORT",
					 clients[i].text, argv[1]);
		}
	}

	all = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(all, explain_one(&w, &clients[i]));
	cli_close(&m, lock);
	if (json) {
		json_dumpf(all, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		for (i = 0; i < n; i++)
			print_text(json_array_get(all, i));
	}
	json_decref(all);
	return EXIT_OK;
}
