// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
#include "names.h"


const char *const sluice_pass_names[SLUICE_PASS_MAX] = {
	[SLUICE_PASS_NOT_IP] = "not_ip",
	[SLUICE_PASS_NOT_SERVICE] = "not_service",
	[SLUICE_PASS_TRUNCATED] = "truncated",
	[SLUICE_PASS_MALFORMED] = "malformed",
	[SLUICE_PASS_FRAGMENT] = "fragment",
	[SLUICE_PASS_VLAN_DEPTH] = "vlan_depth",
	[SLUICE_PASS_EXT_HDRS] = "ipv6_ext_headers",
	[SLUICE_PASS_PROTO] = "protocol",
	[SLUICE_PASS_ICMP_NO_FLOW] = "icmp_no_flow",
	[SLUICE_PASS_TTL] = "ttl",
	[SLUICE_PASS_NO_NEIGH] = "no_neighbour",
	[SLUICE_PASS_FIB] = "fib",
};

const char *const sluice_drop_names[SLUICE_DROP_MAX] = {
	[SLUICE_DROP_EMPTY_POOL] = "empty_pool",
	[SLUICE_DROP_NO_ROUTE] = "no_route",
	[SLUICE_DROP_TOO_BIG] = "too_big",
};

const char *const sluice_error_names[SLUICE_ERR_MAX] = {
	[SLUICE_ERR_RST] = "rst",
	[SLUICE_ERR_ICMP] = "icmp",
	[SLUICE_ERR_HTTP_5XX] = "http_5xx",
	[SLUICE_ERR_SYN_RETRY] = "syn_retry",
};

const char *const sluice_mode_names[2] = { "nat", "dsr" };
const char *const sluice_affinity_names[3] = { "flow", "client", "prefix" };

const char *sluice_event_type_name(__u32 type)
{
	switch (type) {
	case SLUICE_EV_NEW_FLOW:
		return "new_flow";
	case SLUICE_EV_DROP:
		return "drop";
	case SLUICE_EV_ERROR:
		return "error";
	case SLUICE_EV_DECISION:
		return "decision";
	default:
		return "unknown";
	}
}
