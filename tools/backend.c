// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * backend: a small HTTP/1.1 server that plays one blue or green backend
 * in the sluice testbed. Every answer names its colour, backend and
 * version in X-Sluice-* headers, so a load client can tell where each
 * flow went, and the failure knobs (error ratio, resets, delay, refusal)
 * let tests make one pool measurably worse than the other.
 *
 * One thread per connection: a few hundred connections and a few
 * thousand accepts a second are well within reach, and blocking code
 * keeps slow streams (GET /bytes/N?rate=R) and delays trivial.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"

#define MAX_LISTEN 16
#define REQ_MAX 8192
#define CHUNK 16384
#define MAX_CONNS 4096
#define IO_TIMEOUT_S 30
#define THREAD_STACK (256 * 1024)

/* A deterministic, seedable generator; one instance per decision kind. */
struct rng {
	uint64_t state;
	pthread_mutex_t lock;
};

static struct {
	const char *colour;
	const char *version;
	const char *name;
	double error_ratio;
	double reset_ratio;
	__u64 delay_ns;
	bool refuse;
} cfg = { .version = "v1" };

/*
 * Separate streams for resets (drawn by the accept loop) and errors
 * (drawn per request): however threads interleave, N requests under one
 * seed always see the same number of 500s, so tests can be exact.
 */
static struct rng reset_rng = { .lock = PTHREAD_MUTEX_INITIALIZER };
static struct rng error_rng = { .lock = PTHREAD_MUTEX_INITIALIZER };
static atomic_int nconns;
static volatile sig_atomic_t stop;
/* Long enough that any offset into it has CHUNK pattern bytes after. */
static unsigned char pattern[CHUNK + 256];

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* True with probability p. */
static bool rng_chance(struct rng *r, double p)
{
	uint64_t x;

	if (p <= 0)
		return false;
	pthread_mutex_lock(&r->lock);
	x = splitmix64(&r->state);
	pthread_mutex_unlock(&r->lock);
	return (double)(x >> 11) * 0x1.0p-53 < p;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

struct request {
	bool head; /* HEAD: headers only */
	bool keep_alive;
	bool chunked;
	uint64_t content_length;
	char target[1024];
};

/* Decimal digits only, no overflow. */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Parse the request line and the few headers that change framing. */
static int parse_request(char *buf, size_t len, struct request *rq)
{
	char *line = buf, *end = buf + len, *eol, *sp1, *sp2, *colon, *v;
	bool http10;
	size_t tlen;

	memset(rq, 0, sizeof(*rq));
	eol = memmem(line, (size_t)(end - line), "\r\n", 2);
	if (!eol)
		return -1;
	sp1 = memchr(line, ' ', (size_t)(eol - line));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || eol - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7))
		return -1;
	http10 = sp2[8] == '0';
	rq->head = sp1 - line == 4 && !memcmp(line, "HEAD", 4);
	tlen = (size_t)(sp2 - sp1 - 1);
	if (tlen == 0 || tlen >= sizeof(rq->target))
		return -1;
	memcpy(rq->target, sp1 + 1, tlen);
	rq->keep_alive = !http10;

	for (line = eol + 2; line < end; line = eol + 2) {
		eol = memmem(line, (size_t)(end - line), "\r\n", 2);
		if (!eol || eol == line)
			break;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon)
			return -1;
		*colon = '\0';
		*eol = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (!strcasecmp(line, "Connection")) {
			if (!strcasecmp(v, "close"))
				rq->keep_alive = false;
			else if (!strcasecmp(v, "keep-alive"))
				rq->keep_alive = true;
		} else if (!strcasecmp(line, "Content-Length")) {
			if (parse_u64(v, strlen(v), &rq->content_length))
				return -1;
		} else if (!strcasecmp(line, "Transfer-Encoding")) {
			rq->chunked = true;
		}
	}
	return 0;
}

static int send_head(int fd, int status, uint64_t len, bool keep,
		     const char *label)
{
	const char *reason = status == 200 ? "OK" :
			     status == 400 ? "Bad Request" :
			     status == 431 ? "Request Header Fields Too Large" :
			     status == 501 ? "Not Implemented" :
					     "Internal Server Error";
	char head[512];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: text/plain\r\n"
		     "Content-Length: %llu\r\n"
		     "X-Sluice-Colour: %s\r\n"
		     "X-Sluice-Backend: %s\r\n"
		     "X-Sluice-Version: %s\r\n"
		     "Connection: %s\r\n\r\n",
		     status, reason, (unsigned long long)len, cfg.colour, label,
		     cfg.version, keep ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	return send_all(fd, head, (size_t)n);
}

/*
 * N bytes of the transfer-test pattern, paced to `rate` bytes/s when
 * non-zero. Pacing is against absolute deadlines so the stream keeps
 * its average rate however long each send blocks.
 */
static int send_pattern(int fd, uint64_t n, uint64_t rate)
{
	uint64_t off = 0, chunk = CHUNK, len;
	struct timespec next;

	if (rate) {
		/* About 20 writes a second: smooth, yet cheap. */
		chunk = rate / 20;
		if (chunk < 1)
			chunk = 1;
		if (chunk > CHUNK)
			chunk = CHUNK;
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (off < n) {
		len = n - off < chunk ? n - off : chunk;
		if (send_all(fd, pattern + (off & 255), len))
			return -1;
		off += len;
		if (!rate || off >= n)
			continue;
		next.tv_nsec += (long)(len * 1000000000ULL / rate);
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
				       NULL) == EINTR)
			;
	}
	return 0;
}

/* "/bytes/N" or "/bytes/N?rate=R": 1 if it is one, -1 if malformed. */
static int bytes_target(const char *t, uint64_t *n, uint64_t *rate)
{
	const char *q;

	if (strncmp(t, "/bytes/", 7))
		return 0;
	t += 7;
	q = strchr(t, '?');
	*rate = 0;
	if (!q)
		return parse_u64(t, strlen(t), n) ? -1 : 1;
	if (parse_u64(t, (size_t)(q - t), n) || strncmp(q + 1, "rate=", 5) ||
	    parse_u64(q + 6, strlen(q + 6), rate))
		return -1;
	return 1;
}

static int respond(int fd, const struct request *rq, const char *label)
{
	uint64_t n, rate;
	char body[256];
	int kind, status = 200, len;

	if (cfg.delay_ns)
		sleep_ns(cfg.delay_ns);
	if (rq->chunked)
		return send_head(fd, 501, 0, false, label) ? -1 : 1;
	kind = bytes_target(rq->target, &n, &rate);
	if (kind < 0)
		return send_head(fd, 400, 0, false, label) ? -1 : 1;
	if (rng_chance(&error_rng, cfg.error_ratio))
		status = 500;
	if (kind > 0 && status == 200) {
		if (send_head(fd, 200, n, rq->keep_alive, label))
			return -1;
		return rq->head ? 0 : send_pattern(fd, n, rate);
	}
	len = snprintf(body, sizeof(body), "%s %s %s\n", cfg.colour,
		       cfg.version, label);
	if (len < 0 || (size_t)len >= sizeof(body))
		return -1;
	if (send_head(fd, status, (uint64_t)len, rq->keep_alive, label))
		return -1;
	return rq->head ? 0 : send_all(fd, body, (size_t)len);
}

/* Drop the rest of a request body: the answer never depends on it. */
static int discard(int fd, uint64_t left)
{
	char buf[4096];
	ssize_t n;

	while (left) {
		n = recv(fd, buf, left < sizeof(buf) ? left : sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		left -= (uint64_t)n;
	}
	return 0;
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[REQ_MAX], label[SLUICE_ENDPOINT_STRLEN];
	size_t have = 0, used, body_here;
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);
	struct request rq;
	char *end;
	ssize_t n;
	__u8 a[16] = { 0 };
	__u16 port = 0;

	/* Without --name, a backend is known by the address it answers on. */
	if (cfg.name) {
		snprintf(label, sizeof(label), "%s", cfg.name);
	} else if (!getsockname(fd, (struct sockaddr *)&ss, &slen)) {
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *s4 = (void *)&ss;

			a[10] = a[11] = 0xff;
			memcpy(a + 12, &s4->sin_addr, 4);
			port = ntohs(s4->sin_port);
		} else {
			const struct sockaddr_in6 *s6 = (void *)&ss;

			memcpy(a, &s6->sin6_addr, 16);
			port = ntohs(s6->sin6_port);
		}
		if (!sluice_format_endpoint(a, port, label, sizeof(label)))
			snprintf(label, sizeof(label), "unknown");
	} else {
		snprintf(label, sizeof(label), "unknown");
	}

	for (;;) {
		while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
			if (have == sizeof(buf)) {
				send_head(fd, 431, 0, false, label);
				goto out;
			}
			n = recv(fd, buf + have, sizeof(buf) - have, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				goto out;
			have += (size_t)n;
		}
		used = (size_t)(end + 4 - buf);
		if (parse_request(buf, used, &rq)) {
			send_head(fd, 400, 0, false, label);
			goto out;
		}
		body_here = have - used;
		if (body_here > rq.content_length)
			body_here = rq.content_length;
		if (discard(fd, rq.content_length - body_here))
			goto out;
		used += body_here;
		if (respond(fd, &rq, label) || !rq.keep_alive)
			goto out;
		memmove(buf, buf + used, have - used);
		have -= used;
	}
out:
	close(fd);
	atomic_fetch_sub(&nconns, 1);
	return NULL;
}

static void reset_close(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void handle(int fd, pthread_attr_t *attr)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	pthread_t t;

	if (rng_chance(&reset_rng, cfg.reset_ratio)) {
		reset_close(fd);
		return;
	}
	/* A bounded thread count keeps a runaway client from sinking us. */
	if (atomic_fetch_add(&nconns, 1) >= MAX_CONNS) {
		atomic_fetch_sub(&nconns, 1);
		reset_close(fd);
		return;
	}
	/* Idle keep-alive clients and stalled readers must not pin threads. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (pthread_create(&t, attr, serve, (void *)(intptr_t)fd)) {
		atomic_fetch_sub(&nconns, 1);
		reset_close(fd);
	}
}

struct endpoint {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

static int parse_listen(const char *spec, struct endpoint *ep)
{
	__u8 a[16];
	__u16 port;

	memset(ep, 0, sizeof(*ep));
	if (sluice_parse_endpoint(spec, a, &port, &ep->family))
		return -1;
	ep->len = sluice_sockaddr(a, port, &ep->ss);
	return 0;
}

static int open_listener(const struct endpoint *ep)
{
	int fd, one = 1;

	fd = socket(ep->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "[::]:80" must not also grab IPv4, which may be another --listen. */
	if (ep->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ep->ss, ep->len) ||
	    listen(fd, 1024)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int parse_ratio(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 1))
		return -1;
	*out = v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: backend --listen ADDR:PORT [--listen ...] --colour blue|green\n"
		"               [--version V] [--name NAME] [--error-ratio F]\n"
		"               [--reset-ratio F] [--delay DURATION] [--refuse]\n"
		"               [--seed N]\n"
		"Answers HTTP/1.1; GET /bytes/N[?rate=BYTES_PER_S] streams the\n"
		"pattern byte i = (i * 131 + 7) & 0xff. Prints \"ready\" once up.\n");
}

static int bad(const char *what, const char *value)
{
	fprintf(stderr, "backend: bad %s '%s'\n", what, value);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "colour", required_argument, NULL, 'c' },
		{ "color", required_argument, NULL, 'c' },
		{ "version", required_argument, NULL, 'v' },
		{ "name", required_argument, NULL, 'n' },
		{ "error-ratio", required_argument, NULL, 'e' },
		{ "reset-ratio", required_argument, NULL, 'r' },
		{ "delay", required_argument, NULL, 'd' },
		{ "refuse", no_argument, NULL, 'R' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *listen_spec[MAX_LISTEN];
	struct endpoint ep[MAX_LISTEN];
	struct pollfd pfd[MAX_LISTEN];
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, old;
	pthread_attr_t attr;
	int nlisten = 0, i, opt, fd, rc;
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	__u8 colour;
	__u32 seed32;

	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (nlisten == MAX_LISTEN) {
				fprintf(stderr,
					"backend: at most %d --listen\n",
					MAX_LISTEN);
				return 2;
			}
			listen_spec[nlisten++] = optarg;
			break;
		case 'c':
			if (sluice_parse_colour(optarg, &colour))
				return bad("colour", optarg);
			cfg.colour = sluice_colour_name(colour);
			break;
		case 'v':
			cfg.version = optarg;
			break;
		case 'n':
			cfg.name = optarg;
			break;
		case 'e':
			if (parse_ratio(optarg, &cfg.error_ratio))
				return bad("--error-ratio (0..1)", optarg);
			break;
		case 'r':
			if (parse_ratio(optarg, &cfg.reset_ratio))
				return bad("--reset-ratio (0..1)", optarg);
			break;
		case 'd':
			if (sluice_parse_duration(optarg, &cfg.delay_ns))
				return bad("--delay (e.g. 200ms)", optarg);
			break;
		case 'R':
			cfg.refuse = true;
			break;
		case 's':
			if (sluice_parse_u32(optarg, 0, UINT32_MAX, &seed32))
				return bad("--seed", optarg);
			seed = seed32;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		return bad("argument", argv[optind]);
	if (!nlisten || !cfg.colour) {
		usage(stderr);
		return 2;
	}
	/* Header values go on the wire verbatim: no CR/LF smuggling. */
	if (strpbrk(cfg.version, "\r\n") || !*cfg.version)
		return bad("--version", cfg.version);
	if (cfg.name && (strpbrk(cfg.name, "\r\n") || !*cfg.name ||
			 strlen(cfg.name) >= SLUICE_ENDPOINT_STRLEN))
		return bad("--name", cfg.name);
	reset_rng.state = seed;
	error_rng.state = seed ^ 0x5bd1e9955bd1e995ULL;
	for (i = 0; i < (int)sizeof(pattern); i++)
		pattern[i] = (unsigned char)((i * 131 + 7) & 0xff);

	/* Signals reach only ppoll below: no race between check and wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < nlisten; i++)
		if (parse_listen(listen_spec[i], &ep[i]))
			return bad("--listen", listen_spec[i]);
	/* --refuse: the process exists but no port is open, so SYNs get RST. */
	if (cfg.refuse) {
		printf("ready\n");
		fflush(stdout);
		while (!stop)
			sigsuspend(&old);
		return 0;
	}
	for (i = 0; i < nlisten; i++) {
		fd = open_listener(&ep[i]);
		if (fd < 0) {
			fprintf(stderr, "backend: cannot listen on %s: %s\n",
				listen_spec[i], strerror(errno));
			return 1;
		}
		pfd[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	printf("ready\n");
	fflush(stdout);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	while (!stop) {
		rc = ppoll(pfd, (nfds_t)nlisten, NULL, &old);
		if (rc < 0)
			continue;
		for (i = 0; i < nlisten; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				handle(fd, &attr);
			else if (errno == EMFILE || errno == ENFILE)
				sleep_ns(10000000); /* let connections close */
		}
	}
	return 0;
}
