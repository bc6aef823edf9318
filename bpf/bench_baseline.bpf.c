// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Baselines for `make bench`: the least an XDP forwarder can do, so
 * sluice's cost is reported as a ratio against it, measured in the same
 * run on the same noisy machine.
 *
 * baseline_tx: swap the MACs and bounce the frame (BPF_PROG_TEST_RUN
 * per-packet cost). baseline_fwd: write fixed MACs and redirect to one
 * interface, the minimal router hop that sluice's veth path is compared
 * with (it bounds-checks the same Ethernet header and calls the same
 * bpf_redirect helper, but skips parsing, lookups and checksums).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the bench tool before load; const volatile so they are rodata. */
const volatile __u32 out_ifindex = 0;
const volatile __u8 out_smac[ETH_ALEN] = {};
const volatile __u8 out_dmac[ETH_ALEN] = {};

SEC("xdp")
int baseline_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

SEC("xdp")
int baseline_fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	int i;

	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	/* Byte loop: volatile rodata cannot go through memcpy. */
	for (i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = out_dmac[i];
		eth->h_source[i] = out_smac[i];
	}
	return bpf_redirect(out_ifindex, 0);
}
