/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The flow hash, shared by the XDP program and userspace so that tests,
 * benchmarks and a fleet of hosts all compute the same value for a key.
 * It is Bob Jenkins' lookup3 mix over 32-bit words: cheap, branch-free
 * and well distributed in its low and high bits.
 */
#ifndef SLUICE_HASH_H
#define SLUICE_HASH_H

#include <linux/types.h>

#ifndef SLUICE_INLINE
#define SLUICE_INLINE static inline __attribute__((always_inline))
#endif

#define SLUICE_ROL32(x, k) (((x) << (k)) | ((x) >> (32 - (k))))

#define SLUICE_MIX(a, b, c)                  \
	do {                                 \
		a -= c;                      \
		a ^= SLUICE_ROL32(c, 4);     \
		c += b;                      \
		b -= a;                      \
		b ^= SLUICE_ROL32(a, 6);     \
		a += c;                      \
		c -= b;                      \
		c ^= SLUICE_ROL32(b, 8);     \
		b += a;                      \
		a -= c;                      \
		a ^= SLUICE_ROL32(c, 16);    \
		c += b;                      \
		b -= a;                      \
		b ^= SLUICE_ROL32(a, 19);    \
		a += c;                      \
		c -= b;                      \
		c ^= SLUICE_ROL32(b, 4);     \
		b += a;                      \
	} while (0)

#define SLUICE_FINAL(a, b, c)                \
	do {                                 \
		c ^= b;                      \
		c -= SLUICE_ROL32(b, 14);    \
		a ^= c;                      \
		a -= SLUICE_ROL32(c, 11);    \
		b ^= a;                      \
		b -= SLUICE_ROL32(a, 25);    \
		c ^= b;                      \
		c -= SLUICE_ROL32(b, 16);    \
		a ^= c;                      \
		a -= SLUICE_ROL32(c, 4);     \
		b ^= a;                      \
		b -= SLUICE_ROL32(a, 14);    \
		c ^= b;                      \
		c -= SLUICE_ROL32(b, 24);    \
	} while (0)

#define SLUICE_HASH_INIT 0xdeadbeefu

/*
 * Hash of six words: an address (four words) and two more (ports and
 * protocol for a 5-tuple, zero for a client or prefix key).
 */
SLUICE_INLINE __u32 sluice_hash6(__u32 seed, const __u32 w[4], __u32 w4,
				 __u32 w5)
{
	__u32 a, b, c;

	a = b = c = SLUICE_HASH_INIT + (6 << 2) + seed;
	a += w[0];
	b += w[1];
	c += w[2];
	SLUICE_MIX(a, b, c);
	a += w[3];
	b += w4;
	c += w5;
	SLUICE_FINAL(a, b, c);
	return c;
}

/* Hash of one more word into a running value (service seed derivation). */
SLUICE_INLINE __u32 sluice_hash2(__u32 seed, __u32 x, __u32 y)
{
	__u32 a, b, c;

	a = b = c = SLUICE_HASH_INIT + (2 << 2) + seed;
	a += x;
	b += y;
	SLUICE_FINAL(a, b, c);
	return c;
}

/* Scale a 32-bit hash to [0, SLUICE_PPM) without a division. */
SLUICE_INLINE __u32 sluice_hash_to_ppm(__u32 h)
{
	return (__u32)(((__u64)h * 1000000u) >> 32);
}

/*
 * Scale a hash to a lookup-table index. A multiply and a shift: cheaper
 * than a modulo, and the verifier can see the result is in bounds.
 */
SLUICE_INLINE __u32 sluice_hash_to_slot(__u32 h, __u32 size)
{
	return (__u32)(((__u64)h * size) >> 32);
}

/*
 * The split and the backend choice hash the same affinity key with
 * different seeds, so which pool a flow lands in says nothing about
 * which backend inside the pool it gets.
 */
#define SLUICE_BACKEND_SEED_XOR 0x9e3779b9u

#endif /* SLUICE_HASH_H */
