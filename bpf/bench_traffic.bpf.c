// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Traffic generator and sink for the veth packet-rate benchmark.
 *
 * gen_xmit runs under BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES:
 * the kernel builds real frames from the test input and this program
 * sends each out of the one DEVMAP entry (a veth whose peer runs the
 * program under test). pktgen and xdp-trafficgen are not available on
 * the bench hosts; this needs nothing but the kernel.
 *
 * A live frame's page is recycled with whatever the programs downstream
 * wrote into it (the kernel resets the frame's pointers, not its bytes),
 * and sluice rewrites addresses in place: so the generator writes the
 * whole frame from a per-CPU template every time, keeping each core on
 * its own flow.
 *
 * sink_count sits on the far veth and counts what was delivered, per
 * CPU so two generator cores never share a cache line, then drops it:
 * the benchmark measures the forwarder, not a socket.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} delivered SEC(".maps");

/* Every generated frame is this long: 64 bytes on the wire with FCS. */
#define GEN_FRAME_BYTES 60
#define GEN_TEMPLATES 8 /* indexed by CPU, modulo */

/* Filled by the bench tool after load, one frame per generator CPU. */
__u8 frame_tmpl[GEN_TEMPLATES][GEN_FRAME_BYTES];

SEC("xdp")
int gen_xmit(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 zero = 0, t = bpf_get_smp_processor_id() % GEN_TEMPLATES;
	__u64 *n = bpf_map_lookup_elem(&sent, &zero);

	if (data + GEN_FRAME_BYTES > end)
		return XDP_ABORTED;
	__builtin_memcpy(data, frame_tmpl[t], GEN_FRAME_BYTES);
	if (n)
		(*n)++;
	return bpf_redirect_map(&tx_port, 0, 0);
}

SEC("xdp")
int sink_count(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&delivered, &zero);

	(void)ctx;
	if (n)
		(*n)++;
	return XDP_DROP;
}
