// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * sluice: one XDP program for both directions on every interface it is
 * attached to. Packets to a service VIP are steered (forward.h), replies
 * from a backend of a nat flow are translated back and observed
 * (reverse.h), ICMP errors about a flow follow it (icmp.h); everything
 * else passes to the stack untouched, counted by reason.
 */
#include "forward.h"
#include "reverse.h"
#include "icmp.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct sluice_service_key sk;
	struct sluice_service *svc;
	struct pkt p = {};
	__be16 l3;
	int rc;

	rc = parse_eth(data, end, &p, &l3);
	if (rc != PARSE_OK)
		return pass(rc);
	if (l3 == bpf_htons(ETH_P_IP))
		rc = parse_ipv4(data, end, &p);
	else if (l3 == bpf_htons(ETH_P_IPV6))
		rc = parse_ipv6(data, end, &p);
	else
		return pass(SLUICE_PASS_NOT_IP);
	if (rc != PARSE_OK)
		return pass(rc);

	if (p.proto == (p.v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP))
		return handle_icmp(ctx, &p);
	rc = parse_l4(data, end, &p);
	if (rc != PARSE_OK)
		return pass(rc);

	__builtin_memcpy(sk.vip, p.key.dst, 16);
	sk.port = p.key.dport;
	sk.proto = p.key.proto;
	sk.pad = 0;
	svc = bpf_map_lookup_elem(&services, &sk);
	if (svc)
		return steer(ctx, &p, svc);
	return reverse(ctx, &p);
}
