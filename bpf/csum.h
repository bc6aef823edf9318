/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Incremental Internet checksum updates (RFC 1624): HC' = ~(~HC + ~m + m').
 * Changes are accumulated as a 32-bit one's-complement sum of
 * (~old + new) over 16-bit words as they sit in memory, so no byte
 * swapping is needed, then folded into each checksum they affect.
 */
#ifndef SLUICE_BPF_CSUM_H
#define SLUICE_BPF_CSUM_H

#include <linux/types.h>

static __always_inline __u32 csum_acc16(__u32 acc, __u16 old, __u16 new)
{
	return acc + (__u16)~old + new;
}

/*
 * Accumulate the change of an address of 2 (IPv4) or 8 (IPv6) words.
 * Both sides must be 2-byte aligned (the verifier insists on the stack).
 */
static __always_inline __u32 csum_acc_addr(__u32 acc, const void *old,
					   const void *new, int v6)
{
	const __u16 *o = old, *n = new;
	int i;

	if (v6) {
#pragma unroll
		for (i = 0; i < 8; i++)
			acc = csum_acc16(acc, o[i], n[i]);
	} else {
		acc = csum_acc16(acc, o[0], n[0]);
		acc = csum_acc16(acc, o[1], n[1]);
	}
	return acc;
}

static __always_inline __u16 csum_fold32(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Apply an accumulated change to a checksum field's value. */
static __always_inline __u16 csum_apply(__u16 check, __u32 acc)
{
	return ~csum_fold32((__u16)~check + csum_fold32(acc));
}

/*
 * UDP: a zero checksum on the wire means "none" in IPv4 and stays so;
 * a computed zero is sent as 0xffff.
 */
static __always_inline __u16 csum_apply_udp(__u16 check, __u32 acc)
{
	__u16 c = csum_apply(check, acc);

	return c ? c : 0xffff;
}

#endif /* SLUICE_BPF_CSUM_H */
