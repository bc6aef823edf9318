// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * loadgen: the testbed's load client. It opens many short HTTP/1.1
 * connections to a target (usually a sluice VIP) from many client source
 * addresses, and reports which colour, backend and version answered each
 * one, so a test can check how the split really fell. A transfer mode
 * streams one long, verified download to prove that an established flow
 * survives configuration changes.
 *
 * Client source addresses are added to the interface that routes to the
 * target for the run and removed afterwards, over rtnetlink: no shell,
 * and a thousand addresses cost milliseconds instead of a thousand
 * fork/execs of ip(8).
 *
 * One thread, non-blocking sockets, epoll, and a concurrency limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"

#define HEAD_MAX 8192
#define MAX_CLIENTS 65536
#define MAX_COLOURS 32
#define FIELD_MAX 64
#define NSEC 1000000000ULL

enum err_kind { E_REFUSED, E_RESET, E_TIMEOUT, E_OTHER, E_KINDS };
static const char *const err_name[E_KINDS] = { "refused", "reset", "timeout",
					       "other" };

enum conn_state { C_FREE, C_CONNECTING, C_SENDING, C_READING, C_DRAINING };

struct endpoint {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
	char text[SLUICE_ENDPOINT_STRLEN];
};

struct client {
	struct endpoint ep; /* port 0 */
	uint32_t colours; /* bit i: colour_names[i] answered this client */
	bool added; /* we added the address, so we remove it */
};

struct conn {
	enum conn_state st;
	int fd;
	unsigned int client;
	uint64_t start_ns, first_ns, deadline_ns;
	size_t sent;
	size_t hlen;
	bool head_done;
	int status;
	int64_t clen; /* -1: until EOF */
	uint64_t body;
	uint64_t bad_off; /* transfer mode: first wrong byte, or UINT64_MAX */
	char colour[FIELD_MAX], backend[FIELD_MAX], version[FIELD_MAX];
	char local[SLUICE_ENDPOINT_STRLEN]; /* --flows-detail: source ADDR:PORT */
	char head[HEAD_MAX]; /* last: launch() clears everything before it */
};

static struct {
	struct endpoint target;
	const char *path;
	uint32_t connections;
	uint32_t nclients;
	uint32_t concurrency;
	uint32_t rate;
	uint64_t duration_ns;
	uint64_t timeout_ns;
	uint64_t transfer; /* bytes; 0: not transfer mode */
	bool transfer_mode;
	bool json;
	bool clients_detail;
	bool flows_detail;
	__u8 client_base[16];
} opt = { .path = "/", .concurrency = 64, .timeout_ns = 2 * NSEC };

static struct {
	uint64_t launched, ok, aborted, err[E_KINDS];
	json_t *status, *colours, *versions, *backends;
	double *ttfb_ms;
	size_t nttfb, cap;
	/* the same, per answering colour (index into colour_names) */
	double *cttfb[MAX_COLOURS];
	size_t cn[MAX_COLOURS], ccap[MAX_COLOURS];
	json_t *cstatus[MAX_COLOURS];
	json_t *flows; /* --flows-detail: [source, colour] per answered one */
	/* transfer mode: the one connection's outcome */
	struct conn xfer;
	const char *xfer_error;
} st;

static struct client *clients;
static unsigned int nclient_slots;
static char colour_names[MAX_COLOURS][FIELD_MAX];
static int ncolour_names;
static char request[2048];
static size_t request_len;
static volatile sig_atomic_t signals;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
	(void)sig;
	signals++;
}

static unsigned char pattern_byte(uint64_t i)
{
	return (unsigned char)((i * 131 + 7) & 0xff);
}

/* Fill ep from a 16-byte (IPv4-mapped or IPv6) address and a port. */
static void make_endpoint(struct endpoint *ep, const __u8 a[16], __u16 port,
			  int family)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = family;
	ep->len = sluice_sockaddr(a, port, &ep->ss);
	if (port)
		sluice_format_endpoint(a, port, ep->text, sizeof(ep->text));
	else
		sluice_format_addr(a, ep->text, sizeof(ep->text));
}

static const void *ep_addr(const struct endpoint *ep, size_t *len)
{
	if (ep->family == AF_INET) {
		*len = 4;
		return &((const struct sockaddr_in *)&ep->ss)->sin_addr;
	}
	*len = 16;
	return &((const struct sockaddr_in6 *)&ep->ss)->sin6_addr;
}

/* ---- rtnetlink: route lookup and client addresses --------------------- */

struct nlreq {
	struct nlmsghdr nh;
	union {
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	};
	char attrs[128];
};

static void nl_attr(struct nlreq *r, unsigned short type, const void *data,
		    size_t len)
{
	struct rtattr *rta =
		(struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->nh.nlmsg_len =
		NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/*
 * Send one request and read until its ack. Returns 0 or -errno; a route
 * reply on the way sets *oif.
 */
static int nl_talk(int fd, struct nlmsghdr *req, int *oif)
{
	static uint32_t seq;
	char buf[8192];
	struct nlmsghdr *nh;
	ssize_t n;

	req->nlmsg_seq = ++seq;
	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (send(fd, req, req->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(nh))
					->error;
			if (nh->nlmsg_type == RTM_NEWROUTE && oif) {
				struct rtmsg *rt = NLMSG_DATA(nh);
				struct rtattr *a = RTM_RTA(rt);
				int alen = (int)RTM_PAYLOAD(nh);

				for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen))
					if (a->rta_type == RTA_OIF)
						*oif = *(int *)RTA_DATA(a);
			}
		}
	}
}

static int nl_open(void)
{
	return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

/* The interface the kernel would send traffic for `dst` out of. */
static int route_oif(int fd, const struct endpoint *dst)
{
	struct nlreq r = { 0 };
	const void *a;
	size_t alen;
	int oif = 0, err;

	a = ep_addr(dst, &alen);
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(r.rt));
	r.nh.nlmsg_type = RTM_GETROUTE;
	r.rt.rtm_family = (unsigned char)dst->family;
	r.rt.rtm_dst_len = (unsigned char)(alen * 8);
	nl_attr(&r, RTA_DST, a, alen);
	err = nl_talk(fd, &r.nh, &oif);
	if (err)
		return err;
	return oif ? oif : -ENETUNREACH;
}

/*
 * A host address (/32, /128), so it adds no prefix route; IPv6 without
 * duplicate address detection, so it can be bound at once.
 */
static int addr_change(int fd, int type, int ifindex, const struct endpoint *ep)
{
	struct nlreq r = { 0 };
	uint32_t flags = IFA_F_NODAD | IFA_F_NOPREFIXROUTE;
	const void *a;
	size_t alen;

	a = ep_addr(ep, &alen);
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(r.ifa));
	r.nh.nlmsg_type = (unsigned short)type;
	if (type == RTM_NEWADDR)
		r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	r.ifa.ifa_family = (unsigned char)ep->family;
	r.ifa.ifa_prefixlen = (unsigned char)(alen * 8);
	r.ifa.ifa_index = (unsigned int)ifindex;
	r.ifa.ifa_flags = IFA_F_NODAD;
	nl_attr(&r, IFA_LOCAL, a, alen);
	nl_attr(&r, IFA_ADDRESS, a, alen);
	if (type == RTM_NEWADDR)
		nl_attr(&r, IFA_FLAGS, &flags, sizeof(flags));
	return nl_talk(fd, &r.nh, NULL);
}

static int clients_ifindex;

static void clients_remove(void)
{
	unsigned int i;
	int fd, err;

	if (!clients || !clients_ifindex)
		return;
	fd = nl_open();
	if (fd < 0)
		return;
	for (i = 0; i < nclient_slots; i++) {
		if (!clients[i].added)
			continue;
		err = addr_change(fd, RTM_DELADDR, clients_ifindex,
				  &clients[i].ep);
		if (err && err != -EADDRNOTAVAIL)
			fprintf(stderr, "loadgen: cannot remove %s: %s\n",
				clients[i].ep.text, strerror(-err));
		clients[i].added = false;
	}
	close(fd);
}

/* base + i, in the low 32 (IPv4) or 64 (IPv6) bits; -1 on wrap. */
static int addr_add(const __u8 base[16], int family, uint32_t i, __u8 out[16])
{
	uint64_t lo = 0, sum;
	int k, first = family == AF_INET ? 12 : 8;

	memcpy(out, base, 16);
	for (k = first; k < 16; k++)
		lo = lo << 8 | base[k];
	sum = lo + i;
	if (sum < lo || (family == AF_INET && sum > UINT32_MAX))
		return -1;
	for (k = 15; k >= first; k--, sum >>= 8)
		out[k] = (__u8)sum;
	return 0;
}

/*
 * Without --clients there is one client, the kernel's own choice of
 * source: found by connecting a UDP socket, which sends nothing.
 */
static int clients_setup(void)
{
	char ifname[IF_NAMESIZE] = "?";
	unsigned int i;
	__u8 a[16];
	int fd, err;

	nclient_slots = opt.nclients ? opt.nclients : 1;
	clients = calloc(nclient_slots, sizeof(*clients));
	if (!clients)
		return -1;
	if (!opt.nclients) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		fd = socket(opt.target.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0 ||
		    connect(fd, (struct sockaddr *)&opt.target.ss,
			    opt.target.len) ||
		    getsockname(fd, (struct sockaddr *)&ss, &len)) {
			fprintf(stderr, "loadgen: no route to %s: %s\n",
				opt.target.text, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
		memset(a, 0, sizeof(a));
		if (ss.ss_family == AF_INET) {
			a[10] = a[11] = 0xff;
			memcpy(a + 12, &((struct sockaddr_in *)&ss)->sin_addr,
			       4);
		} else {
			memcpy(a, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		}
		make_endpoint(&clients[0].ep, a, 0, ss.ss_family);
		return 0;
	}

	fd = nl_open();
	if (fd < 0) {
		perror("loadgen: netlink");
		return -1;
	}
	err = route_oif(fd, &opt.target);
	if (err < 0) {
		fprintf(stderr, "loadgen: no route to %s: %s\n",
			opt.target.text, strerror(-err));
		close(fd);
		return -1;
	}
	clients_ifindex = err;
	if_indextoname((unsigned int)clients_ifindex, ifname);
	for (i = 0; i < opt.nclients; i++) {
		addr_add(opt.client_base, opt.target.family, i, a);
		make_endpoint(&clients[i].ep, a, 0, opt.target.family);
		err = addr_change(fd, RTM_NEWADDR, clients_ifindex,
				  &clients[i].ep);
		/* Already there (another run, or by hand): use, not own. */
		if (err == -EEXIST)
			continue;
		if (err) {
			fprintf(stderr, "loadgen: cannot add %s to %s: %s\n",
				clients[i].ep.text, ifname, strerror(-err));
			close(fd);
			clients_remove();
			return -1;
		}
		clients[i].added = true;
	}
	close(fd);
	return 0;
}

/* ---- recording ---------------------------------------------------------- */

static void count(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (v)
		json_integer_set(v, json_integer_value(v) + 1);
	else
		json_object_set_new(obj, key, json_integer(1));
}

static int colour_index(const char *name)
{
	int i;

	for (i = 0; i < ncolour_names; i++)
		if (!strcmp(colour_names[i], name))
			return i;
	if (ncolour_names == MAX_COLOURS)
		return -1;
	snprintf(colour_names[ncolour_names], FIELD_MAX, "%s", name);
	return ncolour_names++;
}

static void record_ok(struct conn *c)
{
	char code[16];
	int ci;

	st.ok++;
	snprintf(code, sizeof(code), "%d", c->status);
	count(st.status, code);
	if (c->colour[0]) {
		count(st.colours, c->colour);
		ci = colour_index(c->colour);
		if (ci >= 0)
			clients[c->client].colours |= 1U << ci;
	}
	if (opt.flows_detail && c->local[0])
		json_array_append_new(st.flows,
				      json_pack("[s, s]", c->local, c->colour));
	if (c->version[0])
		count(st.versions, c->version);
	if (c->backend[0])
		count(st.backends, c->backend);
	if (st.nttfb == st.cap) {
		size_t cap = st.cap ? st.cap * 2 : 1024;
		double *p = realloc(st.ttfb_ms, cap * sizeof(*p));

		if (!p)
			return;
		st.ttfb_ms = p;
		st.cap = cap;
	}
	st.ttfb_ms[st.nttfb++] = (double)(c->first_ns - c->start_ns) / 1e6;
	ci = c->colour[0] ? colour_index(c->colour) : -1;
	if (ci < 0)
		return;
	if (!st.cstatus[ci])
		st.cstatus[ci] = json_object();
	count(st.cstatus[ci], code);
	if (st.cn[ci] == st.ccap[ci]) {
		size_t cap = st.ccap[ci] ? st.ccap[ci] * 2 : 256;
		double *p = realloc(st.cttfb[ci], cap * sizeof(*p));

		if (!p)
			return;
		st.cttfb[ci] = p;
		st.ccap[ci] = cap;
	}
	st.cttfb[ci][st.cn[ci]++] = st.ttfb_ms[st.nttfb - 1];
}

/* ---- connections ------------------------------------------------------- */

static struct conn *conns;
static int epfd;
static uint32_t active;

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->st = C_FREE;
	active--;
}

static void conn_fail(struct conn *c, enum err_kind kind, const char *why)
{
	if (c->st != C_DRAINING) {
		st.err[kind]++;
		if (opt.transfer_mode) {
			st.xfer = *c;
			st.xfer_error = why ? why : err_name[kind];
		}
	}
	conn_close(c);
}

static enum err_kind classify(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return E_REFUSED;
	case ECONNRESET:
	case EPIPE:
		return E_RESET;
	case ETIMEDOUT:
		return E_TIMEOUT;
	default:
		return E_OTHER;
	}
}

/* The source address and port the kernel chose, as "ADDR:PORT". */
static void local_endpoint(struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	__u8 a[16] = { 0 };
	uint16_t port;

	if (getsockname(c->fd, (struct sockaddr *)&ss, &len))
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&ss;

		a[10] = a[11] = 0xff;
		memcpy(a + 12, &sin->sin_addr, 4);
		port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)&ss;

		memcpy(a, &sin6->sin6_addr, 16);
		port = ntohs(sin6->sin6_port);
	}
	sluice_format_endpoint(a, port, c->local, sizeof(c->local));
}

static void launch(struct conn *c, unsigned int client, uint64_t now)
{
	const struct client *cl = &clients[client];
	struct epoll_event ev = { .events = EPOLLOUT };
	int one = 1;

	memset(c, 0, offsetof(struct conn, head));
	c->st = C_CONNECTING;
	c->client = client;
	c->start_ns = now;
	c->deadline_ns = now + opt.timeout_ns;
	c->clen = -1;
	c->bad_off = UINT64_MAX;
	active++;
	st.launched++;

	c->fd = socket(opt.target.family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_fail(c, E_OTHER, "socket");
		return;
	}
	if (opt.nclients) {
		/*
		 * Defer the port choice to connect(), where it is made per
		 * 4-tuple: bind() would reserve a port per socket, and one
		 * busy client address would run out of them.
		 */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
			   sizeof(one));
		if (bind(c->fd, (const struct sockaddr *)&cl->ep.ss,
			 cl->ep.len)) {
			conn_fail(c, E_OTHER, "bind");
			return;
		}
	}
	if (connect(c->fd, (const struct sockaddr *)&opt.target.ss,
		    opt.target.len) &&
	    errno != EINPROGRESS) {
		conn_fail(c, classify(errno), NULL);
		return;
	}
	if (opt.flows_detail)
		local_endpoint(c);
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev))
		conn_fail(c, E_OTHER, "epoll");
}

/* Copy a header value into a bounded, printable field. */
static void header_value(char *dst, const char *v, const char *end)
{
	size_t n = 0;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (v < end && n + 1 < FIELD_MAX && (unsigned char)*v >= 0x20 &&
	       *v != 0x7f)
		dst[n++] = *v++;
	while (n && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

static int parse_head(struct conn *c, size_t len)
{
	const char *p = c->head, *end = c->head + len, *eol, *colon;
	char num[24];

	eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	if (!eol || eol - p < 12 || memcmp(p, "HTTP/1.", 7) || p[8] != ' ')
		return -1;
	if (sscanf(p + 9, "%3d", &c->status) != 1 || c->status < 100)
		return -1;
	for (p = eol + 2; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol || eol == p)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			return -1;
#define IS(name)                                    \
	((size_t)(colon - p) == sizeof(name) - 1 && \
	 !strncasecmp(p, name, sizeof(name) - 1))
		if (IS("X-Sluice-Colour")) {
			header_value(c->colour, colon + 1, eol);
		} else if (IS("X-Sluice-Backend")) {
			header_value(c->backend, colon + 1, eol);
		} else if (IS("X-Sluice-Version")) {
			header_value(c->version, colon + 1, eol);
		} else if (IS("Content-Length")) {
			header_value(num, colon + 1, eol);
			if (sscanf(num, "%" SCNd64, &c->clen) != 1 ||
			    c->clen < 0)
				return -1;
		}
#undef IS
	}
	return 0;
}

static void complete(struct conn *c, uint64_t now)
{
	record_ok(c);
	if (opt.transfer_mode) {
		st.xfer = *c;
		st.xfer_error = NULL;
	}
	/*
	 * Wait for the server's FIN before closing, so the server, not us,
	 * holds TIME_WAIT: a busy single-address client would otherwise
	 * run out of ports.
	 */
	c->st = C_DRAINING;
	c->deadline_ns = now + (opt.timeout_ns < NSEC ? opt.timeout_ns : NSEC);
}

static void body_bytes(struct conn *c, const unsigned char *p, size_t n,
		       uint64_t now)
{
	size_t i;

	if (opt.transfer_mode && c->bad_off == UINT64_MAX) {
		for (i = 0; i < n; i++) {
			if (p[i] != pattern_byte(c->body + i)) {
				c->bad_off = c->body + i;
				break;
			}
		}
	}
	c->body += n;
	if (c->clen >= 0 && c->body >= (uint64_t)c->clen)
		complete(c, now);
}

static void on_readable(struct conn *c, uint64_t now)
{
	static unsigned char buf[65536];
	const char *hend;
	size_t room, used;
	ssize_t n;

	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		conn_fail(c, classify(errno), NULL);
		return;
	}
	if (n == 0) {
		if (c->st == C_DRAINING)
			conn_close(c);
		else if (c->head_done && c->clen < 0) {
			complete(c, now);
			conn_close(c);
		} else
			conn_fail(c, E_OTHER, "early EOF");
		return;
	}
	c->deadline_ns = now + opt.timeout_ns;
	if (c->st == C_DRAINING)
		return;
	if (!c->first_ns)
		c->first_ns = now;
	if (c->head_done) {
		body_bytes(c, buf, (size_t)n, now);
		return;
	}
	room = sizeof(c->head) - c->hlen;
	used = (size_t)n < room ? (size_t)n : room;
	memcpy(c->head + c->hlen, buf, used);
	c->hlen += used;
	hend = memmem(c->head, c->hlen, "\r\n\r\n", 4);
	if (!hend) {
		if (c->hlen == sizeof(c->head))
			conn_fail(c, E_OTHER, "bad response");
		return;
	}
	if (parse_head(c, (size_t)(hend + 4 - c->head))) {
		conn_fail(c, E_OTHER, "bad response");
		return;
	}
	c->head_done = true;
	/*
	 * Whatever followed the header in this read is body; called even
	 * with none, so an empty body completes the response.
	 */
	used = (size_t)(hend + 4 - c->head);
	body_bytes(c, (unsigned char *)c->head + used, c->hlen - used, now);
	if (c->st == C_READING && (size_t)n > room)
		body_bytes(c, buf + room, (size_t)n - room, now);
}

static void on_writable(struct conn *c, uint64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	socklen_t len = sizeof(int);
	int err = 0;
	ssize_t n;

	if (c->st == C_CONNECTING) {
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			conn_fail(c, classify(err), NULL);
			return;
		}
		c->st = C_SENDING;
		c->deadline_ns = now + opt.timeout_ns;
	}
	n = send(c->fd, request + c->sent, request_len - c->sent, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_fail(c, classify(errno), NULL);
		return;
	}
	c->sent += (size_t)n;
	if (c->sent < request_len)
		return;
	c->st = C_READING;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev))
		conn_fail(c, E_OTHER, "epoll");
}

/* ---- the run ----------------------------------------------------------- */

static bool want_more(uint64_t now, uint64_t t0)
{
	if (signals)
		return false;
	if (opt.transfer_mode)
		return st.launched < 1;
	if (opt.duration_ns)
		return now - t0 < opt.duration_ns;
	return st.launched < opt.connections;
}

/* In connections/s mode: when the next connection may start. */
static uint64_t next_slot(uint64_t t0)
{
	return t0 + (uint64_t)((double)st.launched * 1e9 / opt.rate);
}

static int run(double *elapsed_s)
{
	struct epoll_event evs[64];
	uint64_t t0 = now_ns(), now, wake, hard_end = 0;
	uint32_t i, next_client = 0;
	sigset_t unblocked;
	int n, k, tmo;

	sigprocmask(SIG_SETMASK, NULL, &unblocked);
	sigdelset(&unblocked, SIGINT);
	sigdelset(&unblocked, SIGTERM);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	conns = calloc(opt.concurrency, sizeof(*conns));
	if (epfd < 0 || !conns)
		return -1;
	for (i = 0; i < opt.concurrency; i++)
		conns[i].fd = -1;

	for (;;) {
		now = now_ns();
		for (i = 0; i < opt.concurrency && want_more(now, t0); i++) {
			if (conns[i].st != C_FREE)
				continue;
			if (opt.rate && !opt.transfer_mode &&
			    next_slot(t0) > now)
				break;
			/* Client i serves connections i, i + M, i + 2M... */
			launch(&conns[i], next_client, now);
			next_client = (next_client + 1) % nclient_slots;
		}
		if (!want_more(now, t0)) {
			if (!active)
				break;
			/*
			 * Stopped by a signal or the end of --duration:
			 * in-flight connections get one more --timeout, a
			 * second signal ends them at once.
			 */
			if (!hard_end && (signals || opt.duration_ns))
				hard_end = now + opt.timeout_ns;
			if ((hard_end && now >= hard_end) || signals > 1) {
				for (i = 0; i < opt.concurrency; i++) {
					if (conns[i].st == C_FREE)
						continue;
					if (conns[i].st != C_DRAINING) {
						st.aborted++;
						if (opt.transfer_mode) {
							st.xfer = conns[i];
							st.xfer_error =
								"interrupted";
						}
					}
					conn_close(&conns[i]);
				}
				break;
			}
		}

		wake = hard_end ? hard_end : UINT64_MAX;
		for (i = 0; i < opt.concurrency; i++)
			if (conns[i].st != C_FREE &&
			    conns[i].deadline_ns < wake)
				wake = conns[i].deadline_ns;
		if (want_more(now, t0) && active < opt.concurrency) {
			if (opt.rate && !opt.transfer_mode &&
			    next_slot(t0) < wake)
				wake = next_slot(t0);
			if (opt.duration_ns && t0 + opt.duration_ns < wake)
				wake = t0 + opt.duration_ns;
		}
		tmo = wake == UINT64_MAX ? -1 :
		      wake <= now	 ? 0 :
					   (int)((wake - now + 999999) / 1000000);
		n = epoll_pwait(epfd, evs, 64, tmo, &unblocked);
		now = now_ns();
		for (k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;

			if (c->st == C_FREE)
				continue;
			if (c->st == C_CONNECTING || c->st == C_SENDING)
				on_writable(c, now);
			else
				on_readable(c, now);
		}
		for (i = 0; i < opt.concurrency; i++) {
			struct conn *c = &conns[i];

			if (c->st == C_FREE || c->deadline_ns > now)
				continue;
			if (c->st == C_DRAINING)
				conn_close(c);
			else
				conn_fail(c, E_TIMEOUT, NULL);
		}
	}
	*elapsed_s = (double)(now_ns() - t0) / 1e9;
	close(epfd);
	return 0;
}

/* ---- output ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static json_t *ms(double v)
{
	return json_real(round(v * 1000) / 1000);
}

/* Nearest rank: the smallest sample with at least q of them at or below. */
static double percentile_of(const double *v, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * (double)n);

	return v[rank ? rank - 1 : 0];
}

static double percentile(double q)
{
	return percentile_of(st.ttfb_ms, st.nttfb, q);
}

/* Per answering colour: connections, status codes, first-byte times. */
static json_t *by_colour_json(void)
{
	json_t *o = json_object(), *c, *fb;
	int i;

	for (i = 0; i < ncolour_names; i++) {
		if (!st.cn[i])
			continue;
		qsort(st.cttfb[i], st.cn[i], sizeof(double), cmp_double);
		fb = json_object();
		json_object_set_new(fb, "p50",
				    ms(percentile_of(st.cttfb[i], st.cn[i], 0.5)));
		json_object_set_new(fb, "p99",
				    ms(percentile_of(st.cttfb[i], st.cn[i], 0.99)));
		c = json_object();
		json_object_set_new(c, "responses", json_integer(st.cn[i]));
		json_object_set(c, "status", st.cstatus[i]);
		json_object_set_new(c, "first_byte_ms", fb);
		json_object_set_new(o, colour_names[i], c);
	}
	return o;
}

static json_t *summary_json(double elapsed)
{
	json_t *root = json_object(), *errs = json_object(), *fb, *cl;
	uint64_t multi = 0;
	unsigned int i;
	int k;

	json_object_set_new(root, "target", json_string(opt.target.text));
	json_object_set_new(root, "connections", json_integer(st.launched));
	json_object_set_new(root, "ok", json_integer(st.ok));
	for (k = 0; k < E_KINDS; k++)
		json_object_set_new(errs, err_name[k], json_integer(st.err[k]));
	json_object_set_new(root, "errors", errs);
	json_object_set_new(root, "aborted", json_integer(st.aborted));
	json_object_set(root, "status", st.status);
	json_object_set(root, "colours", st.colours);
	json_object_set(root, "versions", st.versions);
	json_object_set(root, "backends", st.backends);

	cl = opt.clients_detail ? json_object() : NULL;
	for (i = 0; i < nclient_slots; i++) {
		uint32_t m = clients[i].colours;
		json_t *set;

		if (m & (m - 1))
			multi++;
		if (!cl)
			continue;
		set = json_array();
		for (k = 0; k < ncolour_names; k++)
			if (m & (1U << k))
				json_array_append_new(
					set, json_string(colour_names[k]));
		json_object_set_new(cl, clients[i].ep.text, set);
	}
	json_object_set_new(root, "client_count", json_integer(nclient_slots));
	json_object_set_new(root, "clients_multi_colour", json_integer(multi));
	if (cl)
		json_object_set_new(root, "clients", cl);
	if (opt.flows_detail)
		json_object_set(root, "flows", st.flows);

	fb = json_object();
	if (st.nttfb) {
		qsort(st.ttfb_ms, st.nttfb, sizeof(double), cmp_double);
		json_object_set_new(fb, "p50", ms(percentile(0.50)));
		json_object_set_new(fb, "p90", ms(percentile(0.90)));
		json_object_set_new(fb, "p99", ms(percentile(0.99)));
		json_object_set_new(fb, "max", ms(st.ttfb_ms[st.nttfb - 1]));
	}
	json_object_set_new(root, "first_byte_ms", fb);
	json_object_set_new(root, "by_colour", by_colour_json());
	json_object_set_new(root, "duration_s", ms(elapsed));
	json_object_set_new(root, "interrupted", json_boolean(signals > 0));
	return root;
}

static json_t *transfer_json(double elapsed)
{
	const struct conn *c = &st.xfer;
	json_t *t = json_object(), *root = json_object();
	bool ok = !st.xfer_error && c->status == 200 &&
		  c->body == opt.transfer && c->bad_off == UINT64_MAX;

	json_object_set_new(t, "bytes", json_integer((json_int_t)c->body));
	json_object_set_new(t, "expected",
			    json_integer((json_int_t)opt.transfer));
	json_object_set_new(t, "ok", json_boolean(ok));
	json_object_set_new(t, "status",
			    c->status ? json_integer(c->status) : json_null());
	json_object_set_new(t, "colour", json_string(c->colour));
	json_object_set_new(t, "backend", json_string(c->backend));
	json_object_set_new(t, "version", json_string(c->version));
	json_object_set_new(t, "client", json_string(clients[0].ep.text));
	json_object_set_new(t, "error",
			    st.xfer_error ? json_string(st.xfer_error) :
					    json_null());
	json_object_set_new(t, "first_bad_offset",
			    c->bad_off == UINT64_MAX ?
				    json_null() :
				    json_integer((json_int_t)c->bad_off));
	json_object_set_new(t, "duration_s", ms(elapsed));
	json_object_set_new(root, "transfer", t);
	return root;
}

static void print_text(json_t *root)
{
	json_t *t = json_object_get(root, "transfer"), *v, *fb;
	const char *key;

	if (t) {
		printf("transfer %s: %lld/%lld bytes from %s (%s), error %s\n",
		       json_is_true(json_object_get(t, "ok")) ? "ok" : "FAILED",
		       json_integer_value(json_object_get(t, "bytes")),
		       json_integer_value(json_object_get(t, "expected")),
		       json_string_value(json_object_get(t, "backend")),
		       json_string_value(json_object_get(t, "colour")),
		       st.xfer_error ? st.xfer_error : "none");
		return;
	}
	printf("%llu connections to %s in %.3fs: %llu ok, %llu refused, "
	       "%llu reset, %llu timeout, %llu other, %llu aborted\n",
	       (unsigned long long)st.launched, opt.target.text,
	       json_real_value(json_object_get(root, "duration_s")),
	       (unsigned long long)st.ok, (unsigned long long)st.err[E_REFUSED],
	       (unsigned long long)st.err[E_RESET],
	       (unsigned long long)st.err[E_TIMEOUT],
	       (unsigned long long)st.err[E_OTHER],
	       (unsigned long long)st.aborted);
	printf("status:");
	json_object_foreach(st.status, key, v)
		printf(" %s=%lld", key, json_integer_value(v));
	printf("\ncolours:");
	json_object_foreach(st.colours, key, v)
		printf(" %s=%lld", key, json_integer_value(v));
	printf("\nbackends:");
	json_object_foreach(st.backends, key, v)
		printf(" %s=%lld", key, json_integer_value(v));
	fb = json_object_get(root, "first_byte_ms");
	printf("\nclients seeing more than one colour: %lld of %u\n",
	       json_integer_value(
		       json_object_get(root, "clients_multi_colour")),
	       nclient_slots);
	if (json_object_size(fb))
		printf("first byte: p50 %.3fms p99 %.3fms max %.3fms\n",
		       json_real_value(json_object_get(fb, "p50")),
		       json_real_value(json_object_get(fb, "p99")),
		       json_real_value(json_object_get(fb, "max")));
}

/* ---- options ----------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: loadgen --target ADDR:PORT|[ADDR6]:PORT\n"
		"               (--connections N | --duration D | --transfer BYTES)\n"
		"               [--clients M] [--client-base ADDR] [--concurrency C]\n"
		"               [--rate R] [--path /P] [--timeout D] [--json]\n"
		"               [--clients-detail] [--flows-detail]\n"
		"--rate is connections/s, or bytes/s with --transfer.\n"
		"--timeout bounds each wait for progress (default 2s).\n");
}

static int bad(const char *what, const char *value)
{
	fprintf(stderr, "loadgen: bad %s '%s'\n", what, value);
	return 2;
}

static int parse_opts(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "connections", required_argument, NULL, 'n' },
		{ "clients", required_argument, NULL, 'm' },
		{ "client-base", required_argument, NULL, 'b' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "path", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "rate", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "transfer", required_argument, NULL, 'x' },
		{ "json", no_argument, NULL, 'j' },
		{ "clients-detail", no_argument, NULL, 'D' },
		{ "flows-detail", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *target = NULL, *base = NULL, *p;
	int o, family, modes = 0;
	__u64 dur;
	__u32 v;
	__u16 port;
	__u8 a[16];

	while ((o = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (o) {
		case 't':
			target = optarg;
			break;
		case 'n':
			if (sluice_parse_u32(optarg, 1, UINT32_MAX,
					     &opt.connections))
				return bad("--connections", optarg);
			modes++;
			break;
		case 'm':
			if (sluice_parse_u32(optarg, 1, MAX_CLIENTS,
					     &opt.nclients))
				return bad("--clients (1..65536)", optarg);
			break;
		case 'b':
			if (sluice_parse_addr(optarg, opt.client_base, NULL))
				return bad("--client-base", optarg);
			base = optarg;
			break;
		case 'c':
			if (sluice_parse_u32(optarg, 1, 100000,
					     &opt.concurrency))
				return bad("--concurrency (1..100000)", optarg);
			break;
		case 'p':
			for (p = optarg; *p; p++)
				if ((unsigned char)*p <= ' ' || *p == 0x7f)
					break;
			if (optarg[0] != '/' || *p || strlen(optarg) > 1024)
				return bad("--path", optarg);
			opt.path = optarg;
			break;
		case 'd':
			if (sluice_parse_duration(optarg, &dur) || !dur)
				return bad("--duration (e.g. 10s)", optarg);
			opt.duration_ns = dur;
			modes++;
			break;
		case 'r':
			if (sluice_parse_u32(optarg, 1, UINT32_MAX, &opt.rate))
				return bad("--rate", optarg);
			break;
		case 'T':
			if (sluice_parse_duration(optarg, &dur) || !dur)
				return bad("--timeout (e.g. 2s)", optarg);
			opt.timeout_ns = dur;
			break;
		case 'x':
			if (sluice_parse_u32(optarg, 0, UINT32_MAX, &v))
				return bad("--transfer", optarg);
			opt.transfer = v;
			opt.transfer_mode = true;
			modes++;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'D':
			opt.clients_detail = true;
			break;
		case 'F':
			opt.flows_detail = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return bad("argument", argv[optind]);
	if (!target) {
		fprintf(stderr, "loadgen: --target is required\n");
		return 2;
	}
	if (modes != 1) {
		fprintf(stderr, "loadgen: give exactly one of --connections, "
				"--duration, --transfer\n");
		return 2;
	}
	if (sluice_parse_endpoint(target, a, &port, &family))
		return bad("--target", target);
	make_endpoint(&opt.target, a, port, family);
	if (base) {
		int bf = sluice_addr_is_v4(opt.client_base) ? AF_INET :
							      AF_INET6;
		if (bf != family)
			return bad("--client-base (family differs from "
				   "--target)",
				   base);
		if (!opt.nclients)
			fprintf(stderr, "loadgen: --client-base without "
					"--clients is ignored\n");
	} else {
		sluice_parse_addr(family == AF_INET ? "198.18.64.1" :
						      "fd00:64::1",
				  opt.client_base, NULL);
	}
	if (opt.nclients &&
	    addr_add(opt.client_base, family, opt.nclients - 1, a))
		return bad("--clients (runs past the end of the address "
			   "space)",
			   target);
	if (opt.transfer_mode) {
		static char path[64];

		/* One connection, verified byte by byte. */
		snprintf(path, sizeof(path), "/bytes/%llu",
			 (unsigned long long)opt.transfer);
		if (opt.rate)
			snprintf(path + strlen(path),
				 sizeof(path) - strlen(path), "?rate=%u",
				 opt.rate);
		opt.path = path;
		opt.concurrency = 1;
		if (opt.nclients > 1)
			opt.nclients = 1;
	} else if (!opt.duration_ns && opt.concurrency > opt.connections) {
		opt.concurrency = opt.connections;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct rlimit rl;
	sigset_t block;
	double elapsed = 0;
	json_t *out;
	int rc;

	rc = parse_opts(argc, argv);
	if (rc)
		return rc;
	request_len = (size_t)snprintf(request, sizeof(request),
				       "GET %s HTTP/1.1\r\n"
				       "Host: %s\r\n"
				       "User-Agent: sluice-loadgen\r\n"
				       "Connection: close\r\n\r\n",
				       opt.path, opt.target.text);

	/* Each concurrent connection is a descriptor. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/*
	 * SIGINT/SIGTERM are held until epoll_pwait, which is where the
	 * loop notices them; one arriving during setup waits there too, so
	 * the client addresses are always removed.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	st.status = json_object();
	st.colours = json_object();
	st.flows = json_array();
	st.versions = json_object();
	st.backends = json_object();
	st.xfer.bad_off = UINT64_MAX;
	st.xfer_error = "no response";
	if (clients_setup())
		return 1;
	if (run(&elapsed)) {
		perror("loadgen");
		clients_remove();
		return 1;
	}
	clients_remove();

	out = opt.transfer_mode ? transfer_json(elapsed) :
				  summary_json(elapsed);
	if (opt.json) {
		json_dumpf(out, stdout,
			   JSON_INDENT(2) | JSON_REAL_PRECISION(10));
		putchar('\n');
	} else {
		print_text(out);
	}
	fflush(stdout);
	json_decref(out);
	return 0;
}
