/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Parsers and formatters for what an operator types on the command line.
 *
 * Every parser is strict: the whole string must match, with no leading
 * or trailing blanks, signs or extra characters, because a half-accepted
 * typo in a traffic split is worse than an error message. Parsers return
 * 0 or -EINVAL, and write their outputs only on success. The `family`
 * output is optional (may be NULL); every other pointer is required.
 *
 * Addresses are 16 bytes, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), as
 * in sluice_abi.h. Ports come back in host byte order: callers convert
 * with htons() when they fill an ABI structure.
 */
#ifndef SLUICE_PARSE_H
#define SLUICE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Buffer sizes that always suffice for the formatters below. */
#define SLUICE_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */
#define SLUICE_ENDPOINT_STRLEN (SLUICE_ADDR_STRLEN + 8) /* "[" "]:65535" */
#define SLUICE_PPM_STRLEN 16 /* "429496.7295%" */

/*
 * "198.18.0.10" or "fd00::10". An IPv4-mapped IPv6 literal is stored the
 * same way as the dotted quad and reported as AF_INET: it is one address.
 */
int sluice_parse_addr(const char *s, __u8 addr[16], int *family);

/* "198.18.1.10:8080" or "[fd00::1]:8080"; port 1..65535, decimal. */
int sluice_parse_endpoint(const char *s, __u8 addr[16], __u16 *port,
			  int *family);

/* "198.18.0.10:80/tcp" or "[fd00::10]:53/UDP"; the protocol is required. */
int sluice_parse_vip(const char *s, __u8 addr[16], __u16 *port, __u8 *proto,
		     int *family);

/*
 * "198.18.7.0/24" or "fd00:7::/48"; a bare address is a host prefix.
 * *plen128 counts bits of the 16-byte form, so an IPv4 /24 is 120. Host
 * bits set past the prefix are rejected: "10.0.0.1/8" is almost always
 * a typo. An IPv4-mapped IPv6 literal reports AF_INET, like the address.
 */
int sluice_parse_prefix(const char *s, __u8 addr[16], __u32 *plen128,
			int *family);

/*
 * A percentage, with or without a trailing '%', to parts per million:
 * "5" and "5%" give 50000, "0.0001%" gives 1. At most four decimals, so
 * the result is always exact; 0..100 only.
 */
int sluice_parse_percent(const char *s, __u32 *ppm);

/*
 * One or more <number><unit> terms, summed: "1m30s", "250ms", "1.5s".
 * Units ns, us, ms, s, m, h. A bare number has no unit and is rejected,
 * as is a fraction that does not come to a whole nanosecond.
 */
int sluice_parse_duration(const char *s, __u64 *ns);

/* 1..SLUICE_MAX_WEIGHT. */
int sluice_parse_weight(const char *s, __u16 *w);

/* "blue" or "green", any case. */
int sluice_parse_colour(const char *s, __u8 *colour);

/* Decimal digits only, within [min, max]. */
int sluice_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out);

/*
 * Formatters return buf, or NULL if an argument is NULL or buf is too
 * small for the whole text (they never truncate: a cut address would
 * name some other host).
 */
const char *sluice_format_addr(const __u8 addr[16], char *buf, size_t len);
const char *sluice_format_endpoint(const __u8 addr[16], __u16 port_host,
				   char *buf, size_t len);
/* The shortest exact form: 50000 -> "5%", 5000 -> "0.5%", 1 -> "0.0001%". */
const char *sluice_format_ppm(__u32 ppm, char *buf, size_t len);

/* "blue", "green", or "unknown" for anything else. */
const char *sluice_colour_name(__u8 colour);

/* True for an IPv4-mapped address (::ffff:a.b.c.d). */
bool sluice_addr_is_v4(const __u8 addr[16]);

struct sockaddr_storage;
/*
 * A socket address for a 16-byte address (IPv4-mapped or IPv6) and a
 * host-order port; returns its length.
 */
unsigned int sluice_sockaddr(const __u8 addr[16], __u16 port,
			     struct sockaddr_storage *ss);

#endif /* SLUICE_PARSE_H */
