// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Packet fuzzer for the data path: random, mutated and valid frames
 * through BPF_PROG_TEST_RUN against the fixture services plus splits,
 * segments, multi-backend pools, established flows and reverse NAT
 * state, so that mutated frames hit real state.
 *
 * Every frame is judged twice. A reference model, written from
 * bpf/parse.h and the handlers but sharing no code with them, predicts
 * the verdict, the pass reason, the exact output bytes (checksum fields
 * aside) and every counter and ring-buffer event the frame moves; it
 * reads the flow tables from userspace before the frame, so LRU
 * evictions cannot fool it. Independently of the model, four invariants
 * are checked in their plain form:
 *
 *   1. the verdict is PASS, DROP or REDIRECT, and test_run never fails;
 *   2. a frame that is not addressed to a service of its own family, not
 *      from tracked NAT state and not an ICMP error about either leaves
 *      unchanged with PASS; a PASS that changed the frame must be a
 *      rewrite toward a configured backend (or from a VIP) whose next
 *      hop the kernel has to resolve;
 *   3. a redirected frame has every checksum that was valid on input
 *      still valid, and goes to a configured backend (nat: address,
 *      dsr: MAC), or back to the client from the VIP;
 *   4. counters add up: kernel counters equal the model's at every
 *      checkpoint, and per verdict every PASS is one pass reason, every
 *      DROP one drop, every REDIRECT one forwarded packet;
 *
 * plus: nothing outside the Ethernet addresses and the IP packet (the
 * frame's trailing padding) ever changes, and nothing bigger than the
 * egress MTU is redirected.
 *
 * Bugs found and reported but not yet fixed are "known" (fz_known_bugs):
 * the frames that hit them are counted and the first one is kept as an
 * example, but they do not fail the run unless FUZZ_STRICT names them,
 * so the suite stays useful for everything else meanwhile. When one is
 * fixed, its count drops to zero and its entry goes.
 *
 * This file is both the short `make test` run (a fixed seed, cmocka) and,
 * #included with FUZZ_DATAPATH_TOOL defined, the engine of the long run
 * in tools/fuzz_datapath.c (`make fuzz`).
 */
#include "fixture.h"

#include <inttypes.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>

#define FZ_BUF 4096
#define FZ_LIVE 512
#define FZ_MAXBE 32
#define FZ_MAXEV 16384
#define FZ_NSVC 9
#define FZ_MTU 1500 /* be0's MTU */
#define FZ_MTU_CLI 4000 /* cli0's: a client's packet can be too big for be0 */

/*
 * The model's own constants: it shares no header with bpf/, so a wrong
 * value there is not mirrored here.
 */
#define FZ_OK (-1) /* parsed: not a pass reason */
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_ACK 0x10

/* ---- random numbers: xoshiro256**, seeded through splitmix64 -------- */

struct fz_rng {
	uint64_t s[4];
};

static uint64_t fz_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void fz_seed(struct fz_rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = fz_splitmix(&seed);
}

static uint64_t fz_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t fz_next(struct fz_rng *r)
{
	uint64_t *s = r->s, out = fz_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = fz_rotl(s[3], 45);
	return out;
}

/* Uniform in [0, n); n == 0 gives 0. */
static uint32_t fz_below(struct fz_rng *r, uint32_t n)
{
	return (uint32_t)(((fz_next(r) >> 32) * n) >> 32);
}

static bool fz_pct(struct fz_rng *r, unsigned int pct)
{
	return fz_below(r, 100) < pct;
}

/* ---- small byte helpers ---------------------------------------------- */

static __u16 fz_get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static void fz_put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void fz_mapped(__u8 out[16], const __u8 v4[4])
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

static bool fz_is_mapped(const __u8 a[16])
{
	static const __u8 pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, pre, 12);
}

static const char *fz_ntop(const __u8 a[16], bool v6, char *buf)
{
	if (v6)
		return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
	return inet_ntop(AF_INET, a + 12, buf, INET6_ADDRSTRLEN);
}

/* ---- the world: services, pools, segments, routes, neighbours ---------- */

struct fz_svc {
	const char *vip;
	struct sluice_service_key key;
	struct sluice_service val;
	bool v6;
	struct sluice_pool *pool[SLUICE_COLOURS]; /* NULL: none published */
};

static struct fz_svc fz_svcs[FZ_NSVC] = {
	[SVC_NAT4] = { .vip = V_NAT4 },
	[SVC_NAT6] = { .vip = V_NAT6 },
	[SVC_DSR4] = { .vip = V_DSR4 },
	[SVC_DSR6] = { .vip = V_DSR6 },
	[SVC_UDP4] = { .vip = V_UDP4 },
	[SVC_UDP6] = { .vip = V_UDP6 },
	[SVC_NONEIGH] = { .vip = "198.18.0.12:80/tcp" },
	[SVC_BLACKHOLE] = { .vip = "198.18.0.13:80/tcp" },
	[SVC_EMPTY] = { .vip = "198.18.0.14:80/tcp" },
};

struct fz_segment {
	__u32 svc;
	const char *prefix;
	__u8 colour;
	__u8 addr[16];
	__u32 plen;
};

/*
 * A /25 inside a /24 of the other colour checks the longest match; the
 * UDP4 one pins a colour with no pool (drops); DSR6's pins blue.
 */
static struct fz_segment fz_segs[] = {
	{ .svc = SVC_NAT4, .prefix = "198.18.7.0/24", .colour = SLUICE_GREEN },
	{ .svc = SVC_NAT4, .prefix = "198.18.7.128/25", .colour = SLUICE_BLUE },
	{ .svc = SVC_NAT6, .prefix = "fd00:7::/48", .colour = SLUICE_GREEN },
	{ .svc = SVC_UDP4, .prefix = "198.18.8.0/24", .colour = SLUICE_GREEN },
	{ .svc = SVC_DSR6, .prefix = "fd00:8::/48", .colour = SLUICE_BLUE },
};

#define FZ_NSEG (sizeof(fz_segs) / sizeof(fz_segs[0]))

/* Routes and neighbours, read from env_setup_cmds: one source of truth. */
struct fz_route {
	__u8 addr[16]; /* prefix, mapped for IPv4 */
	__u32 plen; /* of the 16-byte form */
	__u8 local[16]; /* the edge's own address on it */
	int dev; /* 0 cli0, 1 be0, -1 blackhole */
};

struct fz_neigh {
	__u8 addr[16];
	__u8 mac[6];
	int dev;
};

static struct fz_route fz_routes[8];
static int fz_nroutes;
static struct fz_neigh fz_neighs[16];
static int fz_nneighs;
static const __u8 fz_dev_mac[2][6] = { M_CLI0, M_BE0 };
static const __u32 fz_dev_mtu[2] = { FZ_MTU_CLI, FZ_MTU };

static int fz_dev_of(const char *name)
{
	if (!strcmp(name, "cli0"))
		return 0;
	if (!strcmp(name, "be0"))
		return 1;
	return -2;
}

static int fz_world_routes(void)
{
	char a[64], b[64], c[64];
	size_t i;
	__u32 plen;

	fz_nroutes = fz_nneighs = 0;
	for (i = 0; i < sizeof(env_setup_cmds) / sizeof(env_setup_cmds[0]);
	     i++) {
		const char *cmd = env_setup_cmds[i];
		struct fz_route *r = &fz_routes[fz_nroutes];
		struct fz_neigh *n = &fz_neighs[fz_nneighs];
		char *slash;

		if ((sscanf(cmd, "ip addr add %63s dev %63s", a, b) == 2 ||
		     sscanf(cmd, "ip -6 addr add %63s dev %63s", a, b) == 2) &&
		    fz_nroutes < 8) {
			slash = strchr(a, '/');
			if (!slash)
				return -1;
			*slash = 0;
			if (sluice_parse_addr(a, r->local, NULL))
				return -1;
			/* the connected prefix: the address, host bits cleared */
			plen = (__u32)atoi(slash + 1) +
			       (strchr(a, ':') ? 0 : 96);
			memcpy(r->addr, r->local, 16);
			for (__u32 bit = plen; bit < 128; bit++)
				r->addr[bit / 8] &= (__u8) ~(0x80 >> (bit % 8));
			r->plen = plen;
			r->dev = fz_dev_of(b);
			fz_nroutes++;
		} else if (sscanf(cmd, "ip route add blackhole %63s", a) == 1 &&
			   fz_nroutes < 8) {
			if (sluice_parse_prefix(a, r->addr, &r->plen, NULL))
				return -1;
			memset(r->local, 0, 16);
			r->dev = -1;
			fz_nroutes++;
		} else if (sscanf(cmd, "ip neigh add %63s lladdr %63s dev %63s",
				  a, b, c) == 3 &&
			   fz_nneighs < 16) {
			if (sluice_parse_addr(a, n->addr, NULL) ||
			    pkt_mac(b, n->mac))
				return -1;
			n->dev = fz_dev_of(c);
			fz_nneighs++;
		}
	}
	return fz_nroutes && fz_nneighs ? 0 : -1;
}

static bool fz_prefix_match(const __u8 *a, const __u8 *p, __u32 plen)
{
	__u32 bit;

	for (bit = 0; bit < plen; bit++)
		if ((a[bit / 8] ^ p[bit / 8]) & (0x80 >> (bit % 8)))
			return false;
	return true;
}

enum { FZ_FIB_OK, FZ_FIB_NO_NEIGH, FZ_FIB_DROP, FZ_FIB_PASS, FZ_FIB_TOO_BIG };

/*
 * What bpf_fib_lookup says for a destination in this namespace: local,
 * broadcast and anycast addresses and anything without a route are "not
 * forwarded" (IPv4 ENETUNREACH, IPv6 the null entry); a blackhole route
 * drops; a connected route checks the MTU, then the neighbour. The
 * family is the frame's: an IPv6 frame to ::ffff:a.b.c.d looks up an
 * IPv6 route, of which there is none. IPv6 never forwards when either
 * address is multicast, link-local or loopback (rt6_need_strict), the
 * source included.
 */
static bool fz_v6_strict(const __u8 a[16])
{
	static const __u8 lo6[16] = { [15] = 1 };

	return a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
	       !memcmp(a, lo6, 16);
}

static int fz_fib(bool v6, const __u8 src[16], const __u8 dst[16],
		  __u32 tot_len, __u8 dmac[6], int *dev)
{
	const struct fz_route *best = NULL;
	int i;

	if (v6 && (fz_v6_strict(src) || fz_v6_strict(dst)))
		return FZ_FIB_PASS;
	if (v6 && fz_is_mapped(dst))
		return FZ_FIB_PASS;
	if (!v6 && dst[12] == 127)
		return FZ_FIB_PASS;
	for (i = 0; i < fz_nroutes; i++) {
		const struct fz_route *r = &fz_routes[i];

		if (r->dev >= 0 && !memcmp(dst, r->local, 16))
			return FZ_FIB_PASS;
		if (!fz_prefix_match(dst, r->addr, r->plen))
			continue;
		if (!best || r->plen > best->plen)
			best = r;
	}
	if (!best)
		return FZ_FIB_PASS;
	if (best->dev < 0)
		return FZ_FIB_DROP;
	if (v6 && !memcmp(dst, best->addr, 16))
		return FZ_FIB_PASS; /* subnet-router anycast */
	if (!v6) {
		__u8 bcast[16];
		__u32 bit;

		memcpy(bcast, best->addr, 16);
		for (bit = best->plen; bit < 128; bit++)
			bcast[bit / 8] |= (__u8)(0x80 >> (bit % 8));
		if (!memcmp(dst, bcast, 16))
			return FZ_FIB_PASS;
	}
	*dev = best->dev;
	if (tot_len > fz_dev_mtu[best->dev])
		return FZ_FIB_TOO_BIG; /* frag needed */
	for (i = 0; i < fz_nneighs; i++) {
		if (fz_neighs[i].dev == best->dev &&
		    !memcmp(fz_neighs[i].addr, dst, 16)) {
			memcpy(dmac, fz_neighs[i].mac, 6);
			*dev = best->dev;
			return FZ_FIB_OK;
		}
	}
	return FZ_FIB_NO_NEIGH;
}

/* ---- the reference parser (mirrors bpf/parse.h rule for rule) -------- */

struct fz_ref {
	int rc; /* FZ_OK or the reason parsing stopped */
	bool icmp; /* handed to the ICMP handler */
	bool v6;
	__u8 proto;
	__u8 tcp_flags;
	__u8 ttl;
	__be32 seq; /* TCP sequence number, as on the wire */
	int vlans;
	__u32 l3, l4, l4_end, payload_off;
	__u32 fib_len; /* what xmit passes as tot_len */
	struct sluice_flow_key key;
};

static bool fz_is_vlan(__u16 t)
{
	return t == ETH_P_8021Q || t == ETH_P_8021AD;
}

static bool fz_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_DSTOPTS || nh == IPPROTO_FRAGMENT;
}

static int fz_parse(const __u8 *d, size_t n, struct fz_ref *r)
{
	__u32 off = ETH_HLEN, hlen, tot, plen, end6;
	__u16 l3proto;
	__u8 next;
	int i;

	memset(r, 0, sizeof(*r));
	if (n < ETH_HLEN)
		return r->rc = SLUICE_PASS_TRUNCATED;
	l3proto = fz_get16(d + 12);
	for (i = 0; i < SLUICE_MAX_VLANS && fz_is_vlan(l3proto); i++) {
		if (off + 4 > n)
			return r->rc = SLUICE_PASS_TRUNCATED;
		l3proto = fz_get16(d + off + 2);
		off += 4;
		r->vlans++;
	}
	if (fz_is_vlan(l3proto))
		return r->rc = SLUICE_PASS_VLAN_DEPTH;
	r->l3 = off;
	if (l3proto == ETH_P_IP) {
		if (off + 20 > n)
			return r->rc = SLUICE_PASS_TRUNCATED;
		if (d[off] >> 4 != 4 || (d[off] & 15) < 5)
			return r->rc = SLUICE_PASS_MALFORMED;
		hlen = (d[off] & 15) * 4u;
		tot = fz_get16(d + off + 2);
		if (tot < hlen)
			return r->rc = SLUICE_PASS_MALFORMED;
		if (off + tot > n)
			return r->rc = SLUICE_PASS_TRUNCATED;
		if (fz_get16(d + off + 6) & 0x1fff)
			return r->rc = SLUICE_PASS_FRAGMENT;
		r->proto = d[off + 9];
		r->ttl = d[off + 8];
		r->l4 = off + hlen;
		r->l4_end = off + tot;
		r->fib_len = tot;
		fz_mapped(r->key.src, d + off + 12);
		fz_mapped(r->key.dst, d + off + 16);
	} else if (l3proto == ETH_P_IPV6) {
		if (off + 40 > n)
			return r->rc = SLUICE_PASS_TRUNCATED;
		if (d[off] >> 4 != 6)
			return r->rc = SLUICE_PASS_MALFORMED;
		/* ::ffff:a.b.c.d is IPv4's key space: not taken as IPv6 */
		if (fz_is_mapped(d + off + 8) || fz_is_mapped(d + off + 24))
			return r->rc = SLUICE_PASS_MALFORMED;
		plen = fz_get16(d + off + 4);
		if (off + 40 + plen > n)
			return r->rc = SLUICE_PASS_TRUNCATED;
		end6 = off + 40 + plen;
		next = d[off + 6];
		r->l4 = off + 40;
		for (i = 0; i < SLUICE_MAX_EXT_HDRS && fz_is_ext(next); i++) {
			__u32 h = r->l4;

			/* Only the first 4 bytes need be in the frame. */
			if (h + 4 > n)
				return r->rc = SLUICE_PASS_TRUNCATED;
			if (next == IPPROTO_FRAGMENT) {
				if (fz_get16(d + h + 2) & 0xfff8)
					return r->rc = SLUICE_PASS_FRAGMENT;
				r->l4 += 8;
			} else {
				r->l4 += (d[h + 1] + 1u) * 8;
			}
			next = d[h];
			if (r->l4 > end6)
				return r->rc = SLUICE_PASS_MALFORMED;
		}
		if (fz_is_ext(next))
			return r->rc = SLUICE_PASS_EXT_HDRS;
		r->v6 = true;
		r->proto = next;
		r->ttl = d[off + 7];
		r->l4_end = end6;
		r->fib_len = plen + 40;
		memcpy(r->key.src, d + off + 8, 16);
		memcpy(r->key.dst, d + off + 24, 16);
	} else {
		return r->rc = SLUICE_PASS_NOT_IP;
	}

	if (r->proto == (r->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP)) {
		r->icmp = true;
		return r->rc = FZ_OK;
	}
	if (r->proto == IPPROTO_TCP) {
		__u32 doff;

		if (r->l4 + 20 > n)
			return r->rc = SLUICE_PASS_TRUNCATED;
		doff = (d[r->l4 + 12] >> 4) * 4u;
		if (doff < 20 || r->l4 + doff > r->l4_end)
			return r->rc = SLUICE_PASS_MALFORMED;
		r->tcp_flags = d[r->l4 + 13];
		memcpy(&r->seq, d + r->l4 + 4, 4);
		r->payload_off = r->l4 + doff;
	} else if (r->proto == IPPROTO_UDP) {
		if (r->l4 + 8 > n)
			return r->rc = SLUICE_PASS_TRUNCATED;
		if (r->l4 + 8 > r->l4_end)
			return r->rc = SLUICE_PASS_MALFORMED;
		if (r->v6 && !fz_get16(d + r->l4 + 6))
			return r->rc = SLUICE_PASS_MALFORMED;
		r->payload_off = r->l4 + 8;
	} else {
		return r->rc = SLUICE_PASS_PROTO;
	}
	if (r->l4_end > 0x3fff)
		return r->rc = SLUICE_PASS_MALFORMED;
	memcpy(&r->key.sport, d + r->l4, 2);
	memcpy(&r->key.dport, d + r->l4 + 2, 2);
	r->key.proto = r->proto;
	return r->rc = FZ_OK;
}

/* ---- shadow counters and events ---------------------------------------- */

struct fz_bstats {
	__u32 id;
	struct sluice_backend_stats st; /* sums and buckets unused */
	__u64 hs, fb; /* histogram totals */
};

struct fz_counts {
	struct sluice_global_stats g;
	struct sluice_service_stats s[FZ_NSVC];
	struct fz_bstats b[FZ_MAXBE];
	int nb;
};

enum fz_path {
	FZP_PARSE, /* stopped in a parser */
	FZP_NOT_SERVICE, /* parsed, no service and no NAT state */
	FZP_STEER, /* to a service VIP */
	FZP_REVERSE, /* backend reply with NAT state */
	FZP_ICMP_OTHER, /* ICMP passed without touching state */
	FZP_ICMP_FWD, /* ICMP error about a flow, toward its backend */
	FZP_ICMP_REV, /* ICMP error from the backend side */
	FZP_MAX,
};

static const char *const fz_path_names[FZP_MAX] = {
	"parse",      "not_service", "steer",	 "reverse",
	"icmp_other", "icmp_fwd",    "icmp_rev",
};

static const char *const fz_pass_names[SLUICE_PASS_MAX] = {
	"not_ip",	"not_service", "truncated",	   "malformed",
	"fragment",	"vlan_depth",  "ipv6_ext_headers", "protocol",
	"icmp_no_flow", "ttl",	       "no_neighbour",	   "fib",
};

/* An xmit() call: its inputs, the fib's answer and the cached next hop. */
struct fz_xmit {
	bool deferred;
	bool route;
	bool as_received; /* not yet rewritten: a too-big answer may quote it */
	int fib;
	__u8 mac[6];
	int dev;
	bool nh_valid;
	struct sluice_nexthop nh;
	__u32 backend_id, svc_id;
	int svc_for_drops;
	__u8 colour, proto;
	__u8 client[16], vip[16];
	__be16 cport, vport;
};

/* What the model predicts for one frame. */
struct fz_expect {
	int verdict;
	int reason; /* pass reason when verdict is XDP_PASS */
	int path;
	int svc; /* service (steer, icmp_fwd) or -1 */
	bool nat; /* a rewriting path */
	bool family_mismatch; /* state of the other family matched */
	bool fwd_side; /* toward a backend (steer, icmp_fwd) */
	__u8 backend[16];
	__be16 bport;
	__u32 backend_id;
	__u8 vip[16];
	__be16 vport;
	__u32 icmp_ip_off, icmp_l4_off; /* quoted header, ICMP paths */
	bool nh_hit; /* the flow's cached next hop was used */
	/* rewrite_l3l4() that xmit() makes once the route is known */
	bool rw;
	bool rw_dst_side;
	__u8 rw_addr[16];
	__be16 rw_port;
	size_t want_len; /* output length: the input's, but for a too-big answer */
	struct fz_xmit xa; /* xmit() not yet decided: cache near expiry */
	__u8 want[FZ_BUF];
	__u8 mask[FZ_BUF]; /* 1: a checksum field, compared separately */
};

struct fz_event {
	__u32 type, reason, svc_id, backend_id, value;
	__u8 colour, proto;
	__u8 src[16], dst[16];
	__be16 sport, dport;
};

/* ---- fuzzer state ------------------------------------------------------ */

struct fz_live {
	bool v6, nat;
	__u8 proto;
	__u8 client[16], vip[16], backend[16];
	__u16 cport, vport, bport; /* host order */
	int svc;
};

struct fz_opts {
	uint64_t seed;
	uint64_t frames;
	uint64_t check_every; /* counter checkpoint interval, frames */
	uint64_t stop_at; /* 0, or stop after this frame (replays) */
	bool quiet;
	unsigned int strict; /* known bugs (1 << FZK_*) that fail too */
	double progress_secs; /* 0: no progress lines */
};

enum fz_known {
	FZK_MAX, /* none known today */
};

static const char *const fz_known_names[FZK_MAX + 1] = { "" };

/* The first frame that hit a known bug, for the report. */
struct fz_example {
	uint64_t frame;
	int ifindex, verdict, want_verdict, want_reason;
	size_t len;
	__u8 in[FZ_BUF], out[FZ_BUF];
};

struct fz_result {
	uint64_t frames;
	double secs;
	uint64_t verdicts[XDP_REDIRECT + 1];
	uint64_t pass[SLUICE_PASS_MAX];
	uint64_t paths[FZP_MAX];
	uint64_t known[FZK_MAX]; /* frames that hit each known bug */
	struct fz_example ex[FZK_MAX];
	uint64_t kinds[16]; /* frames by generator */
	uint64_t mutated;
	uint64_t csum_checked; /* redirects whose checksums were asserted */
	uint64_t nh_hits; /* frames that left by a cached next hop */
	uint64_t events;
	uint64_t flags_steered[256 / 64]; /* TCP flag bytes that were steered */
	uint64_t vlan_depth[5];
	uint64_t ext_chain[12];
	int failed;
	uint64_t fail_frame;
	char fail_what[64];
	char fail_msg[2048];
	__u8 fail_in[FZ_BUF];
	size_t fail_in_len;
	__u8 fail_out[FZ_BUF];
	size_t fail_out_len;
	int fail_ifindex;
};

struct fz {
	struct fz_opts o;
	struct fz_rng rng;
	struct fz_result *res;
	struct fz_counts shadow;
	struct fz_event ev[FZ_MAXEV];
	size_t nev, ev_seen;
	bool ev_bad;
	struct ring_buffer *rb;
	struct fz_live live[FZ_LIVE];
	size_t nlive, live_next;
	size_t max_frame;
	uint64_t frame;
	struct fz_expect x;
	__u64 now; /* before the frame: the next-hop cache's coarse clock */
	int in_dev; /* the frame's ingress port: 0 cli0, 1 be0 */
	__u8 in[FZ_BUF], out[FZ_BUF];
	size_t in_len;
	int kind;
};

static int fz_fail(struct fz *z, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fz_fail(struct fz *z, const char *what, const char *fmt, ...)
{
	struct fz_result *r = z->res;
	va_list ap;

	if (r->failed)
		return -1;
	r->failed = 1;
	r->fail_frame = z->frame;
	snprintf(r->fail_what, sizeof(r->fail_what), "%s", what);
	va_start(ap, fmt);
	vsnprintf(r->fail_msg, sizeof(r->fail_msg), fmt, ap);
	va_end(ap);
	memcpy(r->fail_in, z->in, z->in_len);
	r->fail_in_len = z->in_len;
	return -1;
}

/* ---- counters: shadow bookkeeping ---------------------------------------- */

static struct sluice_backend_stats *fz_bs(struct fz *z, __u32 id)
{
	int i;

	for (i = 0; i < z->shadow.nb; i++)
		if (z->shadow.b[i].id == id)
			return &z->shadow.b[i].st;
	return NULL;
}

static struct fz_bstats *fz_bsx(struct fz *z, __u32 id)
{
	int i;

	for (i = 0; i < z->shadow.nb; i++)
		if (z->shadow.b[i].id == id)
			return &z->shadow.b[i];
	return NULL;
}

static void fz_emit(struct fz *z, __u32 type, __u32 reason, __u32 svc_id,
		    __u32 backend_id, __u8 colour, __u32 value,
		    const __u8 *client, const __u8 *vip, __be16 cport,
		    __be16 vport, __u8 proto)
{
	struct fz_event *e;

	if (z->nev >= FZ_MAXEV) {
		z->ev_bad = true;
		return;
	}
	e = &z->ev[z->nev++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->reason = reason;
	e->svc_id = svc_id;
	e->backend_id = backend_id;
	e->value = value;
	e->colour = colour;
	e->proto = proto;
	memcpy(e->src, client, 16);
	memcpy(e->dst, vip, 16);
	e->sport = cport;
	e->dport = vport;
}

/* ---- the model ---------------------------------------------------------- */

static int fz_svc_of(const __u8 vip[16], __be16 port, __u8 proto)
{
	int i;

	for (i = 0; i < FZ_NSVC; i++)
		if (!memcmp(fz_svcs[i].key.vip, vip, 16) &&
		    fz_svcs[i].key.port == port &&
		    fz_svcs[i].key.proto == proto)
			return i;
	return -1;
}

/* The service of a backend-side state entry, from its backend id. */
static int fz_svc_of_backend(__u32 backend_id)
{
	return (int)(backend_id / SLUICE_MAX_BACKENDS_PER_POOL /
		     SLUICE_COLOURS);
}

static void fz_set(struct fz_expect *x, __u32 off, const void *v, size_t n)
{
	memcpy(x->want + off, v, n);
}

static void fz_mask(struct fz_expect *x, __u32 off)
{
	x->mask[off] = x->mask[off + 1] = 1;
}

/*
 * xmit(): a flow's cached next hop, while it lasts, else the fib. The
 * kernel reads its clock after ours, so an entry expired for us is
 * expired for it; one that is not may expire in between, and is decided
 * after the run from what the program did (fz_xmit_settle). A wrong
 * next hop, cached or not, still shows in the MACs.
 */
static void fz_rewrite(struct fz *z, const struct fz_ref *r, bool dst_side,
		       const __u8 addr[16], __be16 port);
static void fz_too_big(struct fz *z, const struct fz_ref *r, __u32 mtu);

/* The rewrite xmit() makes once it knows the packet goes on. */
static void fz_rewrite_pending(struct fz *z, const struct fz_ref *r)
{
	struct fz_expect *x = &z->x;

	if (x->rw)
		fz_rewrite(z, r, x->rw_dst_side, x->rw_addr, x->rw_port);
}

/* An xmit() drop: the backend's and the service's count, and the event. */
static void fz_xmit_drop(struct fz *z, __u32 reason, __u32 value)
{
	const struct fz_xmit *a = &z->x.xa;
	struct sluice_backend_stats *bs = fz_bs(z, a->backend_id);

	if (bs)
		bs->drops[reason]++;
	if (a->svc_for_drops >= 0)
		z->shadow.s[a->svc_for_drops].drops[reason]++;
	fz_emit(z, SLUICE_EV_DROP, reason, a->svc_id, a->backend_id, a->colour,
		value, a->client, a->vip, a->cport, a->vport, a->proto);
}

static void fz_xmit_apply(struct fz *z, const struct fz_ref *r, bool hit)
{
	struct fz_expect *x = &z->x;
	const struct fz_xmit *a = &x->xa;
	bool df;

	x->xa.deferred = false;
	x->nh_hit = hit;
	if (hit || a->fib == FZ_FIB_OK) {
		fz_rewrite_pending(z, r);
		if (a->route) {
			__u32 t = r->l3 + (r->v6 ? 7 : 8);

			x->want[t] = (__u8)(z->in[t] - 1);
			if (!r->v6)
				fz_mask(x, r->l3 + 10);
		}
		fz_set(x, 0, hit ? a->nh.dmac : a->mac, 6);
		fz_set(x, 6, hit ? a->nh.smac : fz_dev_mac[a->dev], 6);
		x->verdict = XDP_REDIRECT;
		return;
	}
	switch (a->fib) {
	case FZ_FIB_NO_NEIGH:
		fz_rewrite_pending(z, r);
		x->verdict = XDP_PASS;
		x->reason = SLUICE_PASS_NO_NEIGH;
		return;
	case FZ_FIB_DROP:
		fz_xmit_drop(z, SLUICE_DROP_NO_ROUTE, 0);
		x->verdict = XDP_DROP;
		return;
	case FZ_FIB_TOO_BIG:
		df = r->v6 || (z->in[r->l3 + 6] & 0x40);
		/*
		 * Only what fits the ingress port's MTU arrived as one
		 * frame; bigger is an aggregate for the stack to segment.
		 */
		if (a->as_received && df &&
		    r->fib_len <= fz_dev_mtu[z->in_dev]) {
			fz_xmit_drop(z, SLUICE_DROP_TOO_BIG,
				     fz_dev_mtu[a->dev]);
			fz_too_big(z, r, fz_dev_mtu[a->dev]);
			return;
		}
		/* may be fragmented: the stack does, on the way out */
		__attribute__((fallthrough));
	default:
		fz_rewrite_pending(z, r);
		x->verdict = XDP_PASS;
		x->reason = SLUICE_PASS_FIB;
		return;
	}
}

static void fz_xmit(struct fz *z, const struct fz_ref *r, const __u8 *fib_dst,
		    bool route, bool as_received, __u32 backend_id,
		    int svc_for_drops,
		    __u32 svc_id, __u8 colour, const __u8 *client,
		    const __u8 *vip, __be16 cport, __be16 vport, __u8 proto,
		    const struct sluice_nexthop *nh)
{
	struct fz_expect *x = &z->x;
	struct fz_xmit *a = &x->xa;
	__u8 src[16];

	memset(a, 0, sizeof(*a));
	a->route = route;
	a->as_received = as_received;
	a->backend_id = backend_id;
	a->svc_for_drops = svc_for_drops;
	a->svc_id = svc_id;
	a->colour = colour;
	a->proto = proto;
	memcpy(a->client, client, 16);
	memcpy(a->vip, vip, 16);
	a->cport = cport;
	a->vport = vport;
	/* the source as rewritten: the fib sees the packet as it leaves */
	if (x->rw && !x->rw_dst_side)
		memcpy(src, x->rw_addr, 16);
	else if (r->v6)
		memcpy(src, x->want + r->l3 + 8, 16);
	else
		fz_mapped(src, x->want + r->l3 + 12);
	a->fib = fz_fib(r->v6, src, fib_dst, r->fib_len, a->mac, &a->dev);
	/* the cache is used only for what fits the egress MTU */
	if (nh && nh->expires_ns > z->now && r->fib_len <= nh->mtu) {
		a->nh_valid = true;
		a->nh = *nh;
		a->deferred = true;
		return;
	}
	fz_xmit_apply(z, r, false);
}

/* A deferred xmit(): the cache was used if the frame left by it. */
static void fz_xmit_settle(struct fz *z, const struct fz_ref *r, int verdict,
			   const __u8 *out)
{
	const struct fz_xmit *a = &z->x.xa;

	if (!a->deferred)
		return;
	fz_xmit_apply(z, r,
		      verdict == XDP_REDIRECT && !memcmp(out, a->nh.dmac, 6) &&
			      !memcmp(out + 6, a->nh.smac, 6));
}

/* rewrite_l3l4(): one address and its port, with the checksums. */
static void fz_rewrite(struct fz *z, const struct fz_ref *r, bool dst_side,
		       const __u8 addr[16], __be16 port)
{
	struct fz_expect *x = &z->x;

	if (r->v6) {
		fz_set(x, r->l3 + (dst_side ? 24 : 8), addr, 16);
	} else {
		fz_set(x, r->l3 + (dst_side ? 16 : 12), addr + 12, 4);
		fz_mask(x, r->l3 + 10);
	}
	fz_set(x, r->l4 + (dst_side ? 2 : 0), &port, 2);
	if (r->proto == IPPROTO_TCP)
		fz_mask(x, r->l4 + 16);
	else
		fz_mask(x, r->l4 + 6);
	x->nat = true;
}

/* A nat path: its rewrite waits until xmit() knows the route. */
static void fz_rewrite_later(struct fz *z, bool dst_side, const __u8 addr[16],
			     __be16 port)
{
	struct fz_expect *x = &z->x;

	x->rw = true;
	x->rw_dst_side = dst_side;
	memcpy(x->rw_addr, addr, 16);
	x->rw_port = port;
	x->nat = true;
}

/*
 * send_too_big(): the frame turned around into an ICMP "fragmentation
 * needed" / ICMPv6 "packet too big" from the packet's destination to
 * its source, TTL 64, with the egress MTU, quoting the first 68 (IPv4)
 * or 256 (IPv6) bytes of the IP packet as it came in. Written here from
 * RFC 792 / 4443, not from the program.
 */
static void fz_too_big(struct fz *z, const struct fz_ref *r, __u32 mtu)
{
	struct fz_expect *x = &z->x;
	const __u8 *in = z->in;
	__u32 l2 = r->l3, q = r->v6 ? 256 : 68, h = r->v6 ? 48 : 28, i;
	__u8 *w = x->want, *ip = w + l2, *ic = ip + h - 8;
	__u32 pseudo = 0;

	memcpy(w, in + 6, 6);
	memcpy(w + 6, in, 6);
	memcpy(w + 12, in + 12, l2 - 12);
	memcpy(ip + h, in + l2, q);
	memset(ip, 0, h);
	if (!r->v6) {
		ip[0] = 0x45;
		fz_put16(ip + 2, (__u16)(h + q));
		ip[8] = 64;
		ip[9] = IPPROTO_ICMP;
		memcpy(ip + 12, in + l2 + 16, 4);
		memcpy(ip + 16, in + l2 + 12, 4);
		fz_put16(ip + 10, pkt_csum(ip, 20, 0));
		ic[0] = 3;
		ic[1] = 4;
		fz_put16(ic + 6, (__u16)mtu);
	} else {
		ip[0] = 0x60;
		fz_put16(ip + 4, (__u16)(8 + q));
		ip[6] = IPPROTO_ICMPV6;
		ip[7] = 64;
		memcpy(ip + 8, in + l2 + 24, 16);
		memcpy(ip + 24, in + l2 + 8, 16);
		ic[0] = 2;
		fz_put16(ic + 4, (__u16)(mtu >> 16));
		fz_put16(ic + 6, (__u16)mtu);
		for (i = 0; i < 32; i += 2)
			pseudo += (__u32)ip[8 + i] << 8 | ip[9 + i];
		pseudo += 8 + q + IPPROTO_ICMPV6;
	}
	fz_put16(ic + 2, pkt_csum(ic, 8 + q, pseudo));
	x->want_len = l2 + h + q;
	memset(x->mask, 0, x->want_len);
	x->verdict = XDP_TX;
}

static __u32 fz_segment_colour(int svc, const __u8 src[16], bool *pinned)
{
	__u32 best = 0;
	int colour = -1;
	size_t i;

	for (i = 0; i < FZ_NSEG; i++) {
		if (fz_segs[i].svc != (__u32)svc ||
		    !fz_prefix_match(src, fz_segs[i].addr, fz_segs[i].plen))
			continue;
		if (colour < 0 || fz_segs[i].plen > best) {
			best = fz_segs[i].plen;
			colour = fz_segs[i].colour;
		}
	}
	*pinned = colour >= 0;
	return colour < 0 ? 0 : (__u32)colour;
}

static void fz_affinity(const struct fz_ref *r, __u8 aff, __u32 w[4], __u32 *w4,
			__u32 *w5)
{
	memcpy(w, r->key.src, 16);
	*w4 = *w5 = 0;
	if (aff == SLUICE_AFFINITY_FLOW) {
		*w4 = ((__u32)r->key.sport << 16) | r->key.dport;
		*w5 = r->key.proto;
	} else if (aff == SLUICE_AFFINITY_PREFIX) {
		if (r->v6) {
			w[1] &= htonl(0xffff0000);
			w[2] = w[3] = 0;
		} else {
			w[3] &= htonl(0xffffff00);
		}
	}
}

static void fz_remember(struct fz *z, const struct fz_ref *r, int svc,
			const __u8 backend[16], __be16 bport)
{
	struct fz_live *l = &z->live[z->live_next];

	l->v6 = r->v6;
	l->nat = fz_svcs[svc].val.mode == SLUICE_MODE_NAT;
	l->proto = r->proto;
	memcpy(l->client, r->key.src, 16);
	memcpy(l->vip, r->key.dst, 16);
	memcpy(l->backend, backend, 16);
	l->cport = ntohs(r->key.sport);
	l->vport = ntohs(r->key.dport);
	l->bport = ntohs(bport);
	l->svc = svc;
	z->live_next = (z->live_next + 1) % FZ_LIVE;
	if (z->nlive < FZ_LIVE)
		z->nlive++;
}

static void fz_model_steer(struct fz *z, const struct fz_ref *r, int svc)
{
	const struct fz_svc *s = &fz_svcs[svc];
	struct fz_expect *x = &z->x;
	struct sluice_service_stats *ss = &z->shadow.s[svc];
	struct sluice_backend_stats *bs;
	struct sluice_flow fl = {}, old;
	bool nat = s->val.mode == SLUICE_MODE_NAT, have = false, syn;

	x->path = FZP_STEER;
	x->svc = svc;
	x->fwd_side = true;
	x->family_mismatch = r->v6 != s->v6;
	if (nat && r->ttl <= 1) {
		x->verdict = XDP_PASS;
		x->reason = SLUICE_PASS_TTL;
		return;
	}
	/*
	 * A bare SYN is decided afresh even with state; when it is the same
	 * SYN (sequence number) and the decision is what the state says (a
	 * retransmission) the state stands and nothing is counted again.
	 */
	syn = r->proto == IPPROTO_TCP &&
	      (r->tcp_flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN;
	have = !bpf_map_lookup_elem(E.m.flows, &r->key, &old);
	if (have && !syn)
		fl = old;
	if (!have || syn) {
		const struct sluice_pool *pool;
		const struct sluice_backend *be;
		__u32 w[4], w4, w5, h, colour, slot;
		bool pinned = false;

		fz_affinity(r, s->val.affinity, w, &w4, &w5);
		colour = 0;
		if (s->val.flags & SLUICE_SVC_F_SEGMENTS)
			colour = fz_segment_colour(svc, r->key.src, &pinned);
		if (!pinned) {
			h = sluice_hash6(s->val.hash_seed, w, w4, w5);
			colour = sluice_hash_to_ppm(h) < s->val.green_ppm ?
					 SLUICE_GREEN :
					 SLUICE_BLUE;
		}
		pool = s->pool[colour];
		if (!pool || !pool->active) {
			ss->drops[SLUICE_DROP_EMPTY_POOL]++;
			ss->empty_pool[colour]++;
			fz_emit(z, SLUICE_EV_DROP, SLUICE_DROP_EMPTY_POOL,
				s->val.id, SLUICE_NO_BACKEND, (__u8)colour, 0,
				r->key.src, r->key.dst, r->key.sport,
				r->key.dport, r->key.proto);
			x->verdict = XDP_DROP;
			return;
		}
		h = sluice_hash6(s->val.hash_seed ^ SLUICE_BACKEND_SEED_XOR, w,
				 w4, w5);
		slot = pool->table[sluice_hash_to_slot(h, SLUICE_TABLE_SIZE)];
		be = &pool->backends[slot & (SLUICE_MAX_BACKENDS_PER_POOL - 1)];
		if (have && old.syn_seq == r->seq && old.backend_id == be->id &&
		    old.colour == colour) {
			struct sluice_flow_key rk = { 0 };
			struct sluice_nat n;

			fl = old;
			/* nat: a SYN again with no SYN-ACK yet is an error */
			memcpy(rk.src, fl.backend, 16);
			memcpy(rk.dst, r->key.src, 16);
			rk.sport = fl.backend_port;
			rk.dport = r->key.sport;
			rk.proto = r->key.proto;
			if (nat && !bpf_map_lookup_elem(E.m.nat, &rk, &n) &&
			    n.syn_ns && !(n.flags & SLUICE_NAT_F_HANDSHAKE)) {
				bs = fz_bs(z, fl.backend_id);
				if (bs)
					bs->errors[SLUICE_ERR_SYN_RETRY]++;
				fz_emit(z, SLUICE_EV_ERROR, SLUICE_ERR_SYN_RETRY,
					fl.svc_id, fl.backend_id, fl.colour, 0,
					r->key.src, r->key.dst, r->key.sport,
					r->key.dport, r->key.proto);
			}
			goto decided;
		}
		have = false;
		memcpy(fl.backend, be->addr, 16);
		fl.backend_port = be->port;
		fl.backend_id = be->id;
		fl.colour = (__u8)colour;
		ss->new_flows[colour]++;
		if (pinned)
			ss->segment_flows++;
		if (r->proto == IPPROTO_TCP && !(r->tcp_flags & TCPF_SYN))
			ss->flow_misses++;
		bs = fz_bs(z, be->id);
		if (bs)
			bs->new_flows++;
		fz_emit(z, SLUICE_EV_NEW_FLOW, 0, s->val.id, be->id,
			(__u8)colour, 0, r->key.src, r->key.dst, r->key.sport,
			r->key.dport, r->key.proto);
	}
decided:
	ss->packets++;
	ss->bytes += z->in_len;
	bs = fz_bs(z, fl.backend_id);
	if (bs) {
		bs->fwd_packets++;
		bs->fwd_bytes += z->in_len;
	}
	memcpy(x->backend, fl.backend, 16);
	x->bport = fl.backend_port;
	x->backend_id = fl.backend_id;
	fz_remember(z, r, svc, fl.backend, fl.backend_port);
	if (nat)
		fz_rewrite_later(z, true, fl.backend, fl.backend_port);
	/* a flow still being created caches nothing */
	fz_xmit(z, r, fl.backend, nat, true, fl.backend_id, svc, s->val.id,
		fl.colour,
		r->key.src, r->key.dst, r->key.sport, r->key.dport,
		r->key.proto, have ? &fl.nh : NULL);
}

/* "HTTP/1.x NNN " at the payload: the status class, or 0. */
static int fz_http_class(const __u8 *d, size_t n, const struct fz_ref *r,
			 __u32 *code)
{
	const __u8 *s = d + r->payload_off;

	if (r->payload_off + 13 > n || r->payload_off + 13 > r->l4_end)
		return 0;
	if (memcmp(s, "HTTP/1.", 7) || s[8] != ' ' || s[12] != ' ')
		return 0;
	if (s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' ||
	    s[11] < '0' || s[11] > '9')
		return 0;
	*code = (s[9] - '0') * 100u + (s[10] - '0') * 10u + (s[11] - '0');
	return s[9] - '0';
}

static void fz_model_reverse(struct fz *z, const struct fz_ref *r,
			     const struct sluice_nat *n)
{
	struct fz_expect *x = &z->x;
	struct fz_bstats *b = fz_bsx(z, n->backend_id);
	struct sluice_backend_stats *bs = b ? &b->st : NULL;
	__u32 payload = r->l4_end - r->payload_off, code = 0;
	int svc = fz_svc_of_backend(n->backend_id), cls;

	x->path = FZP_REVERSE;
	x->svc = svc;
	x->family_mismatch = svc >= 0 && svc < FZ_NSVC &&
			     r->v6 != fz_svcs[svc].v6;
	memcpy(x->vip, n->vip, 16);
	x->vport = n->vip_port;
	x->backend_id = n->backend_id;
	if (r->ttl <= 1) {
		x->verdict = XDP_PASS;
		x->reason = SLUICE_PASS_TTL;
		return;
	}
	if (bs) {
		bs->rev_packets++;
		bs->rev_bytes += z->in_len;
	}
	/* observe() */
	if (r->proto == IPPROTO_TCP) {
		if (r->tcp_flags & TCPF_RST) {
			if (bs)
				bs->errors[SLUICE_ERR_RST]++;
			fz_emit(z, SLUICE_EV_ERROR, SLUICE_ERR_RST, n->svc_id,
				n->backend_id, n->colour, 0, r->key.dst, n->vip,
				r->key.dport, n->vip_port, r->key.proto);
		}
		if ((r->tcp_flags & (TCPF_SYN | TCPF_ACK)) ==
			    (TCPF_SYN | TCPF_ACK) &&
		    n->syn_ns && !(n->flags & SLUICE_NAT_F_HANDSHAKE) && b)
			b->hs++;
	}
	if (payload && n->req_ns && !(n->flags & SLUICE_NAT_F_RESPONSE) && b) {
		b->fb++;
		cls = r->proto == IPPROTO_TCP ?
			      fz_http_class(z->in, z->in_len, r, &code) :
			      0;
		if (cls >= 1 && cls <= 5) {
			bs->http[cls - 1]++;
			if (cls == 5) {
				bs->errors[SLUICE_ERR_HTTP_5XX]++;
				fz_emit(z, SLUICE_EV_ERROR, SLUICE_ERR_HTTP_5XX,
					n->svc_id, n->backend_id, n->colour,
					code, r->key.dst, n->vip, r->key.dport,
					n->vip_port, r->key.proto);
			}
		}
	}
	fz_rewrite_later(z, false, n->vip, n->vip_port);
	fz_xmit(z, r, r->key.dst, true, true, n->backend_id, -1, n->svc_id,
		n->colour,
		r->key.dst, n->vip, r->key.dport, n->vip_port, r->key.proto,
		&n->nh);
}

/* handle_icmp(), with parse_inner() and rewrite_icmp(). */
static void fz_model_icmp(struct fz *z, const struct fz_ref *r)
{
	const __u8 *d = z->in;
	struct fz_expect *x = &z->x;
	struct sluice_flow_key in = {}, fk = {};
	__u32 off = r->l4 + 8, ip_off = off;
	__u8 type;
	bool err;
	int svc;

	x->path = FZP_ICMP_OTHER;
	x->verdict = XDP_PASS;
	/* the quote is read within the IP packet, not the frame */
	if (r->l4 + 8 > r->l4_end) {
		x->reason = SLUICE_PASS_TRUNCATED;
		return;
	}
	type = d[r->l4];
	err = r->v6 ? type == 1 || type == 2 : type == 3;
	if (!err) {
		x->reason = SLUICE_PASS_NOT_SERVICE;
		return;
	}
	if (r->v6) {
		if (off + 40 > r->l4_end) {
			x->reason = SLUICE_PASS_TRUNCATED;
			return;
		}
		if (d[off] >> 4 != 6) {
			x->reason = SLUICE_PASS_MALFORMED;
			return;
		}
		in.proto = d[off + 6];
		memcpy(in.src, d + off + 8, 16);
		memcpy(in.dst, d + off + 24, 16);
		off += 40;
	} else {
		if (off + 20 > r->l4_end) {
			x->reason = SLUICE_PASS_TRUNCATED;
			return;
		}
		if (d[off] >> 4 != 4 || (d[off] & 15) < 5) {
			x->reason = SLUICE_PASS_MALFORMED;
			return;
		}
		in.proto = d[off + 9];
		fz_mapped(in.src, d + off + 12);
		fz_mapped(in.dst, d + off + 16);
		off += (d[off] & 15) * 4u;
	}
	if (in.proto != IPPROTO_TCP && in.proto != IPPROTO_UDP) {
		x->reason = SLUICE_PASS_ICMP_NO_FLOW;
		return;
	}
	if (off + 4 > r->l4_end) {
		x->reason = SLUICE_PASS_TRUNCATED;
		return;
	}
	memcpy(&in.sport, d + off, 2);
	memcpy(&in.dport, d + off + 2, 2);
	x->icmp_ip_off = ip_off;
	x->icmp_l4_off = off;

	memcpy(fk.src, in.dst, 16);
	memcpy(fk.dst, in.src, 16);
	fk.sport = in.dport;
	fk.dport = in.sport;
	fk.proto = in.proto;

	svc = fz_svc_of(in.src, in.sport, in.proto);
	if (svc >= 0) {
		const struct fz_svc *s = &fz_svcs[svc];
		struct sluice_flow fl;

		if (bpf_map_lookup_elem(E.m.flows, &fk, &fl)) {
			x->reason = SLUICE_PASS_ICMP_NO_FLOW;
			return;
		}
		x->path = FZP_ICMP_FWD;
		x->svc = svc;
		x->fwd_side = true;
		x->family_mismatch = r->v6 != s->v6;
		memcpy(x->backend, fl.backend, 16);
		x->bport = fl.backend_port;
		x->backend_id = fl.backend_id;
		/* passed for the TTL before anything is counted */
		if (s->val.mode == SLUICE_MODE_NAT && r->ttl <= 1) {
			x->reason = SLUICE_PASS_TTL;
			return;
		}
		z->shadow.g.icmp_forwarded++;
		if (s->val.mode != SLUICE_MODE_NAT) {
			fz_xmit(z, r, fl.backend, false, false, fl.backend_id,
				-1,
				fl.svc_id, fl.colour, fk.src, fk.dst, fk.sport,
				fk.dport, fk.proto, NULL);
			return;
		}
		/* outer destination, quoted source and port */
		if (r->v6) {
			fz_set(x, r->l3 + 24, fl.backend, 16);
			fz_set(x, ip_off + 8, fl.backend, 16);
		} else {
			fz_set(x, r->l3 + 16, fl.backend + 12, 4);
			fz_mask(x, r->l3 + 10);
			fz_set(x, ip_off + 12, fl.backend + 12, 4);
			fz_mask(x, ip_off + 10);
		}
		fz_set(x, off, &fl.backend_port, 2);
		fz_mask(x, r->l4 + 2);
		x->nat = true;
		fz_xmit(z, r, fl.backend, true, false, fl.backend_id, -1,
			fl.svc_id,
			fl.colour, fk.src, fk.dst, fk.sport, fk.dport, fk.proto,
			NULL);
		return;
	}

	{
		struct sluice_nat nv;
		struct sluice_backend_stats *bs;
		bool outer;

		if (bpf_map_lookup_elem(E.m.nat, &fk, &nv)) {
			x->reason = SLUICE_PASS_NOT_SERVICE;
			return;
		}
		x->path = FZP_ICMP_REV;
		x->svc = fz_svc_of_backend(nv.backend_id);
		x->family_mismatch = x->svc < FZ_NSVC &&
				     r->v6 != fz_svcs[x->svc].v6;
		memcpy(x->vip, nv.vip, 16);
		x->vport = nv.vip_port;
		x->backend_id = nv.backend_id;
		if (r->ttl <= 1) {
			x->reason = SLUICE_PASS_TTL;
			return;
		}
		bs = fz_bs(z, nv.backend_id);
		if (bs)
			bs->errors[SLUICE_ERR_ICMP]++;
		fz_emit(z, SLUICE_EV_ERROR, SLUICE_ERR_ICMP, nv.svc_id,
			nv.backend_id, nv.colour, 0, in.src, nv.vip, in.sport,
			nv.vip_port, in.proto);
		if (r->v6) {
			outer = !memcmp(d + r->l3 + 8, d + ip_off + 24, 16);
			if (outer)
				fz_set(x, r->l3 + 8, nv.vip, 16);
			fz_set(x, ip_off + 24, nv.vip, 16);
		} else {
			outer = !memcmp(d + r->l3 + 12, d + ip_off + 16, 4);
			if (outer) {
				fz_set(x, r->l3 + 12, nv.vip + 12, 4);
				fz_mask(x, r->l3 + 10);
			}
			fz_set(x, ip_off + 16, nv.vip + 12, 4);
			fz_mask(x, ip_off + 10);
		}
		fz_set(x, off + 2, &nv.vip_port, 2);
		fz_mask(x, r->l4 + 2);
		x->nat = true;
		fz_xmit(z, r, r->key.dst, true, false, nv.backend_id, -1,
			nv.svc_id,
			nv.colour, in.src, nv.vip, in.sport, nv.vip_port,
			in.proto, NULL);
	}
}

static void fz_model(struct fz *z, const struct fz_ref *r)
{
	struct fz_expect *x = &z->x;
	struct sluice_nat nv;
	int svc;

	x->verdict = XDP_PASS;
	x->reason = -1;
	x->path = FZP_PARSE;
	x->svc = -1;
	x->nat = x->family_mismatch = x->fwd_side = false;
	x->nh_hit = false;
	x->xa.deferred = false;
	x->icmp_ip_off = x->icmp_l4_off = 0;
	x->rw = false;
	x->want_len = z->in_len;
	memcpy(x->want, z->in, z->in_len);
	memset(x->mask, 0, z->in_len);

	if (r->rc != FZ_OK) {
		x->reason = r->rc;
		return;
	}
	if (r->icmp) {
		fz_model_icmp(z, r);
		return;
	}
	svc = fz_svc_of(r->key.dst, r->key.dport, r->key.proto);
	if (svc >= 0) {
		fz_model_steer(z, r, svc);
		return;
	}
	x->path = FZP_NOT_SERVICE;
	if (bpf_map_lookup_elem(E.m.nat, &r->key, &nv)) {
		x->reason = SLUICE_PASS_NOT_SERVICE;
		return;
	}
	fz_model_reverse(z, r, &nv);
}

/* ---- checks ------------------------------------------------------------- */

static const char *fz_verdict_name(int v)
{
	switch (v) {
	case XDP_ABORTED:
		return "XDP_ABORTED";
	case XDP_DROP:
		return "XDP_DROP";
	case XDP_PASS:
		return "XDP_PASS";
	case XDP_TX:
		return "XDP_TX";
	case XDP_REDIRECT:
		return "XDP_REDIRECT";
	default:
		return "?";
	}
}

/*
 * Checksum components of a frame, judged from scratch: the outer IPv4
 * header, the L4 segment (the IP length bounds it; UDP its own length),
 * and an ICMP error's quoted IPv4 header when it is inside the packet.
 * Each is 1 valid, 0 invalid, -1 absent.
 */
struct fz_csums {
	int ip, l4, quoted;
	bool udp_zero; /* IPv4 UDP sent without a checksum */
};

static void fz_csums(const __u8 *d, const struct fz_ref *r, struct fz_csums *c)
{
	__u32 seg, qhl;
	const __u8 *src, *dst;

	c->ip = c->l4 = c->quoted = -1;
	c->udp_zero = false;
	if (r->rc != FZ_OK)
		return;
	if (!r->v6)
		c->ip = pkt_csum(d + r->l3, r->l4 - r->l3, 0) == 0;
	seg = r->l4_end - r->l4;
	src = d + r->l3 + (r->v6 ? 8 : 12);
	dst = d + r->l3 + (r->v6 ? 24 : 16);
	if (r->icmp && !r->v6) {
		if (seg < 4)
			return;
		c->l4 = pkt_csum(d + r->l4, seg, 0) == 0;
		/* the quoted IPv4 header of an error, when wholly inside */
		if (seg < 28 || d[r->l4] != 3 || d[r->l4 + 8] >> 4 != 4)
			return;
		qhl = (d[r->l4 + 8] & 15) * 4u;
		if (qhl >= 20 && qhl <= seg - 8)
			c->quoted = pkt_csum(d + r->l4 + 8, qhl, 0) == 0;
		return;
	}
	if (r->proto == IPPROTO_UDP) {
		__u32 ulen = fz_get16(d + r->l4 + 4);

		if (!r->v6 && !fz_get16(d + r->l4 + 6)) {
			c->udp_zero = true;
			return;
		}
		if (ulen < 8 || ulen > seg)
			return;
		seg = ulen;
	}
	if ((r->proto == IPPROTO_TCP && seg < 20) || (r->icmp && seg < 4))
		return;
	c->l4 = pkt_csum(d + r->l4, seg,
			 pkt_pseudo_sum(r->v6, src, dst, r->proto, seg)) == 0;
}

static bool fz_is_backend_of(int svc, const __u8 addr[16], __be16 port,
			     bool check_port)
{
	int c, i;

	if (svc < 0 || svc >= FZ_NSVC)
		return false;
	for (c = 0; c < SLUICE_COLOURS; c++) {
		const struct sluice_pool *p = fz_svcs[svc].pool[c];

		if (!p)
			continue;
		for (i = 0; i < SLUICE_MAX_BACKENDS_PER_POOL; i++) {
			const struct sluice_backend *b = &p->backends[i];

			if (!(b->flags & SLUICE_BE_F_USED))
				continue;
			if (!memcmp(b->addr, addr, 16) &&
			    (!check_port || b->port == port))
				return true;
		}
	}
	return false;
}

static bool fz_is_backend_mac(int svc, const __u8 mac[6])
{
	int i;

	for (i = 0; i < fz_nneighs; i++)
		if (!memcmp(fz_neighs[i].mac, mac, 6) &&
		    fz_is_backend_of(svc, fz_neighs[i].addr, 0, false))
			return true;
	return false;
}

static void fz_hex(char *buf, size_t cap, const __u8 *p, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 3 < cap; i++)
		o += (size_t)snprintf(buf + o, cap - o, "%02x", p[i]);
	buf[o] = 0;
}

/* First byte where output and expectation differ, or -1. */
static long fz_first_diff(const struct fz *z, const __u8 *out, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!z->x.mask[i] && out[i] != z->x.want[i])
			return (long)i;
	return -1;
}

/* The known bugs this frame hits, as a mask of 1 << FZK_*. */
static unsigned int fz_known_bugs(const struct fz *z)
{
	const struct fz_expect *x = &z->x;
	unsigned int m = 0;

	(void)x;
	return m;
}

static int fz_check(struct fz *z, const struct fz_ref *r, int verdict,
		    size_t out_len)
{
	const struct fz_expect *x = &z->x;
	const __u8 *in = z->in, *out = z->out;
	struct fz_csums ci, co;
	struct fz_ref ro = { .rc = FZ_OK };
	bool changed;
	size_t i;
	long diff;

	/* 1: a verdict the program may give. */
	if (verdict != XDP_PASS && verdict != XDP_DROP &&
	    verdict != XDP_REDIRECT && verdict != XDP_TX)
		return fz_fail(z, "invariant 1 (verdict)",
			       "verdict %d (%s); model expected %s", verdict,
			       fz_verdict_name(verdict),
			       fz_verdict_name(x->verdict));
	/* Only a "too big" answer, sent back, is not the input's length. */
	if (verdict != XDP_TX && out_len != z->in_len)
		return fz_fail(z, "invariant 2 (length)",
			       "output is %zu bytes, input %zu", out_len,
			       z->in_len);
	if (verdict == XDP_TX) {
		/* 3: back to the sender, from the address it sent to */
		if (fz_parse(out, out_len, &ro) != FZ_OK || !ro.icmp ||
		    memcmp(out, in + 6, 6) || memcmp(ro.key.dst, r->key.src, 16) ||
		    memcmp(ro.key.src, r->key.dst, 16))
			return fz_fail(z, "invariant 3 (too big)",
				       "XDP_TX that is no ICMP answer to the sender");
		if (out_len != x->want_len)
			return fz_fail(z, "model (length)",
				       "too-big answer of %zu bytes, model expected %zu",
				       out_len, x->want_len);
	}
	changed = verdict == XDP_TX || memcmp(in, out, out_len) != 0;

	/*
	 * 2: unrelated frames pass untouched. "Related" is decided by the
	 * model's independent parse; state of the other family (an IPv6
	 * frame that names an IPv4 VIP or flow as ::ffff:a.b.c.d) does not
	 * make a frame related.
	 */
	if ((x->path == FZP_PARSE || x->path == FZP_NOT_SERVICE ||
	     x->path == FZP_ICMP_OTHER || x->family_mismatch) &&
	    (verdict != XDP_PASS || changed))
		return fz_fail(z, "invariant 2 (unrelated frame touched)",
			       "%s%s frame (%s) got %s%s",
			       x->family_mismatch ?
				       "IPv6 frame matching IPv4 state; " :
				       "",
			       x->family_mismatch ? "related" : "unrelated",
			       fz_path_names[x->path], fz_verdict_name(verdict),
			       changed ? ", changed" : "");
	/*
	 * A changed PASS must be a NAT rewrite handed to the stack to
	 * resolve the next hop, deliver to a backend on this host or
	 * fragment: toward a backend of the service, or from its VIP. (A
	 * packet that may not be fragmented is answered "too big" here,
	 * quoting it as it came, never handed over rewritten: the stack's
	 * answer would quote the backend to a client that never heard of
	 * it.)
	 */
	if (verdict == XDP_PASS && changed) {
		bool ok = x->nat && (x->reason == SLUICE_PASS_NO_NEIGH ||
				     x->reason == SLUICE_PASS_FIB);

		if (ok && x->fwd_side) {
			fz_parse(out, out_len, &ro);
			ok = ro.rc == FZ_OK &&
			     fz_is_backend_of(x->svc, ro.key.dst, 0, false);
		} else if (ok && x->path == FZP_REVERSE) {
			fz_parse(out, out_len, &ro);
			ok = ro.rc == FZ_OK && !memcmp(ro.key.src, x->vip, 16);
		}
		if (!ok)
			return fz_fail(
				z, "invariant 2 (changed on PASS)",
				"PASS with a changed frame on path %s, not a rewrite toward a backend or from a VIP",
				fz_path_names[x->path]);
	}

	/* 3: redirects are well formed and go where they may. */
	if (verdict == XDP_REDIRECT || (verdict == XDP_PASS && changed)) {
		if (fz_parse(out, out_len, &ro) != FZ_OK)
			return fz_fail(z, "invariant 3 (output parse)",
				       "output no longer parses (reason %d)",
				       ro.rc);
		fz_csums(in, r, &ci);
		fz_csums(out, &ro, &co);
		if (ci.ip == 1 && co.ip != 1)
			return fz_fail(
				z, "invariant 3 (checksum)",
				"IPv4 header checksum valid in, not out");
		if (ci.udp_zero && !co.udp_zero)
			return fz_fail(z, "invariant 3 (checksum)",
				       "IPv4 UDP zero checksum not kept zero");
		if (ci.l4 == 1 && co.l4 != 1)
			return fz_fail(z, "invariant 3 (checksum)",
				       "L4 checksum valid in, not out");
		if (ci.quoted == 1 && co.quoted == 0)
			return fz_fail(
				z, "invariant 3 (checksum)",
				"quoted IPv4 header checksum valid in, not out");
		if (ci.ip != 0 && ci.l4 != 0 && ci.quoted != 0) {
			const char *why = NULL;

			z->res->csum_checked++;
			if (pkt_verify_checksums(in, z->in_len, NULL) == 0 &&
			    pkt_verify_checksums(out, out_len, &why) != 0)
				return fz_fail(z, "invariant 3 (checksum)",
					       "pkt_verify_checksums: %s",
					       why ? why : "?");
		}
	}
	if (verdict == XDP_REDIRECT) {
		/*
		 * A packet bigger than the egress port's MTU is the stack's
		 * to fragment or answer "too big" (the fib says
		 * frag-needed); redirected, a driver drops it silently.
		 */
		__u32 mtu = fz_dev_mtu[!memcmp(out + 6, fz_dev_mac[1], 6)];

		if (r->fib_len > mtu)
			return fz_fail(
				z, "invariant 3 (oversize redirect)",
				"a %u-byte IP packet redirected to a %u-byte MTU port%s",
				r->fib_len, mtu,
				x->nh_hit ? " by the cached next hop" : "");
		if (x->fwd_side && x->nat &&
		    !fz_is_backend_of(x->svc, ro.key.dst, 0, false))
			return fz_fail(
				z, "invariant 3 (destination)",
				"nat redirect to an address that is no backend of service %d",
				x->svc);
		if (x->fwd_side && !fz_is_backend_mac(x->svc, out))
			return fz_fail(
				z, "invariant 3 (destination)",
				"redirect to a MAC that is no backend's of service %d",
				x->svc);
		if (x->path == FZP_REVERSE &&
		    (memcmp(ro.key.src, x->vip, 16) ||
		     memcmp(ro.key.dst, r->key.dst, 16)))
			return fz_fail(z, "invariant 3 (reverse)",
				       "reply not from the VIP to the client");
	}

	/* Only the Ethernet addresses and the IP packet may change. */
	if (changed && r->rc == FZ_OK && verdict != XDP_TX) {
		for (i = 12; i < out_len; i++) {
			if (in[i] == out[i] || (i >= r->l3 && i < r->l4_end))
				continue;
			return fz_fail(
				z, "padding changed",
				"byte %zu, past the IP packet (which ends at %u), changed",
				i, r->l4_end);
		}
	}

	/* The model: verdict, reason and bytes. */
	if (verdict != x->verdict) {
		struct sluice_global_stats g;
		int got = -1;

		if (verdict == XDP_PASS && !sluice_global_stats_read(&E.m, &g))
			for (i = 0; i < SLUICE_PASS_MAX; i++)
				if (g.pass[i] != z->shadow.g.pass[i])
					got = (int)i;
		return fz_fail(z, "model (verdict)",
			       "got %s%s%s, model expected %s%s%s (path %s)",
			       fz_verdict_name(verdict), got >= 0 ? " " : "",
			       got >= 0 ? fz_pass_names[got] : "",
			       fz_verdict_name(x->verdict),
			       x->verdict == XDP_PASS ? " " : "",
			       x->verdict == XDP_PASS && x->reason >= 0 ?
				       fz_pass_names[x->reason] :
				       "",
			       fz_path_names[x->path]);
	}
	diff = fz_first_diff(z, out, out_len);
	if (diff >= 0)
		return fz_fail(
			z, "model (output)",
			"byte %ld is %02x, model expected %02x (path %s, verdict %s)",
			diff, out[diff], x->want[diff], fz_path_names[x->path],
			fz_verdict_name(verdict));
	return 0;
}

/* ---- checkpoints: kernel counters and events against the shadow ------- */

static int fz_on_event(void *ctx, void *data, size_t len)
{
	struct fz *z = ctx;
	const struct sluice_event *e = data;
	const struct fz_event *w;

	if (len != sizeof(*e) || z->ev_bad) {
		z->ev_bad = true;
		return 0;
	}
	if (z->ev_seen >= z->nev) {
		fz_fail(z, "invariant 4 (events)",
			"an event the model did not expect: type %u reason %u svc %u backend %u",
			e->type, e->reason, e->svc_id, e->backend_id);
		z->ev_bad = true;
		return 0;
	}
	w = &z->ev[z->ev_seen++];
	if (e->type != w->type || e->reason != w->reason ||
	    e->svc_id != w->svc_id || e->backend_id != w->backend_id ||
	    e->value != w->value || e->colour != w->colour ||
	    e->proto != w->proto || memcmp(e->src, w->src, 16) ||
	    memcmp(e->dst, w->dst, 16) || e->sport != w->sport ||
	    e->dport != w->dport) {
		fz_fail(z, "invariant 4 (events)",
			"event %zu of the window: got type %u reason %u svc %u backend %u colour %u value %u ports %u/%u, want type %u reason %u svc %u backend %u colour %u value %u ports %u/%u",
			z->ev_seen - 1, e->type, e->reason, e->svc_id,
			e->backend_id, e->colour, e->value, ntohs(e->sport),
			ntohs(e->dport), w->type, w->reason, w->svc_id,
			w->backend_id, w->colour, w->value, ntohs(w->sport),
			ntohs(w->dport));
		z->ev_bad = true;
	}
	return 0;
}

#define FZ_CMP(what, got, want)                                             \
	do {                                                                \
		if ((got) != (want))                                        \
			return fz_fail(z, "invariant 4 (counters)",         \
				       "%s: kernel %llu, model %llu", what, \
				       (unsigned long long)(got),           \
				       (unsigned long long)(want));         \
	} while (0)

static __u64 fz_hist_total(const __u64 *h)
{
	__u64 t = 0;
	int i;

	for (i = 0; i < SLUICE_HIST_BUCKETS; i++)
		t += h[i];
	return t;
}

static int fz_checkpoint(struct fz *z)
{
	const struct fz_result *res = z->res;
	struct sluice_global_stats g;
	char what[96];
	__u64 pass_sum = 0, drops = 0, attempts = 0, redirect_side = 0, too_big = 0;
	int i, j;

	z->ev_seen = 0;
	if (ring_buffer__consume(z->rb) < 0)
		return fz_fail(z, "invariant 4 (events)", "ring read failed");
	if (z->res->failed)
		return -1;
	if (z->ev_bad || z->ev_seen != z->nev)
		return fz_fail(z, "invariant 4 (events)",
			       "%zu events in the ring, the model expected %zu",
			       z->ev_seen, z->nev);
	z->res->events += z->nev;
	z->nev = 0;

	if (sluice_global_stats_read(&E.m, &g))
		return fz_fail(z, "invariant 4 (counters)", "read global");
	for (i = 0; i < SLUICE_PASS_MAX; i++) {
		snprintf(what, sizeof(what), "pass[%s]", fz_pass_names[i]);
		FZ_CMP(what, g.pass[i], z->shadow.g.pass[i]);
		pass_sum += g.pass[i];
	}
	FZ_CMP("icmp_forwarded", g.icmp_forwarded, z->shadow.g.icmp_forwarded);
	FZ_CMP("events_lost", g.events_lost, 0);
	attempts += g.icmp_forwarded;

	for (i = 0; i < FZ_NSVC; i++) {
		struct sluice_service_stats s;
		const struct sluice_service_stats *w = &z->shadow.s[i];

		if (sluice_service_stats_read(&E.m, (__u32)i, &s))
			return fz_fail(z, "invariant 4 (counters)",
				       "read service %d", i);
#define FZ_SVC(f)                                                  \
	do {                                                       \
		snprintf(what, sizeof(what), "service %d " #f, i); \
		FZ_CMP(what, s.f, w->f);                           \
	} while (0)
		FZ_SVC(packets);
		FZ_SVC(bytes);
		FZ_SVC(new_flows[0]);
		FZ_SVC(new_flows[1]);
		FZ_SVC(segment_flows);
		FZ_SVC(flow_misses);
		FZ_SVC(drops[SLUICE_DROP_EMPTY_POOL]);
		FZ_SVC(empty_pool[0]);
		FZ_SVC(empty_pool[1]);
		FZ_SVC(drops[SLUICE_DROP_NO_ROUTE]);
#undef FZ_SVC
		drops += s.drops[SLUICE_DROP_EMPTY_POOL];
	}
	for (i = 0; i < z->shadow.nb; i++) {
		struct sluice_backend_stats s;
		const struct fz_bstats *wb = &z->shadow.b[i];
		const struct sluice_backend_stats *w = &wb->st;

		if (sluice_backend_stats_read(&E.m, wb->id, &s))
			return fz_fail(z, "invariant 4 (counters)",
				       "read backend %u", wb->id);
#define FZ_BE(f)                                                        \
	do {                                                            \
		snprintf(what, sizeof(what), "backend %u " #f, wb->id); \
		FZ_CMP(what, s.f, w->f);                                \
	} while (0)
		FZ_BE(fwd_packets);
		FZ_BE(fwd_bytes);
		FZ_BE(rev_packets);
		FZ_BE(rev_bytes);
		FZ_BE(new_flows);
		for (j = 0; j < SLUICE_DROP_MAX; j++)
			FZ_BE(drops[j]);
		for (j = 0; j < SLUICE_ERR_MAX; j++)
			FZ_BE(errors[j]);
		for (j = 0; j < 5; j++)
			FZ_BE(http[j]);
#undef FZ_BE
		snprintf(what, sizeof(what), "backend %u handshakes", wb->id);
		FZ_CMP(what, fz_hist_total(s.handshake_hist), wb->hs);
		snprintf(what, sizeof(what), "backend %u first bytes", wb->id);
		FZ_CMP(what, fz_hist_total(s.first_byte_hist), wb->fb);
		drops += s.drops[SLUICE_DROP_NO_ROUTE];
		attempts += s.fwd_packets + s.rev_packets +
			    s.errors[SLUICE_ERR_ICMP];
		redirect_side += s.drops[SLUICE_DROP_NO_ROUTE];
		too_big += s.drops[SLUICE_DROP_TOO_BIG];
	}

	/*
	 * Per verdict. Every PASS is one pass reason. Every DROP is one
	 * drop: an empty pool (per service, no backend) or no route (per
	 * backend; the service's no-route count repeats the forward ones).
	 * Every frame handed to xmit() was first counted once as an
	 * attempt: fwd_packets (steered), rev_packets (reverse NAT),
	 * icmp_forwarded (error toward a backend) or errors[icmp] (error
	 * from the backend side); xmit() turns each into a REDIRECT, a
	 * rewritten PASS (no_neighbour, fib), a no-route DROP or a "too
	 * big" answer (TX, counted as the backend's too_big drop).
	 */
	FZ_CMP("too-big drops vs TX verdicts", too_big, res->verdicts[XDP_TX]);
	FZ_CMP("sum of pass reasons vs PASS verdicts", pass_sum,
	       res->verdicts[XDP_PASS]);
	FZ_CMP("empty-pool + no-route drops vs DROP verdicts", drops,
	       res->verdicts[XDP_DROP]);
	FZ_CMP("xmit attempts - rewritten passes - no-route drops vs REDIRECT verdicts",
	       attempts - g.pass[SLUICE_PASS_NO_NEIGH] -
		       g.pass[SLUICE_PASS_FIB] - redirect_side - too_big,
	       res->verdicts[XDP_REDIRECT]);
	return 0;
}

/* ---- frame generation --------------------------------------------------- */

/* Address palettes: fixture hosts, edge cases, and the other family. */
static const char *const fz_v4_clients[] = {
	CLIENT4,	CLIENT4,	CLIENT4,       "198.18.0.101",
	"198.18.0.1",	"198.18.0.255", "198.18.0.0",  "198.18.7.5",
	"198.18.7.200", "198.18.8.9",	"198.18.9.77", BLUE4,
	"10.1.2.3",	"127.0.0.1",	"0.0.0.0",     "255.255.255.255",
	"224.0.0.1",
};

static const char *const fz_v6_clients[] = {
	CLIENT6,
	CLIENT6,
	CLIENT6,
	"fd00::101",
	"fd00::1",
	"fd00::",
	"fd00:7::5",
	"fd00:8::9",
	BLUE6,
	"2001:db8::1",
	"::1",
	"::",
	"ff02::1",
	"::ffff:198.18.0.100",
	"fd00:7:0:1::77",
};

static const char *const fz_routers4[] = { "198.18.0.254", "198.18.1.254",
					   "10.9.9.9", CLIENT4 };
static const char *const fz_routers6[] = { "fd00::fe", "fd00:1::fe",
					   "2001:db8::fe", CLIENT6 };

#define FZ_N(a) (sizeof(a) / sizeof((a)[0]))

static const char fz_req[] = "GET / HTTP/1.1\r\nHost: web\r\n\r\n";
static const char *const fz_resps[] = {
	"HTTP/1.1 200 OK\r\n\r\n",
	"HTTP/1.1 503 Service Unavailable\r\n\r\n",
	"HTTP/1.0 404 Not Found\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\n\r\n",
	"HTTP/1.1 302 Found\r\n\r\n",
	"HTTP/1.1 500 ",
	"HTTP/1.1 500",
	"HTTP/1.1 5x3 Odd\r\n",
	"HTTP/1.1 600 Beyond\r\n",
	"HTTP/2 200\r\n\r\n",
	"http/1.1 200 OK\r\n",
};

static __u16 fz_port(struct fz *z)
{
	static const __u16 special[] = {
		0, 65535, 1, 80, 53, 8080, 5353, 40000
	};

	if (fz_pct(&z->rng, 15))
		return special[fz_below(&z->rng, FZ_N(special))];
	return (__u16)(1024 + fz_below(&z->rng, 64512));
}

static __u8 fz_ttl(struct fz *z)
{
	static const __u8 special[] = { 0, 1, 2, 255 };

	if (fz_pct(&z->rng, 8))
		return special[fz_below(&z->rng, FZ_N(special))];
	return 64;
}

/* A random address of the family as text, kept in buf. */
static const char *fz_rand_addr(struct fz *z, bool v6, char *buf)
{
	__u8 a[16];
	size_t i;

	for (i = 0; i < 16; i++)
		a[i] = (__u8)fz_below(&z->rng, 256);
	if (!v6)
		fz_mapped(a, a + 12);
	return fz_ntop(a, v6, buf);
}

static const char *fz_client(struct fz *z, bool v6, char *buf)
{
	if (fz_pct(&z->rng, 10))
		return fz_rand_addr(z, v6, buf);
	if (v6)
		return fz_v6_clients[fz_below(&z->rng, FZ_N(fz_v6_clients))];
	return fz_v4_clients[fz_below(&z->rng, FZ_N(fz_v4_clients))];
}

/* Headers and options a valid frame may carry. */
static void fz_decorate(struct fz *z, struct pkt_spec *s)
{
	static const __u8 exts[] = { 0, 60, 43, 44 };
	int i;

	if (fz_pct(&z->rng, 25)) {
		s->nvlan = 1 + (int)fz_below(&z->rng, 3);
		for (i = 0; i < s->nvlan; i++) {
			s->vlan_tpid[i] = fz_pct(&z->rng, 50) ? 0x8100 : 0x88a8;
			s->vlan_tci[i] = (__u16)fz_below(&z->rng, 65536);
		}
	}
	s->ttl = fz_ttl(z);
	s->tos = (__u8)fz_below(&z->rng, 256);
	s->ip_id = (__u16)fz_below(&z->rng, 65536);
	if (!s->v6 && fz_pct(&z->rng, 10))
		s->ip_opts_len = 4 * (int)fz_below(&z->rng, 11);
	if (!s->v6)
		s->df = fz_pct(&z->rng, 50);
	if (s->v6 && fz_pct(&z->rng, 15)) {
		s->next_ext = 1 + (int)fz_below(&z->rng, 6);
		for (i = 0; i < s->next_ext; i++)
			s->ext[i] = exts[fz_below(&z->rng, FZ_N(exts))];
		for (i = 0; i < s->next_ext; i++)
			if (s->ext[i] == 44 && fz_pct(&z->rng, 30)) {
				s->frag_offset = (__u16)fz_below(&z->rng, 8);
				s->more_frags = fz_pct(&z->rng, 50);
			}
	}
	if (!s->v6 && fz_pct(&z->rng, 4)) {
		s->more_frags = fz_pct(&z->rng, 70);
		if (fz_pct(&z->rng, 50))
			s->frag_offset = (__u16)fz_below(&z->rng, 0x2000);
	}
	if (s->proto == IPPROTO_TCP && fz_pct(&z->rng, 10))
		s->tcp_opts_len = 4 * (int)fz_below(&z->rng, 11);
}

static void fz_payload(struct fz *z, struct pkt_spec *s, __u8 *buf, size_t cap)
{
	size_t len, i;

	if (fz_pct(&z->rng, 50)) {
		s->payload_len = 0;
		return;
	}
	if (fz_pct(&z->rng, 4))
		len = fz_below(&z->rng, (uint32_t)(z->max_frame - 120));
	else
		len = fz_below(&z->rng, 80);
	if (len > cap)
		len = cap;
	for (i = 0; i < len; i++)
		buf[i] = (__u8)fz_below(&z->rng, 256);
	s->payload = buf;
	s->payload_len = len;
}

enum {
	FZG_RANDOM,
	FZG_SERVICE,
	FZG_LIVE,
	FZG_REPLY,
	FZG_ICMP_VIP,
	FZG_ICMP_BACKEND,
	FZG_OTHER,
	FZG_MAX,
};

static const char *const fz_gen_names[FZG_MAX] = {
	"random bytes",	 "to a service",    "live flow",
	"backend reply", "icmp toward vip", "icmp from backend",
	"other traffic",
};

static size_t fz_gen_random(struct fz *z, __u8 *buf)
{
	static const __u16 types[] = { ETH_P_IP,     ETH_P_IPV6, ETH_P_8021Q,
				       ETH_P_8021AD, 0x9100,	 0x0806 };
	size_t len = 14 + fz_below(&z->rng, 200), i;

	if (fz_pct(&z->rng, 10))
		len = 14 + fz_below(&z->rng, (uint32_t)(z->max_frame - 13));
	for (i = 0; i < len; i++)
		buf[i] = (__u8)fz_below(&z->rng, 256);
	if (fz_pct(&z->rng, 70)) {
		__u16 t = types[fz_below(&z->rng, FZ_N(types))];

		fz_put16(buf + 12, t);
		if (t == ETH_P_IP && len > 14)
			buf[14] = (__u8)(0x40 | (buf[14] & 15));
		if (t == ETH_P_IPV6 && len > 14)
			buf[14] = (__u8)(0x60 | (buf[14] & 15));
	}
	return len;
}

static size_t fz_gen_service(struct fz *z, __u8 *buf, int *ifindex)
{
	static const int weights[FZ_NSVC] = { 25, 20, 10, 8, 10, 10, 6, 6, 5 };
	struct pkt_spec s = { .smac = M_CLIENT, .dmac = M_CLI0 };
	char a[INET6_ADDRSTRLEN], v[INET6_ADDRSTRLEN];
	__u8 pl[FZ_BUF];
	const struct fz_svc *svc;
	uint32_t pick = fz_below(&z->rng, 100);
	int i;

	for (i = 0; i < FZ_NSVC - 1 && pick >= (uint32_t)weights[i]; i++)
		pick -= (uint32_t)weights[i];
	svc = &fz_svcs[i];
	s.v6 = svc->v6;
	s.proto = svc->key.proto;
	s.dst = fz_ntop(svc->key.vip, true, v);
	if (!svc->v6) {
		s.dst = fz_ntop(svc->key.vip, false, v);
		/* the same VIP spelled as an IPv4-mapped IPv6 address */
		if (fz_pct(&z->rng, 3)) {
			s.v6 = true;
			s.dst = fz_ntop(svc->key.vip, true, v);
		}
	}
	s.src = fz_client(z, s.v6 && svc->v6, a);
	if (s.v6 && !svc->v6)
		s.src = fz_pct(&z->rng, 70) ? "::ffff:198.18.0.100" :
					      fz_client(z, true, a);
	s.sport = fz_port(z);
	s.dport = fz_pct(&z->rng, 95) ? ntohs(svc->key.port) : fz_port(z);
	s.seq = (__u32)fz_next(&z->rng);
	if (s.proto == IPPROTO_TCP) {
		uint32_t k = fz_below(&z->rng, 100);

		if (k < 40)
			s.tcp_flags = (__u8)fz_below(&z->rng, 256);
		else if (k < 75)
			s.tcp_flags = TCPF_SYN;
		else if (k < 85)
			s.tcp_flags = TCPF_ACK;
		else
			s.tcp_flags = 0x18;
		s.ack_seq = (__u32)fz_next(&z->rng);
	}
	fz_decorate(z, &s);
	if (s.tcp_flags == 0x18 && fz_pct(&z->rng, 70)) {
		s.payload = (const __u8 *)fz_req;
		s.payload_len = sizeof(fz_req) - 1;
	} else {
		fz_payload(z, &s, pl, sizeof(pl));
	}
	*ifindex = fz_pct(&z->rng, 90) ? E.cli_ifindex : E.be_ifindex;
	return pkt_build(&s, buf, z->max_frame);
}

static const struct fz_live *fz_pick_live(struct fz *z, bool want_nat)
{
	size_t i, start;

	if (!z->nlive)
		return NULL;
	start = fz_below(&z->rng, (uint32_t)z->nlive);
	for (i = 0; i < z->nlive; i++) {
		const struct fz_live *l = &z->live[(start + i) % z->nlive];

		if (!want_nat || l->nat)
			return l;
	}
	return NULL;
}

static size_t fz_gen_live(struct fz *z, __u8 *buf, int *ifindex)
{
	const struct fz_live *l = fz_pick_live(z, false);
	struct pkt_spec s = { .smac = M_CLIENT, .dmac = M_CLI0 };
	char a[INET6_ADDRSTRLEN], v[INET6_ADDRSTRLEN];
	__u8 pl[FZ_BUF];
	uint32_t k = fz_below(&z->rng, 100);

	if (!l)
		return fz_gen_service(z, buf, ifindex);
	s.v6 = l->v6;
	s.src = fz_ntop(l->client, l->v6, a);
	s.dst = fz_ntop(l->vip, l->v6, v);
	s.proto = l->proto;
	s.sport = l->cport;
	s.dport = l->vport;
	s.seq = (__u32)fz_next(&z->rng);
	s.ack_seq = (__u32)fz_next(&z->rng);
	s.tcp_flags = k < 30 ? 0x10 :
		      k < 60 ? 0x18 :
		      k < 70 ? 0x11 :
		      k < 75 ? 0x04 :
		      k < 80 ? 0x02 :
			       (__u8)fz_below(&z->rng, 256);
	s.ttl = fz_ttl(z);
	if (fz_pct(&z->rng, 10))
		fz_decorate(z, &s);
	if (s.tcp_flags & 0x08 || s.proto == IPPROTO_UDP) {
		s.payload = (const __u8 *)fz_req;
		s.payload_len = sizeof(fz_req) - 1;
	} else {
		fz_payload(z, &s, pl, sizeof(pl));
	}
	*ifindex = E.cli_ifindex;
	return pkt_build(&s, buf, z->max_frame);
}

static size_t fz_gen_reply(struct fz *z, __u8 *buf, int *ifindex)
{
	const struct fz_live *l = fz_pick_live(z, true);
	struct pkt_spec s = { .smac = M_BLUE1, .dmac = M_BE0 };
	char a[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN];
	__u8 pl[FZ_BUF];
	uint32_t k = fz_below(&z->rng, 100);

	if (!l)
		return fz_gen_service(z, buf, ifindex);
	s.v6 = l->v6;
	s.src = fz_ntop(l->backend, l->v6, a);
	s.dst = fz_ntop(l->client, l->v6, c);
	s.proto = l->proto;
	s.sport = l->bport;
	s.dport = l->cport;
	s.seq = (__u32)fz_next(&z->rng);
	s.ack_seq = (__u32)fz_next(&z->rng);
	s.tcp_flags = k < 25 ? 0x12 :
		      k < 45 ? 0x10 :
		      k < 55 ? 0x14 :
		      k < 85 ? 0x18 :
			       (__u8)fz_below(&z->rng, 256);
	s.ttl = fz_ttl(z);
	if (fz_pct(&z->rng, 10))
		fz_decorate(z, &s);
	if ((s.tcp_flags & 0x08 || s.proto == IPPROTO_UDP) &&
	    fz_pct(&z->rng, 80)) {
		const char *rs = fz_resps[fz_below(&z->rng, FZ_N(fz_resps))];

		s.payload = (const __u8 *)rs;
		s.payload_len = strlen(rs);
	} else {
		fz_payload(z, &s, pl, sizeof(pl));
	}
	*ifindex = fz_pct(&z->rng, 90) ? E.be_ifindex : E.cli_ifindex;
	return pkt_build(&s, buf, z->max_frame);
}

/*
 * The quoted packet of an ICMP error, cut somewhere: often at the 8 L4
 * bytes the RFC asks for, sometimes inside the IP header or the ports.
 */
static size_t fz_quote(struct fz *z, struct pkt_spec *q, __u8 *buf)
{
	size_t len = pkt_build_l3(q, buf, 512), hl, cut;
	uint32_t k = fz_below(&z->rng, 100);

	if (!len)
		return 0;
	hl = q->v6 ? 40 : 20 + (size_t)q->ip_opts_len;
	if (k < 45)
		cut = hl + 8;
	else if (k < 60)
		cut = len;
	else if (k < 70)
		cut = hl + 4;
	else if (k < 80)
		cut = hl + fz_below(&z->rng, 4);
	else
		cut = fz_below(&z->rng, (uint32_t)len + 1);
	return cut < len ? cut : len;
}

static size_t fz_gen_icmp(struct fz *z, __u8 *buf, int *ifindex,
			  bool toward_vip)
{
	const struct fz_live *l = fz_pick_live(z, !toward_vip);
	struct pkt_spec s = {}, q = {};
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN],
		e[INET6_ADDRSTRLEN];
	__u8 qb[512];
	uint32_t k = fz_below(&z->rng, 100);
	bool v6;

	if (l && k < 70) {
		/* about a live flow, in its family */
		v6 = l->v6;
		q.v6 = v6;
		q.proto = l->proto;
		if (toward_vip) {
			q.src = fz_ntop(l->vip, v6, a);
			q.dst = fz_ntop(l->client, v6, b);
			q.sport = l->vport;
			q.dport = l->cport;
		} else {
			q.src = fz_ntop(l->client, v6, a);
			q.dst = fz_ntop(l->backend, v6, b);
			q.sport = l->cport;
			q.dport = l->bport;
		}
		if (fz_pct(&z->rng, 10))
			q.proto = q.proto == IPPROTO_TCP ? IPPROTO_UDP :
							   IPPROTO_TCP;
		if (fz_pct(&z->rng, 10))
			q.dport = fz_port(z);
	} else {
		/* about a service without such a flow, or about nothing */
		const struct fz_svc *svc = &fz_svcs[fz_below(&z->rng, FZ_NSVC)];

		v6 = svc->v6;
		q.v6 = v6;
		q.proto = fz_pct(&z->rng, 85) ? svc->key.proto :
						(__u8)fz_below(&z->rng, 256);
		q.src = fz_pct(&z->rng, 70) ? fz_ntop(svc->key.vip, v6, a) :
					      fz_client(z, v6, a);
		q.dst = fz_client(z, v6, b);
		q.sport = fz_pct(&z->rng, 80) ? ntohs(svc->key.port) :
						fz_port(z);
		q.dport = fz_port(z);
		if (!toward_vip) {
			q.src = fz_client(z, v6, a);
			q.dst = v6		    ? BLUE6 :
				fz_pct(&z->rng, 50) ? BLUE4 :
						      GREEN4;
			q.sport = fz_port(z);
			q.dport = fz_pct(&z->rng, 50) ? 8080 : fz_port(z);
		}
	}
	q.tcp_flags = (__u8)fz_below(&z->rng, 256);
	q.seq = (__u32)fz_next(&z->rng);
	q.ttl = 63;
	if (!v6 && fz_pct(&z->rng, 10))
		q.ip_opts_len = 4 * (int)fz_below(&z->rng, 11);
	s.payload_len = fz_quote(z, &q, qb);
	s.payload = qb;

	s.v6 = v6;
	s.proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	if (toward_vip) {
		memcpy(s.smac, (const __u8[])M_CLIENT, 6);
		memcpy(s.dmac, (const __u8[])M_CLI0, 6);
		s.src = v6 ? fz_routers6[fz_below(&z->rng, FZ_N(fz_routers6))] :
			     fz_routers4[fz_below(&z->rng, FZ_N(fz_routers4))];
		/* normally to the VIP the quoted packet came from */
		s.dst = fz_pct(&z->rng, 85) ? q.src : fz_client(z, v6, c);
		*ifindex = E.cli_ifindex;
	} else {
		memcpy(s.smac, (const __u8[])M_BLUE1, 6);
		memcpy(s.dmac, (const __u8[])M_BE0, 6);
		/* the backend itself, or a router on its side */
		s.src = fz_pct(&z->rng, 70) ? q.dst :
			v6		    ? "fd00:1::fe" :
					      "198.18.1.254";
		s.dst = fz_pct(&z->rng, 90) ? q.src : fz_client(z, v6, e);
		*ifindex = E.be_ifindex;
	}
	if (fz_pct(&z->rng, 85)) {
		s.icmp_type = v6 ? (fz_pct(&z->rng, 50) ? 1 : 2) : 3;
		s.icmp_code = (__u8)fz_below(&z->rng, v6 ? 7 : 16);
	} else {
		static const __u8 t4[] = { 0, 8, 11, 4, 5, 12 };
		static const __u8 t6[] = { 3, 4, 128, 129, 135 };

		s.icmp_type = v6 ? t6[fz_below(&z->rng, FZ_N(t6))] :
				   t4[fz_below(&z->rng, FZ_N(t4))];
		if (fz_pct(&z->rng, 30))
			s.icmp_type = (__u8)fz_below(&z->rng, 256);
	}
	s.icmp_rest = fz_pct(&z->rng, 50) ? 1400 : (__u32)fz_next(&z->rng);
	s.ttl = fz_ttl(z);
	if (fz_pct(&z->rng, 10))
		fz_decorate(z, &s);
	return pkt_build(&s, buf, z->max_frame);
}

static size_t fz_gen_other(struct fz *z, __u8 *buf, int *ifindex)
{
	static const __u8 protos[] = {
		IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP,	  47, 50, 51,
		132,	      59,	   IPPROTO_ICMPV6
	};
	struct pkt_spec s = { .smac = M_CLIENT, .dmac = M_CLI0 };
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	__u8 pl[FZ_BUF];

	s.v6 = fz_pct(&z->rng, 50);
	s.src = fz_client(z, s.v6, a);
	s.dst = fz_pct(&z->rng, 30) ?
			(s.v6 ? (fz_pct(&z->rng, 50) ? VIP6 : "fd00::11") :
				(fz_pct(&z->rng, 50) ? VIP4 : "198.18.0.11")) :
			fz_client(z, s.v6, b);
	s.proto = protos[fz_below(&z->rng, FZ_N(protos))];
	s.sport = fz_port(z);
	s.dport = fz_port(z);
	s.tcp_flags = (__u8)fz_below(&z->rng, 256);
	s.icmp_type = fz_pct(&z->rng, 50) ? (s.v6 ? 128 : 8) :
					    (__u8)fz_below(&z->rng, 256);
	fz_decorate(z, &s);
	/* fragments: a later one carries no L4 header */
	if (fz_pct(&z->rng, 20)) {
		if (s.v6) {
			s.next_ext = 1;
			s.ext[0] = 44;
		}
		s.frag_offset = (__u16)fz_below(&z->rng, 0x2000);
		if (s.v6)
			s.frag_offset = (__u16)(s.frag_offset & 0x1fff);
		s.more_frags = fz_pct(&z->rng, 50);
	}
	fz_payload(z, &s, pl, sizeof(pl));
	*ifindex = fz_pct(&z->rng, 50) ? E.cli_ifindex : E.be_ifindex;
	return pkt_build(&s, buf, z->max_frame);
}

/* ---- mutation ------------------------------------------------------------ */

/* Where the headers are, best effort, for field-aware mutations. */
struct fz_lay {
	size_t l3; /* 0: no IP header found */
	bool v6;
	size_t l4; /* 0: unknown */
	__u8 proto;
	size_t exts[12]; /* offsets of IPv6 extension headers */
	int nexts;
	size_t qip; /* quoted IP header of an ICMP message, 0 if none */
	size_t ql4;
};

static void fz_layout(const __u8 *d, size_t n, struct fz_lay *y)
{
	size_t off = 14;
	__u16 t;
	__u8 nh;
	int i;

	memset(y, 0, sizeof(*y));
	if (n < 14)
		return;
	t = fz_get16(d + 12);
	for (i = 0; i < 5 && (fz_is_vlan(t) || t == 0x9100); i++) {
		if (off + 4 > n)
			return;
		t = fz_get16(d + off + 2);
		off += 4;
	}
	if (t == ETH_P_IP && off + 20 <= n) {
		y->l3 = off;
		y->proto = d[off + 9];
		if ((d[off] & 15) >= 5 && off + (d[off] & 15) * 4u <= n)
			y->l4 = off + (d[off] & 15) * 4u;
	} else if (t == ETH_P_IPV6 && off + 40 <= n) {
		y->l3 = off;
		y->v6 = true;
		nh = d[off + 6];
		off += 40;
		while (fz_is_ext(nh) && y->nexts < 12 && off + 8 <= n) {
			y->exts[y->nexts++] = off;
			nh = d[off];
			off += nh == IPPROTO_FRAGMENT ? 8 :
							(d[off + 1] + 1u) * 8;
		}
		y->proto = nh;
		if (!fz_is_ext(nh) && off <= n)
			y->l4 = off;
	}
	if (y->l4 && (y->proto == IPPROTO_ICMP || y->proto == IPPROTO_ICMPV6) &&
	    y->l4 + 8 + 20 <= n) {
		y->qip = y->l4 + 8;
		if (d[y->qip] >> 4 == 6 && y->qip + 40 <= n)
			y->ql4 = y->qip + 40;
		else if (d[y->qip] >> 4 == 4 && (d[y->qip] & 15) >= 5)
			y->ql4 = y->qip + (d[y->qip] & 15) * 4u;
		if (y->ql4 + 4 > n)
			y->ql4 = 0;
	}
}

static void fz_set_addr(struct fz *z, __u8 *p, bool v6)
{
	char buf[INET6_ADDRSTRLEN];
	const char *s;
	__u8 a[16];

	if (z->nlive && fz_pct(&z->rng, 40)) {
		const struct fz_live *l =
			&z->live[fz_below(&z->rng, (uint32_t)z->nlive)];
		const __u8 *src = fz_pct(&z->rng, 33) ? l->client :
				  fz_pct(&z->rng, 50) ? l->vip :
							l->backend;

		memcpy(p, v6 ? src : src + 12, v6 ? 16 : 4);
		return;
	}
	s = fz_pct(&z->rng, 20) ?
		    fz_ntop(fz_svcs[fz_below(&z->rng, FZ_NSVC)].key.vip, v6,
			    buf) :
		    fz_client(z, v6, buf);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, s, a) == 1)
		memcpy(p, a, v6 ? 16 : 4);
}

static __u16 fz_len_value(struct fz *z, __u16 exact)
{
	switch (fz_below(&z->rng, 8)) {
	case 0:
		return 0;
	case 1:
		return 0xffff;
	case 2:
		return (__u16)(exact + 1 + fz_below(&z->rng, 8));
	case 3:
		return (__u16)(exact - 1 - fz_below(&z->rng, 8));
	case 4:
		return (__u16)fz_below(&z->rng, 65536);
	default:
		return exact;
	}
}

static size_t fz_insert(struct fz *z, __u8 *d, size_t n, size_t at,
			const __u8 *bytes, size_t k)
{
	if (n + k > z->max_frame || at > n)
		return n;
	memmove(d + at + k, d + at, n - at);
	memcpy(d + at, bytes, k);
	return n + k;
}

/* A chain of IPv6 extension headers, loops of hop-by-hop and dst-opts. */
static size_t fz_insert_exts(struct fz *z, __u8 *d, size_t n,
			     const struct fz_lay *y)
{
	static const __u8 types[] = { 0, 60, 43, 44 };
	__u8 chain[12 * 32];
	size_t k = 0, cnt = 1 + fz_below(&z->rng, 10), i, len;
	bool loop = fz_pct(&z->rng, 40);
	__u8 first = 0, orig;
	size_t prev = 0;

	if (!y->l3 || !y->v6)
		return n;
	orig = d[y->l3 + 6];
	for (i = 0; i < cnt; i++) {
		__u8 t = loop ? (i % 2 ? 60 : 0) :
				types[fz_below(&z->rng, FZ_N(types))];

		len = t == 44 ? 8 : 8 * (1 + fz_below(&z->rng, 3));
		memset(chain + k, 0, len);
		chain[k + 1] = t == 44 ? 0 : (__u8)(len / 8 - 1);
		if (t == 0 || t == 60) {
			chain[k + 2] = 1; /* PadN over the rest */
			chain[k + 3] = (__u8)(len - 4);
		}
		if (t == 44 && fz_pct(&z->rng, 30))
			fz_put16(chain + k + 2,
				 (__u16)(fz_below(&z->rng, 8192) << 3 |
					 fz_below(&z->rng, 2)));
		if (i == 0)
			first = t;
		else
			chain[prev] = t;
		prev = k;
		k += len;
	}
	chain[prev] = orig;
	if (n + k > z->max_frame)
		return n;
	n = fz_insert(z, d, n, y->l3 + 40, chain, k);
	d[y->l3 + 6] = first;
	if (fz_pct(&z->rng, 85))
		fz_put16(d + y->l3 + 4, (__u16)(fz_get16(d + y->l3 + 4) + k));
	return n;
}

static size_t fz_mutate_field(struct fz *z, __u8 *d, size_t n,
			      const struct fz_lay *y)
{
	static const __u8 nexts[] = { 0, 43, 44, 60, 6, 17, 58, 59, 51, 50, 1 };
	static const __u16 types[] = { ETH_P_IP,     ETH_P_IPV6, ETH_P_8021Q,
				       ETH_P_8021AD, 0x9100,	 0x0806 };
	size_t l3 = y->l3, l4 = y->l4;
	uint32_t f = fz_below(&z->rng, 16);

	if (!l3) {
		fz_put16(d + 12, types[fz_below(&z->rng, FZ_N(types))]);
		return n;
	}
	switch (f) {
	case 0: /* version / IHL */
		if (y->v6)
			d[l3] = (__u8)(fz_below(&z->rng, 16) << 4 |
				       (d[l3] & 15));
		else
			d[l3] = (__u8)((fz_pct(&z->rng, 80) ?
						4 :
						fz_below(&z->rng, 16))
					       << 4 |
				       fz_below(&z->rng, 16));
		break;
	case 1: /* total length / payload length */
		if (y->v6)
			fz_put16(d + l3 + 4,
				 fz_len_value(z, (__u16)(n - l3 - 40)));
		else
			fz_put16(d + l3 + 2, fz_len_value(z, (__u16)(n - l3)));
		break;
	case 2: /* fragment fields */
		if (y->v6 && y->nexts) {
			size_t e =
				y->exts[fz_below(&z->rng, (uint32_t)y->nexts)];

			fz_put16(d + e + 2, (__u16)fz_below(&z->rng, 65536));
		} else if (!y->v6) {
			fz_put16(d + l3 + 6,
				 fz_pct(&z->rng, 50) ?
					 0x2000 :
					 (__u16)fz_below(&z->rng, 65536));
		}
		break;
	case 3: /* TTL / hop limit */
		d[l3 + (y->v6 ? 7 : 8)] = fz_ttl(z);
		if (fz_pct(&z->rng, 50))
			d[l3 + (y->v6 ? 7 : 8)] = (__u8)fz_below(&z->rng, 3);
		break;
	case 4: /* protocol / next header */
		d[l3 + (y->v6 ? 6 : 9)] = nexts[fz_below(&z->rng, FZ_N(nexts))];
		break;
	case 5: /* an extension header's next header or length */
		if (y->nexts) {
			size_t e =
				y->exts[fz_below(&z->rng, (uint32_t)y->nexts)];

			if (fz_pct(&z->rng, 50))
				d[e] = nexts[fz_below(&z->rng, FZ_N(nexts))];
			else
				d[e + 1] = (__u8)fz_below(&z->rng, 256);
		}
		break;
	case 6: /* source or destination address */
		fz_set_addr(z,
			    d + l3 + (y->v6 ? 8 : 12) +
				    (fz_pct(&z->rng, 50) ? (y->v6 ? 16 : 4) :
							   0),
			    y->v6);
		break;
	case 7: /* ports */
		if (l4 && l4 + 4 <= n) {
			__u16 p = fz_port(z);

			if (fz_pct(&z->rng, 20) && z->nlive) {
				const struct fz_live *l = &z->live[fz_below(
					&z->rng, (uint32_t)z->nlive)];
				p = fz_pct(&z->rng, 50) ? l->vport : l->bport;
			}
			fz_put16(d + l4 + (fz_pct(&z->rng, 50) ? 2 : 0), p);
		}
		break;
	case 8: /* TCP flags: every combination */
		if (l4 && l4 + 14 <= n && y->proto == IPPROTO_TCP)
			d[l4 + 13] = (__u8)fz_below(&z->rng, 256);
		break;
	case 9: /* TCP data offset */
		if (l4 && l4 + 13 <= n && y->proto == IPPROTO_TCP)
			d[l4 + 12] = (__u8)(fz_below(&z->rng, 16) << 4);
		break;
	case 10: /* UDP length, or no checksum */
		if (l4 && l4 + 8 <= n && y->proto == IPPROTO_UDP) {
			if (fz_pct(&z->rng, 50))
				fz_put16(d + l4 + 6, 0);
			else
				fz_put16(d + l4 + 4,
					 fz_len_value(z, (__u16)(n - l4)));
		}
		break;
	case 11: /* ICMP type and code */
		if (l4 && l4 + 2 <= n &&
		    (y->proto == IPPROTO_ICMP || y->proto == IPPROTO_ICMPV6)) {
			d[l4] = fz_pct(&z->rng, 50) ?
					(y->v6 ? 1 : 3) :
					(__u8)fz_below(&z->rng, 256);
			d[l4 + 1] = (__u8)fz_below(&z->rng, 256);
		}
		break;
	case 12: /* the quoted header: version, IHL, protocol */
		if (y->qip) {
			if (fz_pct(&z->rng, 50))
				d[y->qip] = (__u8)fz_below(&z->rng, 256);
			else
				d[y->qip + (d[y->qip] >> 4 == 6 ? 6 : 9)] =
					nexts[fz_below(&z->rng, FZ_N(nexts))];
		}
		break;
	case 13: /* the quoted addresses and ports */
		if (y->qip && y->ql4) {
			bool q6 = d[y->qip] >> 4 == 6;

			if (fz_pct(&z->rng, 50))
				fz_set_addr(z,
					    d + y->qip + (q6 ? 8 : 12) +
						    (fz_pct(&z->rng, 50) ?
							     (q6 ? 16 : 4) :
							     0),
					    q6);
			else
				fz_put16(d + y->ql4 +
						 (fz_pct(&z->rng, 50) ? 2 : 0),
					 fz_port(z));
		}
		break;
	case 14: /* ethertype or a tag's TPID */
		fz_put16(d + 12, types[fz_below(&z->rng, FZ_N(types))]);
		break;
	default: /* IPv4 options via IHL, lengths kept */
		if (!y->v6) {
			static const __u8 nops[40] = { 1, 1, 1, 1, 1, 1, 1, 1,
						       1, 1, 1, 1, 1, 1, 1, 1,
						       1, 1, 1, 1, 1, 1, 1, 1,
						       1, 1, 1, 1, 1, 1, 1, 1,
						       1, 1, 1, 1, 1, 1, 1, 0 };
			size_t k = 4 * (1 + fz_below(&z->rng, 10)),
			       hl = (d[l3] & 15) * 4u;

			if (hl < 20 || hl + k > 60 || l3 + hl > n)
				break;
			n = fz_insert(z, d, n, l3 + hl, nops + 40 - k, k);
			d[l3] = (__u8)((d[l3] & 0xf0) | (hl + k) / 4);
			fz_put16(d + l3 + 2, (__u16)(fz_get16(d + l3 + 2) + k));
		}
		break;
	}
	return n;
}

/* Recompute checksums where the structure allows, so deep paths see them. */
static void fz_fix_checksums(__u8 *d, size_t n)
{
	const __u8 *src, *dst;
	struct fz_lay y;
	size_t hl, end, seg;
	__u16 c;

	fz_layout(d, n, &y);
	if (!y.l3)
		return;
	if (!y.v6) {
		hl = (d[y.l3] & 15) * 4u;
		if (hl < 20 || y.l3 + hl > n)
			return;
		end = y.l3 + fz_get16(d + y.l3 + 2);
		fz_put16(d + y.l3 + 10, 0);
		fz_put16(d + y.l3 + 10, pkt_csum(d + y.l3, hl, 0));
	} else {
		end = y.l3 + 40 + fz_get16(d + y.l3 + 4);
	}
	if (!y.l4 || end > n || end < y.l4)
		return;
	seg = end - y.l4;
	src = d + y.l3 + (y.v6 ? 8 : 12);
	dst = d + y.l3 + (y.v6 ? 24 : 16);
	if (y.qip && y.qip + 20 <= end && d[y.qip] >> 4 == 4) {
		size_t qhl = (d[y.qip] & 15) * 4u;

		if (qhl >= 20 && y.qip + qhl <= end) {
			fz_put16(d + y.qip + 10, 0);
			fz_put16(d + y.qip + 10, pkt_csum(d + y.qip, qhl, 0));
		}
	}
	switch (y.proto) {
	case IPPROTO_TCP:
		if (seg < 20)
			return;
		fz_put16(d + y.l4 + 16, 0);
		c = pkt_csum(d + y.l4, seg,
			     pkt_pseudo_sum(y.v6, src, dst, IPPROTO_TCP,
					    (__u32)seg));
		fz_put16(d + y.l4 + 16, c);
		break;
	case IPPROTO_UDP:
		if (seg < 8)
			return;
		if (!y.v6 && !fz_get16(d + y.l4 + 6))
			return; /* "no checksum" stays so */
		fz_put16(d + y.l4 + 4, (__u16)seg);
		fz_put16(d + y.l4 + 6, 0);
		c = pkt_csum(d + y.l4, seg,
			     pkt_pseudo_sum(y.v6, src, dst, IPPROTO_UDP,
					    (__u32)seg));
		fz_put16(d + y.l4 + 6, c ? c : 0xffff);
		break;
	case IPPROTO_ICMP:
		if (y.v6 || seg < 4)
			return;
		fz_put16(d + y.l4 + 2, 0);
		fz_put16(d + y.l4 + 2, pkt_csum(d + y.l4, seg, 0));
		break;
	case IPPROTO_ICMPV6:
		if (!y.v6 || seg < 4)
			return;
		fz_put16(d + y.l4 + 2, 0);
		c = pkt_csum(d + y.l4, seg,
			     pkt_pseudo_sum(true, src, dst, IPPROTO_ICMPV6,
					    (__u32)seg));
		fz_put16(d + y.l4 + 2, c);
		break;
	}
}

static size_t fz_mutate(struct fz *z, __u8 *d, size_t n)
{
	static const __u8 interesting[] = { 0,	  1,	0x7f, 0x80, 0xff,
					    0x40, 0x45, 0x60, 0x06, 0x11 };
	struct fz_lay y;
	uint32_t ops = 1 + fz_below(&z->rng, 4), i;
	bool fix_lengths = fz_pct(&z->rng, 30);

	for (i = 0; i < ops; i++) {
		uint32_t k = fz_below(&z->rng, 100);
		size_t pos;

		fz_layout(d, n, &y);
		pos = fz_pct(&z->rng, 70) ?
			      fz_below(&z->rng, (uint32_t)(n < 128 ? n : 128)) :
			      fz_below(&z->rng, (uint32_t)n);
		if (k < 12) {
			d[pos] ^= (__u8)(1u << fz_below(&z->rng, 8));
		} else if (k < 20) {
			d[pos] = interesting[fz_below(&z->rng,
						      FZ_N(interesting))];
		} else if (k < 60) {
			n = fz_mutate_field(z, d, n, &y);
		} else if (k < 70) {
			/* truncate: anywhere, or at a header boundary */
			size_t cut = 14 + fz_below(&z->rng, (uint32_t)(n - 13));

			if (fz_pct(&z->rng, 50) && y.l3) {
				size_t marks[] = { y.l3,      y.l3 + 20,
						   y.l3 + 40, y.l4,
						   y.l4 + 4,  y.l4 + 8,
						   y.l4 + 20, y.qip + 20,
						   y.ql4 + 2, y.ql4 + 4 };
				cut = marks[fz_below(&z->rng, FZ_N(marks))] +
				      fz_below(&z->rng, 2);
			}
			if (cut >= 14 && cut < n)
				n = cut;
		} else if (k < 76) {
			/* extend: trailing padding or garbage */
			size_t add = 1 + fz_below(&z->rng, 64), j;
			bool zero = fz_pct(&z->rng, 50);

			if (n + add > z->max_frame)
				add = z->max_frame - n;
			for (j = 0; j < add; j++)
				d[n + j] = zero ? 0 :
						  (__u8)fz_below(&z->rng, 256);
			n += add;
		} else if (k < 84) {
			/* a VLAN tag more (up to 4), or one less */
			static const __u16 tp[] = { 0x8100, 0x88a8, 0x9100 };
			__u8 tag[4];

			if (fz_pct(&z->rng, 80)) {
				fz_put16(tag, tp[fz_below(&z->rng, 3)]);
				fz_put16(tag + 2,
					 (__u16)fz_below(&z->rng, 65536));
				n = fz_insert(z, d, n, 12, tag, 4);
			} else if (n >= 18 && fz_is_vlan(fz_get16(d + 12))) {
				memmove(d + 12, d + 16, n - 16);
				n -= 4;
			}
		} else if (k < 92) {
			n = fz_insert_exts(z, d, n, &y);
		} else {
			/* move the tuple onto live state */
			if (z->nlive && y.l3) {
				fz_set_addr(z, d + y.l3 + (y.v6 ? 8 : 12),
					    y.v6);
				fz_set_addr(z, d + y.l3 + (y.v6 ? 24 : 16),
					    y.v6);
			}
		}
	}
	if (fix_lengths) {
		fz_layout(d, n, &y);
		if (y.l3 && y.v6)
			fz_put16(d + y.l3 + 4, (__u16)(n - y.l3 - 40));
		else if (y.l3)
			fz_put16(d + y.l3 + 2, (__u16)(n - y.l3));
	}
	if (fz_pct(&z->rng, 65))
		fz_fix_checksums(d, n);
	return n;
}

static size_t fz_generate(struct fz *z, int *ifindex)
{
	uint32_t k = fz_below(&z->rng, 100);
	__u8 *d = z->in;
	size_t n;

	*ifindex = E.cli_ifindex;
	if (k < 6)
		z->kind = FZG_RANDOM;
	else if (k < 36)
		z->kind = FZG_SERVICE;
	else if (k < 52)
		z->kind = FZG_LIVE;
	else if (k < 66)
		z->kind = FZG_REPLY;
	else if (k < 77)
		z->kind = FZG_ICMP_VIP;
	else if (k < 87)
		z->kind = FZG_ICMP_BACKEND;
	else
		z->kind = FZG_OTHER;
	switch (z->kind) {
	case FZG_RANDOM:
		return fz_gen_random(z, d);
	case FZG_SERVICE:
		n = fz_gen_service(z, d, ifindex);
		break;
	case FZG_LIVE:
		n = fz_gen_live(z, d, ifindex);
		break;
	case FZG_REPLY:
		n = fz_gen_reply(z, d, ifindex);
		break;
	case FZG_ICMP_VIP:
		n = fz_gen_icmp(z, d, ifindex, true);
		break;
	case FZG_ICMP_BACKEND:
		n = fz_gen_icmp(z, d, ifindex, false);
		break;
	default:
		n = fz_gen_other(z, d, ifindex);
		break;
	}
	if (n < 14)
		return fz_gen_random(z, d);
	if (fz_pct(&z->rng, 55)) {
		z->res->mutated++;
		n = fz_mutate(z, d, n);
	}
	return n;
}

/* ---- setup and the run -------------------------------------------------- */

/*
 * The fixture services, then more to chew on: splits on most services,
 * affinities other than the 5-tuple, four weighted backends in one
 * pool, one pool mixing resolved, unresolved and blackholed backends,
 * segments, and every new flow sampled (events are checked one by one).
 */
static int fz_world(void)
{
	static const char *const nat4_blue[] = { BLUE4 ":8080", BLUE4B ":8080",
						 BLUE4C ":8080", BLUE4D ":8080",
						 NULL };
	static const __u16 nat4_w[] = { 1, 3, 1, 2 };
	static const char *const nat4_green[] = { GREEN4 ":8080",
						  GREEN4B ":8080", NULL };
	static const char *const udp4_blue[] = { BLUE4 ":5353",
						 UNRESOLVED4 ":5353",
						 BLACKHOLE4 ":5353", NULL };
	static const __u32 splits[FZ_NSVC] = { 300000, 500000, 250000,
					       100000, 0,      0,
					       0,      0,      0 };
	struct sluice_config cfg = { .seed = E.seed, .sample_every = 1 };
	size_t i;
	int c;

	if (fixture_services() || fz_world_routes())
		return -1;
	if (env_pool(&E, V_NAT4, SLUICE_BLUE, nat4_blue, nat4_w) ||
	    env_pool(&E, V_NAT4, SLUICE_GREEN, nat4_green, NULL) ||
	    env_pool(&E, V_UDP4, SLUICE_BLUE, udp4_blue, NULL) ||
	    sluice_config_write(&E.m, &cfg))
		return -1;
	for (i = 0; i < FZ_NSEG; i++) {
		struct fz_segment *g = &fz_segs[i];

		if (sluice_parse_prefix(g->prefix, g->addr, &g->plen, NULL) ||
		    sluice_segment_write(&E.m, g->svc, g->addr, g->plen,
					 g->colour))
			return -1;
	}
	for (i = 0; i < FZ_NSVC; i++) {
		struct fz_svc *s = &fz_svcs[i];
		size_t j;

		if (env_service_get(&E, s->vip, &s->key, &s->val))
			return -1;
		s->val.green_ppm = splits[i];
		if (i == SVC_NAT6 || i == SVC_DSR4)
			s->val.affinity = SLUICE_AFFINITY_CLIENT;
		if (i == SVC_UDP4)
			s->val.affinity = SLUICE_AFFINITY_PREFIX;
		for (j = 0; j < FZ_NSEG; j++)
			if (fz_segs[j].svc == i)
				s->val.flags |= SLUICE_SVC_F_SEGMENTS;
		if (bpf_map_update_elem(E.m.services, &s->key, &s->val,
					BPF_ANY))
			return -1;
		s->v6 = !fz_is_mapped(s->key.vip);
		for (c = 0; c < SLUICE_COLOURS; c++) {
			free(s->pool[c]);
			s->pool[c] = calloc(1, sizeof(struct sluice_pool));
			if (!s->pool[c])
				return -1;
			if (sluice_pool_read(&E.m, (__u32)i, (__u8)c,
					     s->pool[c])) {
				free(s->pool[c]);
				s->pool[c] = NULL;
			}
		}
	}
	return 0;
}

static void fz_world_free(void)
{
	int i, c;

	for (i = 0; i < FZ_NSVC; i++)
		for (c = 0; c < SLUICE_COLOURS; c++) {
			free(fz_svcs[i].pool[c]);
			fz_svcs[i].pool[c] = NULL;
		}
}

static int fz_shadow_init(struct fz *z)
{
	int i, c, j;

	memset(&z->shadow, 0, sizeof(z->shadow));
	for (i = 0; i < FZ_NSVC; i++)
		for (c = 0; c < SLUICE_COLOURS; c++) {
			const struct sluice_pool *p = fz_svcs[i].pool[c];

			for (j = 0; p && j < SLUICE_MAX_BACKENDS_PER_POOL;
			     j++) {
				if (!(p->backends[j].flags & SLUICE_BE_F_USED))
					continue;
				if (z->shadow.nb == FZ_MAXBE)
					return -1;
				z->shadow.b[z->shadow.nb++].id =
					p->backends[j].id;
			}
		}
	return 0;
}

/*
 * The largest frame the program sees whole. BPF_PROG_TEST_RUN takes
 * bigger ones but puts the rest in fragments, past data_end, which no
 * driver does for a program without frags support. Probed with an IPv4
 * TCP frame to no service whose total length fills the frame: seen
 * whole it passes as not_service, cut as truncated.
 */
static size_t fz_probe_max(struct fz *z)
{
	static __u8 in[FZ_BUF], out[FZ_BUF];
	struct pkt_spec s = { .smac = M_CLIENT,
			      .dmac = M_CLI0,
			      .src = CLIENT4,
			      .dst = "10.255.255.1",
			      .proto = IPPROTO_TCP,
			      .sport = 1,
			      .dport = 2,
			      .tcp_flags = TCPF_ACK };
	struct sluice_global_stats g;
	size_t lo = 1514, hi = FZ_BUF - 1, base = 54;

	s.payload_len = lo - base;
	if (pkt_build(&s, in, sizeof(in)) != lo)
		return 0;
	while (lo < hi) {
		size_t mid = (lo + hi + 1) / 2;
		__u32 olen = sizeof(out);
		__u64 before;

		s.payload_len = mid - base;
		if (pkt_build(&s, in, sizeof(in)) != mid ||
		    sluice_global_stats_read(&E.m, &g))
			return 0;
		before = g.pass[SLUICE_PASS_NOT_SERVICE];
		if (env_run(&E, in, mid, out, &olen, E.cli_ifindex) !=
			    XDP_PASS ||
		    sluice_global_stats_read(&E.m, &g))
			return 0;
		z->res->verdicts[XDP_PASS]++;
		if (g.pass[SLUICE_PASS_NOT_SERVICE] > before) {
			z->shadow.g.pass[SLUICE_PASS_NOT_SERVICE]++;
			lo = mid;
		} else {
			z->shadow.g.pass[SLUICE_PASS_TRUNCATED]++;
			hi = mid - 1;
		}
	}
	return lo;
}

static double fz_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One frame: model, run, check, bookkeeping. */
static int fz_one(struct fz *z, int ifindex)
{
	struct fz_result *res = z->res;
	struct fz_ref r;
	__u32 olen = FZ_BUF;
	unsigned int known;
	int verdict, i;

	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	z->now = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	fz_parse(z->in, z->in_len, &r);
	z->in_dev = ifindex == E.be_ifindex;
	fz_model(z, &r);
	verdict = env_run(&E, z->in, z->in_len, z->out, &olen, ifindex);
	fz_xmit_settle(z, &r, verdict, z->out);
	res->fail_ifindex = ifindex;
	if (verdict < 0)
		return fz_fail(z, "invariant 1 (test_run)",
			       "BPF_PROG_TEST_RUN failed on a %zu-byte frame",
			       z->in_len);
	if (fz_check(z, &r, verdict, olen)) {
		memcpy(res->fail_out, z->out, olen);
		res->fail_out_len = olen;
		return -1;
	}
	if (verdict <= XDP_REDIRECT)
		res->verdicts[verdict]++;
	if (verdict == XDP_PASS && z->x.reason >= 0 &&
	    z->x.reason < SLUICE_PASS_MAX) {
		z->shadow.g.pass[z->x.reason]++;
		res->pass[z->x.reason]++;
	}
	res->paths[z->x.path]++;
	res->nh_hits += z->x.nh_hit;
	res->kinds[z->kind]++;
	if (z->x.path == FZP_STEER && r.proto == IPPROTO_TCP)
		res->flags_steered[r.tcp_flags / 64] |= 1ull
							<< (r.tcp_flags % 64);
	if (r.rc != SLUICE_PASS_TRUNCATED && r.vlans <= 2)
		res->vlan_depth[r.rc == SLUICE_PASS_VLAN_DEPTH ? 3 : r.vlans]++;
	known = fz_known_bugs(z);
	for (i = 0; i < FZK_MAX; i++) {
		struct fz_example *e = &res->ex[i];

		if (!(known & (1u << i)) || res->known[i]++)
			continue;
		e->frame = z->frame;
		e->ifindex = ifindex;
		e->verdict = verdict;
		e->want_verdict = z->x.verdict;
		e->want_reason = z->x.reason;
		e->len = z->in_len;
		memcpy(e->in, z->in, z->in_len);
		memcpy(e->out, z->out, z->in_len);
	}
	return 0;
}

static void fz_count_ext_chain(struct fz *z)
{
	struct fz_lay y;

	fz_layout(z->in, z->in_len, &y);
	if (y.l3 && y.v6)
		z->res->ext_chain[y.nexts < 11 ? y.nexts : 11]++;
}

/* Valid SYNs (and replies) first, so the fuzz starts on real state. */
static int fz_establish(struct fz *z)
{
	static const int svcs[] = { SVC_NAT4, SVC_NAT6, SVC_DSR4,   SVC_DSR6,
				    SVC_UDP4, SVC_UDP6, SVC_NONEIGH };
	char a[INET6_ADDRSTRLEN], v[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	size_t i;
	int k;

	for (i = 0; i < FZ_N(svcs); i++) {
		const struct fz_svc *s = &fz_svcs[svcs[i]];

		for (k = 0; k < 8; k++) {
			struct pkt_spec p = { .smac = M_CLIENT,
					      .dmac = M_CLI0 };
			const struct fz_live *l;

			p.v6 = s->v6;
			p.src = k < 4 ? (s->v6 ? CLIENT6 : CLIENT4) :
					fz_client(z, s->v6, a);
			p.dst = fz_ntop(s->key.vip, s->v6, v);
			p.proto = s->key.proto;
			p.sport = (__u16)(41000 + k);
			p.dport = ntohs(s->key.port);
			p.tcp_flags = TCPF_SYN;
			z->in_len = pkt_build(&p, z->in, z->max_frame);
			if (!z->in_len || fz_one(z, E.cli_ifindex))
				return -1;
			if (z->x.path != FZP_STEER || !z->nlive)
				continue;
			l = &z->live[(z->live_next + FZ_LIVE - 1) % FZ_LIVE];
			if (!l->nat)
				continue;
			/* the backend answers: handshake measured */
			p = (struct pkt_spec){ .smac = M_BLUE1, .dmac = M_BE0 };
			p.v6 = l->v6;
			p.src = fz_ntop(l->backend, l->v6, b);
			p.dst = fz_ntop(l->client, l->v6, a);
			p.proto = l->proto;
			p.sport = l->bport;
			p.dport = l->cport;
			p.tcp_flags = 0x12;
			z->in_len = pkt_build(&p, z->in, z->max_frame);
			if (!z->in_len || fz_one(z, E.be_ifindex))
				return -1;
		}
	}
	return 0;
}

/*
 * The run. env_netns() must have been called; the program is loaded
 * fresh here. Returns 0, or -1 with res->failed and the details set.
 */
static int fz_run(const struct fz_opts *o, struct fz_result *res)
{
	struct fz *z;
	double t0 = 0, last;
	uint64_t i;
	int ifindex, rc = -1;
	cpu_set_t cpus;

	memset(res, 0, sizeof(*res));
	z = calloc(1, sizeof(*z));
	if (!z)
		return -1;
	z->o = *o;
	/*
	 * At most 3 events a frame (new flow, error, drop): 4096 frames fill
	 * under a quarter of the 1 MiB ring, so none is ever lost.
	 */
	if (!z->o.check_every || z->o.check_every > 4096)
		z->o.check_every = z->o.check_every ? 4096 : 1;
	z->res = res;
	fz_seed(&z->rng, o->seed);

	/* One CPU: per-CPU LRU lists then evolve the same on a replay. */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	/* cli0's MTU above be0's: clients' packets can be too big */
	if (system("ip link set cli0 mtu 4000") != 0 || env_load(&E, 0) ||
	    fz_world() || fz_shadow_init(z)) {
		snprintf(res->fail_msg, sizeof(res->fail_msg),
			 "setup failed: load, services or pools");
		res->failed = 1;
		goto out;
	}
	z->rb = ring_buffer__new(E.m.events, fz_on_event, z, NULL);
	z->max_frame = fz_probe_max(z);
	if (!z->rb || z->max_frame < 1514) {
		snprintf(res->fail_msg, sizeof(res->fail_msg),
			 "setup failed: ring buffer or frame size (%zu)",
			 z->max_frame);
		res->failed = 1;
		goto out;
	}
	if (fz_establish(z) || fz_checkpoint(z))
		goto out;

	t0 = last = fz_now();
	for (i = 0; i < o->frames; i++) {
		z->frame = i;
		z->in_len = fz_generate(z, &ifindex);
		fz_count_ext_chain(z);
		if (fz_one(z, ifindex))
			goto out;
		res->frames = i + 1;
		if ((i + 1) % z->o.check_every == 0 && fz_checkpoint(z))
			goto out;
		if (o->stop_at && i >= o->stop_at)
			break;
		if (o->progress_secs > 0 && (i & 4095) == 0 &&
		    fz_now() - last >= o->progress_secs) {
			last = fz_now();
			fprintf(stderr, "# %" PRIu64 " frames, %.0f/s\n", i + 1,
				(double)(i + 1) / (last - t0));
		}
	}
	if (fz_checkpoint(z))
		goto out;
	res->secs = fz_now() - t0;
	rc = 0;
out:
	if (!res->secs && t0 > 0)
		res->secs = fz_now() - t0;
	if (z->rb)
		ring_buffer__free(z->rb);
	fz_world_free();
	env_unload(&E);
	free(z);
	return rc;
}

/*
 * FUZZ_STRICT: "1" makes every known bug fail the run, a bug's name
 * (or several, comma-separated) only those.
 */
static unsigned int fz_strict_from_env(void)
{
	const char *s = getenv("FUZZ_STRICT");
	unsigned int m = 0;
	int i;

	if (!s || !*s || !strcmp(s, "0"))
		return 0;
	if (!strcmp(s, "1"))
		return (1u << FZK_MAX) - 1;
	for (i = 0; i < FZK_MAX; i++)
		if (strstr(s, fz_known_names[i]))
			m |= 1u << i;
	return m;
}

static void fz_print_summary(FILE *f, const struct fz_opts *o,
			     const struct fz_result *r)
{
	int i, n = 0;

	fprintf(f,
		"# seed 0x%" PRIx64 ": %" PRIu64
		" frames in %.2f s (%.0f frames/s), %" PRIu64 " mutated\n",
		o->seed, r->frames, r->secs,
		r->secs > 0 ? (double)r->frames / r->secs : 0.0, r->mutated);
	fprintf(f,
		"# verdicts: pass %" PRIu64 ", drop %" PRIu64
		", too big (tx) %" PRIu64 ", redirect %" PRIu64 " (%" PRIu64
		" by a cached next hop); %" PRIu64
		" rewritten frames had their checksums asserted; %" PRIu64
		" events matched\n",
		r->verdicts[XDP_PASS], r->verdicts[XDP_DROP],
		r->verdicts[XDP_TX], r->verdicts[XDP_REDIRECT], r->nh_hits,
		r->csum_checked,
		r->events);
	fprintf(f, "# paths:");
	for (i = 0; i < FZP_MAX; i++)
		fprintf(f, " %s %" PRIu64, fz_path_names[i], r->paths[i]);
	fprintf(f, "\n# pass reasons:");
	for (i = 0; i < SLUICE_PASS_MAX; i++)
		fprintf(f, " %s %" PRIu64, fz_pass_names[i], r->pass[i]);
	fprintf(f, "\n# generators:");
	for (i = 0; i < FZG_MAX; i++)
		fprintf(f, " [%s] %" PRIu64, fz_gen_names[i], r->kinds[i]);
	for (i = 0; i < 4; i++)
		n += __builtin_popcountll(r->flags_steered[i]);
	fprintf(f,
		"\n# TCP flag combinations steered: %d of 256; VLAN depth 0/1/2/>2: %" PRIu64
		"/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "\n",
		n, r->vlan_depth[0], r->vlan_depth[1], r->vlan_depth[2],
		r->vlan_depth[3]);
	fprintf(f, "# IPv6 extension-header chains by length 0..11+:");
	for (i = 0; i < 12; i++)
		fprintf(f, " %" PRIu64, r->ext_chain[i]);
	fprintf(f, "\n");
	for (i = 0; i < FZK_MAX; i++)
		if (r->known[i])
			fprintf(f,
				"# KNOWN BUG %s: hit by %" PRIu64
				" frames%s%s\n",
				fz_known_names[i], r->known[i],
				o->strict & (1u << i) ?
					"" :
					" (reported; FUZZ_STRICT=",
				o->strict & (1u << i) ? "" : "1 fails on it)");
}

/* The first frame of each known bug, in and out, as hex. */
static void fz_print_examples(FILE *f, const struct fz_result *r)
{
	static char hex[2 * FZ_BUF + 1];
	int i;

	for (i = 0; i < FZK_MAX; i++) {
		const struct fz_example *e = &r->ex[i];

		if (!r->known[i])
			continue;
		fprintf(f,
			"# %s: first at frame %" PRIu64
			", ingress %s, verdict %s\n",
			fz_known_names[i], e->frame,
			e->ifindex == E.be_ifindex ? "be0" : "cli0",
			fz_verdict_name(e->verdict));
		fz_hex(hex, sizeof(hex), e->in, e->len);
		fprintf(f, "#   in  %s\n", hex);
		fz_hex(hex, sizeof(hex), e->out, e->len);
		fprintf(f, "#   out %s\n", hex);
	}
}

static void fz_print_failure(FILE *f, const struct fz_opts *o,
			     const struct fz_result *r)
{
	static char hex[2 * FZ_BUF + 1];

	fprintf(f,
		"# FAILED %s at frame %" PRIu64 " (seed 0x%" PRIx64 "): %s\n",
		r->fail_what, r->fail_frame, o->seed, r->fail_msg);
	if (!r->fail_in_len)
		return;
	fz_hex(hex, sizeof(hex), r->fail_in, r->fail_in_len);
	fprintf(f, "# ingress %s, input %zu bytes: %s\n",
		r->fail_ifindex == E.be_ifindex ? "be0" : "cli0",
		r->fail_in_len, hex);
	if (r->fail_out_len) {
		fz_hex(hex, sizeof(hex), r->fail_out, r->fail_out_len);
		fprintf(f, "# output %zu bytes: %s\n", r->fail_out_len, hex);
	}
}

#ifndef FUZZ_DATAPATH_TOOL

static uint64_t fz_env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

static void test_fuzz_datapath(void **state)
{
	struct fz_opts o = {
		.seed = fz_env_u64("FUZZ_SEED", 0x5e1cef022),
		.frames = fz_env_u64("FUZZ_FRAMES", 200000),
		.check_every = fz_env_u64("FUZZ_CHECK_EVERY", 1024),
		.strict = fz_strict_from_env(),
	};
	struct fz_result *r = calloc(1, sizeof(*r));

	(void)state;
	assert_non_null(r);
	if (!o.check_every)
		o.check_every = 1;
	if (fz_run(&o, r)) {
		fz_print_failure(stderr, &o, r);
		fz_print_summary(stderr, &o, r);
		fail_msg("%s: %s", r->fail_what, r->fail_msg);
	}
	fz_print_summary(stdout, &o, r);
	if (getenv("FUZZ_EXAMPLES"))
		fz_print_examples(stdout, r);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz_datapath),
	};

	if (env_netns())
		return 1;
	return cmocka_run_group_tests_name("fuzz_datapath", tests, NULL, NULL);
}

#endif /* FUZZ_DATAPATH_TOOL */
