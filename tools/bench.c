// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * bench: sluice's benchmarks, one subcommand per case, each printing its
 * table and writing its numbers as JSON for tools/bench.sh to merge.
 *
 *   bench idle    --json F [--label L]  is the machine quiet enough?
 *   bench pktcost --json F   per-packet cost through BPF_PROG_TEST_RUN
 *   bench pps     --json F   packets per second through veth
 *   bench control --json F   control-plane operations, memory per flow
 *   bench scale   --json F   established-flow cost vs flow-table size
 *
 * BENCH_SMOKE=1 in the environment shrinks every count so the whole run
 * takes seconds: tests/bench_smoke_test.sh uses it so this cannot rot.
 *
 * Every case that sends packets runs in a private network namespace of
 * the process (unshare), so whatever it builds vanishes with it on any
 * exit path, even SIGKILL; XDP programs are attached with bpf_link and
 * nothing is pinned. The machine is shared and noisy, so sluice is
 * always measured against a baseline program in the same run, rounds
 * interleave the two, and every figure is shown as min/median/max.
 * Nothing here asserts a time.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tests/bpf_env.h"
#include "../tests/pkt.c"
#include "state.h"
#include "apply.h"
#include "config.h"
#include "maglev.h"
#include "metrics.h"
#include "bench_baseline.skel.h"
#include "bench_traffic.skel.h"

static bool smoke;

/* ---- small helpers ------------------------------------------------------- */

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A count scaled down for smoke runs, which only prove the code works. */
static long count(long full, long tiny)
{
	return smoke ? tiny : full;
}

struct spread {
	double min, med, max;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct spread spread_of(const double *v, int n)
{
	struct spread s = { 0, 0, 0 };
	double *t;

	if (n <= 0)
		return s;
	t = malloc(n * sizeof(*t));
	if (!t)
		return s;
	memcpy(t, v, n * sizeof(*t));
	qsort(t, n, sizeof(*t), cmp_double);
	s.min = t[0];
	s.max = t[n - 1];
	s.med = n & 1 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	free(t);
	return s;
}

static json_t *spread_json(struct spread s)
{
	return json_pack("{s:f,s:f,s:f}", "min", s.min, "median", s.med, "max",
			 s.max);
}

/* Per-run ratios a[i] / b[i]: pairs measured close together in time. */
static struct spread ratio_of(const double *a, const double *b, int n)
{
	double r[64];
	int i;

	for (i = 0; i < n && i < 64; i++)
		r[i] = b[i] > 0 ? a[i] / b[i] : 0;
	return spread_of(r, i);
}

static int write_json(const char *path, json_t *root)
{
	int err = 0;

	if (path && json_dump_file(root, path,
				   JSON_INDENT(2) | JSON_REAL_PRECISION(6))) {
		fprintf(stderr, "bench: cannot write %s\n", path);
		err = -1;
	}
	json_decref(root);
	return err;
}

/* The kernel's accounting of a map's memory (fdinfo "memlock:"). */
static long long map_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int ncpus_possible(void)
{
	int n = libbpf_num_possible_cpus();

	return n > 0 ? n : 1;
}

/* Sum of a one-slot per-CPU array of __u64 counters. */
static __u64 percpu_u64_sum(int fd)
{
	int n = ncpus_possible(), i;
	__u64 vals[n], sum = 0;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, vals))
		return 0;
	for (i = 0; i < n; i++)
		sum += vals[i];
	return sum;
}

/* Benchmarks in one process stay on one CPU: no migration noise. */
static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* ---- the network namespace ----------------------------------------------- */

/*
 * The fixture world of tests/bpf_env.h (same names, addresses and static
 * neighbours, so env_load() and env_service() work unchanged), with two
 * queues per veth so two generator cores each get their own: veth picks
 * the receive queue by the sending CPU.
 */
static const char *const bench_net_cmds[] = {
	"ip link set lo up",
	"ip link add cli0 numtxqueues 2 numrxqueues 2 address " MAC_CLI0
	" type veth peer name cli1 numtxqueues 2 numrxqueues 2 address " MAC_CLIENT,
	"ip link add be0 numtxqueues 2 numrxqueues 2 address " MAC_BE0
	" type veth peer name be1 numtxqueues 2 numrxqueues 2 address " MAC_BLUE1,
	"ip link set cli0 up",
	"ip link set cli1 up",
	"ip link set be0 up",
	"ip link set be1 up",
	"sysctl -qw net.ipv4.ip_forward=1",
	"sysctl -qw net.ipv6.conf.all.forwarding=1",
	"ip addr add 198.18.0.1/24 dev cli0",
	"ip addr add 198.18.1.1/24 dev be0",
	"ip -6 addr add fd00:0::1/64 dev cli0 nodad",
	"ip -6 addr add fd00:1::1/64 dev be0 nodad",
	"ip route add 198.18.128.0/17 via " CLIENT4,
	"ip neigh add " CLIENT4 " lladdr " MAC_CLIENT " dev cli0 nud permanent",
	"ip neigh add " CLIENT6 " lladdr " MAC_CLIENT " dev cli0 nud permanent",
	"ip neigh add " BLUE4 " lladdr " MAC_BLUE1 " dev be0 nud permanent",
	"ip neigh add " GREEN4 " lladdr " MAC_GREEN1 " dev be0 nud permanent",
	"ip neigh add " BLUE6 " lladdr " MAC_BLUE1 " dev be0 nud permanent",
	"ip neigh add " GREEN6 " lladdr " MAC_GREEN1 " dev be0 nud permanent",
};

static int bench_netns(void)
{
	return env_netns_with(bench_net_cmds, sizeof(bench_net_cmds) /
						      sizeof(bench_net_cmds[0]));
}

/* ---- frames -------------------------------------------------------------- */

#define FRAME_CAP 128
/* 64 bytes on the wire with the FCS, the classic small-packet size. */
#define MIN_FRAME 60

struct frame {
	__u32 len;
	__u8 buf[FRAME_CAP];
};

static int frame_build(struct frame *f, const struct pkt_spec *s)
{
	__u8 tmp[PKT_MAX];
	size_t n = pkt_build(s, tmp, sizeof(tmp));

	if (!n || n > FRAME_CAP) {
		fprintf(stderr, "bench: cannot build a frame\n");
		return -1;
	}
	/* Ethernet padding: the IP length bounds what sluice parses. */
	memset(f->buf, 0, sizeof(f->buf));
	memcpy(f->buf, tmp, n);
	f->len = n < MIN_FRAME ? MIN_FRAME : n;
	return 0;
}

/* A client's TCP segment to a VIP, as tests/fixture.h's tcp4() builds. */
static struct pkt_spec client_tcp(const char *src, const char *dst, __u16 sport,
				  __u16 dport, __u8 flags, bool v6)
{
	struct pkt_spec s = {
		.smac = { 0x02, 0, 0, 0, 0, 0x01 },
		.dmac = { 0x02, 0, 0, 0, 0, 0xc0 },
		.v6 = v6,
		.src = src,
		.dst = dst,
		.proto = IPPROTO_TCP,
		.sport = sport,
		.dport = dport,
		.tcp_flags = flags,
		.seq = 1000,
		.ack_seq = flags & 0x10 ? 5000 : 0,
	};
	return s;
}

#define TCP_SYN 0x02
#define TCP_ACK 0x10

/* ---- the sluice world ---------------------------------------------------- */

#define V_NAT4 VIP4 ":80/tcp"
#define V_NAT6 "[" VIP6 "]:80/tcp"
#define V_DSR4 "198.18.0.11:80/tcp"

enum { SVC_NAT4, SVC_NAT6, SVC_DSR4 };

/* Services as the fixture configures them, split 0: every flow is blue. */
static int bench_services(struct env *e)
{
	static const char *const blue4[] = { BLUE4 ":8080", NULL };
	static const char *const green4[] = { GREEN4 ":8080", NULL };
	static const char *const blue6[] = { "[" BLUE6 "]:8080", NULL };
	static const char *const green6[] = { "[" GREEN6 "]:8080", NULL };
	static const char *const blue4_80[] = { BLUE4 ":80", NULL };
	static const char *const green4_80[] = { GREEN4 ":80", NULL };
	int err = 0;

	err |= env_service(e, SVC_NAT4, V_NAT4, SLUICE_MODE_NAT,
			   SLUICE_AFFINITY_FLOW, 0);
	err |= env_pool(e, V_NAT4, SLUICE_BLUE, blue4, NULL);
	err |= env_pool(e, V_NAT4, SLUICE_GREEN, green4, NULL);
	err |= env_service(e, SVC_NAT6, V_NAT6, SLUICE_MODE_NAT,
			   SLUICE_AFFINITY_FLOW, 0);
	err |= env_pool(e, V_NAT6, SLUICE_BLUE, blue6, NULL);
	err |= env_pool(e, V_NAT6, SLUICE_GREEN, green6, NULL);
	err |= env_service(e, SVC_DSR4, V_DSR4, SLUICE_MODE_DSR,
			   SLUICE_AFFINITY_FLOW, 0);
	err |= env_pool(e, V_DSR4, SLUICE_BLUE, blue4_80, NULL);
	err |= env_pool(e, V_DSR4, SLUICE_GREEN, green4_80, NULL);
	if (err)
		fprintf(stderr, "bench: configuring services failed\n");
	return err ? -1 : 0;
}

static int bench_load(struct env *e, __u32 flows_max)
{
	if (env_load(e, flows_max)) {
		fprintf(stderr, "bench: loading sluice failed (flows %u)\n",
			flows_max);
		return -1;
	}
	return bench_services(e);
}

static const char *verdict_name(int v)
{
	static const char *const names[] = { "ABORTED", "DROP", "PASS", "TX",
					     "REDIRECT" };

	return v >= 0 && v <= XDP_REDIRECT ? names[v] : "?";
}

/* ---- one packet per BPF_PROG_TEST_RUN call ------------------------------- */

/* Accumulated over any number of run_calls(); zero it to start. */
struct timing {
	__u64 wall_sum; /* wall clock, syscall included, ns */
	__u64 kern_sum; /* the kernel's opts.duration, summed, ns */
	long calls;
	long bad; /* calls whose verdict was not the expected one */
	int last_verdict;
};

static double wall_per_call(const struct timing *t)
{
	return t->calls ? (double)t->wall_sum / t->calls : 0;
}

static double kern_per_call(const struct timing *t)
{
	return t->calls ? (double)t->kern_sum / t->calls : 0;
}

/*
 * `calls` single-packet runs cycling over the frames from *pos (which
 * is advanced, so chunked runs keep cycling). repeat stays 1: a
 * rewriting program would otherwise see its own output on the next
 * repetition. The loop body is all there is between the two clock reads.
 */
static int run_calls(int prog_fd, const struct frame *f, int nf, int *pos,
		     int ifindex, long calls, int want, struct timing *t)
{
	struct xdp_md ctx = { .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int k = pos ? *pos : 0;
	__u64 t0, kern = 0;
	long i, bad = 0;

	t0 = now_ns();
	for (i = 0; i < calls; i++) {
		opts.data_in = f[k].buf;
		opts.data_size_in = f[k].len;
		ctx.data_end = f[k].len;
		if (bpf_prog_test_run_opts(prog_fd, &opts)) {
			fprintf(stderr, "bench: test_run: %s\n",
				strerror(errno));
			return -1;
		}
		kern += opts.duration;
		bad += (int)opts.retval != want;
		if (++k == nf)
			k = 0;
	}
	t->wall_sum += now_ns() - t0;
	t->kern_sum += kern;
	t->calls += calls;
	t->bad += bad;
	t->last_verdict = opts.retval;
	if (pos)
		*pos = k;
	return 0;
}

/*
 * Runs alternate between the things compared in chunks this long, so a
 * burst of someone else's load lands on all of them alike and the
 * per-run ratios stay meaningful on a shared machine.
 */
#define CHUNK 5000

/* ---- idle ---------------------------------------------------------------- */

#define MAX_CPUS 64

static int read_cpu_times(__u64 busy[], __u64 total[], int max)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < max) {
		unsigned long long v[10] = { 0 };
		int cpu, i;
		__u64 sum = 0;

		if (strncmp(line, "cpu", 3) || line[3] < '0' || line[3] > '9')
			continue;
		if (sscanf(line,
			   "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu",
			   &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			   &v[6], &v[7]) < 5)
			continue;
		for (i = 0; i < 8; i++)
			sum += v[i];
		total[n] = sum;
		busy[n] = sum - v[3] - v[4]; /* minus idle and iowait */
		n++;
	}
	fclose(f);
	return n;
}

/* Load average and a half-second sample of every core's busy share. */
static int cmd_idle(const char *json_path, const char *label)
{
	__u64 b0[MAX_CPUS], t0[MAX_CPUS], b1[MAX_CPUS], t1[MAX_CPUS];
	double load[3] = { 0, 0, 0 }, busy[MAX_CPUS], worst = 0;
	json_t *root, *arr;
	int n, i;
	bool idle;
	FILE *f;

	f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
			load[0] = load[1] = load[2] = 0;
		fclose(f);
	}
	n = read_cpu_times(b0, t0, MAX_CPUS);
	sleep_ms(500);
	if (n <= 0 || read_cpu_times(b1, t1, MAX_CPUS) != n) {
		fprintf(stderr, "bench: cannot read /proc/stat\n");
		return 1;
	}
	arr = json_array();
	printf("idle check (%s): load average %.2f %.2f %.2f; busy", label,
	       load[0], load[1], load[2]);
	for (i = 0; i < n; i++) {
		__u64 dt = t1[i] - t0[i];

		busy[i] = dt ? 100.0 * (b1[i] - b0[i]) / dt : 0;
		if (busy[i] > worst)
			worst = busy[i];
		printf(" cpu%d %.0f%%", i, busy[i]);
		json_array_append_new(arr, json_real(busy[i]));
	}
	/*
	 * A benchmark core that is 10% busy with someone else's work moves
	 * the numbers by about as much; the load average catches bursts the
	 * half-second sample missed.
	 */
	idle = worst <= 10.0 && load[0] <= 0.5 * n;
	printf("\n");
	if (!idle)
		printf("WARNING: the machine is not idle (another load is "
		       "running); expect noisy numbers, compare ratios\n");
	root = json_pack("{s:s,s:[f,f,f],s:o,s:b}", "label", label, "loadavg",
			 load[0], load[1], load[2], "busy_pct", arr,
			 "idle_enough", idle);
	return write_json(json_path, root) ? 1 : 0;
}

/* ---- case 1: per-packet cost --------------------------------------------- */

struct pc_case {
	const char *key; /* JSON name */
	const char *label; /* table row */
	int prog_fd;
	int ifindex;
	int want; /* expected verdict */
	struct frame *frames;
	int nframes;
	int pos; /* next frame to send */
	struct timing runs[16];
};

/* One table row and its JSON: a case against the baseline, run by run. */
static json_t *pc_row(const struct pc_case *pc, const struct pc_case *base,
		      int nruns)
{
	double w[16], k[16], bw[16], bk[16];
	struct spread sw, sk, rw, rk;
	char a[64], b[64], d[64], g[64];
	double extra;
	long bad = 0;
	int r;

	for (r = 0; r < nruns; r++) {
		w[r] = wall_per_call(&pc->runs[r]);
		k[r] = kern_per_call(&pc->runs[r]);
		bw[r] = wall_per_call(&base->runs[r]);
		bk[r] = kern_per_call(&base->runs[r]);
		bad += pc->runs[r].bad;
	}
	sw = spread_of(w, nruns);
	sk = spread_of(k, nruns);
	rw = ratio_of(w, bw, nruns);
	rk = ratio_of(k, bk, nruns);
	extra = sk.med - spread_of(bk, nruns).med;
	snprintf(a, sizeof(a), "%.0f/%.0f/%.0f", sw.min, sw.med, sw.max);
	snprintf(b, sizeof(b), "%.2f [%.2f-%.2f]", rw.med, rw.min, rw.max);
	snprintf(d, sizeof(d), "%.0f/%.0f/%.0f", sk.min, sk.med, sk.max);
	snprintf(g, sizeof(g), "%.2f [%.2f-%.2f]", rk.med, rk.min, rk.max);
	printf("%-30s %-8s %-23s %-17s %-23s %-17s %6.0f%s\n", pc->label,
	       verdict_name(pc->want), a, b, d, g, extra,
	       bad ? "  (wrong verdicts!)" : "");
	return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:f,s:I}", "name",
			 pc->key, "label", pc->label, "verdict",
			 verdict_name(pc->want), "wall_ns", spread_json(sw),
			 "kernel_ns", spread_json(sk), "wall_ratio",
			 spread_json(rw), "kernel_ratio", spread_json(rk),
			 "kernel_extra_ns", extra, "wrong_verdicts",
			 (json_int_t)bad);
}

#define PC_SYN_FLOWS 1024

static int cmd_pktcost(const char *json_path)
{
	long calls = count(200000, 2000), done;
	int nruns = smoke ? 2 : 5, r, c, i, err = 1;
	struct bench_baseline_bpf *base = NULL;
	static struct frame est4, est6, syn[PC_SYN_FLOWS], reply, dsr, other;
	struct pc_case cases[7];
	int ncases = 0;
	struct pkt_spec s;
	json_t *root = NULL, *rows;
	struct env e;

	if (bench_netns() || bench_load(&e, 0))
		return 1;
	base = bench_baseline_bpf__open_and_load();
	if (!base) {
		fprintf(stderr, "bench: loading the baseline failed\n");
		goto out;
	}

	s = client_tcp(CLIENT4, VIP4, 40000, 80, TCP_ACK, false);
	if (frame_build(&est4, &s))
		goto out;
	s = client_tcp(CLIENT6, VIP6, 40000, 80, TCP_ACK, true);
	if (frame_build(&est6, &s))
		goto out;
	/* Distinct ports: each SYN writes a flow and a nat entry of its own. */
	for (i = 0; i < PC_SYN_FLOWS; i++) {
		s = client_tcp(CLIENT4, VIP4, 20000 + i, 80, TCP_SYN, false);
		if (frame_build(&syn[i], &s))
			goto out;
	}
	/* The backend's reply to est4 (which creates the nat state). */
	s = client_tcp(BLUE4, CLIENT4, 8080, 40000, TCP_ACK, false);
	memcpy(s.smac, (__u8[6]){ 0x02, 0, 0, 0, 0x01, 0x10 }, 6);
	memcpy(s.dmac, (__u8[6]){ 0x02, 0, 0, 0, 0, 0xb0 }, 6);
	s.seq = 5000;
	s.ack_seq = 1001;
	if (frame_build(&reply, &s))
		goto out;
	s = client_tcp(CLIENT4, "198.18.0.11", 40000, 80, TCP_ACK, false);
	if (frame_build(&dsr, &s))
		goto out;
	/* To the edge itself: neither a VIP nor a nat reply. */
	s = client_tcp(CLIENT4, "198.18.0.1", 40000, 22, TCP_ACK, false);
	if (frame_build(&other, &s))
		goto out;

#define ADD_CASE(k, l, fd, ifi, w, fr, n)                   \
	cases[ncases++] = (struct pc_case){ .key = k,       \
					    .label = l,     \
					    .prog_fd = fd,  \
					    .ifindex = ifi, \
					    .want = w,      \
					    .frames = fr,   \
					    .nframes = n }
	ADD_CASE("baseline", "baseline: swap MACs, XDP_TX",
		 bpf_program__fd(base->progs.baseline_tx), e.cli_ifindex,
		 XDP_TX, &est4, 1);
	ADD_CASE("established_ipv4_nat", "established IPv4 TCP (nat)",
		 e.prog_fd, e.cli_ifindex, XDP_REDIRECT, &est4, 1);
	ADD_CASE("established_ipv6_nat", "established IPv6 TCP (nat)",
		 e.prog_fd, e.cli_ifindex, XDP_REDIRECT, &est6, 1);
	ADD_CASE("new_flow_syn", "new flow: TCP SYN (insert)", e.prog_fd,
		 e.cli_ifindex, XDP_REDIRECT, syn, PC_SYN_FLOWS);
	ADD_CASE("reply_reverse_nat", "reply: reverse NAT + observe", e.prog_fd,
		 e.be_ifindex, XDP_REDIRECT, &reply, 1);
	ADD_CASE("established_ipv4_dsr", "established IPv4 TCP (dsr)",
		 e.prog_fd, e.cli_ifindex, XDP_REDIRECT, &dsr, 1);
	ADD_CASE("not_service_pass", "not a service: XDP_PASS", e.prog_fd,
		 e.cli_ifindex, XDP_PASS, &other, 1);
#undef ADD_CASE

	pin_self(ncpus_possible() - 1);
	/* Warm up: creates the flow state and checks every verdict. */
	for (c = 0; c < ncases; c++) {
		struct pc_case *pc = &cases[c];
		struct timing t = { 0 };

		if (run_calls(pc->prog_fd, pc->frames, pc->nframes, &pc->pos,
			      pc->ifindex, count(20000, 200), pc->want, &t))
			goto out;
		if (t.bad) {
			fprintf(stderr,
				"bench: %s: verdict %s, want %s: the setup "
				"is broken\n",
				pc->key, verdict_name(t.last_verdict),
				verdict_name(pc->want));
			goto out;
		}
	}
	for (r = 0; r < nruns; r++)
		for (done = 0; done < calls; done += CHUNK)
			for (c = 0; c < ncases; c++) {
				struct pc_case *pc = &cases[c];

				if (run_calls(pc->prog_fd, pc->frames,
					      pc->nframes, &pc->pos,
					      pc->ifindex,
					      calls - done < CHUNK ?
						      calls - done :
						      CHUNK,
					      pc->want, &pc->runs[r]))
					goto out;
			}

	printf("\n1. Per-packet cost, BPF_PROG_TEST_RUN, one packet per call, "
	       "%d runs x %ld calls per case (%.1f M calls)\n",
	       nruns, calls, (double)nruns * calls * ncases / 1e6);
	printf("   wall   = wall clock per call: syscall, copy-in and run "
	       "(what a caller pays)\n");
	printf("   kernel = opts.duration per call: the program run plus "
	       "~bh/clock overhead (closer to the program cost)\n");
	printf("   xbase  = per-run ratio to the baseline, median [min-max]"
	       "; +ns = kernel median minus the baseline's\n");
	printf("%-30s %-8s %-23s %-17s %-23s %-17s %6s\n", "case", "verdict",
	       "wall ns min/med/max", "xbase", "kernel ns min/med/max", "xbase",
	       "+ns");
	rows = json_array();
	for (c = 0; c < ncases; c++)
		json_array_append_new(rows,
				      pc_row(&cases[c], &cases[0], nruns));
	{
		json_t *est = json_array_get(rows, 1);
		double rw = json_real_value(json_object_get(
			json_object_get(est, "wall_ratio"), "median"));
		double rk = json_real_value(json_object_get(
			json_object_get(est, "kernel_ratio"), "median"));

		printf("goal: established flow within 1.5x baseline: wall "
		       "%.2fx (%s), kernel %.2fx (%s)\n",
		       rw, rw <= 1.5 ? "met" : "NOT met", rk,
		       rk <= 1.5 ? "met" : "NOT met");
	}
	root = json_pack("{s:I,s:i,s:o}", "calls_per_run", (json_int_t)calls,
			 "runs", nruns, "rows", rows);
	err = write_json(json_path, root) ? 1 : 0;
	root = NULL;
out:
	json_decref(root);
	bench_baseline_bpf__destroy(base);
	env_unload(&e);
	return err;
}

/* ---- case 2: packets per second through veth ----------------------------- */

/*
 * The generator: one thread per core, each pinned, each making long
 * LIVE_FRAMES calls. A call only ends early on a signal (the kernel's
 * test loop checks signal_pending), so stopping means setting the flag
 * and signalling until every thread has noticed.
 */
#define GEN_REPEAT 100000000
#define GEN_TEMPLATES 8 /* as in bpf/bench_traffic.bpf.c */

struct gen {
	pthread_t th;
	int cpu;
	int prog_fd;
	struct frame fr;
	volatile int done;
	int err;
};

static volatile sig_atomic_t gen_stop;

static void on_sigusr1(int sig)
{
	(void)sig;
}

static void *gen_main(void *arg)
{
	struct gen *g = arg;
	cpu_set_t set;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = g->fr.buf,
		    .data_size_in = g->fr.len, .repeat = GEN_REPEAT,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	CPU_ZERO(&set);
	CPU_SET(g->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		g->err = -EINVAL;
	while (!g->err && !gen_stop) {
		if (bpf_prog_test_run_opts(g->prog_fd, &opts) && errno != EINTR)
			g->err = -errno;
	}
	g->done = 1;
	return NULL;
}

struct pps_world {
	struct env e;
	struct bench_traffic_bpf *traffic;
	struct bench_baseline_bpf *base;
	struct bpf_link *sink;
	int delivered_fd, sent_fd;
	struct frame frame; /* test input: its length is what matters */
};

struct pps_sample {
	double mpps; /* delivered at the sink */
	double sent_mpps; /* generated */
};

/* Run `cores` generators with `prog` on cli0; sample the sink. */
static int pps_measure(struct pps_world *w, struct bpf_program *prog, int cores,
		       unsigned int warm_ms, unsigned int win_ms,
		       struct pps_sample *out)
{
	struct gen g[2];
	struct bpf_link *link;
	__u64 d0, d1, s0, s1, t0, t1;
	int i, started = 0, err = 0;

	link = bpf_program__attach_xdp(prog, w->e.cli_ifindex);
	if (!link) {
		fprintf(stderr, "bench: attaching to cli0 failed: %s\n",
			strerror(errno));
		return -1;
	}
	gen_stop = 0;
	memset(g, 0, sizeof(g));
	for (i = 0; i < cores; i++) {
		g[i].cpu = i;
		g[i].prog_fd = bpf_program__fd(w->traffic->progs.gen_xmit);
		g[i].fr = w->frame;
		if (pthread_create(&g[i].th, NULL, gen_main, &g[i])) {
			err = -1;
			break;
		}
		started++;
	}
	if (!err) {
		sleep_ms(warm_ms);
		d0 = percpu_u64_sum(w->delivered_fd);
		s0 = percpu_u64_sum(w->sent_fd);
		t0 = now_ns();
		sleep_ms(win_ms);
		d1 = percpu_u64_sum(w->delivered_fd);
		s1 = percpu_u64_sum(w->sent_fd);
		t1 = now_ns();
		out->mpps = (double)(d1 - d0) * 1e3 / (t1 - t0);
		out->sent_mpps = (double)(s1 - s0) * 1e3 / (t1 - t0);
	}
	gen_stop = 1;
	for (;;) {
		int busy = 0;

		for (i = 0; i < started; i++)
			if (!g[i].done) {
				pthread_kill(g[i].th, SIGUSR1);
				busy = 1;
			}
		if (!busy)
			break;
		sleep_ms(5);
	}
	for (i = 0; i < started; i++) {
		pthread_join(g[i].th, NULL);
		if (g[i].err) {
			fprintf(stderr, "bench: generator: %s\n",
				strerror(-g[i].err));
			err = -1;
		}
	}
	bpf_link__destroy(link);
	return err;
}

static int cmd_pps(const char *json_path)
{
	int nrounds = smoke ? 1 : 5, ncores, r, c, i, err = 1;
	unsigned int warm_ms = smoke ? 100 : 300, win_ms = smoke ? 200 : 1000;
	struct pps_sample samples[2][2][8]; /* [cores-1][sluice?][round] */
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	struct sluice_backend_stats bs;
	struct pps_world w;
	json_t *root = NULL, *rows;
	__u32 zero = 0, tx_ifindex;
	__u64 fwd_before = 0;

	memset(&w, 0, sizeof(w));
	ncores = ncpus_possible() >= 2 ? 2 : 1;
	/* No SA_RESTART: the signal must cut the generator's syscall short. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		return 1;
	if (bench_netns() || bench_load(&w.e, 0))
		return 1;
	w.traffic = bench_traffic_bpf__open_and_load();
	w.base = bench_baseline_bpf__open();
	if (!w.traffic || !w.base) {
		fprintf(stderr, "bench: loading bench programs failed\n");
		goto out;
	}
	/* The baseline hop: what sluice does for this flow, minus sluice. */
	w.base->rodata->out_ifindex = w.e.be_ifindex;
	pkt_mac(MAC_BE0, (__u8 *)w.base->rodata->out_smac);
	pkt_mac(MAC_BLUE1, (__u8 *)w.base->rodata->out_dmac);
	if (bench_baseline_bpf__load(w.base)) {
		fprintf(stderr, "bench: loading the baseline failed\n");
		goto out;
	}
	w.delivered_fd = bpf_map__fd(w.traffic->maps.delivered);
	w.sent_fd = bpf_map__fd(w.traffic->maps.sent);
	/* Frames out of cli1 arrive on cli0, where the forwarder runs. */
	tx_ifindex = if_nametoindex("cli1");
	if (bpf_map_update_elem(bpf_map__fd(w.traffic->maps.tx_port), &zero,
				&tx_ifindex, BPF_ANY)) {
		fprintf(stderr, "bench: devmap: %s\n", strerror(errno));
		goto out;
	}
	/* The sink on be1 also makes be0 accept redirected frames at all. */
	w.sink = bpf_program__attach_xdp(w.traffic->progs.sink_count,
					 if_nametoindex("be1"));
	if (!w.sink) {
		fprintf(stderr, "bench: attaching the sink failed\n");
		goto out;
	}
	/*
	 * The generator rewrites each frame from its CPU's template (a flow
	 * per core); the test input only sizes the frame.
	 */
	for (i = 0; i < GEN_TEMPLATES; i++) {
		struct pkt_spec s = client_tcp(CLIENT4, VIP4, 40000 + i, 80,
					       TCP_ACK, false);

		if (frame_build(&w.frame, &s) || w.frame.len != MIN_FRAME ||
		    sizeof(w.traffic->bss->frame_tmpl[i]) != MIN_FRAME)
			goto out;
		memcpy(w.traffic->bss->frame_tmpl[i], w.frame.buf, MIN_FRAME);
	}
	sluice_backend_stats_read(
		&w.e.m, sluice_backend_id(SVC_NAT4, SLUICE_BLUE, 0), &bs);
	fwd_before = bs.fwd_packets;

	/*
	 * Rounds interleave baseline and sluice, and alternate which goes
	 * first, so a burst of someone else's load hits both alike.
	 */
	for (r = 0; r < nrounds; r++)
		for (c = 1; c <= ncores; c++)
			for (i = 0; i < 2; i++) {
				int sl = (i + r) & 1;
				struct bpf_program *p =
					sl ? w.e.skel->progs.sluice_xdp :
					     w.base->progs.baseline_fwd;

				if (pps_measure(&w, p, c, warm_ms, win_ms,
						&samples[c - 1][sl][r]))
					goto out;
			}

	printf("\n2. Packets per second through veth: LIVE_FRAMES generator "
	       "-> cli1 => cli0 [forwarder] -> be0 => be1 [count+drop]\n");
	printf("   60-byte frames (64 on the wire), TCP ACK of an "
	       "established flow per core; %d rounds x %.1f s window, "
	       "counted at the sink\n",
	       nrounds, win_ms / 1000.0);
	printf("   baseline = rewrite MACs + bpf_redirect; every hop runs "
	       "on the generating core (veth NAPI)\n");
	printf("%-6s %-26s %-26s %-17s %s\n", "cores",
	       "baseline Mpps min/med/max", "sluice Mpps min/med/max", "xbase",
	       "sluice generated/delivered");
	rows = json_array();
	for (c = 1; c <= ncores; c++) {
		double b[8], s[8], sg[8];
		struct spread sb, ss, rr, ssg;
		char x[64], y[64], z[64];

		for (r = 0; r < nrounds; r++) {
			b[r] = samples[c - 1][0][r].mpps;
			s[r] = samples[c - 1][1][r].mpps;
			sg[r] = samples[c - 1][1][r].sent_mpps;
		}
		sb = spread_of(b, nrounds);
		ss = spread_of(s, nrounds);
		ssg = spread_of(sg, nrounds);
		rr = ratio_of(s, b, nrounds);
		snprintf(x, sizeof(x), "%.2f/%.2f/%.2f", sb.min, sb.med,
			 sb.max);
		snprintf(y, sizeof(y), "%.2f/%.2f/%.2f", ss.min, ss.med,
			 ss.max);
		snprintf(z, sizeof(z), "%.2f [%.2f-%.2f]", rr.med, rr.min,
			 rr.max);
		printf("%-6d %-26s %-26s %-17s %.2f/%.2f Mpps\n", c, x, y, z,
		       ssg.med, ss.med);
		json_array_append_new(
			rows,
			json_pack("{s:i,s:o,s:o,s:o,s:o}", "cores", c,
				  "baseline_mpps", spread_json(sb),
				  "sluice_mpps", spread_json(ss),
				  "sluice_generated_mpps", spread_json(ssg),
				  "ratio", spread_json(rr)));
	}
	sluice_backend_stats_read(
		&w.e.m, sluice_backend_id(SVC_NAT4, SLUICE_BLUE, 0), &bs);
	{
		double rr_med = 0;
		json_t *last = json_array_get(rows, json_array_size(rows) - 1);

		rr_med = json_real_value(json_object_get(
			json_object_get(last, "ratio"), "median"));
		printf("goal: >= 0.9x baseline: %s (%.2fx on %d cores); "
		       "sluice counted %" PRIu64 " packets to the backend\n",
		       rr_med >= 0.9 ? "met" : "NOT met", rr_med, ncores,
		       (uint64_t)(bs.fwd_packets - fwd_before));
	}
	{
		struct sluice_global_stats g;
		__u64 passed = 0;

		/* A forwarder that passes to the stack would look fast. */
		if (!sluice_global_stats_read(&w.e.m, &g))
			for (i = 0; i < SLUICE_PASS_MAX; i++)
				passed += g.pass[i];
		if (passed > 100)
			printf("WARNING: sluice passed %" PRIu64
			       " packets to the stack\n",
			       (uint64_t)passed);
		root = json_pack("{s:f,s:i,s:i,s:o,s:I,s:I}", "window_s",
				 win_ms / 1000.0, "rounds", nrounds,
				 "frame_bytes", MIN_FRAME, "rows", rows,
				 "sluice_forwarded",
				 (json_int_t)(bs.fwd_packets - fwd_before),
				 "sluice_passed", (json_int_t)passed);
	}
	err = write_json(json_path, root) ? 1 : 0;
	root = NULL;
out:
	json_decref(root);
	bpf_link__destroy(w.sink);
	bench_traffic_bpf__destroy(w.traffic);
	bench_baseline_bpf__destroy(w.base);
	env_unload(&w.e);
	return err;
}

/* ---- case 3: control plane ----------------------------------------------- */

static void addr4(__u8 a[16], __u32 host_order)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = host_order >> 24;
	a[13] = host_order >> 16;
	a[14] = host_order >> 8;
	a[15] = host_order;
}

/* n backends, distinct addresses inside 198.18.0.0/15, weight 1. */
static void fill_pool(struct sluice_pool *p, __u32 svc, __u8 colour, int n)
{
	__u32 base = (198u << 24) | (19u << 16) | ((svc & 0x7f) << 9) |
		     ((__u32)colour << 8);
	int i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < n; i++) {
		struct sluice_backend *b = &p->backends[i];

		addr4(b->addr, base + i);
		b->port = htons(8080);
		b->weight = 1;
		b->id = sluice_backend_id(svc, colour, i);
		b->flags = SLUICE_BE_F_USED;
	}
}

/*
 * backend_stats is a no-prealloc per-CPU hash whose elements come from
 * a per-CPU cache the kernel refills asynchronously (irq_work): a burst
 * of inserts from a syscall loop can outrun the refill and fail with
 * ENOMEM although memory is plentiful, and sluice_pool_publish() passes
 * that on. The bench retries after a pause, and counts, so the problem
 * shows in the results instead of aborting the run.
 */
static long enomem_retries;

static int publish_retry(const struct sluice_maps *m, __u32 svc, __u8 colour,
			 struct sluice_pool *p, __u32 seed)
{
	int err, tries = 0;

	while ((err = sluice_pool_publish(m, svc, colour, p, seed)) ==
		       -ENOMEM &&
	       tries++ < 1000) {
		enomem_retries++;
		sleep_ms(1);
	}
	return err;
}

static int backend_add_retry(const struct sluice_maps *m, __u32 id, __u8 colour,
			     const __u8 addr[16], __u16 port)
{
	int err, tries = 0;

	while ((err = sluice_backend_add(m, id, colour, addr, port, 1)) ==
		       -ENOMEM &&
	       tries++ < 1000) {
		enomem_retries++;
		sleep_ms(1);
	}
	return err;
}

static double us_since(__u64 t0)
{
	return (now_ns() - t0) / 1e3;
}

static void print_us_row(const char *what, struct spread s, int n)
{
	printf("%-50s %10.1f %10.1f %10.1f   (n=%d)\n", what, s.min, s.med,
	       s.max, n);
}

/* Marginal bytes per entry of the flow tables, by the kernel's count. */
static int flow_memory(json_t *root)
{
	__u32 a = 65536, b = smoke ? 131072 : 1048576;
	long long fa, na, fb, nb;
	double per_flow, per_nat;
	struct env e;

	if (env_load(&e, a))
		return -1;
	fa = map_memlock(e.m.flows);
	na = map_memlock(e.m.nat);
	env_unload(&e);
	if (env_load(&e, b))
		return -1;
	fb = map_memlock(e.m.flows);
	nb = map_memlock(e.m.nat);
	env_unload(&e);
	if (fa < 0 || fb < 0 || na < 0 || nb < 0)
		return -1;
	per_flow = (double)(fb - fa) / (b - a);
	per_nat = (double)(nb - na) / (b - a);
	printf("memory per tracked flow (fdinfo memlock, %u vs %u entries): "
	       "flows %.0f B + nat %.0f B = %.0f B\n",
	       a, b, per_flow, per_nat, per_flow + per_nat);
	printf("   key+value only: flows %zu+%zu, nat %zu+%zu = %zu B; the "
	       "rest is hash/LRU node overhead and buckets\n",
	       sizeof(struct sluice_flow_key), sizeof(struct sluice_flow),
	       sizeof(struct sluice_flow_key), sizeof(struct sluice_nat),
	       2 * sizeof(struct sluice_flow_key) + sizeof(struct sluice_flow) +
		       sizeof(struct sluice_nat));
	printf("   a nat-mode flow holds one entry in each table (dsr: flows "
	       "only); at the default %u flows: %.1f MiB\n",
	       SLUICE_FLOWS_DEFAULT,
	       (per_flow + per_nat) * SLUICE_FLOWS_DEFAULT / (1 << 20));
	json_object_set_new(root, "flow_memory",
			    json_pack("{s:f,s:f,s:f,s:i,s:I,s:I,s:I,s:I}",
				      "flows_bytes_per_entry", per_flow,
				      "nat_bytes_per_entry", per_nat,
				      "bytes_per_flow", per_flow + per_nat,
				      "key_value_bytes",
				      (int)(2 * sizeof(struct sluice_flow_key) +
					    sizeof(struct sluice_flow) +
					    sizeof(struct sluice_nat)),
				      "memlock_flows_small", (json_int_t)fa,
				      "memlock_flows_large", (json_int_t)fb,
				      "entries_small", (json_int_t)a,
				      "entries_large", (json_int_t)b));
	return 0;
}

/* Split change: the map write, and the write until a packet shows it. */
static int split_latency(struct env *e, json_t *root)
{
	struct sluice_service_key k = {};
	__u8 blue[16], green[16], obuf[PKT_MAX];
	int n = count(2000, 40), i, wrong = 0;
	double *set_us, *vis_us;
	struct frame syn;
	struct pkt_spec s;
	__u16 port;
	__u32 id;

	set_us = calloc(n, sizeof(double));
	vis_us = calloc(n, sizeof(double));
	if (!set_us || !vis_us ||
	    sluice_parse_vip("198.18.0.20:80/tcp", k.vip, &port, &k.proto,
			     NULL))
		goto fail;
	k.port = htons(port);
	sluice_parse_addr(BLUE4, blue, NULL);
	sluice_parse_addr(GREEN4, green, NULL);
	if (sluice_service_create(&e->m, "split", &k, SLUICE_MODE_NAT,
				  SLUICE_AFFINITY_FLOW, &id) ||
	    sluice_backend_add(&e->m, id, SLUICE_BLUE, blue, 8080, 1) ||
	    sluice_backend_add(&e->m, id, SLUICE_GREEN, green, 8080, 1))
		goto fail;
	/* A bare SYN is decided afresh, so it shows the split of the moment. */
	s = client_tcp(CLIENT4, "198.18.0.20", 41000, 80, TCP_SYN, false);
	if (frame_build(&syn, &s))
		goto fail;
	for (i = 0; i < n; i++) {
		__u32 olen = sizeof(obuf), ppm = i & 1 ? 0 : SLUICE_PPM;
		__u64 t0 = now_ns();

		if (sluice_split_set(&e->m, id, ppm))
			goto fail;
		set_us[i] = us_since(t0);
		if (env_run(e, syn.buf, syn.len, obuf, &olen, e->cli_ifindex) !=
		    XDP_REDIRECT)
			goto fail;
		vis_us[i] = us_since(t0);
		/* IPv4 destination: bytes 30..33 of the frame. */
		if (memcmp(obuf + 30, (ppm ? green : blue) + 12, 4))
			wrong++;
	}
	print_us_row("split change: sluice_split_set()", spread_of(set_us, n),
		     n);
	print_us_row("split change + next packet shows it (test_run)",
		     spread_of(vis_us, n), n);
	if (wrong)
		printf("   WARNING: %d packets did not follow the new split\n",
		       wrong);
	json_object_set_new(root, "split_set_us",
			    spread_json(spread_of(set_us, n)));
	json_object_set_new(root, "split_visible_us",
			    spread_json(spread_of(vis_us, n)));
	json_object_set_new(root, "split_wrong_packets", json_integer(wrong));
	free(set_us);
	free(vis_us);
	return 0;
fail:
	fprintf(stderr, "bench: split latency: setup or run failed\n");
	free(set_us);
	free(vis_us);
	return -1;
}

/* Build and swap a pool of nb backends; also the table build alone. */
static int pool_latency(struct env *e, int nb, json_t *root)
{
	int n = count(nb > 16 ? 40 : 100, 3), i;
	struct sluice_pool *p = calloc(1, sizeof(*p));
	double pub[100], build[100];
	char key[64], label[80];
	__u32 seed = 0x1234;

	if (!p)
		return -1;
	for (i = 0; i < n; i++) {
		__u64 t0;

		fill_pool(p, SVC_NAT4, SLUICE_BLUE, nb);
		t0 = now_ns();
		if (sluice_build_table(p, seed)) {
			free(p);
			return -1;
		}
		build[i] = us_since(t0);
		fill_pool(p, SVC_NAT4, SLUICE_BLUE, nb);
		p->generation = i + 1;
		t0 = now_ns();
		if (publish_retry(&e->m, SVC_NAT4, SLUICE_BLUE, p, seed)) {
			free(p);
			return -1;
		}
		pub[i] = us_since(t0);
	}
	free(p);
	snprintf(label, sizeof(label), "pool of %d: build + swap (publish)",
		 nb);
	print_us_row(label, spread_of(pub, n), n);
	snprintf(label, sizeof(label), "pool of %d:   of which Maglev build",
		 nb);
	print_us_row(label, spread_of(build, n), n);
	snprintf(key, sizeof(key), "pool_publish_%d_us", nb);
	json_object_set_new(root, key, spread_json(spread_of(pub, n)));
	snprintf(key, sizeof(key), "maglev_build_%d_us", nb);
	json_object_set_new(root, key, spread_json(spread_of(build, n)));
	return 0;
}

/* The CLI's path: one `backend add` rebuilds and republishes the pool. */
static int backend_add_cost(struct env *e, json_t *root)
{
	struct sluice_service_key k = {};
	int n = count(SLUICE_MAX_BACKENDS_PER_POOL, 16), i;
	double total, *each = calloc(n, sizeof(double));
	__u64 t0 = now_ns(), t;
	__u16 port;
	__u32 id;

	if (!each || sluice_parse_vip("198.18.0.21:80/tcp", k.vip, &port,
				      &k.proto, NULL))
		goto fail;
	k.port = htons(port);
	if (sluice_service_create(&e->m, "adds", &k, SLUICE_MODE_NAT,
				  SLUICE_AFFINITY_FLOW, &id))
		goto fail;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		__u8 a[16];

		addr4(a, (198u << 24) | (19u << 16) | (0xfe << 8) | i);
		t = now_ns();
		if (backend_add_retry(&e->m, id, SLUICE_BLUE, a, 8080))
			goto fail;
		each[i] = us_since(t);
	}
	total = (now_ns() - t0) / 1e9;
	print_us_row("backend add (CLI path), each, filling one pool",
		     spread_of(each, n), n);
	printf("   filling one pool of %d by backend add: %.2f s; all %d "
	       "backends this way: ~%.0f s (extrapolated)\n",
	       n, total, SLUICE_MAX_BACKENDS, total / n * SLUICE_MAX_BACKENDS);
	json_object_set_new(root, "backend_add",
			    json_pack("{s:o,s:i,s:f,s:f}", "each_us",
				      spread_json(spread_of(each, n)), "count",
				      n, "fill_pool_s", total,
				      "extrapolated_all_backends_s",
				      total / n * SLUICE_MAX_BACKENDS));
	free(each);
	return 0;
fail:
	fprintf(stderr, "bench: backend add: %s\n", strerror(errno));
	free(each);
	return -1;
}

/*
 * Every service with both pools full, through `sluice apply` itself
 * (sluice_apply on an in-memory file): services created, every pool
 * built and staged, published in batch updates of up to 256 pools.
 */
static int full_apply(json_t *root)
{
	int nsvc = count(SLUICE_MAX_SERVICES, 8), i, c, k, err = -1;
	struct sluice_cfg cfg = { 0 };
	struct sluice_apply_opts opts = { 0 };
	struct sluice_cfg_backend *bes = NULL;
	double t_apply, t_count;
	long long mem_stats, mem_pool = -1;
	__u64 t0, nstats = 0;
	__u32 idx = 0, inner_id;
	char msg[256] = "";
	struct env e;

	cfg.services = calloc(nsvc, sizeof(*cfg.services));
	bes = calloc((size_t)nsvc * SLUICE_COLOURS *
			     SLUICE_MAX_BACKENDS_PER_POOL,
		     sizeof(*bes));
	if (!cfg.services || !bes || env_load(&e, 0)) {
		free(cfg.services);
		free(bes);
		return -1;
	}
	cfg.nservices = nsvc;
	for (i = 0; i < nsvc; i++) {
		struct sluice_cfg_service *sv = &cfg.services[i];

		snprintf(sv->name, sizeof(sv->name), "svc%d", i);
		addr4(sv->key.vip,
		      (198u << 24) | (18u << 16) | (200u << 8) | (i & 0xff));
		sv->key.port = htons(1000 + i);
		sv->key.proto = IPPROTO_TCP;
		sv->mode = SLUICE_MODE_NAT;
		sv->affinity = SLUICE_AFFINITY_FLOW;
		sv->candidate = SLUICE_GREEN;
		for (c = 0; c < SLUICE_COLOURS; c++) {
			__u32 base = (198u << 24) | (19u << 16) |
				     ((i & 0x7f) << 9) | ((__u32)c << 8);

			sv->pool[c] = bes + ((size_t)i * SLUICE_COLOURS + c) *
						    SLUICE_MAX_BACKENDS_PER_POOL;
			sv->npool[c] = SLUICE_MAX_BACKENDS_PER_POOL;
			for (k = 0; k < SLUICE_MAX_BACKENDS_PER_POOL; k++) {
				addr4(sv->pool[c][k].addr, base + k);
				sv->pool[c][k].port = 8080 + i / 128;
				sv->pool[c][k].weight = 1;
			}
		}
	}
	t0 = now_ns();
	err = sluice_apply(&e.m, &cfg, &opts, msg, sizeof(msg));
	t_apply = (now_ns() - t0) / 1e9;
	if (err) {
		fprintf(stderr, "bench: apply: %s\n", msg);
		errno = -err;
		err = -1;
		goto out;
	}
	err = -1;
	t0 = now_ns();
	if (sluice_map_count(e.m.backend_stats, &nstats))
		goto out;
	t_count = (now_ns() - t0) / 1e9;
	mem_stats = map_memlock(e.m.backend_stats);
	if (!bpf_map_lookup_elem(e.m.pools, &idx, &inner_id)) {
		int fd = bpf_map_get_fd_by_id(inner_id);

		if (fd >= 0) {
			mem_pool = map_memlock(fd);
			close(fd);
		}
	}
	printf("apply %d services x 2 pools x %d backends (%" PRIu64
	       " backends): %.2f s\n",
	       nsvc, SLUICE_MAX_BACKENDS_PER_POOL, (uint64_t)nstats, t_apply);
	printf("   sluice apply: services created, %d pools built (Maglev) "
	       "and published in batch updates (%.2f ms per pool)\n",
	       nsvc * SLUICE_COLOURS,
	       t_apply * 1e3 / (nsvc * SLUICE_COLOURS));
	printf("   memory: backend_stats %.1f MiB (%.0f B per backend), "
	       "pools %.1f MiB (%lld B per pool); counting the stats keys "
	       "took %.2f s\n",
	       mem_stats / 1048576.0, nstats ? (double)mem_stats / nstats : 0,
	       mem_pool * (double)nsvc * SLUICE_COLOURS / 1048576.0, mem_pool,
	       t_count);
	json_object_set_new(
		root, "full_apply",
		json_pack("{s:i,s:i,s:I,s:f,s:I,s:I}", "services", nsvc,
			  "backends_per_pool", SLUICE_MAX_BACKENDS_PER_POOL,
			  "backends", (json_int_t)nstats, "total_s", t_apply,
			  "backend_stats_memlock",
			  (json_int_t)mem_stats, "pool_memlock_each",
			  (json_int_t)mem_pool));
	err = 0;
out:
	if (err)
		fprintf(stderr, "bench: full apply failed: %s\n",
			strerror(errno));
	free(cfg.services);
	free(bes);
	env_unload(&e);
	return err;
}

/*
 * One /metrics scrape of 1,000 backends (4 services x 2 pools x 125),
 * built from the maps as the agent's endpoint builds it: the first one
 * reads every pool, the later ones only the counters.
 */
static int metrics_scrape(json_t *root)
{
	struct sluice_metrics *mx = sluice_metrics_new(NULL);
	struct sluice_pool *pool = calloc(1, sizeof(*pool));
	struct sluice_service_key k;
	struct sluice_service v;
	double us[21], first;
	char name[16], vip[32], *text;
	size_t len;
	int svc, c, b, r, err = -1;
	__u16 port;
	__u32 id;
	struct env e;

	if (!mx || !pool || env_load(&e, 0))
		goto out;
	for (svc = 0; svc < 4; svc++) {
		memset(&k, 0, sizeof(k));
		snprintf(name, sizeof(name), "svc%d", svc);
		snprintf(vip, sizeof(vip), "198.18.100.%d:80/tcp", 20 + svc);
		if (sluice_parse_vip(vip, k.vip, &port, &k.proto, NULL))
			goto unload;
		k.port = htons(port);
		if (sluice_service_create(&e.m, name, &k, SLUICE_MODE_NAT,
					  SLUICE_AFFINITY_FLOW, &id) ||
		    sluice_service_value(&e.m, id, &v))
			goto unload;
		for (c = 0; c < SLUICE_COLOURS; c++) {
			memset(pool, 0, sizeof(*pool));
			for (b = 0; b < 125; b++) {
				struct sluice_backend *be = &pool->backends[b];

				be->addr[10] = be->addr[11] = 0xff;
				be->addr[12] = 198;
				be->addr[13] = 18;
				be->addr[14] = (__u8)(10 + svc * 2 + c);
				be->addr[15] = (__u8)(b + 1);
				be->port = htons(8080);
				be->weight = 1;
				be->id = sluice_backend_id(id, c, b);
				be->flags = SLUICE_BE_F_USED;
			}
			if (sluice_pool_publish(&e.m, id, c, pool, v.hash_seed))
				goto unload;
		}
	}
	for (r = 0; r < 21; r++) {
		__u64 t0 = now_ns();

		if (sluice_metrics_render(mx, &e.m, &text, &len))
			goto unload;
		us[r] = (now_ns() - t0) / 1e3;
		free(text);
	}
	first = us[0];
	qsort(us + 1, 20, sizeof(us[0]), cmp_double);
	printf("/metrics scrape, 1,000 backends (%zu bytes)   first %8.1f, "
	       "then %8.1f %10.1f %10.1f   (n=20)\n",
	       len, first, us[1], (us[10] + us[11]) / 2, us[20]);
	json_object_set_new(root, "metrics_scrape_1000_backends_us",
			    json_pack("{s:f, s:f, s:f, s:f, s:I}", "first", first,
				      "min", us[1], "median",
				      (us[10] + us[11]) / 2, "max", us[20],
				      "bytes", (json_int_t)len));
	err = 0;
unload:
	env_unload(&e);
out:
	sluice_metrics_free(mx);
	free(pool);
	return err;
}

static int cmd_control(const char *json_path)
{
	json_t *root = json_object();
	struct env e;
	int err = 1;

	/* Only state.h's own services here: their ids come from its meta. */
	if (bench_netns() || env_load(&e, 0)) {
		json_decref(root);
		return 1;
	}
	pin_self(ncpus_possible() - 1);
	printf("\n3. Control plane%s\n", smoke ? " (smoke sizes)" : "");
	printf("%-50s %10s %10s %10s\n", "operation (microseconds)", "min",
	       "median", "max");
	if (split_latency(&e, root) || pool_latency(&e, 16, root) ||
	    pool_latency(&e, 256, root) || backend_add_cost(&e, root))
		goto out;
	env_unload(&e);
	if (full_apply(root) || flow_memory(root))
		goto out;
	if (enomem_retries)
		printf("NOTE: %ld transient ENOMEM from backend_stats inserts "
		       "(retried here; sluice itself fails the command)\n",
		       enomem_retries);
	json_object_set_new(root, "enomem_retries",
			    json_integer(enomem_retries));
	if (metrics_scrape(root))
		goto out;
	err = write_json(json_path, root) ? 1 : 0;
	root = NULL;
out:
	json_decref(root);
	env_unload(&e);
	return err;
}

/* ---- case 4: flow-table scale -------------------------------------------- */

/* Flow i of a synthetic population: client 198.18.128.0/17, any port. */
static void synth_client(__u32 i, __u32 *addr, __u16 *port)
{
	*addr = (198u << 24) | (18u << 16) | ((128u << 8) + (i >> 12));
	*port = 1024 + (i & 4095);
}

/*
 * Write n established nat flows, both tables, the way sluice itself
 * would have written them (so a lookup hits and changes nothing),
 * in batches: one syscall per 64k entries, not per entry.
 */
static int fill_flows(struct env *e, __u32 n)
{
	const __u32 chunk = 65536;
	struct sluice_flow_key *fk = calloc(chunk, sizeof(*fk));
	struct sluice_flow_key *nk = calloc(chunk, sizeof(*nk));
	struct sluice_flow *fv = calloc(chunk, sizeof(*fv));
	struct sluice_nat *nv = calloc(chunk, sizeof(*nv));
	__u8 vip[16], backend[16];
	__u32 i, j, bid = sluice_backend_id(SVC_NAT4, SLUICE_BLUE, 0);
	int err = -1;

	if (!fk || !nk || !fv || !nv)
		goto out;
	sluice_parse_addr(VIP4, vip, NULL);
	sluice_parse_addr(BLUE4, backend, NULL);
	for (i = 0; i < n; i += chunk) {
		__u32 cnt = n - i < chunk ? n - i : chunk;
		LIBBPF_OPTS(bpf_map_batch_opts, opts, .flags = BPF_ANY);

		for (j = 0; j < cnt; j++) {
			__u32 a;
			__u16 p;

			synth_client(i + j, &a, &p);
			memset(&fk[j], 0, sizeof(fk[j]));
			addr4(fk[j].src, a);
			memcpy(fk[j].dst, vip, 16);
			fk[j].sport = htons(p);
			fk[j].dport = htons(80);
			fk[j].proto = IPPROTO_TCP;
			memset(&fv[j], 0, sizeof(fv[j]));
			memcpy(fv[j].backend, backend, 16);
			fv[j].backend_port = htons(8080);
			fv[j].colour = SLUICE_BLUE;
			fv[j].flags = SLUICE_FLOW_F_CLIENT_DATA;
			fv[j].backend_id = bid;
			fv[j].svc_id = SVC_NAT4;

			memset(&nk[j], 0, sizeof(nk[j]));
			memcpy(nk[j].src, backend, 16);
			addr4(nk[j].dst, a);
			nk[j].sport = htons(8080);
			nk[j].dport = htons(p);
			nk[j].proto = IPPROTO_TCP;
			memset(&nv[j], 0, sizeof(nv[j]));
			memcpy(nv[j].vip, vip, 16);
			nv[j].vip_port = htons(80);
			nv[j].colour = SLUICE_BLUE;
			nv[j].flags = SLUICE_NAT_F_HANDSHAKE |
				      SLUICE_NAT_F_RESPONSE;
			nv[j].backend_id = bid;
			nv[j].svc_id = SVC_NAT4;
			nv[j].req_ns = 1;
		}
		if (bpf_map_update_batch(e->m.flows, fk, fv, &cnt, &opts) ||
		    bpf_map_update_batch(e->m.nat, nk, nv, &cnt, &opts)) {
			fprintf(stderr, "bench: filling flows: %s\n",
				strerror(errno));
			goto out;
		}
	}
	err = 0;
out:
	free(fk);
	free(nk);
	free(fv);
	free(nv);
	return err;
}

/* A frame of synthetic flow i, client to the IPv4 nat VIP. */
static int synth_frame(struct frame *f, __u32 i, __u8 flags)
{
	char src[INET_ADDRSTRLEN];
	struct pkt_spec s;
	struct in_addr in;
	__u32 a;
	__u16 p;

	synth_client(i, &a, &p);
	in.s_addr = htonl(a);
	inet_ntop(AF_INET, &in, src, sizeof(src));
	s = client_tcp(src, VIP4, p, 80, flags, false);
	return frame_build(f, &s);
}

/* Send SYNs for new flows well past capacity; see what the table keeps. */
static int full_table(json_t *root)
{
	__u32 cap = count(65536, 1024), sent = 3 * cap, i, fwd, refwd;
	__u32 again = count(1000, 100);
	struct sluice_service_stats st0, st1, st2;
	__u64 live = 0, live_nat = 0, inserted, misses;
	struct timing t = { 0 }, t2 = { 0 };
	struct frame f;
	struct env e;
	int err = -1;

	if (bench_load(&e, cap))
		return -1;
	sluice_service_stats_read(&e.m, SVC_NAT4, &st0);
	for (i = 0; i < sent; i++) {
		if (synth_frame(&f, i, TCP_SYN) ||
		    run_calls(e.prog_fd, &f, 1, NULL, e.cli_ifindex, 1,
			      XDP_REDIRECT, &t))
			goto out;
	}
	fwd = sent - t.bad;
	sluice_service_stats_read(&e.m, SVC_NAT4, &st1);
	if (sluice_map_count(e.m.flows, &live) ||
	    sluice_map_count(e.m.nat, &live_nat))
		goto out;
	/* The oldest flows were evicted: their next segment is a miss. */
	for (i = 0; i < again; i++) {
		if (synth_frame(&f, i, TCP_ACK) ||
		    run_calls(e.prog_fd, &f, 1, NULL, e.cli_ifindex, 1,
			      XDP_REDIRECT, &t2))
			goto out;
	}
	refwd = again - t2.bad;
	sluice_service_stats_read(&e.m, SVC_NAT4, &st2);
	inserted = st1.new_flows[0] + st1.new_flows[1] - st0.new_flows[0] -
		   st0.new_flows[1];
	misses = st2.flow_misses - st1.flow_misses;
	printf("full table (capacity %u): %u new flows sent, %u forwarded; "
	       "inserted %" PRIu64 ", live %" PRIu64 " flows / %" PRIu64
	       " nat, so %" PRIu64 " evicted\n",
	       cap, sent, fwd, (uint64_t)inserted, (uint64_t)live,
	       (uint64_t)live_nat, (uint64_t)(inserted - live));
	printf("   the %u oldest flows again: %u forwarded, %" PRIu64
	       " counted as flow misses (steered afresh)\n",
	       again, refwd, (uint64_t)misses);
	json_object_set_new(
		root, "full_table",
		json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "capacity",
			  (json_int_t)cap, "sent", (json_int_t)sent,
			  "forwarded", (json_int_t)fwd, "inserted",
			  (json_int_t)inserted, "live_flows", (json_int_t)live,
			  "live_nat", (json_int_t)live_nat, "evicted",
			  (json_int_t)(inserted - live), "resent_old",
			  (json_int_t)again, "resent_misses",
			  (json_int_t)misses));
	err = 0;
out:
	env_unload(&e);
	return err;
}

/* Lookups cycle over at most this many flows of the table. */
#define SCALE_SPREAD 65536

/*
 * One table size: fill n flows, then time the same flow over and over
 * (hot: its bucket and element stay in cache) and a sweep over up to
 * SCALE_SPREAD flows spread across the table (each lookup likely misses
 * the cache, as with many real clients).
 */
static int scale_one(__u32 n, int nruns, long calls, double *ref, json_t *rows)
{
	__u32 cap = n + n / 4 + 1024, k = n < SCALE_SPREAD ? n : SCALE_SPREAD;
	double hk[8], sk[8], sw[8], fill_s;
	struct sluice_service_stats st;
	struct spread shk, ssk, ssw;
	struct frame *frames;
	char hot[48], spr[48];
	long long memlock;
	struct env e;
	int r, pos = 0, err = -1;
	__u32 i;
	__u64 t0;

	/* Head room: a common LRU starts evicting a little before full. */
	if (bench_load(&e, cap))
		return -1;
	frames = calloc(k, sizeof(*frames));
	if (!frames)
		goto out;
	t0 = now_ns();
	if (fill_flows(&e, n))
		goto out;
	fill_s = (now_ns() - t0) / 1e9;
	for (i = 0; i < k; i++)
		if (synth_frame(&frames[i], (__u32)((__u64)i * n / k), TCP_ACK))
			goto out;
	for (r = 0; r < nruns; r++) {
		struct timing th = { 0 }, ts = { 0 };
		long done, n1;

		for (done = 0; done < calls; done += n1) {
			n1 = calls - done < CHUNK ? calls - done : CHUNK;
			if (run_calls(e.prog_fd, &frames[0], 1, NULL,
				      e.cli_ifindex, n1, XDP_REDIRECT, &th) ||
			    run_calls(e.prog_fd, frames, k, &pos, e.cli_ifindex,
				      n1, XDP_REDIRECT, &ts))
				goto out;
		}
		hk[r] = kern_per_call(&th);
		sk[r] = kern_per_call(&ts);
		sw[r] = wall_per_call(&ts);
	}
	/* A lookup that missed would have timed the new-flow path instead. */
	sluice_service_stats_read(&e.m, SVC_NAT4, &st);
	memlock = map_memlock(e.m.flows) + map_memlock(e.m.nat);
	shk = spread_of(hk, nruns);
	ssk = spread_of(sk, nruns);
	ssw = spread_of(sw, nruns);
	if (!*ref)
		*ref = ssk.med;
	snprintf(hot, sizeof(hot), "%.0f/%.0f/%.0f", shk.min, shk.med, shk.max);
	snprintf(spr, sizeof(spr), "%.0f/%.0f/%.0f", ssk.min, ssk.med, ssk.max);
	printf("%-9u %-7.2f %-22s %-22s %-6.2f %-9.0f %.0f%s\n", n, fill_s, hot,
	       spr, ssk.med / *ref, ssw.med, memlock / 1048576.0,
	       st.flow_misses ? "  (lookups missed: bad fill!)" : "");
	json_array_append_new(
		rows,
		json_pack("{s:I,s:I,s:I,s:f,s:o,s:o,s:o,s:I,s:I}", "flows",
			  (json_int_t)n, "capacity", (json_int_t)cap,
			  "spread_flows", (json_int_t)k, "fill_s", fill_s,
			  "hot_kernel_ns", spread_json(shk), "spread_kernel_ns",
			  spread_json(ssk), "spread_wall_ns", spread_json(ssw),
			  "flow_misses", (json_int_t)st.flow_misses,
			  "memlock_bytes", (json_int_t)memlock));
	err = 0;
out:
	free(frames);
	env_unload(&e);
	return err;
}

static int cmd_scale(const char *json_path)
{
	static const __u32 full_sizes[] = { 1000, 100000, 1000000 };
	static const __u32 smoke_sizes[] = { 1000, 10000 };
	const __u32 *sizes = smoke ? smoke_sizes : full_sizes;
	int nsizes = smoke ? 2 : 3, nruns = smoke ? 2 : 5, z;
	long calls = count(200000, 2000);
	json_t *root = json_object(), *rows = json_array();
	double ref = 0;

	json_object_set_new(root, "rows", rows);
	if (bench_netns())
		goto fail;
	pin_self(ncpus_possible() - 1);
	printf("\n4. Flow-table scale: established IPv4 nat flows, one packet "
	       "per test_run call, %d runs x %ld calls\n",
	       nruns, calls);
	printf("   hot = the same flow every call; spread = cycling over up "
	       "to %d flows spread over the table (cache misses)\n",
	       SCALE_SPREAD);
	printf("   kernel ns = opts.duration per call; x1k = spread median "
	       "vs the 1,000-flow table;\n   wall ns = spread, wall clock "
	       "per call (syscall included); MiB = flows + nat memlock\n");
	printf("%-9s %-7s %-22s %-22s %-6s %-9s %s\n", "flows", "fill s",
	       "hot kernel ns m/m/m", "spread kernel ns m/m/m", "x1k",
	       "wall ns", "MiB");
	for (z = 0; z < nsizes; z++)
		if (scale_one(sizes[z], nruns, calls, &ref, rows))
			goto fail;
	if (full_table(root))
		goto fail;
	return write_json(json_path, root) ? 1 : 0;
fail:
	json_decref(root);
	return 1;
}

/* ---- main ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: bench idle|pktcost|pps|control|scale "
		   "[--json FILE] [--label L]\n"
		   "BENCH_SMOKE=1 runs every case on tiny counts.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "label", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *json_path = NULL, *label = "before", *cmd, *sm;
	int c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json_path = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	sm = getenv("BENCH_SMOKE");
	smoke = sm && *sm && strcmp(sm, "0");
	/* The table must interleave sanely with the shell's own output. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "idle"))
		return cmd_idle(json_path, label);
	if (!strcmp(cmd, "pktcost"))
		return cmd_pktcost(json_path);
	if (!strcmp(cmd, "pps"))
		return cmd_pps(json_path);
	if (!strcmp(cmd, "control"))
		return cmd_control(json_path);
	if (!strcmp(cmd, "scale"))
		return cmd_scale(json_path);
	usage(stderr);
	return 2;
}
