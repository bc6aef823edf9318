/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Packet builder and checksum verifier for the data-path tests.
 *
 * A fixture test states an input frame and the exact frame it expects
 * back from BPF_PROG_TEST_RUN. Both are built here with every checksum
 * computed from scratch, so a wrong incremental update in the XDP
 * program cannot be mirrored by an equally wrong one in the test.
 *
 * The implementation lives in pkt.c and is meant to be #included by the
 * one test file of each binary (the Makefile links tests only against
 * libsluice.a), so everything non-static in it is prefixed pkt_.
 */
#ifndef SLUICE_TESTS_PKT_H
#define SLUICE_TESTS_PKT_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#define PKT_MAX 2048

struct pkt_spec {
	__u8 smac[6], dmac[6];
	int nvlan; /* 0..3 tags; outer first */
	__u16 vlan_tpid[3]; /* 0 means 0x8100 */
	__u16 vlan_tci[3];
	bool v6; /* IPv6 else IPv4 */
	const char *src, *dst; /* textual addresses, family per v6 */
	__u8 ttl; /* TTL / hop limit; 0 means 64 */
	__u8 tos; /* IPv4 TOS / IPv6 traffic class */
	__u16 ip_id;
	/* IPv4 only: multiple of 4, <= 40; NOPs ending with one EOL */
	int ip_opts_len;
	/* nonzero: IHL written instead of the real one (malformed tests) */
	int ihl_override;
	/* added to IPv4 total length / IPv6 payload length (malformed) */
	int tot_len_delta;
	bool df; /* IPv4 only */
	bool more_frags; /* IPv4 MF; IPv6 needs a fragment header in ext[] */
	__u16 frag_offset; /* 8-byte units; IPv4 field or IPv6 frag header */
	int next_ext; /* IPv6 extension headers used from ext[], 0..6 */
	/*
	 * In order: 0 hop-by-hop, 60 destination options (PadN), 43
	 * routing (type 0, segments left 0), 44 fragment (id 0x12345678).
	 * Each is 8 bytes.
	 */
	__u8 ext[6];
	/*
	 * IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP (IPv4 only) or
	 * IPPROTO_ICMPV6 (IPv6 only) get an L4 header; anything else,
	 * including ICMP in the wrong family, is followed by payload only.
	 */
	__u8 proto;
	__u16 sport, dport; /* host order */
	__u8 tcp_flags; /* byte 13 of the TCP header */
	__u32 seq, ack_seq;
	__u16 window; /* 0 means 65535 */
	int tcp_opts_len; /* multiple of 4, <= 40, NOP filled */
	/* checksum field 0: IPv4 "no checksum", malformed for IPv6 */
	bool udp_zero_csum;
	__u8 icmp_type, icmp_code;
	/*
	 * The 4 bytes after the ICMP checksum, host order, written big
	 * endian: RFC 1191 next-hop MTU in the low 16 bits, ICMPv6
	 * packet-too-big MTU as all 32, echo id << 16 | sequence.
	 */
	__u32 icmp_rest;
	/*
	 * L4 payload; for ICMP errors the quoted packet (for instance
	 * pkt_build_l3() of another spec, possibly truncated). NULL with a
	 * nonzero payload_len means that many zero bytes.
	 */
	const __u8 *payload;
	size_t payload_len;
};

/* Whole Ethernet frame into buf; its length, or 0 on a bad spec or cap. */
size_t pkt_build(const struct pkt_spec *s, __u8 *buf, size_t cap);
/* From the IP header on: the quoted packet inside ICMP errors. */
size_t pkt_build_l3(const struct pkt_spec *s, __u8 *buf, size_t cap);

/*
 * Internet checksum of data, folded and complemented, as a host-order
 * value to be stored big endian. initial_sum is a partial sum of
 * big-endian 16-bit words (a pseudo-header, say); any 32-bit value is
 * folded correctly. Over a region that already holds its correct
 * checksum the result is 0.
 */
__u16 pkt_csum(const void *data, size_t len, __u32 initial_sum);

/*
 * Verify a frame's checksums from scratch: IPv4 header; TCP, UDP,
 * ICMP and ICMPv6 including the pseudo-header where there is one (UDP
 * over IPv4 with checksum 0 is valid, over IPv6 it is not); the quoted
 * IPv4 header of an ICMP error when it is complete. Walks Ethernet, up
 * to 3 VLAN tags (TPID 0x8100, 0x88a8 or 0x9100), IPv4 with options and
 * IPv6 with the extension headers above. The IP length field bounds the
 * L4 segment, so trailing padding is ignored; a non-first fragment has
 * only its IPv4 header checked. 0 if every checksum present is valid,
 * -1 if one is not, -2 if the frame cannot be parsed (truncated,
 * not IP, bad lengths); why (if non-NULL) gets a short reason, "ok" on
 * success.
 */
int pkt_verify_checksums(const __u8 *frame, size_t len, const char **why);

/*
 * Hex dump of both frames to stderr, marking the first differing byte
 * with ^^ and any other differing byte with --, for failure messages.
 */
void pkt_dump_diff(const char *what, const __u8 *got, size_t got_len,
		   const __u8 *want, size_t want_len);

/* "02:00:00:00:00:01" (two hex digits per octet) into mac; 0 or -1. */
int pkt_mac(const char *s, __u8 mac[6]);

#endif /* SLUICE_TESTS_PKT_H */
