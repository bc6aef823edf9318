// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Packet builder and checksum verifier for the data-path tests; see
 * pkt.h. Test binaries are linked only against libsluice.a, so a test
 * that needs this file #includes it: it has no main, every external
 * symbol is prefixed pkt_, and every internal one too, because it shares
 * a translation unit with the test's own statics and macros.
 *
 * Headers are written byte by byte rather than through kernel structs:
 * the frames are test vectors, so they must not depend on host byte
 * order, struct padding or which of the clashing libc and kernel network
 * headers a test happens to include.
 */
#ifndef SLUICE_TESTS_PKT_C
#define SLUICE_TESTS_PKT_C

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "pkt.h"

#define PKT_ETH_HLEN 14
#define PKT_VLAN_HLEN 4
#define PKT_MAX_VLANS 3
#define PKT_IP4_HLEN 20
#define PKT_IP6_HLEN 40
#define PKT_EXT_HLEN 8
#define PKT_MAX_EXT 6
#define PKT_TCP_HLEN 20
#define PKT_UDP_HLEN 8
#define PKT_ICMP_HLEN 8
#define PKT_MAX_OPTS 40
#define PKT_FRAG_ID 0x12345678u
#define PKT_IP4_DF 0x4000
#define PKT_IP4_MF 0x2000
#define PKT_FRAG_MASK 0x1fff
/*
 * The verifier walks a few more extension headers than the builder can
 * emit, so frames from other sources with a longer chain still verify,
 * but stays bounded on garbage.
 */
#define PKT_VERIFY_MAX_EXT 8

static void pkt_put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void pkt_put32(__u8 *p, __u32 v)
{
	pkt_put16(p, v >> 16);
	pkt_put16(p + 2, v & 0xffff);
}

static __u16 pkt_get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

/*
 * Folded but not complemented, so a pseudo-header sum can seed the sum
 * of the segment. 64 bits of headroom: no carry is lost before folding
 * whatever the length.
 */
static __u32 pkt_sum(const void *data, size_t len, __u32 initial)
{
	const __u8 *p = data;
	uint64_t acc = initial;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (__u32)(p[i] << 8 | p[i + 1]);
	/* RFC 1071: an odd byte is padded with zero on the right. */
	if (len & 1)
		acc += (__u32)p[len - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (__u32)acc;
}

__u16 pkt_csum(const void *data, size_t len, __u32 initial_sum)
{
	return (__u16)(~pkt_sum(data, len, initial_sum) & 0xffff);
}

/*
 * The pseudo-header is summed as real bytes, laid out as in RFC 793 /
 * RFC 8200 section 8.1, so builder and verifier share one obviously
 * right definition instead of two hand-folded ones.
 */
static __u32 pkt_pseudo_sum(bool v6, const __u8 *src, const __u8 *dst,
			    __u8 proto, __u32 len)
{
	__u8 ph[40];

	memset(ph, 0, sizeof(ph));
	if (v6) {
		memcpy(ph, src, 16);
		memcpy(ph + 16, dst, 16);
		pkt_put32(ph + 32, len);
		ph[39] = proto;
		return pkt_sum(ph, 40, 0);
	}
	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[9] = proto;
	pkt_put16(ph + 10, (__u16)len);
	return pkt_sum(ph, 12, 0);
}

static bool pkt_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
	       nh == IPPROTO_FRAGMENT || nh == IPPROTO_DSTOPTS;
}

/* ICMP in the other family has no meaning here: it is "other". */
static size_t pkt_l4_hlen(const struct pkt_spec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		return PKT_TCP_HLEN + (size_t)s->tcp_opts_len;
	case IPPROTO_UDP:
		return PKT_UDP_HLEN;
	case IPPROTO_ICMP:
		return s->v6 ? 0 : PKT_ICMP_HLEN;
	case IPPROTO_ICMPV6:
		return s->v6 ? PKT_ICMP_HLEN : 0;
	default:
		return 0;
	}
}

static bool pkt_has_frag_hdr(const struct pkt_spec *s)
{
	int i;

	for (i = 0; i < s->next_ext; i++)
		if (s->ext[i] == IPPROTO_FRAGMENT)
			return true;
	return false;
}

static bool pkt_spec_ok(const struct pkt_spec *s)
{
	int i;

	if (!s || !s->src || !s->dst)
		return false;
	if (s->ip_opts_len < 0 || s->ip_opts_len > PKT_MAX_OPTS ||
	    s->ip_opts_len % 4 || (s->v6 && s->ip_opts_len))
		return false;
	if (s->tcp_opts_len < 0 || s->tcp_opts_len > PKT_MAX_OPTS ||
	    s->tcp_opts_len % 4)
		return false;
	if (s->ihl_override < 0 || s->ihl_override > 15)
		return false;
	if (s->frag_offset > PKT_FRAG_MASK)
		return false;
	if (s->next_ext < 0 || s->next_ext > PKT_MAX_EXT ||
	    (!s->v6 && s->next_ext))
		return false;
	for (i = 0; i < s->next_ext; i++)
		if (!pkt_is_ext(s->ext[i]))
			return false;
	/* IPv6 has nowhere else to put fragment fields. */
	if (s->v6 && (s->more_frags || s->frag_offset) && !pkt_has_frag_hdr(s))
		return false;
	/* Bounds every later sum well inside size_t and the length fields. */
	if (s->payload_len > 0xffff)
		return false;
	return true;
}

static void pkt_write_ext(const struct pkt_spec *s, __u8 *e, __u8 type,
			  __u8 next)
{
	e[0] = next;
	switch (type) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_DSTOPTS:
		/* 6 bytes of options to fill: one PadN of 4 data bytes. */
		e[2] = 1;
		e[3] = 4;
		break;
	case IPPROTO_ROUTING:
		/* type 0, segments left 0: ignored by receivers, harmless. */
		break;
	case IPPROTO_FRAGMENT:
		pkt_put16(e + 2, (__u16)(s->frag_offset << 3 |
					 (s->more_frags ? 1 : 0)));
		pkt_put32(e + 4, PKT_FRAG_ID);
		break;
	}
}

static void pkt_write_l4(const struct pkt_spec *s, __u8 *l4, size_t seglen,
			 const __u8 *src, const __u8 *dst)
{
	__u32 initial = 0;
	size_t csum_off;
	__u16 c;

	switch (s->proto) {
	case IPPROTO_TCP:
		pkt_put16(l4, s->sport);
		pkt_put16(l4 + 2, s->dport);
		pkt_put32(l4 + 4, s->seq);
		pkt_put32(l4 + 8, s->ack_seq);
		l4[12] = (__u8)((PKT_TCP_HLEN + s->tcp_opts_len) / 4 << 4);
		l4[13] = s->tcp_flags;
		pkt_put16(l4 + 14, s->window ? s->window : 0xffff);
		memset(l4 + PKT_TCP_HLEN, 1, (size_t)s->tcp_opts_len);
		csum_off = 16;
		break;
	case IPPROTO_UDP:
		pkt_put16(l4, s->sport);
		pkt_put16(l4 + 2, s->dport);
		pkt_put16(l4 + 4, (__u16)seglen);
		csum_off = 6;
		break;
	default: /* ICMP or ICMPv6, already matched to the family */
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		pkt_put32(l4 + 4, s->icmp_rest);
		csum_off = 2;
		break;
	}

	/* ICMPv4 is the one checksum here without a pseudo-header. */
	if (s->proto != IPPROTO_ICMP)
		initial = pkt_pseudo_sum(s->v6, src, dst, s->proto,
					 (__u32)seglen);
	c = pkt_csum(l4, seglen, initial);
	if (s->proto == IPPROTO_UDP) {
		/* 0 on the wire means "none", so a true 0 is sent as -0. */
		if (s->udp_zero_csum)
			c = 0;
		else if (!c)
			c = 0xffff;
	}
	pkt_put16(l4 + csum_off, c);
}

size_t pkt_build_l3(const struct pkt_spec *s, __u8 *buf, size_t cap)
{
	__u8 src[16], dst[16];
	size_t iphlen, l4len, total;
	bool l4;
	long field;
	int i;

	if (!pkt_spec_ok(s) || !buf)
		return 0;
	if (inet_pton(s->v6 ? AF_INET6 : AF_INET, s->src, src) != 1 ||
	    inet_pton(s->v6 ? AF_INET6 : AF_INET, s->dst, dst) != 1)
		return 0;

	/* A non-first fragment carries only a slice of the payload. */
	if (s->v6)
		l4 = !(pkt_has_frag_hdr(s) && s->frag_offset);
	else
		l4 = !s->frag_offset;
	l4len = l4 ? pkt_l4_hlen(s) : 0;
	iphlen = s->v6 ? PKT_IP6_HLEN + PKT_EXT_HLEN * (size_t)s->next_ext :
			 PKT_IP4_HLEN + (size_t)s->ip_opts_len;
	total = iphlen + l4len + s->payload_len;
	if (total > cap)
		return 0;

	field = (long)total + s->tot_len_delta - (s->v6 ? PKT_IP6_HLEN : 0);
	if (field < 0 || field > 0xffff)
		return 0;

	memset(buf, 0, total);
	if (s->payload)
		memcpy(buf + iphlen + l4len, s->payload, s->payload_len);
	if (l4len)
		pkt_write_l4(s, buf + iphlen, total - iphlen, src, dst);

	if (s->v6) {
		buf[0] = (__u8)(0x60 | s->tos >> 4);
		buf[1] = (__u8)((s->tos & 0xf) << 4);
		pkt_put16(buf + 4, (__u16)field);
		buf[6] = s->next_ext ? s->ext[0] : s->proto;
		buf[7] = s->ttl ? s->ttl : 64;
		memcpy(buf + 8, src, 16);
		memcpy(buf + 24, dst, 16);
		for (i = 0; i < s->next_ext; i++)
			pkt_write_ext(s, buf + PKT_IP6_HLEN + PKT_EXT_HLEN * i,
				      s->ext[i],
				      i + 1 < s->next_ext ? s->ext[i + 1] :
							    s->proto);
		return total;
	}

	buf[0] = (__u8)(0x40 |
			(s->ihl_override ? s->ihl_override : (int)iphlen / 4));
	buf[1] = s->tos;
	pkt_put16(buf + 2, (__u16)field);
	pkt_put16(buf + 4, s->ip_id);
	pkt_put16(buf + 6,
		  (__u16)((s->df ? PKT_IP4_DF : 0) |
			  (s->more_frags ? PKT_IP4_MF : 0) | s->frag_offset));
	buf[8] = s->ttl ? s->ttl : 64;
	buf[9] = s->proto;
	memcpy(buf + 12, src, 4);
	memcpy(buf + 16, dst, 4);
	if (s->ip_opts_len) {
		memset(buf + PKT_IP4_HLEN, 1, (size_t)s->ip_opts_len);
		buf[iphlen - 1] = 0;
	}
	/* Over the bytes really written, even when IHL lies about them. */
	pkt_put16(buf + 10, pkt_csum(buf, iphlen, 0));
	return total;
}

size_t pkt_build(const struct pkt_spec *s, __u8 *buf, size_t cap)
{
	size_t hlen, l3;
	int i;

	if (!s || !buf || s->nvlan < 0 || s->nvlan > PKT_MAX_VLANS)
		return 0;
	hlen = PKT_ETH_HLEN + PKT_VLAN_HLEN * (size_t)s->nvlan;
	if (cap < hlen)
		return 0;
	l3 = pkt_build_l3(s, buf + hlen, cap - hlen);
	if (!l3)
		return 0;

	memcpy(buf, s->dmac, 6);
	memcpy(buf + 6, s->smac, 6);
	for (i = 0; i < s->nvlan; i++) {
		__u8 *tag = buf + 12 + PKT_VLAN_HLEN * i;

		pkt_put16(tag, s->vlan_tpid[i] ? s->vlan_tpid[i] : 0x8100);
		pkt_put16(tag + 2, s->vlan_tci[i]);
	}
	pkt_put16(buf + hlen - 2, s->v6 ? 0x86dd : 0x0800);
	return hlen + l3;
}

static int pkt_verdict(const char **why, int rc, const char *reason)
{
	if (why)
		*why = reason;
	return rc;
}

static bool pkt_icmp4_is_error(__u8 type)
{
	/* unreachable, source quench, redirect, time exceeded, param. */
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* seglen is what the IP layer says the segment is, already in bounds. */
static int pkt_verify_l4(bool v6, const __u8 *src, const __u8 *dst, __u8 proto,
			 const __u8 *l4, size_t seglen, const char **why)
{
	size_t doff, ulen, qhl;

	switch (proto) {
	case IPPROTO_TCP:
		if (seglen < PKT_TCP_HLEN)
			return pkt_verdict(why, -2, "truncated tcp header");
		doff = (size_t)(l4[12] >> 4) * 4;
		if (doff < PKT_TCP_HLEN || doff > seglen)
			return pkt_verdict(why, -2, "bad tcp data offset");
		if (pkt_csum(l4, seglen,
			     pkt_pseudo_sum(v6, src, dst, proto,
					    (__u32)seglen)))
			return pkt_verdict(why, -1, "tcp checksum");
		break;
	case IPPROTO_UDP:
		if (seglen < PKT_UDP_HLEN)
			return pkt_verdict(why, -2, "truncated udp header");
		ulen = pkt_get16(l4 + 4);
		if (ulen < PKT_UDP_HLEN || ulen > seglen)
			return pkt_verdict(why, -2, "bad udp length");
		if (!pkt_get16(l4 + 6)) {
			/* RFC 8200 8.1: only IPv4 may omit it. */
			if (v6)
				return pkt_verdict(why, -1,
						   "udp over ipv6 checksum 0");
			break;
		}
		if (pkt_csum(l4, ulen,
			     pkt_pseudo_sum(v6, src, dst, proto, (__u32)ulen)))
			return pkt_verdict(why, -1, "udp checksum");
		break;
	case IPPROTO_ICMP:
		if (v6)
			break;
		if (seglen < 4)
			return pkt_verdict(why, -2, "truncated icmp header");
		if (pkt_csum(l4, seglen, 0))
			return pkt_verdict(why, -1, "icmp checksum");
		/*
		 * A NAT that rewrites the quoted header must refresh its
		 * checksum too; the quoted L4 checksum covers bytes the error
		 * usually cut off, so it cannot be judged.
		 */
		if (!pkt_icmp4_is_error(l4[0]) ||
		    seglen < PKT_ICMP_HLEN + PKT_IP4_HLEN)
			break;
		l4 += PKT_ICMP_HLEN;
		seglen -= PKT_ICMP_HLEN;
		qhl = (size_t)(l4[0] & 0xf) * 4;
		if (l4[0] >> 4 != 4 || qhl < PKT_IP4_HLEN || qhl > seglen)
			break;
		if (pkt_csum(l4, qhl, 0))
			return pkt_verdict(why, -1,
					   "quoted ipv4 header checksum");
		break;
	case IPPROTO_ICMPV6:
		if (!v6)
			break;
		if (seglen < 4)
			return pkt_verdict(why, -2, "truncated icmpv6 header");
		if (pkt_csum(l4, seglen,
			     pkt_pseudo_sum(v6, src, dst, proto,
					    (__u32)seglen)))
			return pkt_verdict(why, -1, "icmpv6 checksum");
		break;
	}
	return pkt_verdict(why, 0, "ok");
}

static int pkt_verify_ip4(const __u8 *p, size_t avail, const char **why)
{
	size_t hl, tot;

	if (avail < PKT_IP4_HLEN)
		return pkt_verdict(why, -2, "truncated ipv4 header");
	if (p[0] >> 4 != 4)
		return pkt_verdict(why, -2, "ipv4 ethertype, version not 4");
	hl = (size_t)(p[0] & 0xf) * 4;
	if (hl < PKT_IP4_HLEN)
		return pkt_verdict(why, -2, "bad ipv4 ihl");
	if (hl > avail)
		return pkt_verdict(why, -2, "truncated ipv4 options");
	tot = pkt_get16(p + 2);
	if (tot < hl)
		return pkt_verdict(why, -2, "ipv4 total length below ihl");
	if (tot > avail)
		return pkt_verdict(why, -2, "truncated ipv4 packet");
	if (pkt_csum(p, hl, 0))
		return pkt_verdict(why, -1, "ipv4 header checksum");
	if (pkt_get16(p + 6) & PKT_FRAG_MASK)
		return pkt_verdict(why, 0, "ok");
	return pkt_verify_l4(false, p + 12, p + 16, p[9], p + hl, tot - hl,
			     why);
}

static int pkt_verify_ip6(const __u8 *p, size_t avail, const char **why)
{
	size_t off = PKT_IP6_HLEN, end, hlen;
	__u8 nh;
	int n;

	if (avail < PKT_IP6_HLEN)
		return pkt_verdict(why, -2, "truncated ipv6 header");
	if (p[0] >> 4 != 6)
		return pkt_verdict(why, -2, "ipv6 ethertype, version not 6");
	end = PKT_IP6_HLEN + (size_t)pkt_get16(p + 4);
	if (end > avail)
		return pkt_verdict(why, -2, "truncated ipv6 packet");

	nh = p[6];
	for (n = 0; pkt_is_ext(nh); n++) {
		if (n == PKT_VERIFY_MAX_EXT)
			return pkt_verdict(why, -2,
					   "ipv6 header chain too long");
		if (end - off < PKT_EXT_HLEN)
			return pkt_verdict(why, -2,
					   "truncated ipv6 ext header");
		if (nh == IPPROTO_FRAGMENT) {
			nh = p[off];
			/* Later fragments have no L4 header to check. */
			if (pkt_get16(p + off + 2) >> 3)
				return pkt_verdict(why, 0, "ok");
			off += PKT_EXT_HLEN;
			continue;
		}
		hlen = ((size_t)p[off + 1] + 1) * 8;
		if (hlen > end - off)
			return pkt_verdict(why, -2,
					   "truncated ipv6 ext header");
		nh = p[off];
		off += hlen;
	}
	return pkt_verify_l4(true, p + 8, p + 24, nh, p + off, end - off, why);
}

static bool pkt_is_vlan_tpid(__u16 type)
{
	return type == 0x8100 || type == 0x88a8 || type == 0x9100;
}

int pkt_verify_checksums(const __u8 *frame, size_t len, const char **why)
{
	size_t off = PKT_ETH_HLEN;
	__u16 type;
	int tags = 0;

	if (!frame || len < PKT_ETH_HLEN)
		return pkt_verdict(why, -2, "truncated ethernet header");
	type = pkt_get16(frame + 12);
	while (pkt_is_vlan_tpid(type)) {
		if (tags == PKT_MAX_VLANS)
			return pkt_verdict(why, -2, "more than 3 vlan tags");
		if (len - off < PKT_VLAN_HLEN)
			return pkt_verdict(why, -2, "truncated vlan tag");
		type = pkt_get16(frame + off + 2);
		off += PKT_VLAN_HLEN;
		tags++;
	}
	if (type == 0x0800)
		return pkt_verify_ip4(frame + off, len - off, why);
	if (type == 0x86dd)
		return pkt_verify_ip6(frame + off, len - off, why);
	return pkt_verdict(why, -2, "not ip");
}

/* One side of a dump row; a side that has ended leaves the row short. */
static void pkt_dump_row(const char *label, size_t row, const __u8 *p,
			 size_t len)
{
	size_t i;

	fprintf(stderr, "%04zx %-4s", row, label);
	for (i = row; i < row + 16 && i < len; i++)
		fprintf(stderr, i - row == 8 ? "  %02x" : " %02x", p[i]);
	fputc('\n', stderr);
}

static bool pkt_byte_differs(const __u8 *a, size_t alen, const __u8 *b,
			     size_t blen, size_t i)
{
	if (i >= alen || i >= blen)
		return true;
	return a[i] != b[i];
}

void pkt_dump_diff(const char *what, const __u8 *got, size_t got_len,
		   const __u8 *want, size_t want_len)
{
	size_t n, first, row, last, i;
	bool marks;

	if (!what)
		what = "frame";
	if (!got)
		got_len = 0;
	if (!want)
		want_len = 0;
	n = got_len > want_len ? got_len : want_len;
	first = n;
	for (i = 0; i < n; i++) {
		if (pkt_byte_differs(got, got_len, want, want_len, i)) {
			first = i;
			break;
		}
	}
	if (first == n) {
		fprintf(stderr, "%s: frames identical (%zu bytes)\n", what, n);
		return;
	}
	fprintf(stderr,
		"%s: first difference at byte %zu (0x%zx); got %zu bytes, want %zu\n",
		what, first, first, got_len, want_len);
	for (row = 0; row < n; row += 16) {
		pkt_dump_row("got", row, got, got_len);
		pkt_dump_row("want", row, want, want_len);
		/* Markers stop at the row's last difference: no trailing blanks. */
		last = row;
		marks = false;
		for (i = row; i < row + 16 && i < n; i++) {
			if (pkt_byte_differs(got, got_len, want, want_len, i)) {
				last = i;
				marks = true;
			}
		}
		if (!marks)
			continue;
		fputs("         ", stderr);
		for (i = row; i <= last; i++) {
			if (i - row == 8)
				fputc(' ', stderr);
			if (i == first)
				fputs(" ^^", stderr);
			else if (pkt_byte_differs(got, got_len, want, want_len,
						  i))
				fputs(" --", stderr);
			else
				fputs("   ", stderr);
		}
		fputc('\n', stderr);
	}
}

static int pkt_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int pkt_mac(const char *s, __u8 mac[6])
{
	__u8 out[6];
	int i, hi, lo;

	if (!s || !mac)
		return -1;
	for (i = 0; i < 6; i++) {
		/* Checked in order, so a short string stops at its NUL. */
		hi = pkt_hexval(s[0]);
		if (hi < 0)
			return -1;
		lo = pkt_hexval(s[1]);
		if (lo < 0)
			return -1;
		out[i] = (__u8)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -1;
	}
	if (*s)
		return -1;
	memcpy(mac, out, 6);
	return 0;
}

#endif /* SLUICE_TESTS_PKT_C */
