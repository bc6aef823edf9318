/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The single source of truth shared by the XDP program and userspace:
 * limits, map keys and values, counter layouts and event records.
 *
 * Every address is stored as 16 bytes: IPv6 as is, IPv4 as an
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d), so one key layout and one
 * LPM trie serve both families. Ports are kept in network byte order,
 * exactly as they appear on the wire, so the data path never swaps bytes.
 */
#ifndef SLUICE_ABI_H
#define SLUICE_ABI_H

#include <linux/types.h>

/* ---- limits ----------------------------------------------------------- */

#define SLUICE_MAX_SERVICES 1024
#define SLUICE_MAX_BACKENDS_PER_POOL 256
#define SLUICE_COLOURS 2
#define SLUICE_MAX_POOLS (SLUICE_MAX_SERVICES * SLUICE_COLOURS)
/* Backend ids are pool_index * SLUICE_MAX_BACKENDS_PER_POOL + slot. */
#define SLUICE_MAX_BACKENDS (SLUICE_MAX_POOLS * SLUICE_MAX_BACKENDS_PER_POOL)
/* Prime, so every Maglev skip value yields a full permutation. */
#define SLUICE_TABLE_SIZE 16381
#define SLUICE_MAX_SEGMENTS 65536
/* Default flow-table size; `sluice up --flows N` resizes it at load. */
#define SLUICE_FLOWS_DEFAULT 262144
#define SLUICE_RINGBUF_BYTES (1 << 20)
/* Split and weights are expressed in parts per million. */
#define SLUICE_PPM 1000000
#define SLUICE_MAX_WEIGHT 65535
#define SLUICE_NAME_MAX 32
/* IPv6 extension headers walked before giving up (and passing). */
#define SLUICE_MAX_EXT_HDRS 4
#define SLUICE_MAX_VLANS 2
/*
 * Latency histograms: bucket 0 counts samples below 1 us, bucket i
 * (1 <= i < LAST) counts [2^(i-1), 2^i) us, the last bucket everything
 * from 2^(SLUICE_HIST_BUCKETS-2) us (about 4.2 s) up.
 */
#define SLUICE_HIST_BUCKETS 24

/* ---- enums ------------------------------------------------------------ */

enum sluice_colour {
	SLUICE_BLUE = 0,
	SLUICE_GREEN = 1,
};

enum sluice_mode {
	SLUICE_MODE_NAT = 0, /* rewrite destination, route, reverse-NAT replies */
	SLUICE_MODE_DSR = 1, /* rewrite MACs only; the backend owns the VIP */
};

enum sluice_affinity {
	SLUICE_AFFINITY_FLOW = 0, /* 5-tuple */
	SLUICE_AFFINITY_CLIENT = 1, /* source address */
	SLUICE_AFFINITY_PREFIX = 2, /* source /24 (IPv4) or /48 (IPv6) */
};

/* Why a packet was handed to the kernel stack untouched (or rewritten). */
enum sluice_pass_reason {
	SLUICE_PASS_NOT_IP = 0, /* ethertype is neither IPv4 nor IPv6 */
	SLUICE_PASS_NOT_SERVICE, /* IP, but neither to a VIP nor a NAT reply */
	SLUICE_PASS_TRUNCATED, /* a header runs past the end of the frame */
	SLUICE_PASS_MALFORMED, /* bad IHL, bad length, IPv6 UDP without csum */
	SLUICE_PASS_FRAGMENT, /* non-first fragment: no L4 header to hash */
	SLUICE_PASS_VLAN_DEPTH, /* more than SLUICE_MAX_VLANS tags */
	SLUICE_PASS_EXT_HDRS, /* IPv6 header chain too long or unsupported */
	SLUICE_PASS_PROTO, /* L4 protocol other than TCP, UDP, ICMP */
	SLUICE_PASS_ICMP_NO_FLOW, /* ICMP error about no tracked flow */
	SLUICE_PASS_TTL, /* TTL / hop limit would expire: stack answers */
	SLUICE_PASS_NO_NEIGH, /* rewritten; next hop unresolved: stack forwards */
	SLUICE_PASS_FIB, /* rewritten; not forwarded (local, no route) or to
			  * fragment (IPv4 without DF) or segment (a GRO
			  * aggregate, generic mode): the stack decides */
	SLUICE_PASS_MAX,
};

/* Why the data path dropped a packet. */
enum sluice_drop_reason {
	SLUICE_DROP_EMPTY_POOL = 0, /* the chosen pool has no active backend */
	SLUICE_DROP_NO_ROUTE, /* fib: blackhole, unreachable or prohibited */
	SLUICE_DROP_TOO_BIG, /* over the egress MTU, may not fragment: ICMP sent */
	SLUICE_DROP_MAX,
};

/* Error signals observed on the return path. */
enum sluice_error_kind {
	SLUICE_ERR_RST = 0, /* TCP RST sent by the backend */
	SLUICE_ERR_ICMP, /* ICMP error about the flow, from the backend side */
	SLUICE_ERR_HTTP_5XX, /* first response line carried a 5xx status */
	/* nat: the client sent its SYN again, no SYN-ACK came back yet */
	SLUICE_ERR_SYN_RETRY,
	SLUICE_ERR_MAX,
};

enum sluice_event_type {
	SLUICE_EV_NEW_FLOW = 1, /* sampled, 1 in config.sample_every */
	SLUICE_EV_DROP = 2, /* every drop; reason = enum sluice_drop_reason */
	SLUICE_EV_ERROR = 3, /* every error; reason = enum sluice_error_kind */
	SLUICE_EV_DECISION = 16, /* written by the agent, never by the kernel */
};

/* ---- configuration maps ----------------------------------------------- */

/* Key of the `services` hash. */
struct sluice_service_key {
	__u8 vip[16];
	__be16 port;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};

/*
 * Value of the `services` hash. A hash element is replaced whole by an
 * update, so a packet sees either the old or the new value, never a mix:
 * a split change is one map write.
 */
struct sluice_service {
	__u32 id; /* index into pools, service_stats, segments */
	__u32 green_ppm; /* share of new flows sent to green, in ppm */
	__u32 hash_seed; /* host seed mixed with the service key */
	__u8 mode; /* enum sluice_mode */
	__u8 affinity; /* enum sluice_affinity */
	__u8 flags; /* SLUICE_SVC_F_* */
	__u8 pad;
};

#define SLUICE_SVC_F_SEGMENTS 0x1 /* at least one segment: consult the LPM */

/*
 * Userspace-only bookkeeping, kept in a pinned map beside the rest so
 * the kernel holds all the truth: names, roles and the split as the
 * operator gave it. The data path never reads it.
 */
struct sluice_service_meta {
	char name[SLUICE_NAME_MAX];
	struct sluice_service_key key;
	__u32 split_ppm; /* the candidate's share, as configured */
	__u8 used;
	__u8 candidate; /* colour being released; the other is stable */
	__u8 pad[2];
	__u64 created_ns; /* CLOCK_REALTIME at creation: tells re-creations apart */
	__u64 split_changed_ns; /* CLOCK_REALTIME of the last split change */
	/* new_flows per colour at that change: observed split is the delta */
	__u64 base_new_flows[SLUICE_COLOURS];
};

/* Host-wide settings, array of one. */
struct sluice_config {
	__u32 seed; /* per-host hash seed; equal seeds give equal decisions */
	__u32 sample_every; /* new-flow events: 1 in N, 0 = off */
};

/* One backend inside a pool. */
struct sluice_backend {
	__u8 addr[16];
	__be16 port;
	__u16 weight; /* plain ratio against the pool's other weights */
	__u32 id; /* pool_index * SLUICE_MAX_BACKENDS_PER_POOL + slot */
	__u8 flags; /* SLUICE_BE_F_* */
	__u8 pad[3];
};

#define SLUICE_BE_F_USED 0x1 /* slot holds a backend */
#define SLUICE_BE_F_DRAINING 0x2 /* no new flows; existing ones finish */

/*
 * A pool: its backends and its consistent-hash lookup table, in one
 * inner-map value. A pool change builds a fresh inner map and swaps it
 * into `pools` whole, so a packet never sees a half-written table.
 * table[] holds slot indices into backends[]; it is only read when
 * active > 0.
 */
struct sluice_pool {
	__u32 active; /* backends that take new flows */
	__u32 generation; /* bumped by every rebuild, for humans and tests */
	struct sluice_backend backends[SLUICE_MAX_BACKENDS_PER_POOL];
	__u16 table[SLUICE_TABLE_SIZE];
	__u16 pad;
};

/* Key of the `segments` LPM trie: prefixlen counts svc_id's 32 bits too. */
struct sluice_segment_key {
	__u32 prefixlen;
	__u32 svc_id; /* network byte order, so it sorts as the prefix head */
	__u8 addr[16];
};

/* ---- flow state ------------------------------------------------------- */

/* 5-tuple as seen on the wire in the direction of travel. */
struct sluice_flow_key {
	__u8 src[16];
	__u8 dst[16];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

/*
 * The next hop a flow's packets take, cached in its state so that only
 * the first packet of a flow (and one a second after that) pays for a
 * bpf_fib_lookup. A route or neighbour change is seen within the TTL.
 */
struct sluice_nexthop {
	__u64 expires_ns; /* bpf_ktime_get_ns(); 0 = not cached */
	__u32 ifindex;
	__u8 dmac[6];
	__u8 smac[6];
	__u32 mtu; /* the egress MTU the fib reported: bigger goes to the fib */
	__u32 pad;
};

#define SLUICE_NEXTHOP_TTL_NS 1000000000ull

/* Forward state: client -> VIP, keyed by the client's 5-tuple. */
struct sluice_flow {
	__u8 backend[16];
	__be16 backend_port;
	__u8 colour;
	__u8 flags; /* SLUICE_FLOW_F_* */
	__u32 backend_id;
	__u32 svc_id;
	/*
	 * Sequence number of the SYN that opened it (TCP): a SYN with the
	 * same one is a retransmission, with another a new connection on a
	 * reused port.
	 */
	__be32 syn_seq;
	struct sluice_nexthop nh; /* toward the backend */
};

#define SLUICE_FLOW_F_CLIENT_DATA 0x1 /* first client payload seen */

/* Reverse NAT state: backend -> client, keyed by the backend's 5-tuple. */
struct sluice_nat {
	__u8 vip[16];
	__be16 vip_port;
	__u8 colour;
	__u8 flags; /* SLUICE_NAT_F_* */
	__u32 backend_id;
	__u32 svc_id;
	__u32 pad;
	__u64 syn_ns; /* client SYN seen, 0 once the handshake is measured */
	__u64 req_ns; /* first client payload seen */
	struct sluice_nexthop nh; /* toward the client */
};

#define SLUICE_NAT_F_HANDSHAKE 0x1 /* SYN-ACK measured */
#define SLUICE_NAT_F_RESPONSE 0x2 /* first response byte measured */

/* ---- counters (per CPU; userspace sums) ------------------------------- */

struct sluice_backend_stats {
	__u64 fwd_packets; /* client -> backend */
	__u64 fwd_bytes;
	__u64 rev_packets; /* backend -> client (nat mode only) */
	__u64 rev_bytes;
	__u64 new_flows;
	__u64 drops[SLUICE_DROP_MAX];
	__u64 errors[SLUICE_ERR_MAX];
	__u64 http[5]; /* first response status class 1xx .. 5xx */
	__u64 handshake_us_sum;
	__u64 first_byte_us_sum;
	__u64 handshake_hist[SLUICE_HIST_BUCKETS];
	__u64 first_byte_hist[SLUICE_HIST_BUCKETS];
};

struct sluice_service_stats {
	__u64 packets; /* every forward packet steered for this service */
	__u64 bytes;
	__u64 new_flows[SLUICE_COLOURS]; /* by colour chosen */
	__u64 segment_flows; /* new flows whose colour a segment pinned */
	__u64 flow_misses; /* non-SYN TCP with no flow state: re-hashed */
	__u64 drops[SLUICE_DROP_MAX];
	/* new flows dropped for want of a backend, by the colour chosen */
	__u64 empty_pool[SLUICE_COLOURS];
};

struct sluice_global_stats {
	__u64 pass[SLUICE_PASS_MAX];
	__u64 icmp_forwarded; /* ICMP errors about a flow sent to its backend */
	__u64 events_lost; /* ring buffer full: event not written */
};

/* ---- events (ring buffer) --------------------------------------------- */

struct sluice_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 type; /* enum sluice_event_type */
	__u32 reason; /* drop reason or error kind, per type */
	__u32 svc_id;
	__u32 backend_id; /* ~0 when no backend was chosen */
	__u32 value; /* HTTP status for 5xx errors, else 0 */
	__u8 colour;
	__u8 proto;
	__u8 pad[2];
	__u8 src[16]; /* client-side 5-tuple: client -> VIP */
	__u8 dst[16];
	__be16 sport;
	__be16 dport;
	__u32 pad2;
};

#define SLUICE_NO_BACKEND 0xffffffffu

#endif /* SLUICE_ABI_H */
