// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The config file loader. libyaml's event parser turns the text into a
 * small tree of maps, lists and scalars that keeps every node's
 * position; a walk over that tree then checks each node against the
 * schema and fills struct sluice_cfg, stopping at the first problem in
 * document order.
 *
 * The tree is built from events rather than with yaml_parser_load()
 * because the loader expands aliases silently and forgets anchors and
 * tags, which this format refuses with a message (see config.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "names.h"
#include "parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The schema nests five collections deep at most; the cap only keeps a
 * hostile or fuzzed input from building a tree that the recursive free
 * would need a deep stack for.
 */
#define CFG_MAX_DEPTH 32
/* Far above any real config (1024 services of 512 backends is ~20 MiB). */
#define CFG_MAX_FILE (64u << 20)
/* Bytes of a user's value quoted in a message, before "...". */
#define CFG_SHOW_MAX 64

/* ---- the tree ---------------------------------------------------------- */

enum ykind { Y_SCALAR, Y_MAP, Y_SEQ, Y_ALIAS };

struct ynode {
	enum ykind kind;
	char *str; /* scalar value, or the alias's anchor name */
	size_t len; /* of str; may hide a NUL from a "\0" escape */
	char *anchor; /* &name on this node, or NULL */
	char *tag; /* explicit tag, or NULL */
	bool plain; /* unquoted scalar: only these can be null */
	unsigned int line, col; /* 1-based */
	struct ynode **kids; /* a map holds key, value, key, value, ... */
	int nkids, cap;
};

static void ynode_free(struct ynode *n)
{
	int i;

	if (!n)
		return;
	for (i = 0; i < n->nkids; i++)
		ynode_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n->anchor);
	free(n->tag);
	free(n);
}

static char *dup_str(const yaml_char_t *s)
{
	return s ? strdup((const char *)s) : NULL;
}

static int ynode_add(struct ynode *parent, struct ynode *kid)
{
	if (parent->nkids == parent->cap) {
		int cap = parent->cap ? parent->cap * 2 : 4;
		struct ynode **k = realloc(parent->kids, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->nkids++] = kid;
	return 0;
}

/* ---- messages ---------------------------------------------------------- */

struct ctx {
	const char *name;
	const char *buf;
	size_t len;
	char *err;
	size_t errlen;
	char path[512]; /* FIELD of the message, e.g. services.web.vip */
	size_t plen;
	/* Quoted values for one message; a message shows at most two. */
	char shown[2][CFG_SHOW_MAX + 8];
	int nshown;
	int nsegments; /* across services: they share one LPM trie */
};

static int vfail(struct ctx *c, unsigned int line, unsigned int col,
		 const char *field, const char *fmt, va_list ap)
{
	int n;

	if (!c->err || !c->errlen)
		return -EINVAL;
	n = snprintf(c->err, c->errlen, "%s:%u:%u: %s: ", c->name, line, col,
		     field);
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	return -EINVAL;
}

/* An error about node n, named by the current path. */
__attribute__((format(printf, 3, 4))) static int
fail(struct ctx *c, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(c, n->line, n->col, c->plen ? c->path : "document", fmt, ap);
	va_end(ap);
	return rc;
}

/* An error in the YAML text itself, before there is any field. */
__attribute__((format(printf, 4, 5))) static int
yfail(struct ctx *c, unsigned int line, unsigned int col, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(c, line, col, "yaml", fmt, ap);
	va_end(ap);
	return rc;
}

static int oom(struct ctx *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: out of memory", c->name);
	return -ENOMEM;
}

/*
 * Copy s[0..len) into dst for a message: control characters become '?'
 * so the message stays one line, and a long value is cut on a UTF-8
 * character boundary and marked with "...".
 */
static void clean(char *dst, const char *s, size_t len)
{
	size_t n = len, i;

	if (n > CFG_SHOW_MAX) {
		n = CFG_SHOW_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		dst[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	strcpy(dst + n, n < len ? "..." : "");
}

/* A scalar's value, safe to print; valid until two more calls. */
static const char *show(struct ctx *c, const struct ynode *n)
{
	char *dst = c->shown[c->nshown++ % 2];

	clean(dst, n->str, n->len);
	return dst;
}

/* Append to the path; returns the length to restore with pop(). */
__attribute__((format(printf, 2, 3))) static size_t push(struct ctx *c,
							 const char *fmt, ...)
{
	size_t old = c->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->path + c->plen, sizeof(c->path) - c->plen, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->plen += (size_t)n;
	if (c->plen >= sizeof(c->path))
		c->plen = sizeof(c->path) - 1;
	return old;
}

/* Append a key the user wrote, cleaned like a shown value. */
static size_t push_key(struct ctx *c, const struct ynode *k)
{
	char name[CFG_SHOW_MAX + 8];

	clean(name, k->str, k->len);
	return push(c, c->plen ? ".%s" : "%s", name);
}

static void pop(struct ctx *c, size_t old)
{
	c->plen = old;
	c->path[old] = '\0';
}

/* ---- building the tree from libyaml events ----------------------------- */

/* Line and column of a byte offset, for reader errors that have only it. */
static void offset_pos(const struct ctx *c, size_t off, unsigned int *line,
		       unsigned int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < c->len; i++) {
		if (c->buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)c->buf[i] & 0xc0) != 0x80) {
			/* Columns count characters, as libyaml's marks do. */
			(*col)++;
		}
	}
}

#define IPV6_HINT "quote IPv6 endpoints, e.g. \"[fd00::1]:8080\""

/* Start and length of 0-based line `line` of the input. */
static const char *line_at(const struct ctx *c, size_t line, size_t *len)
{
	size_t i = 0, n = 0, start;

	while (n < line && i < c->len)
		if (c->buf[i++] == '\n')
			n++;
	start = i;
	while (i < c->len && c->buf[i] != '\n')
		i++;
	*len = i - start;
	return c->buf + start;
}

/*
 * Two mistakes libyaml's messages do not explain: an unquoted
 * "[fd00::1]:80" is a YAML list followed by junk, and a tab cannot
 * indent. A hint is added when the offending line shows either.
 */
static const char *yaml_hint(const struct ctx *c, size_t line)
{
	size_t len, i;
	const char *s = line_at(c, line, &len);

	for (i = 0; i < len && (s[i] == ' ' || s[i] == '\t'); i++)
		if (s[i] == '\t')
			return "indent with spaces, not tabs";
	for (i = 0; i + 1 < len; i++)
		if (s[i] == ']' && s[i + 1] == ':')
			return IPV6_HINT;
	return NULL;
}

static int yaml_error(struct ctx *c, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	unsigned int line, col;
	const char *hint;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return oom(c);
	case YAML_READER_ERROR:
		offset_pos(c, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			return yfail(c, line, col,
				     "%s: 0x%X (the file must be UTF-8 text)",
				     problem, (unsigned int)p->problem_value);
		return yfail(c, line, col, "%s (the file must be UTF-8 text)",
			     problem);
	default:
		line = (unsigned int)p->problem_mark.line + 1;
		col = (unsigned int)p->problem_mark.column + 1;
		hint = yaml_hint(c, p->problem_mark.line);
		if (!hint && p->context)
			hint = yaml_hint(c, p->context_mark.line);
		if (p->context)
			return yfail(c, line, col, "%s (%s at %u:%u%s%s)",
				     problem, p->context,
				     (unsigned int)p->context_mark.line + 1,
				     (unsigned int)p->context_mark.column + 1,
				     hint ? "; " : "", hint ? hint : "");
		if (hint)
			return yfail(c, line, col, "%s (%s)", problem, hint);
		return yfail(c, line, col, "%s", problem);
	}
}

static struct ynode *node_from_event(const yaml_event_t *ev)
{
	struct ynode *n = calloc(1, sizeof(*n));
	const yaml_char_t *anchor = NULL, *tag = NULL;

	if (!n)
		return NULL;
	n->line = (unsigned int)ev->start_mark.line + 1;
	n->col = (unsigned int)ev->start_mark.column + 1;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n->kind = Y_SCALAR;
		n->len = ev->data.scalar.length;
		n->str = malloc(n->len + 1);
		if (n->str) {
			memcpy(n->str, ev->data.scalar.value, n->len);
			n->str[n->len] = '\0';
		}
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_ALIAS_EVENT:
		n->kind = Y_ALIAS;
		n->str = dup_str(ev->data.alias.anchor);
		n->len = n->str ? strlen(n->str) : 0;
		break;
	case YAML_SEQUENCE_START_EVENT:
		n->kind = Y_SEQ;
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	default:
		n->kind = Y_MAP;
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	}
	n->anchor = dup_str(anchor);
	n->tag = dup_str(tag);
	if ((n->kind == Y_SCALAR || n->kind == Y_ALIAS) && !n->str)
		goto nomem;
	if ((anchor && !n->anchor) || (tag && !n->tag))
		goto nomem;
	return n;
nomem:
	ynode_free(n);
	return NULL;
}

static bool is_null(const struct ynode *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t i;

	if (n->kind != Y_SCALAR || !n->plain || n->tag)
		return false;
	for (i = 0; i < ARRAY_SIZE(nulls); i++)
		if (!strcmp(n->str, nulls[i]))
			return true;
	return false;
}

/* Read the whole event stream into *root (NULL for an empty stream). */
static int build_tree(struct ctx *c, yaml_parser_t *p, struct ynode **root)
{
	struct ynode *stack[CFG_MAX_DEPTH], *n, *parent;
	int depth = 0, ndocs = 0, rc = 0;
	bool done = false;
	yaml_event_t ev;

	*root = NULL;
	while (!done && !rc) {
		if (!yaml_parser_parse(p, &ev))
			return yaml_error(c, p);
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1)
				rc = yfail(
					c, (unsigned int)ev.start_mark.line + 1,
					(unsigned int)ev.start_mark.column + 1,
					"a second document (a config file holds one)");
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth == CFG_MAX_DEPTH &&
			    (ev.type == YAML_SEQUENCE_START_EVENT ||
			     ev.type == YAML_MAPPING_START_EVENT)) {
				rc = yfail(
					c, (unsigned int)ev.start_mark.line + 1,
					(unsigned int)ev.start_mark.column + 1,
					"nested deeper than %d levels (the schema needs 5)",
					CFG_MAX_DEPTH);
				break;
			}
			n = node_from_event(&ev);
			if (!n) {
				rc = oom(c);
				break;
			}
			parent = depth ? stack[depth - 1] : NULL;
			/*
			 * An empty value ("vip:" and nothing after) is
			 * reported where its key is: libyaml marks it past
			 * the colon, where nobody would look.
			 */
			if (parent && parent->kind == Y_MAP &&
			    parent->nkids % 2 == 1 && is_null(n) && !n->len) {
				n->line = parent->kids[parent->nkids - 1]->line;
				n->col = parent->kids[parent->nkids - 1]->col;
			}
			if (!parent) {
				*root = n;
			} else if (ynode_add(parent, n)) {
				ynode_free(n);
				rc = oom(c);
				break;
			}
			if (n->kind == Y_SEQ || n->kind == Y_MAP)
				stack[depth++] = n;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	return rc;
}

/* ---- checking nodes ---------------------------------------------------- */

/*
 * Refuse what this format leaves out. Every node the schema walk looks
 * at passes through here first, so nothing slips past unchecked.
 */
static int check(struct ctx *c, const struct ynode *n)
{
	if (n->kind == Y_ALIAS)
		return fail(
			c, n,
			"alias '*%s' (anchors and aliases are not supported: write the value out)",
			show(c, n));
	if (n->anchor) {
		char a[CFG_SHOW_MAX + 8];

		clean(a, n->anchor, strlen(n->anchor));
		return fail(
			c, n,
			"anchor '&%s' (anchors and aliases are not supported: write the value out)",
			a);
	}
	if (n->tag) {
		char t[CFG_SHOW_MAX + 8];

		clean(t, n->tag, strlen(n->tag));
		return fail(
			c, n,
			"tag '%s' (tags are not supported: write the plain value)",
			t);
	}
	return 0;
}

/* What a node is, for "got X (want Y)" messages. */
static const char *got(struct ctx *c, const struct ynode *n)
{
	char *dst;

	if (n->kind == Y_MAP)
		return "a map";
	if (n->kind == Y_SEQ)
		return "a list";
	if (is_null(n))
		return "nothing";
	dst = c->shown[c->nshown++ % 2];
	clean(dst + 1, n->str, n->len);
	dst[0] = '\'';
	strcat(dst, "'");
	return dst;
}

/* 0 for a map, 1 for an empty value (the caller decides), else error. */
static int want_map(struct ctx *c, const struct ynode *n, const char *want)
{
	int rc = check(c, n);

	if (rc)
		return rc;
	if (n->kind == Y_MAP)
		return 0;
	if (is_null(n))
		return 1;
	return fail(c, n, "got %s (want %s)", got(c, n), want);
}

/* 0 for a list, 1 for an empty value (the caller decides), else error. */
static int want_seq(struct ctx *c, const struct ynode *n, const char *want)
{
	int rc = check(c, n);

	if (rc)
		return rc;
	if (n->kind == Y_SEQ)
		return 0;
	if (is_null(n))
		return 1;
	return fail(c, n, "got %s (want %s)", got(c, n), want);
}

/* A scalar with a value, as a C string the parse.h parsers can take. */
static int want_scalar(struct ctx *c, const struct ynode *n, const char *want,
		       const char **s)
{
	int rc = check(c, n);

	if (rc)
		return rc;
	if (n->kind != Y_SCALAR || is_null(n))
		return fail(c, n, "got %s (want %s)", got(c, n), want);
	if (strlen(n->str) != n->len)
		return fail(c, n, "contains a NUL character (want %s)", want);
	*s = n->str;
	return 0;
}

struct keydef {
	const char *name;
	int id;
};

static int key_id(const struct keydef *keys, size_t nkeys,
		  const struct ynode *k)
{
	size_t i;

	for (i = 0; i < nkeys; i++)
		if (strlen(keys[i].name) == k->len &&
		    !strcmp(keys[i].name, k->str))
			return keys[i].id;
	return -1;
}

/* "a, b, c (or c2)": a spelling sharing the previous id is an alias. */
static void keys_allowed(const struct keydef *keys, size_t nkeys, char *buf,
			 size_t len)
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < nkeys && n < len; i++) {
		if (i && keys[i].id == keys[i - 1].id)
			n += (size_t)snprintf(buf + n, len - n, " (or %s)",
					      keys[i].name);
		else
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      i ? ", " : "", keys[i].name);
	}
}

/* A map key must be a plain name: anything else is a type error. */
static int check_key(struct ctx *c, const struct ynode *k)
{
	size_t old;
	int rc;

	/* An anchored or tagged name is reported as the key it names. */
	if (k->kind == Y_SCALAR && (k->anchor || k->tag)) {
		old = push_key(c, k);
		rc = check(c, k);
		pop(c, old);
		return rc;
	}
	rc = check(c, k);
	if (rc)
		return rc;
	if (k->kind == Y_SEQ)
		return fail(c, k, "got a list as a key (keys are names; %s)",
			    IPV6_HINT);
	if (k->kind != Y_SCALAR)
		return fail(c, k, "got %s as a key (keys are names)",
			    got(c, k));
	return 0;
}

/*
 * The key of the pair at m->kids[i]: known, and not given before in the
 * same map. Pushes the key onto the path (restore with pop() through
 * *old) and returns its id, or a negative error.
 */
static int map_key(struct ctx *c, const struct ynode *m, int i,
		   const struct keydef *keys, size_t nkeys, size_t *old)
{
	const struct ynode *k = m->kids[i];
	char allowed[256];
	int rc, id, j;

	*old = c->plen;
	rc = check_key(c, k);
	if (rc)
		return rc;
	push_key(c, k);
	id = key_id(keys, nkeys, k);
	if (id < 0) {
		keys_allowed(keys, nkeys, allowed, sizeof(allowed));
		return fail(c, k, "unknown key (allowed: %s)", allowed);
	}
	/* Earlier keys passed this check already, so they all have ids. */
	for (j = 0; j < i; j += 2) {
		const struct ynode *prev = m->kids[j];

		if (key_id(keys, nkeys, prev) != id)
			continue;
		if (strcmp(prev->str, k->str))
			return fail(
				c, k,
				"duplicate key, same as '%s' at line %u (each key at most once)",
				show(c, prev), prev->line);
		return fail(
			c, k,
			"duplicate key, first at line %u (each key at most once)",
			prev->line);
	}
	return id;
}

/* ---- values ------------------------------------------------------------ */

#define PERCENT_WANT "a percentage such as 5% or 0.25%"
#define PERCENT_RULE "0-100 with at most 4 decimals, e.g. 5%%, 0.25%%"

static int get_percent(struct ctx *c, const struct ynode *n, __u32 *ppm)
{
	const char *s;
	int rc = want_scalar(c, n, PERCENT_WANT, &s);

	if (rc)
		return rc;
	if (sluice_parse_percent(s, ppm))
		return fail(c, n, "'%s' is not a percentage (" PERCENT_RULE ")",
			    show(c, n));
	return 0;
}

/*
 * A duration; "0" alone is also taken where zero switches a gate off,
 * since that is how the policy spells "none" and a bare number has no
 * unit to get wrong.
 */
static int get_duration(struct ctx *c, const struct ynode *n, bool zero_ok,
			const char *rule, __u64 *ns)
{
	const char *s;
	int rc = want_scalar(c, n, "a duration such as 30s", &s);

	if (rc)
		return rc;
	if (zero_ok && !strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	if (sluice_parse_duration(s, ns))
		return fail(c, n, "'%s' is not a duration (%s)", show(c, n),
			    rule);
	return 0;
}

static int get_u32(struct ctx *c, const struct ynode *n, __u32 min, __u32 *out)
{
	const char *s;
	int rc = want_scalar(c, n, "a whole number", &s);

	if (rc)
		return rc;
	if (sluice_parse_u32(s, min, UINT32_MAX, out))
		return fail(c, n, "'%s' is not a count (%u-%u)", show(c, n),
			    min, UINT32_MAX);
	return 0;
}

static int get_colour(struct ctx *c, const struct ynode *n, __u8 *colour)
{
	const char *s;
	int rc = want_scalar(c, n, "blue or green", &s);

	if (rc)
		return rc;
	if (sluice_parse_colour(s, colour))
		return fail(c, n, "'%s' is not a colour (blue or green)",
			    show(c, n));
	return 0;
}

/* A path-like string into a fixed buffer: a file, or "-" for events. */
static int get_path(struct ctx *c, const struct ynode *n, const char *want,
		    char *out, size_t outlen)
{
	const char *s;
	int rc = want_scalar(c, n, want, &s);

	if (rc)
		return rc;
	if (!*s)
		return fail(c, n, "got an empty string (want %s)", want);
	if (strlen(s) >= outlen)
		return fail(c, n, "'%s' is longer than %zu bytes (want %s)",
			    show(c, n), outlen - 1, want);
	strcpy(out, s);
	return 0;
}

/* Index of s in names[], as the CLI matches mode and affinity. */
static int lookup(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

/* ---- agent ------------------------------------------------------------- */

enum { A_METRICS, A_EVENTS, A_STATE_DIR };

static const struct keydef agent_keys[] = {
	{ "metrics", A_METRICS },
	{ "events", A_EVENTS },
	{ "state_dir", A_STATE_DIR },
};

static int parse_agent(struct ctx *c, const struct ynode *n,
		       struct sluice_cfg *cfg)
{
	const struct ynode *v;
	const char *s;
	__u8 addr[16];
	size_t old;
	__u16 port;
	int rc, i, id;

	rc = want_map(c, n, "a map with metrics, events, state_dir");
	if (rc)
		return rc < 0 ? rc : 0;
	for (i = 0; i < n->nkids; i += 2) {
		id = map_key(c, n, i, agent_keys, ARRAY_SIZE(agent_keys), &old);
		if (id < 0)
			return id;
		v = n->kids[i + 1];
		switch (id) {
		case A_METRICS:
			rc = want_scalar(
				c, v, "a listen address such as 127.0.0.1:9464",
				&s);
			if (rc)
				return rc;
			/* A valid endpoint always fits: "[v6]:65535" < 64. */
			if (sluice_parse_endpoint(s, addr, &port, NULL) ||
			    strlen(s) >= sizeof(cfg->metrics))
				return fail(
					c, v,
					"'%s' is not a listen address (ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:9464)",
					show(c, v));
			strcpy(cfg->metrics, s);
			cfg->has_metrics = true;
			break;
		case A_EVENTS:
			rc = get_path(c, v, "a file path, or - for stdout",
				      cfg->events, sizeof(cfg->events));
			if (rc)
				return rc;
			cfg->has_events = true;
			break;
		case A_STATE_DIR:
			rc = get_path(c, v, "a directory path", cfg->state_dir,
				      sizeof(cfg->state_dir));
			if (rc)
				return rc;
			cfg->has_state_dir = true;
			break;
		}
		pop(c, old);
	}
	return 0;
}

/* ---- pools ------------------------------------------------------------- */

enum { B_ADDRESS, B_WEIGHT };

static const struct keydef backend_keys[] = {
	{ "address", B_ADDRESS },
	{ "weight", B_WEIGHT },
};

#define BACKEND_WANT "ADDR:PORT, or a map with address and weight"

static int get_endpoint(struct ctx *c, const struct ynode *n,
			struct sluice_cfg_backend *b)
{
	const char *s;
	int rc = want_scalar(c, n, BACKEND_WANT, &s);

	if (rc)
		return rc;
	if (sluice_parse_endpoint(s, b->addr, &b->port, NULL))
		return fail(
			c, n,
			"'%s' is not a backend address (ADDR:PORT, e.g. 198.18.1.10:8080 or [fd00::1]:8080)",
			show(c, n));
	return 0;
}

static int parse_backend(struct ctx *c, const struct ynode *n,
			 struct sluice_cfg_backend *b)
{
	const struct ynode *v;
	bool have_addr = false;
	size_t old;
	const char *s;
	int rc, i, id;

	rc = check(c, n);
	if (rc)
		return rc;
	/* Same default as `sluice backend add` without --weight. */
	b->weight = 1;
	if (n->kind != Y_MAP)
		return get_endpoint(c, n, b);
	for (i = 0; i < n->nkids; i += 2) {
		id = map_key(c, n, i, backend_keys, ARRAY_SIZE(backend_keys),
			     &old);
		if (id < 0)
			return id;
		v = n->kids[i + 1];
		if (id == B_ADDRESS) {
			rc = get_endpoint(c, v, b);
			have_addr = true;
		} else {
			rc = want_scalar(c, v, "a weight of 1-65535", &s);
			if (!rc && sluice_parse_weight(s, &b->weight))
				rc = fail(c, v, "'%s' is not a weight (1-%u)",
					  show(c, v), SLUICE_MAX_WEIGHT);
		}
		if (rc)
			return rc;
		pop(c, old);
	}
	if (!have_addr) {
		size_t o = push(c, ".address");

		rc = fail(c, n,
			  "missing (required, e.g. address: 198.18.1.10:8080)");
		pop(c, o);
		return rc;
	}
	return 0;
}

static int parse_pool(struct ctx *c, const struct ynode *n,
		      struct sluice_cfg_service *svc, int colour)
{
	struct sluice_cfg_backend *pool;
	char ep[SLUICE_ENDPOINT_STRLEN];
	size_t old;
	int rc, i, j;

	rc = want_seq(c, n, "a list of backends");
	if (rc)
		return rc < 0 ? rc : 0;
	if (!n->nkids)
		return 0;
	svc->pool[colour] = calloc(n->nkids < SLUICE_MAX_BACKENDS_PER_POOL ?
					   (size_t)n->nkids :
					   SLUICE_MAX_BACKENDS_PER_POOL,
				   sizeof(*pool));
	pool = svc->pool[colour];
	if (!pool)
		return oom(c);
	for (i = 0; i < n->nkids; i++) {
		old = push(c, "[%d]", i);
		if (i == SLUICE_MAX_BACKENDS_PER_POOL)
			return fail(c, n->kids[i],
				    "too many backends (at most %d per pool)",
				    SLUICE_MAX_BACKENDS_PER_POOL);
		rc = parse_backend(c, n->kids[i], &pool[i]);
		if (rc)
			return rc;
		for (j = 0; j < i; j++) {
			if (pool[j].port != pool[i].port ||
			    memcmp(pool[j].addr, pool[i].addr, 16))
				continue;
			sluice_format_endpoint(pool[i].addr, pool[i].port, ep,
					       sizeof(ep));
			return fail(
				c, n->kids[i],
				"%s is already in the pool at line %u (each backend once per pool)",
				ep, n->kids[j]->line);
		}
		svc->npool[colour]++;
		pop(c, old);
	}
	return 0;
}

/*
 * The data path writes a backend's address into the packet in the
 * VIP's family (an IPv4 packet gets the low 4 bytes), so a backend of
 * the other family would be silently mangled, not refused.
 */
static int check_families(struct ctx *c, const struct sluice_cfg_service *svc,
			  const struct ynode *const pools[SLUICE_COLOURS])
{
	char ep[SLUICE_ENDPOINT_STRLEN];
	bool v4 = sluice_addr_is_v4(svc->key.vip);
	size_t old;
	int colour, i, rc;

	for (colour = 0; colour < SLUICE_COLOURS; colour++) {
		for (i = 0; i < svc->npool[colour]; i++) {
			const struct sluice_cfg_backend *b =
				&svc->pool[colour][i];

			if (sluice_addr_is_v4(b->addr) == v4)
				continue;
			old = push(c, ".%s[%d]", sluice_colour_name(colour), i);
			sluice_format_endpoint(b->addr, b->port, ep,
					       sizeof(ep));
			rc = fail(
				c, pools[colour]->kids[i],
				"%s is %s but the vip is %s (backends use the vip's address family)",
				ep, v4 ? "IPv6" : "IPv4", v4 ? "IPv4" : "IPv6");
			pop(c, old);
			return rc;
		}
	}
	return 0;
}

/* ---- segments ---------------------------------------------------------- */

enum { S_PREFIX, S_COLOUR };

static const struct keydef segment_keys[] = {
	{ "prefix", S_PREFIX },
	{ "colour", S_COLOUR },
	{ "color", S_COLOUR },
};

static int parse_segment(struct ctx *c, const struct ynode *n,
			 struct sluice_cfg_segment *seg)
{
	bool have[2] = { false, false };
	const struct ynode *v;
	const char *s;
	size_t old;
	int rc, i, id;

	rc = want_map(c, n, "a map with prefix and colour");
	if (rc > 0)
		rc = fail(c, n,
			  "got nothing (want a map with prefix and colour)");
	if (rc)
		return rc;
	for (i = 0; i < n->nkids; i += 2) {
		id = map_key(c, n, i, segment_keys, ARRAY_SIZE(segment_keys),
			     &old);
		if (id < 0)
			return id;
		v = n->kids[i + 1];
		if (id == S_PREFIX) {
			rc = want_scalar(c, v, "a prefix such as 198.18.7.0/24",
					 &s);
			if (!rc && sluice_parse_prefix(s, seg->addr,
						       &seg->plen128, NULL))
				rc = fail(
					c, v,
					"'%s' is not a prefix (ADDR/LEN with no host bits set, e.g. 198.18.7.0/24 or fd00:7::/48)",
					show(c, v));
		} else {
			rc = get_colour(c, v, &seg->colour);
		}
		if (rc)
			return rc;
		have[id] = true;
		pop(c, old);
	}
	if (!have[S_PREFIX]) {
		old = push(c, ".prefix");
		rc = fail(c, n,
			  "missing (required, e.g. prefix: 198.18.7.0/24)");
		pop(c, old);
		return rc;
	}
	if (!have[S_COLOUR]) {
		old = push(c, ".colour");
		rc = fail(c, n, "missing (required: blue or green)");
		pop(c, old);
		return rc;
	}
	return 0;
}

/*
 * A service may have tens of thousands of segments, so duplicates are
 * found with an open-addressing hash of indices into the parsed array,
 * not by comparing every pair.
 */
struct seg_set {
	int *slot; /* index into segs, or -1 */
	size_t mask;
};

static size_t seg_hash(const struct sluice_cfg_segment *s)
{
	__u32 h = 2166136261u; /* FNV-1a */
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ s->addr[i]) * 16777619u;
	return (h ^ s->plen128) * 16777619u;
}

/* The index of an equal segment already in the set, or -1 once added. */
static int seg_set_add(struct seg_set *set,
		       const struct sluice_cfg_segment *segs, int i)
{
	size_t h = seg_hash(&segs[i]) & set->mask;
	int j;

	while ((j = set->slot[h]) >= 0) {
		if (segs[j].plen128 == segs[i].plen128 &&
		    !memcmp(segs[j].addr, segs[i].addr, 16))
			return j;
		h = (h + 1) & set->mask;
	}
	set->slot[h] = i;
	return -1;
}

static int parse_segments(struct ctx *c, const struct ynode *n,
			  struct sluice_cfg_service *svc)
{
	struct sluice_cfg_segment *segs;
	struct seg_set set = { NULL, 0 };
	char pfx[SLUICE_ADDR_STRLEN];
	size_t size = 2, old;
	int rc, i, j;

	rc = want_seq(c, n, "a list of segments");
	if (rc)
		return rc < 0 ? rc : 0;
	if (!n->nkids)
		return 0;
	segs = calloc((size_t)n->nkids, sizeof(*segs));
	if (!segs)
		return oom(c);
	svc->segments = segs;
	/* At most half full, so a probe always ends at a free slot. */
	while (size < 2 * (size_t)n->nkids)
		size *= 2;
	set.slot = malloc(size * sizeof(*set.slot));
	if (!set.slot)
		return oom(c);
	memset(set.slot, 0xff, size * sizeof(*set.slot));
	set.mask = size - 1;
	for (i = 0; i < n->nkids; i++) {
		old = push(c, "[%d]", i);
		if (c->nsegments == SLUICE_MAX_SEGMENTS) {
			rc = fail(
				c, n->kids[i],
				"too many segments (at most %d in all services)",
				SLUICE_MAX_SEGMENTS);
			break;
		}
		rc = parse_segment(c, n->kids[i], &segs[i]);
		if (rc)
			break;
		j = seg_set_add(&set, segs, i);
		if (j >= 0) {
			sluice_format_addr(segs[i].addr, pfx, sizeof(pfx));
			rc = fail(
				c, n->kids[i],
				"%s/%u is already a segment at line %u (each prefix once per service)",
				pfx,
				sluice_addr_is_v4(segs[i].addr) ?
					segs[i].plen128 - 96 :
					segs[i].plen128,
				n->kids[j]->line);
			break;
		}
		svc->nsegments++;
		c->nsegments++;
		pop(c, old);
	}
	free(set.slot);
	return rc;
}

/* ---- rollout ----------------------------------------------------------- */

enum {
	R_STEPS,
	R_BAKE,
	R_TICK,
	R_MAX_ERR,
	R_MAX_ERR_INC,
	R_MAX_P99,
	R_MIN_FLOWS,
	R_FAILURE_LIMIT,
	R_ON_FAILURE,
	R_GATES,
	R_INCONCLUSIVE,
	R_ROLLBACK_FLOWS,
};

static const struct keydef rollout_keys[] = {
	{ "steps", R_STEPS },
	{ "bake", R_BAKE },
	{ "tick", R_TICK },
	{ "max_error_ratio", R_MAX_ERR },
	{ "max_error_ratio_increase", R_MAX_ERR_INC },
	{ "max_p99_first_byte", R_MAX_P99 },
	{ "min_flows", R_MIN_FLOWS },
	{ "failure_limit", R_FAILURE_LIMIT },
	{ "on_failure", R_ON_FAILURE },
	{ "manual_gates", R_GATES },
	{ "inconclusive_timeout", R_INCONCLUSIVE },
	{ "rollback_flows", R_ROLLBACK_FLOWS },
};

#define STEPS_WANT \
	"a list of rising percents ending at 100, e.g. [1, 5, 25, 100]"

static int parse_steps(struct ctx *c, const struct ynode *n,
		       struct sluice_policy *p)
{
	char a[SLUICE_PPM_STRLEN], b[SLUICE_PPM_STRLEN];
	const struct ynode *last;
	size_t old;
	__u32 ppm;
	int rc, i;

	rc = want_seq(c, n, STEPS_WANT);
	if (rc > 0 || (!rc && !n->nkids))
		rc = fail(c, n, "got %s (want " STEPS_WANT ")",
			  rc > 0 ? "nothing" : "an empty list");
	if (rc)
		return rc;
	for (i = 0; i < n->nkids; i++) {
		old = push(c, "[%d]", i);
		if (i == SLUICE_MAX_STEPS)
			return fail(c, n->kids[i],
				    "too many steps (at most %d)",
				    SLUICE_MAX_STEPS);
		rc = get_percent(c, n->kids[i], &ppm);
		if (rc)
			return rc;
		/* A 0% step sends nobody to the candidate: nothing to judge. */
		if (i == 0 && ppm == 0)
			return fail(
				c, n->kids[i],
				"0%% is not a step (steps rise strictly from above 0%% to 100%%)");
		if (i > 0 && ppm <= p->steps[i - 1]) {
			sluice_format_ppm(ppm, a, sizeof(a));
			sluice_format_ppm(p->steps[i - 1], b, sizeof(b));
			return fail(
				c, n->kids[i],
				"%s is not above the step before it, %s (steps rise strictly to 100%%)",
				a, b);
		}
		p->steps[i] = ppm;
		pop(c, old);
	}
	p->nsteps = n->nkids;
	if (p->steps[p->nsteps - 1] != SLUICE_PPM) {
		last = n->kids[p->nsteps - 1];
		old = push(c, "[%d]", p->nsteps - 1);
		sluice_format_ppm(p->steps[p->nsteps - 1], a, sizeof(a));
		rc = fail(c, last,
			  "the last step is %s (the last step must be 100%%)",
			  a);
		pop(c, old);
		return rc;
	}
	return 0;
}

/*
 * Gates are read where they stand; whether they are steps is checked
 * once the whole rollout map (steps may come later) has been read.
 */
static int parse_gates(struct ctx *c, const struct ynode *n,
		       struct sluice_policy *p)
{
	char a[SLUICE_PPM_STRLEN];
	size_t old;
	__u32 ppm;
	int rc, i, j;

	rc = want_seq(c, n, "a list of steps, e.g. [50]");
	if (rc)
		return rc < 0 ? rc : 0;
	for (i = 0; i < n->nkids; i++) {
		old = push(c, "[%d]", i);
		rc = get_percent(c, n->kids[i], &ppm);
		if (rc)
			return rc;
		for (j = 0; j < i; j++)
			if (p->gates[j] == ppm) {
				sluice_format_ppm(ppm, a, sizeof(a));
				return fail(
					c, n->kids[i],
					"%s is already a gate at line %u (each step at most once)",
					a, n->kids[j]->line);
			}
		/* Distinct gates that are all steps cannot be more. */
		if (i == SLUICE_MAX_STEPS)
			return fail(c, n->kids[i],
				    "too many gates (at most %d)",
				    SLUICE_MAX_STEPS);
		p->gates[i] = ppm;
		pop(c, old);
	}
	p->ngates = n->nkids;
	return 0;
}

static int check_gates(struct ctx *c, const struct ynode *n,
		       const struct sluice_policy *p)
{
	char a[SLUICE_PPM_STRLEN], steps[SLUICE_MAX_STEPS * SLUICE_PPM_STRLEN];
	size_t old, len = 0;
	int i, j, rc;

	for (i = 0; i < p->ngates; i++) {
		for (j = 0; j < p->nsteps; j++)
			if (p->steps[j] == p->gates[i])
				break;
		if (j < p->nsteps)
			continue;
		for (j = 0; j < p->nsteps; j++) {
			sluice_format_ppm(p->steps[j], a, sizeof(a));
			len += (size_t)snprintf(steps + len,
						sizeof(steps) - len, "%s%s",
						j ? ", " : "", a);
		}
		sluice_format_ppm(p->gates[i], a, sizeof(a));
		old = push(c, ".manual_gates[%d]", i);
		rc = fail(c, n->kids[i], "%s is not one of the steps (%s)", a,
			  steps);
		pop(c, old);
		return rc;
	}
	return 0;
}

static int parse_on_failure(struct ctx *c, const struct ynode *n,
			    struct sluice_policy *p)
{
	const char *s;
	int rc = want_scalar(c, n, "instant or ramp:DURATION", &s);

	if (rc)
		return rc;
	if (!strcmp(s, "instant")) {
		p->ramp_ns = 0;
		return 0;
	}
	/* ramp:0s would be "instant" spelt misleadingly. */
	if (strncmp(s, "ramp:", 5) ||
	    sluice_parse_duration(s + 5, &p->ramp_ns) || !p->ramp_ns)
		return fail(
			c, n,
			"'%s' is not a rollback (instant, or ramp:DURATION above 0 such as ramp:10s)",
			show(c, n));
	return 0;
}

static int parse_rollback_flows(struct ctx *c, const struct ynode *n,
				struct sluice_policy *p)
{
	const char *s;
	int rc = want_scalar(c, n, "drain or reset", &s);

	if (rc)
		return rc;
	if (strcmp(s, "drain") && strcmp(s, "reset"))
		return fail(c, n, "'%s' is not drain or reset", show(c, n));
	p->reset_on_rollback = !strcmp(s, "reset");
	return 0;
}

static int parse_rollout(struct ctx *c, const struct ynode *n,
			 struct sluice_policy *p)
{
	const struct ynode *v, *gates = NULL;
	size_t old;
	int rc, i, id;

	sluice_policy_defaults(p);
	rc = want_map(c, n, "a map of rollout settings");
	if (rc)
		return rc < 0 ? rc : 0;
	for (i = 0; i < n->nkids; i += 2) {
		id = map_key(c, n, i, rollout_keys, ARRAY_SIZE(rollout_keys),
			     &old);
		if (id < 0)
			return id;
		v = n->kids[i + 1];
		switch (id) {
		case R_STEPS:
			rc = parse_steps(c, v, p);
			break;
		case R_BAKE:
			rc = get_duration(c, v, false, "e.g. 30s, 250ms, 1m30s",
					  &p->bake_ns);
			break;
		case R_TICK:
			rc = get_duration(c, v, false,
					  "above 0, e.g. 250ms, 1s",
					  &p->tick_ns);
			/* A zero tick would have the agent spin. */
			if (!rc && !p->tick_ns)
				rc = fail(
					c, v,
					"'%s' is not a duration above 0 (e.g. 250ms, 1s)",
					show(c, v));
			break;
		case R_MAX_ERR:
			rc = get_percent(c, v, &p->max_error_ratio_ppm);
			break;
		case R_MAX_ERR_INC:
			rc = get_percent(c, v,
					 &p->max_error_ratio_increase_ppm);
			break;
		case R_MAX_P99:
			rc = get_duration(
				c, v, true,
				"e.g. 300ms, or 0 for no latency gate",
				&p->max_p99_first_byte_ns);
			break;
		case R_MIN_FLOWS:
			rc = get_u32(c, v, 0, &p->min_flows);
			break;
		case R_FAILURE_LIMIT:
			rc = get_u32(c, v, 1, &p->failure_limit);
			break;
		case R_ON_FAILURE:
			rc = parse_on_failure(c, v, p);
			break;
		case R_GATES:
			rc = parse_gates(c, v, p);
			gates = v;
			break;
		case R_INCONCLUSIVE:
			rc = get_duration(c, v, true, "e.g. 5m, or 0 for never",
					  &p->inconclusive_timeout_ns);
			break;
		case R_ROLLBACK_FLOWS:
			rc = parse_rollback_flows(c, v, p);
			break;
		}
		if (rc)
			return rc;
		pop(c, old);
	}
	return gates ? check_gates(c, gates, p) : 0;
}

/* ---- services ---------------------------------------------------------- */

enum {
	V_VIP,
	V_MODE,
	V_AFFINITY,
	V_BLUE,
	V_GREEN,
	V_SPLIT,
	V_CANDIDATE,
	V_SEGMENTS,
	V_ROLLOUT,
};

static const struct keydef service_keys[] = {
	{ "vip", V_VIP },
	{ "mode", V_MODE },
	{ "affinity", V_AFFINITY },
	{ "blue", V_BLUE },
	{ "green", V_GREEN },
	{ "split", V_SPLIT },
	{ "candidate", V_CANDIDATE },
	{ "segments", V_SEGMENTS },
	{ "rollout", V_ROLLOUT },
};

/* The same rule as `sluice service add`. */
static bool name_ok(const struct ynode *k)
{
	size_t i;

	if (!k->len || k->len >= SLUICE_NAME_MAX)
		return false;
	for (i = 0; i < k->len; i++) {
		char ch = k->str[i];

		if (!(ch == '-' || ch == '_' || ch == '.' ||
		      (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z')))
			return false;
	}
	return true;
}

static int parse_vip(struct ctx *c, const struct ynode *v,
		     const struct sluice_cfg *cfg,
		     struct sluice_cfg_service *svc)
{
	const char *s;
	__u16 port;
	int rc, j;

	rc = want_scalar(c, v, "a vip such as 198.18.100.10:80/tcp", &s);
	if (rc)
		return rc;
	if (sluice_parse_vip(s, svc->key.vip, &port, &svc->key.proto, NULL))
		return fail(
			c, v,
			"'%s' is not a vip (ADDR:PORT/tcp or /udp, e.g. 198.18.100.10:80/tcp or [fd00::10]:53/udp)",
			show(c, v));
	svc->key.port = htons(port);
	/* Earlier services are complete; this one is the last slot. */
	for (j = 0; j < cfg->nservices - 1; j++)
		if (!memcmp(&cfg->services[j].key, &svc->key, sizeof(svc->key)))
			return fail(
				c, v,
				"'%s' is already the vip of service '%s' at line %d (one service per vip)",
				show(c, v), cfg->services[j].name,
				cfg->services[j].line);
	return 0;
}

static int parse_service(struct ctx *c, const struct ynode *k,
			 const struct ynode *n, const struct sluice_cfg *cfg,
			 struct sluice_cfg_service *svc)
{
	const struct ynode *v, *pools[SLUICE_COLOURS] = { NULL, NULL };
	bool have_vip = false;
	const char *s;
	size_t old;
	int rc, i, id, val;

	memcpy(svc->name, k->str, k->len);
	svc->line = (int)k->line;
	svc->mode = SLUICE_MODE_NAT;
	svc->affinity = SLUICE_AFFINITY_FLOW;
	svc->candidate = SLUICE_GREEN;

	/* An empty service ("web:") falls through to the missing vip. */
	rc = want_map(c, n, "a map of service settings");
	if (rc < 0)
		return rc;
	rc = 0;
	for (i = 0; !rc && i < n->nkids; i += 2) {
		id = map_key(c, n, i, service_keys, ARRAY_SIZE(service_keys),
			     &old);
		if (id < 0)
			return id;
		v = n->kids[i + 1];
		switch (id) {
		case V_VIP:
			rc = parse_vip(c, v, cfg, svc);
			have_vip = true;
			break;
		case V_MODE:
			rc = want_scalar(c, v, "nat or dsr", &s);
			if (!rc && (val = lookup(sluice_mode_names, 2, s)) < 0)
				rc = fail(c, v,
					  "'%s' is not a mode (nat or dsr)",
					  show(c, v));
			if (!rc)
				svc->mode = (__u8)val;
			break;
		case V_AFFINITY:
			rc = want_scalar(c, v, "flow, client or prefix", &s);
			if (!rc &&
			    (val = lookup(sluice_affinity_names, 3, s)) < 0)
				rc = fail(
					c, v,
					"'%s' is not an affinity (flow, client or prefix)",
					show(c, v));
			if (!rc)
				svc->affinity = (__u8)val;
			break;
		case V_BLUE:
		case V_GREEN:
			pools[id == V_BLUE ? SLUICE_BLUE : SLUICE_GREEN] = v;
			rc = parse_pool(c, v, svc,
					id == V_BLUE ? SLUICE_BLUE :
						       SLUICE_GREEN);
			break;
		case V_SPLIT:
			rc = get_percent(c, v, &svc->split_ppm);
			svc->has_split = true;
			break;
		case V_CANDIDATE:
			rc = get_colour(c, v, &svc->candidate);
			break;
		case V_SEGMENTS:
			rc = parse_segments(c, v, svc);
			break;
		case V_ROLLOUT:
			rc = parse_rollout(c, v, &svc->rollout);
			svc->has_rollout = true;
			break;
		}
		if (!rc)
			pop(c, old);
	}
	if (rc)
		return rc;
	if (!have_vip) {
		old = push(c, ".vip");
		rc = fail(c, k,
			  "missing (required, e.g. vip: 198.18.100.10:80/tcp)");
		pop(c, old);
		return rc;
	}
	return check_families(c, svc, pools);
}

static int parse_services(struct ctx *c, const struct ynode *n,
			  struct sluice_cfg *cfg)
{
	const struct ynode *k;
	size_t old;
	int rc, i, j, count = n->nkids / 2;

	rc = want_map(c, n, "a map of service names to settings");
	if (rc)
		return rc < 0 ? rc : 0;
	if (!count)
		return 0;
	cfg->services = calloc(count < SLUICE_MAX_SERVICES ?
				       (size_t)count :
				       SLUICE_MAX_SERVICES,
			       sizeof(*cfg->services));
	if (!cfg->services)
		return oom(c);
	for (i = 0; i < n->nkids; i += 2) {
		k = n->kids[i];
		rc = check_key(c, k);
		if (rc)
			return rc;
		if (!name_ok(k))
			return fail(
				c, k,
				"'%s' is not a service name (1-%d letters, digits, '-', '_' or '.')",
				show(c, k), SLUICE_NAME_MAX - 1);
		old = push_key(c, k);
		for (j = 0; j < cfg->nservices; j++)
			if (!strcmp(cfg->services[j].name, k->str))
				return fail(
					c, k,
					"duplicate service, first at line %d (each name once)",
					cfg->services[j].line);
		if (cfg->nservices == SLUICE_MAX_SERVICES)
			return fail(c, k, "too many services (at most %d)",
				    SLUICE_MAX_SERVICES);
		/* Counted first, so a failure below still frees its pools. */
		rc = parse_service(c, k, n->kids[i + 1], cfg,
				   &cfg->services[cfg->nservices++]);
		if (rc)
			return rc;
		pop(c, old);
	}
	return 0;
}

/* ---- top level --------------------------------------------------------- */

enum { T_AGENT, T_SERVICES };

static const struct keydef top_keys[] = {
	{ "agent", T_AGENT },
	{ "services", T_SERVICES },
};

static int parse_top(struct ctx *c, const struct ynode *root,
		     struct sluice_cfg *cfg)
{
	size_t old;
	int rc, i, id;

	/* An empty file, or one of comments only, has no services. */
	if (!root)
		return 0;
	rc = want_map(c, root, "a map with agent and services");
	if (rc)
		return rc < 0 ? rc : 0;
	for (i = 0; i < root->nkids; i += 2) {
		id = map_key(c, root, i, top_keys, ARRAY_SIZE(top_keys), &old);
		if (id < 0)
			return id;
		if (id == T_AGENT)
			rc = parse_agent(c, root->kids[i + 1], cfg);
		else
			rc = parse_services(c, root->kids[i + 1], cfg);
		if (rc)
			return rc;
		pop(c, old);
	}
	return 0;
}

void sluice_cfg_free(struct sluice_cfg *cfg)
{
	int i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->nservices; i++) {
		free(cfg->services[i].pool[SLUICE_BLUE]);
		free(cfg->services[i].pool[SLUICE_GREEN]);
		free(cfg->services[i].segments);
	}
	free(cfg->services);
	memset(cfg, 0, sizeof(*cfg));
}

int sluice_cfg_parse(const char *name, const char *buf, size_t len,
		     struct sluice_cfg *cfg, char *err, size_t errlen)
{
	struct ctx c = {
		.name = name ? name : "(config)",
		.buf = buf ? buf : "",
		.len = buf ? len : 0,
		.err = err,
		.errlen = errlen,
	};
	struct sluice_cfg out = {};
	struct ynode *root = NULL;
	yaml_parser_t parser;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!cfg)
		return -EINVAL;
	memset(cfg, 0, sizeof(*cfg));
	if (!yaml_parser_initialize(&parser))
		return oom(&c);
	yaml_parser_set_input_string(&parser, (const unsigned char *)c.buf,
				     c.len);
	rc = build_tree(&c, &parser, &root);
	yaml_parser_delete(&parser);
	if (!rc)
		rc = parse_top(&c, root, &out);
	ynode_free(root);
	if (rc) {
		sluice_cfg_free(&out);
		return rc;
	}
	*cfg = out;
	return 0;
}

static int io_fail(const char *path, const char *what, int e, char *err,
		   size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s: %s", path, what, strerror(e));
	return -e;
}

int sluice_cfg_load(const char *path, struct sluice_cfg *cfg, char *err,
		    size_t errlen)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	ssize_t n;
	int fd, rc;

	if (cfg)
		memset(cfg, 0, sizeof(*cfg));
	if (!path || !cfg)
		return io_fail(path ? path : "(null)", "cannot open", EINVAL,
			       err, errlen);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return io_fail(path, "cannot open", errno, err, errlen);
	/* Read to the end rather than trust st_size: pipes have none. */
	for (;;) {
		if (len == cap) {
			/* One byte past the limit tells "too big" from "just fits". */
			if (cap > CFG_MAX_FILE) {
				rc = io_fail(path, "larger than 64 MiB", EFBIG,
					     err, errlen);
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			if (cap > CFG_MAX_FILE)
				cap = CFG_MAX_FILE + 1;
			nb = realloc(buf, cap);
			if (!nb) {
				rc = io_fail(path, "cannot read", ENOMEM, err,
					     errlen);
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = io_fail(path, "cannot read", errno, err, errlen);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	rc = sluice_cfg_parse(path, buf, len, cfg, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}
