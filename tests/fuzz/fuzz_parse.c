// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * libFuzzer harness: the command-line parsers of user/parse.h on the
 * input as one NUL-terminated string, and every round trip that exists:
 * what a parser accepts, formatted and parsed again, is the same value.
 * The formatters are also driven with every buffer size, since they must
 * never truncate.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "sluice_abi.h"
#include "parse.h"

#define CHECK(c)                                                          \
	do {                                                              \
		if (!(c)) {                                               \
			fprintf(stderr, "%s:%d: %s failed\n", __FILE__, \
				__LINE__, #c);                            \
			abort();                                          \
		}                                                         \
	} while (0)

/* A formatter must fit in exactly strlen + 1 bytes and fail below that. */
static void sizes_addr(const __u8 a[16], const char *full)
{
	size_t n = strlen(full), len;
	char buf[SLUICE_ADDR_STRLEN];

	for (len = 1; len <= n + 1; len++) {
		const char *r = sluice_format_addr(a, buf, len);

		CHECK(len <= n ? r == NULL : r == buf && !strcmp(buf, full));
	}
}

static void addr_rt(const char *s)
{
	__u8 a[16], b[16];
	char buf[SLUICE_ADDR_STRLEN];
	int fa, fb;

	if (sluice_parse_addr(s, a, &fa))
		return;
	CHECK(fa == AF_INET || fa == AF_INET6);
	CHECK((fa == AF_INET) == sluice_addr_is_v4(a));
	CHECK(sluice_format_addr(a, buf, sizeof(buf)) == buf);
	CHECK(!sluice_parse_addr(buf, b, &fb));
	CHECK(!memcmp(a, b, 16) && fa == fb);
	CHECK(!sluice_parse_addr(s, b, NULL)); /* family is optional */
	sizes_addr(a, buf);
}

static void endpoint_rt(const char *s)
{
	__u8 a[16], b[16];
	__u16 pa, pb;
	char buf[SLUICE_ENDPOINT_STRLEN];
	int fa, fb;

	if (sluice_parse_endpoint(s, a, &pa, &fa))
		return;
	CHECK(pa >= 1);
	CHECK(sluice_format_endpoint(a, pa, buf, sizeof(buf)) == buf);
	CHECK(!sluice_parse_endpoint(buf, b, &pb, &fb));
	CHECK(!memcmp(a, b, 16) && pa == pb && fa == fb);
}

static void vip_rt(const char *s)
{
	__u8 a[16], b[16], pra, prb;
	__u16 pa, pb;
	char ep[SLUICE_ENDPOINT_STRLEN], buf[SLUICE_ENDPOINT_STRLEN + 8];
	int fa, fb;

	if (sluice_parse_vip(s, a, &pa, &pra, &fa))
		return;
	CHECK(pra == IPPROTO_TCP || pra == IPPROTO_UDP);
	CHECK(sluice_format_endpoint(a, pa, ep, sizeof(ep)) == ep);
	snprintf(buf, sizeof(buf), "%s/%s", ep,
		 pra == IPPROTO_TCP ? "tcp" : "udp");
	CHECK(!sluice_parse_vip(buf, b, &pb, &prb, &fb));
	CHECK(!memcmp(a, b, 16) && pa == pb && pra == prb && fa == fb);
}

static void prefix_rt(const char *s)
{
	__u8 a[16], b[16];
	__u32 la, lb;
	char ab[SLUICE_ADDR_STRLEN], buf[SLUICE_ADDR_STRLEN + 8];
	int fa, fb;

	if (sluice_parse_prefix(s, a, &la, &fa))
		return;
	CHECK(la <= 128);
	CHECK(fa != AF_INET || la >= 96);
	CHECK(sluice_format_addr(a, ab, sizeof(ab)) == ab);
	snprintf(buf, sizeof(buf), "%s/%u", ab, fa == AF_INET ? la - 96 : la);
	CHECK(!sluice_parse_prefix(buf, b, &lb, &fb));
	CHECK(!memcmp(a, b, 16) && la == lb && fa == fb);
}

static void percent_rt(const char *s)
{
	char buf[SLUICE_PPM_STRLEN];
	__u32 a, b;
	size_t len, n;

	if (sluice_parse_percent(s, &a))
		return;
	CHECK(a <= SLUICE_PPM);
	CHECK(sluice_format_ppm(a, buf, sizeof(buf)) == buf);
	CHECK(!sluice_parse_percent(buf, &b) && a == b);
	n = strlen(buf);
	for (len = 1; len <= n; len++)
		CHECK(sluice_format_ppm(a, buf, len) == NULL);
}

static void small_rt(const char *s)
{
	char buf[16];
	__u64 ns;
	__u32 u, v;
	__u16 w, w2;
	__u8 c, c2;

	if (!sluice_parse_duration(s, &ns))
		CHECK(ns > 0 || strchr(s, '0'));
	if (!sluice_parse_weight(s, &w)) {
		CHECK(w >= 1);
		snprintf(buf, sizeof(buf), "%u", w);
		CHECK(!sluice_parse_weight(buf, &w2) && w == w2);
	}
	if (!sluice_parse_colour(s, &c)) {
		CHECK(c == SLUICE_BLUE || c == SLUICE_GREEN);
		CHECK(!sluice_parse_colour(sluice_colour_name(c), &c2));
		CHECK(c == c2);
	}
	if (!sluice_parse_u32(s, 0, UINT32_MAX, &u)) {
		snprintf(buf, sizeof(buf), "%u", u);
		CHECK(!sluice_parse_u32(buf, 0, UINT32_MAX, &v) && u == v);
		if (u >= 1 && u <= 100)
			CHECK(!sluice_parse_u32(s, 1, 100, &v) && u == v);
		else
			CHECK(sluice_parse_u32(s, 1, 100, &v));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	/* Any 4 bytes are a ppm for the formatter alone. */
	if (size >= 4) {
		char buf[SLUICE_PPM_STRLEN];
		__u32 ppm, back;

		memcpy(&ppm, data, 4);
		CHECK(sluice_format_ppm(ppm, buf, sizeof(buf)) == buf);
		if (ppm <= SLUICE_PPM)
			CHECK(!sluice_parse_percent(buf, &back) &&
			      back == ppm);
	}
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	addr_rt(s);
	endpoint_rt(s);
	vip_rt(s);
	prefix_rt(s);
	percent_rt(s);
	small_rt(s);
	free(s);
	return 0;
}
