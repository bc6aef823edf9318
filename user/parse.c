// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Strict parsers for operator input. Sub-parsers work on (pointer,
 * length) slices so that compound forms such as "[fd00::1]:80/tcp" are
 * split without copying or writing into the caller's string.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "sluice_abi.h"
#include "parse.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* All of s[0..n) must be decimal digits, at least one, and <= max. */
static int dec_n(const char *s, size_t n, __u64 max, __u64 *out)
{
	__u64 v = 0;
	size_t i;

	if (n == 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -EINVAL;
		/* Checked per digit so a long run of digits cannot wrap. */
		if (v > max / 10 || (__u64)(s[i] - '0') > max - v * 10)
			return -EINVAL;
		v = v * 10 + (__u64)(s[i] - '0');
	}
	*out = v;
	return 0;
}

bool sluice_addr_is_v4(const __u8 addr[16])
{
	static const __u8 prefix[12] = { [10] = 0xff, [11] = 0xff };

	return addr && memcmp(addr, prefix, sizeof(prefix)) == 0;
}

/*
 * Parse s[0..n) as an address. `want` limits the accepted literal syntax
 * (AF_INET, AF_INET6 or AF_UNSPEC for either); *literal reports which
 * syntax was used, which can differ from the family of a mapped address.
 */
static int addr_n(const char *s, size_t n, int want, __u8 addr[16],
		  int *literal)
{
	char buf[SLUICE_ADDR_STRLEN];
	__u8 a[16];

	/* inet_pton needs a terminated string; too long is never valid. */
	if (n == 0 || n >= sizeof(buf) || memchr(s, '\0', n))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';

	if (want != AF_INET6 && inet_pton(AF_INET, buf, a + 12) == 1) {
		memset(a, 0, 10);
		a[10] = 0xff;
		a[11] = 0xff;
		*literal = AF_INET;
	} else if (want != AF_INET && inet_pton(AF_INET6, buf, a) == 1) {
		*literal = AF_INET6;
	} else {
		return -EINVAL;
	}
	memcpy(addr, a, 16);
	return 0;
}

static int family_of(const __u8 addr[16])
{
	return sluice_addr_is_v4(addr) ? AF_INET : AF_INET6;
}

int sluice_parse_addr(const char *s, __u8 addr[16], int *family)
{
	__u8 a[16];
	int lit;

	if (!s || !addr || addr_n(s, strlen(s), AF_UNSPEC, a, &lit))
		return -EINVAL;
	memcpy(addr, a, 16);
	if (family)
		*family = family_of(a);
	return 0;
}

/*
 * "a.b.c.d:port" or "[v6]:port" in s[0..n). An unbracketed IPv6 address
 * is refused: in "fd00::1:80" nobody can tell where the address ends.
 */
static int endpoint_n(const char *s, size_t n, __u8 addr[16], __u16 *port)
{
	const char *host, *colon;
	size_t host_len;
	__u64 p;
	int want, lit;
	__u8 a[16];

	if (n == 0)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close)
			return -EINVAL;
		host = s + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
		if (colon >= s + n || *colon != ':')
			return -EINVAL;
		want = AF_INET6;
	} else {
		colon = memchr(s, ':', n);
		if (!colon)
			return -EINVAL;
		host = s;
		host_len = (size_t)(colon - s);
		want = AF_INET;
	}
	if (addr_n(host, host_len, want, a, &lit))
		return -EINVAL;
	if (dec_n(colon + 1, (size_t)(s + n - colon - 1), 65535, &p) || p == 0)
		return -EINVAL;
	memcpy(addr, a, 16);
	*port = (__u16)p;
	return 0;
}

int sluice_parse_endpoint(const char *s, __u8 addr[16], __u16 *port,
			  int *family)
{
	__u8 a[16];
	__u16 p;

	if (!s || !addr || !port || endpoint_n(s, strlen(s), a, &p))
		return -EINVAL;
	memcpy(addr, a, 16);
	*port = p;
	if (family)
		*family = family_of(a);
	return 0;
}

int sluice_parse_vip(const char *s, __u8 addr[16], __u16 *port, __u8 *proto,
		     int *family)
{
	const char *slash;
	__u8 a[16], pr;
	__u16 p;

	if (!s || !addr || !port || !proto)
		return -EINVAL;
	/* Addresses never contain '/', so the first one ends the endpoint. */
	slash = strchr(s, '/');
	if (!slash || endpoint_n(s, (size_t)(slash - s), a, &p))
		return -EINVAL;
	if (strcasecmp(slash + 1, "tcp") == 0)
		pr = IPPROTO_TCP;
	else if (strcasecmp(slash + 1, "udp") == 0)
		pr = IPPROTO_UDP;
	else
		return -EINVAL;
	memcpy(addr, a, 16);
	*port = p;
	*proto = pr;
	if (family)
		*family = family_of(a);
	return 0;
}

static bool host_bits_clear(const __u8 addr[16], __u32 plen)
{
	__u32 i;

	for (i = plen; i < 128; i++)
		if (addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

int sluice_parse_prefix(const char *s, __u8 addr[16], __u32 *plen128,
			int *family)
{
	const char *slash;
	size_t host_len;
	__u64 plen;
	__u8 a[16];
	int lit;

	if (!s || !addr || !plen128)
		return -EINVAL;
	slash = strchr(s, '/');
	host_len = slash ? (size_t)(slash - s) : strlen(s);
	if (addr_n(s, host_len, AF_UNSPEC, a, &lit))
		return -EINVAL;

	/* The length is in the bits of the literal the operator wrote. */
	if (!slash)
		plen = lit == AF_INET ? 32 : 128;
	else if (dec_n(slash + 1, strlen(slash + 1), lit == AF_INET ? 32 : 128,
		       &plen))
		return -EINVAL;
	if (lit == AF_INET)
		plen += 96;
	if (!host_bits_clear(a, (__u32)plen))
		return -EINVAL;

	memcpy(addr, a, 16);
	*plen128 = (__u32)plen;
	/* A mapped prefix shorter than /96 has host bits set: never here. */
	if (family)
		*family = family_of(a);
	return 0;
}

int sluice_parse_percent(const char *s, __u32 *ppm)
{
	static const __u32 scale[5] = { 1, 1000, 100, 10, 1 };
	const char *p = s, *start;
	__u64 whole, frac = 0;
	size_t nfrac = 0;

	if (!s || !ppm)
		return -EINVAL;
	start = p;
	while (is_digit(*p))
		p++;
	/* 1000 bounds the digits we accept; "> 100" is checked below. */
	if (dec_n(start, (size_t)(p - start), 1000, &whole))
		return -EINVAL;
	if (*p == '.') {
		start = ++p;
		while (is_digit(*p))
			p++;
		nfrac = (size_t)(p - start);
		if (nfrac == 0 || nfrac > 4 || dec_n(start, nfrac, 9999, &frac))
			return -EINVAL;
	}
	if (*p == '%')
		p++;
	if (*p != '\0')
		return -EINVAL;

	/* 1% is 10000 ppm, so four decimals of a percent are whole ppm. */
	whole = whole * 10000 + frac * (nfrac ? scale[nfrac] : 0);
	if (whole > SLUICE_PPM)
		return -EINVAL;
	*ppm = (__u32)whole;
	return 0;
}

struct duration_unit {
	const char *name;
	__u64 ns;
};

/* Two-letter units first, so "ms" is not read as "m" followed by "s". */
static const struct duration_unit duration_units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "ms", 1000000ULL },
	{ "s", 1000000000ULL },
	{ "m", 60ULL * 1000000000ULL },
	{ "h", 3600ULL * 1000000000ULL },
};

static const struct duration_unit *match_unit(const char *p)
{
	size_t i, n;

	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]);
	     i++) {
		n = strlen(duration_units[i].name);
		if (strncmp(p, duration_units[i].name, n) == 0)
			return &duration_units[i];
	}
	return NULL;
}

static __u64 gcd(__u64 a, __u64 b)
{
	while (b) {
		__u64 t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * The fraction digits in s[0..n) times unit, in whole nanoseconds, or
 * -EINVAL if they do not come to a whole number: rounding would make
 * "1.5ns" silently mean 1 or 2.
 */
static int fraction_ns(const char *s, size_t n, __u64 unit, __u64 *out)
{
	__u64 f, den = 1, g;
	size_t i;

	/* Trailing zeros carry no value; dropping them keeps den small. */
	while (n > 0 && s[n - 1] == '0')
		n--;
	if (n == 0) {
		*out = 0;
		return 0;
	}
	/* 10^18 still fits, and no unit is fine enough to need more. */
	if (n > 18 || dec_n(s, n, ~0ULL, &f))
		return -EINVAL;
	for (i = 0; i < n; i++)
		den *= 10;
	/* f/den in lowest terms is whole in ns only if den divides unit. */
	g = gcd(f, den);
	f /= g;
	den /= g;
	if (unit % den || __builtin_mul_overflow(f, unit / den, out))
		return -EINVAL;
	return 0;
}

int sluice_parse_duration(const char *s, __u64 *ns)
{
	const struct duration_unit *u;
	const char *p = s, *start, *fstart;
	__u64 total = 0, whole, part, frac;
	size_t nfrac;

	if (!s || !ns || *s == '\0')
		return -EINVAL;
	while (*p) {
		start = p;
		while (is_digit(*p))
			p++;
		if (dec_n(start, (size_t)(p - start), ~0ULL, &whole))
			return -EINVAL;
		fstart = p;
		nfrac = 0;
		if (*p == '.') {
			fstart = ++p;
			while (is_digit(*p))
				p++;
			nfrac = (size_t)(p - fstart);
			if (nfrac == 0)
				return -EINVAL;
		}
		u = match_unit(p);
		if (!u)
			return -EINVAL;
		p += strlen(u->name);
		if (fraction_ns(fstart, nfrac, u->ns, &frac) ||
		    __builtin_mul_overflow(whole, u->ns, &part) ||
		    __builtin_add_overflow(part, frac, &part) ||
		    __builtin_add_overflow(total, part, &total))
			return -EINVAL;
	}
	*ns = total;
	return 0;
}

int sluice_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	__u64 v;

	if (!s || !out || min > max || dec_n(s, strlen(s), max, &v) || v < min)
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

int sluice_parse_weight(const char *s, __u16 *w)
{
	__u32 v;

	if (!w || sluice_parse_u32(s, 1, SLUICE_MAX_WEIGHT, &v))
		return -EINVAL;
	*w = (__u16)v;
	return 0;
}

int sluice_parse_colour(const char *s, __u8 *colour)
{
	if (!s || !colour)
		return -EINVAL;
	if (strcasecmp(s, "blue") == 0)
		*colour = SLUICE_BLUE;
	else if (strcasecmp(s, "green") == 0)
		*colour = SLUICE_GREEN;
	else
		return -EINVAL;
	return 0;
}

const char *sluice_colour_name(__u8 colour)
{
	switch (colour) {
	case SLUICE_BLUE:
		return "blue";
	case SLUICE_GREEN:
		return "green";
	default:
		return "unknown";
	}
}

/* snprintf's result, turned into the formatters' all-or-nothing rule. */
static const char *fit(int n, char *buf, size_t len)
{
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return NULL;
	}
	return buf;
}

const char *sluice_format_addr(const __u8 addr[16], char *buf, size_t len)
{
	if (!addr || !buf || len == 0)
		return NULL;
	if (sluice_addr_is_v4(addr))
		return fit(snprintf(buf, len, "%u.%u.%u.%u", addr[12], addr[13],
				    addr[14], addr[15]),
			   buf, len);
	if (!inet_ntop(AF_INET6, addr, buf, (socklen_t)len)) {
		buf[0] = '\0';
		return NULL;
	}
	return buf;
}

const char *sluice_format_endpoint(const __u8 addr[16], __u16 port_host,
				   char *buf, size_t len)
{
	char a[SLUICE_ADDR_STRLEN];
	int n;

	if (!addr || !buf || len == 0)
		return NULL;
	if (!sluice_format_addr(addr, a, sizeof(a))) {
		buf[0] = '\0';
		return NULL;
	}
	/* Brackets keep the port from reading as the last IPv6 group. */
	if (sluice_addr_is_v4(addr))
		n = snprintf(buf, len, "%s:%u", a, port_host);
	else
		n = snprintf(buf, len, "[%s]:%u", a, port_host);
	return fit(n, buf, len);
}

const char *sluice_format_ppm(__u32 ppm, char *buf, size_t len)
{
	__u32 whole = ppm / 10000, frac = ppm % 10000;
	int digits = 4;

	if (!buf || len == 0)
		return NULL;
	if (frac == 0)
		return fit(snprintf(buf, len, "%u%%", whole), buf, len);
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	return fit(snprintf(buf, len, "%u.%0*u%%", whole, digits, frac), buf,
		   len);
}

unsigned int sluice_sockaddr(const __u8 addr[16], __u16 port,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (sluice_addr_is_v4(addr)) {
		struct sockaddr_in *s4 = (void *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, addr + 12, 4);
		return sizeof(*s4);
	}
	struct sockaddr_in6 *s6 = (void *)ss;

	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, addr, 16);
	return sizeof(*s6);
}
