/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * How a new flow is decided, from its affinity key: the words hashed,
 * the colour the split gives and the pool-table entry. The data path
 * and `sluice explain` both use these, so what explain predicts is what
 * the kernel does.
 */
#ifndef SLUICE_AFFINITY_H
#define SLUICE_AFFINITY_H

#include "sluice_abi.h"
#include "sluice_hash.h"

#if defined(__bpf__)
#include <bpf/bpf_endian.h>
#define SLUICE_HTONL(x) bpf_htonl(x)
#else
#include <arpa/inet.h>
#define SLUICE_HTONL(x) htonl(x)
#endif

/*
 * The words the split and the backend choice hash: the source address
 * (16 bytes, IPv4-mapped for IPv4), narrowed to /24 or /48 for prefix
 * affinity; ports (network order, as on the wire) and protocol only
 * for flow affinity.
 */
SLUICE_INLINE void sluice_affinity_words(const __u8 src[16], __be16 sport,
					 __be16 dport, __u8 proto, int v6,
					 __u8 affinity, __u32 w[4], __u32 *w4,
					 __u32 *w5)
{
	__builtin_memcpy(w, src, 16);
	*w4 = 0;
	*w5 = 0;
	if (affinity == SLUICE_AFFINITY_FLOW) {
		*w4 = ((__u32)sport << 16) | dport;
		*w5 = proto;
	} else if (affinity == SLUICE_AFFINITY_PREFIX) {
		if (v6) {
			/* /48: the first three 16-bit groups */
			w[1] &= SLUICE_HTONL(0xffff0000);
			w[2] = 0;
			w[3] = 0;
		} else {
			w[3] &= SLUICE_HTONL(0xffffff00);
		}
	}
}

/* The split's colour for a key; the hash in ppm goes to *ppm if asked. */
SLUICE_INLINE int sluice_split_colour(__u32 svc_seed, const __u32 w[4],
				      __u32 w4, __u32 w5, __u32 green_ppm,
				      __u32 *ppm)
{
	__u32 v = sluice_hash_to_ppm(sluice_hash6(svc_seed, w, w4, w5));

	if (ppm)
		*ppm = v;
	return v < green_ppm ? SLUICE_GREEN : SLUICE_BLUE;
}

/* The pool-table index a key picks, inside whichever pool it went to. */
SLUICE_INLINE __u32 sluice_table_index(__u32 svc_seed, const __u32 w[4],
				       __u32 w4, __u32 w5)
{
	return sluice_hash_to_slot(sluice_hash6(svc_seed ^
							SLUICE_BACKEND_SEED_XOR,
						w, w4, w5),
				   SLUICE_TABLE_SIZE);
}

#endif /* SLUICE_AFFINITY_H */
