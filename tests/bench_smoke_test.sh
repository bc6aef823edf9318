#!/bin/bash
# Smoke test of `make bench`: run tools/bench.sh on tiny counts
# (BENCH_SMOKE=1) into a scratch directory and check that results.json
# has every case, each with numbers where numbers belong. It never judges
# a time: benchmarks are not tests, this only keeps the tool from rotting.
#
# Output is TAP: "ok N - what" / "not ok N - what". Needs root and jq.
set -u
cd "$(dirname "$0")/.." || exit 1

# shellcheck source=tests/lib/tap.sh
. tests/lib/tap.sh

if [ "$(id -u)" != 0 ]; then
	echo "ok 1 - bench smoke # SKIP needs root for BPF and namespaces"
	exit 0
fi
if ! command -v jq >/dev/null; then
	echo "not ok 1 - jq is installed"
	exit 1
fi
if [ ! -x build/tools/bench ]; then
	make -s build/tools/bench >/dev/null || {
		echo "not ok 1 - bench builds"
		exit 1
	}
fi

out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"' EXIT
json=$out/results.json

# Well under a minute even on a busy host; the timeout only stops a hang.
if BENCH_SMOKE=1 BENCH_OUT=$out timeout 120 tools/bench.sh >"$out/log" 2>&1; then
	ok "bench.sh runs every case on smoke counts"
else
	not_ok "bench.sh runs every case on smoke counts"
	sed 's/^/# /' "$out/log"
fi

# jq_check NAME EXPR: ok when EXPR is true of results.json.
jq_check() {
	if jq -e "$2" "$json" >/dev/null 2>&1; then
		ok "$1"
	else
		not_ok "$1"
		jq "$3" "$json" 2>&1 | sed 's/^/# /'
	fi
}

# A min/median/max triple of numbers, in order.
spread='def spread: (.min|type)=="number" and (.median|type)=="number"
	and (.max|type)=="number" and .min <= .median and .median <= .max;
	def num: type == "number";'

jq_check "results.json is valid JSON marked as a smoke run" \
	'.schema == 1 and .smoke == true and (.elapsed_s|type) == "number"' .
jq_check "idle checks before and after have numbers" \
	'[.idle_before, .idle_after][] | (.loadavg|length) == 3 and
	 (.busy_pct|length) > 0 and (.idle_enough|type) == "boolean"' \
	'{idle_before, idle_after}'
jq_check "pktcost: baseline and six sluice cases, numeric, right verdicts" \
	"$spread"'.cases.pktcost | (.rows|length) == 7 and
	 ([.rows[].name] == ["baseline", "established_ipv4_nat",
	   "established_ipv6_nat", "new_flow_syn", "reply_reverse_nat",
	   "established_ipv4_dsr", "not_service_pass"]) and
	 all(.rows[]; (.wall_ns|spread) and (.kernel_ns|spread) and
	     (.wall_ratio|spread) and (.kernel_ratio|spread) and
	     .wrong_verdicts == 0)' .cases.pktcost
jq_check "pps: 1 and 2 cores, packets reached the sink for both programs" \
	"$spread"'.cases.pps | (.rows|length) >= 1 and
	 all(.rows[]; (.baseline_mpps|spread) and (.sluice_mpps|spread) and
	     (.ratio|spread) and .baseline_mpps.min > 0 and
	     .sluice_mpps.min > 0) and .sluice_forwarded > 0' .cases.pps
jq_check "control: split, pool publish 16/256, full apply, flow memory, scrape" \
	"$spread"'.cases.control | (.split_set_us|spread) and
	 (.split_visible_us|spread) and .split_wrong_packets == 0 and
	 (.pool_publish_16_us|spread) and (.pool_publish_256_us|spread) and
	 (.maglev_build_16_us|spread) and (.maglev_build_256_us|spread) and
	 (.backend_add.each_us|spread) and
	 (.backend_add.extrapolated_all_backends_s|num) and
	 (.full_apply.total_s|num) and .full_apply.backends > 0 and
	 .flow_memory.bytes_per_flow > 0 and (.enomem_retries|num) and
	 (.metrics_scrape_1000_backends_us.median|num) and
	 .metrics_scrape_1000_backends_us.bytes > 1000000' .cases.control
jq_check "scale: rows per table size, lookups hit, numbers" \
	"$spread"'.cases.scale | (.rows|length) >= 2 and
	 all(.rows[]; (.hot_kernel_ns|spread) and (.spread_kernel_ns|spread)
	     and (.spread_wall_ns|spread) and (.fill_s|num) and
	     .flow_misses == 0)' .cases.scale
jq_check "scale: a full table evicts and still forwards every new flow" \
	'.cases.scale.full_table | .forwarded == .sent and
	 .inserted == .sent and .live_flows <= .capacity and
	 .evicted == .inserted - .live_flows and .evicted > 0' \
	.cases.scale.full_table

tap_done
