#!/bin/bash
# The agent's Prometheus endpoint end to end: real traffic through the
# XDP program on the testbed, the agent serving /metrics in the edge
# namespace, and a real Prometheus server (Debian's) scraping it.
#
#   1 promtool accepts a real scrape
#   2 Prometheus's own count of new flows per colour, as two exact
#     instant queries around the traffic, agrees with the load client's
#   3 every counter family moves (faulty backends, a blackholed backend,
#     an empty pool, UDP ICMP errors both ways, a flow miss, a segment),
#     histograms are well formed, the rollout gauges and decision
#     counters follow a rollout the agent runs
#   4 bad --metrics values (exit 2, value named), a port in use (exit 1),
#     the config file's agent.metrics and the flag winning over it
#
# Also prints the cost of a scrape on the testbed and with 1,000
# backends (measured, not asserted). TAP output; everything is torn
# down on EXIT, INT and TERM.
# shellcheck disable=SC2016 # jq and awk programs in single quotes
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/lib/tap.sh
. tests/lib/tap.sh

if [ "$(id -u)" != 0 ]; then
	echo "ok 1 - metrics end-to-end # SKIP needs root for namespaces and BPF"
	exit 0
fi
for cmd in jq nsenter curl promtool prometheus awk ss; do
	if ! command -v "$cmd" >/dev/null; then
		echo "not ok 1 - $cmd is installed (make deps)"
		exit 1
	fi
done

S=$PWD/build/sluice
BIN=$PWD/build/tools
# shellcheck source=tools/testbed.sh
. tools/testbed.sh
P=""

WORK=$(mktemp -d /tmp/sluice-mx.XXXXXX)
export SLUICE_PIN_DIR=/sys/fs/bpf/sluice-mx$$
export SLUICE_LOCK_FILE=$WORK/lock
export SLUICE_STATE_DIR=$WORK/state
export SLUICE_SOCKET=$WORK/agent.sock
PORT=9464 # the edge namespace is ours: any port is free there
PROM_PORT=9090
AGENT=""
PIDS=()

in_ns() {
	local ns=$1
	shift
	nsenter --net="$TESTBED_NETNS_DIR/$ns" "$@"
}
sl() { in_ns "$NS_EDGE" "$S" "$@"; }

cleanup() {
	# A second INT (timeout(1) signals the whole group) must not cut
	# the teardown short.
	trap '' INT TERM
	trap - EXIT
	local p
	for p in $AGENT "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$P" ] && [ -e "$TESTBED_NETNS_DIR/$NS_EDGE" ] && sl down >/dev/null 2>&1
	testbed_down
	[ -e "$SLUICE_PIN_DIR" ] && rm -rf "$SLUICE_PIN_DIR"
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# bg NS CMD...: a background process inside a namespace; nsenter execs,
# so $! is the process itself.
bg() {
	local ns=$1
	shift
	nsenter --net="$TESTBED_NETNS_DIR/$ns" "$@" &
	PIDS+=($!)
}

# start_backend NS TAG ADDR [backend flags...]
start_backend() {
	local ns=$1 tag=$2 addr=$3
	shift 3
	bg "$ns" "$BIN/backend" --listen "$addr:8080" --name "$tag" --seed 7 \
		"$@" >"$WORK/backend-$tag.out" 2>&1
	# Up to 30 s on a busy host; a backend that died fails at once.
	for _ in $(seq 300); do
		grep -q ready "$WORK/backend-$tag.out" && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# scrape [PORT] > FILE: one GET of /metrics from inside the edge.
scrape() {
	in_ns "$NS_EDGE" curl -sf --max-time 10 "http://127.0.0.1:${1:-$PORT}/metrics"
}

# metric FILE SELECTOR: the sum of the samples whose name and labels
# contain every comma-separated NAME or key="value" of SELECTOR,
# e.g. metric f 'sluice_backend_new_flows_total,service="web",color="blue"'.
metric() {
	awk -v sel="$2" '
		BEGIN { n = split(sel, want, ","); found = 0; sum = 0 }
		/^#/ { next }
		{
			split($0, parts, " ")
			head = parts[1]
			name = head; sub(/\{.*/, "", name)
			if (name != want[1]) next
			for (i = 2; i <= n; i++)
				if (index(head, want[i]) == 0) next
			found = 1; sum += parts[2]
		}
		END { if (found) printf "%.10g\n", sum; else print "none" }' "$1"
}

# prom_query QUERY TIME: the result vector of an instant query, as JSON.
prom_query() {
	in_ns "$NS_EDGE" curl -sf --max-time 5 \
		"http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode "query=$1" --data-urlencode "time=$2" |
		jq -c '.data.result'
}

testbed_up >/dev/null || {
	echo "not ok 1 - testbed up"
	exit 1
}
check "sluice up" sl up --iface c0 --iface b0 --iface g0

# ---- backends and services -----------------------------------------------
start_backend "$NS_BLUE" blue "$BLUE4" --colour blue --version v1 &&
	start_backend "$NS_GREEN" green "$GREEN4" --colour green --version v2 &&
	start_backend "$NS_BLUE" blue-refuse "$BLUE4B" --colour blue --refuse &&
	start_backend "$NS_GREEN" green-500 "$GREEN4B" --colour green \
		--error-ratio 0.3 && ok "backends ready" || not_ok "backends ready"

VIP_FAULTY=198.18.100.11
VIP_DEAD=198.18.100.12
VIP_EMPTY=198.18.100.13
VIP_UDP=198.18.100.14
VIP_MISS=198.18.100.15
setup_services() {
	sl service add web --vip "$VIP4:80/tcp" &&
		sl backend add web blue "$BLUE4:8080" &&
		sl backend add web green "$GREEN4:8080" &&
		sl split web 50% &&
		sl service add faulty --vip "$VIP_FAULTY:80/tcp" &&
		sl backend add faulty blue "$BLUE4B:8080" &&
		sl backend add faulty green "$GREEN4B:8080" &&
		sl split faulty 50% &&
		sl service add dead --vip "$VIP_DEAD:80/tcp" &&
		sl backend add dead blue 198.18.9.10:8080 &&
		ip -n "$NS_EDGE" route add blackhole 198.18.9.0/24 &&
		sl service add empty --vip "$VIP_EMPTY:80/tcp" &&
		sl service add dns --vip "$VIP_UDP:53/udp" &&
		sl backend add dns blue "$BLUE4:5353" &&
		sl service add echo --vip "$VIP_UDP:54/udp" &&
		sl backend add echo blue "$BLUE4:5354" &&
		sl service add miss --vip "$VIP_MISS:80/tcp" &&
		sl backend add miss blue "$BLUE4:8080" &&
		sl segment add miss "$CLIENT4/32" blue
}
check "services: web 50%, faulty, blackholed, empty, udp, flow-miss" \
	setup_services

# ---- the agent and Prometheus --------------------------------------------
bg "$NS_EDGE" "$S" agent --metrics "127.0.0.1:$PORT" \
	--events "$WORK/events.jsonl" 2>>"$WORK/agent.log"
AGENT=${PIDS[-1]}
unset 'PIDS[-1]'
for _ in $(seq 50); do
	scrape >/dev/null 2>&1 && break
	sleep 0.1
done
scrape >"$WORK/first.txt" && ok "agent --metrics 127.0.0.1:$PORT serves /metrics" ||
	not_ok "agent --metrics 127.0.0.1:$PORT serves /metrics"

cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: sluice
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
bg "$NS_EDGE" prometheus --config.file="$WORK/prometheus.yml" \
	--storage.tsdb.path="$WORK/tsdb" \
	--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn \
	>"$WORK/prometheus.log" 2>&1
up=""
for _ in $(seq 100); do
	up=$(prom_query 'up{job="sluice"}' "$(date +%s.%N)" 2>/dev/null |
		jq -r '.[0].value[1] // empty' 2>/dev/null)
	[ "$up" = 1 ] && break
	sleep 0.2
done
if [ "$up" = 1 ]; then
	ok "Prometheus scrapes the agent (up == 1)"
else
	not_ok "Prometheus scrapes the agent (up == 1)"
	sed 's/^/# /' "$WORK/prometheus.log" | tail -20
fi

# ---- 2. Prometheus agrees with the load client ---------------------------
# Two instant queries of the raw counters, one before the traffic and
# one after its last scrape: a difference of two samples is exact, where
# increase() over a window would extrapolate. --timeout 10s: "none
# failed" is asserted, and a 2 s stall on a busy host is not sluice's.
T0=$(date +%s.%N)
sleep 0.2
in_ns "$NS_CLIENT" "$BIN/loadgen" --target "$VIP4:80" --duration 6s \
	--rate 300 --clients 250 --concurrency 256 --timeout 10s --json \
	>"$WORK/load.json" 2>"$WORK/load.err"
# The second query's sample must come from a scrape that began after the
# last connection ended: wait (up to 20 s; one scrape a second, which a
# busy host may skip or delay) until Prometheus holds one, then query at
# that moment.
T_END=$(date +%s.%N)
T1=""
for _ in $(seq 100); do
	now=$(date +%s.%N)
	ts=$(prom_query 'max(timestamp(sluice_backend_new_flows_total{service="web"}))' \
		"$now" 2>/dev/null | jq -r '.[0].value[1] // empty' 2>/dev/null)
	if [ -n "$ts" ] && awk -v a="$ts" -v b="$T_END" 'BEGIN { exit !(a > b) }'; then
		T1=$now
		break
	fi
	sleep 0.2
done
if [ -z "$T1" ]; then
	not_ok "Prometheus scraped the agent after the traffic ended (last sample at ${ts:-none}, traffic ended $T_END)"
	T1=$(date +%s.%N)
fi
Q='sum by (color) (sluice_backend_new_flows_total{service="web"})'
before=$(prom_query "$Q" "$T0")
after=$(prom_query "$Q" "$T1")
QS='sum by (color) (sluice_service_new_flows_total{service="web"})'
sbefore=$(prom_query "$QS" "$T0")
safter=$(prom_query "$QS" "$T1")
jq -e '.errors | add == 0' "$WORK/load.json" >/dev/null &&
	ok "load: $(jq .ok "$WORK/load.json") connections, none failed" ||
	not_ok "load: no connection failed ($(jq -c .errors "$WORK/load.json"))"
delta() { # JSON-BEFORE JSON-AFTER COLOUR
	jq -n --argjson b "$1" --argjson a "$2" --arg c "$3" '
		def v(r): (r | map(select(.metric.color == $c))[0].value[1]
			// "0" | tonumber);
		v($a) - v($b)'
}
for c in blue green; do
	lg=$(jq --arg c "$c" '.colours[$c] // 0' "$WORK/load.json")
	pm=$(delta "$before" "$after" "$c")
	ps=$(delta "$sbefore" "$safter" "$c")
	echo "# $c: load client $lg, Prometheus backend new flows $pm," \
		"service new flows $ps"
	if [ "$lg" -gt 100 ] && awk -v a="$pm" -v b="$lg" \
		'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.05 * b) }'; then
		ok "$c: Prometheus ($pm new flows) within 5% of the load client ($lg)"
	else
		not_ok "$c: Prometheus ($pm new flows) within 5% of the load client ($lg)"
		echo "# before $before after $after"
	fi
	[ "$ps" = "$pm" ] && ok "$c: service and backend new flows agree ($ps)" ||
		not_ok "$c: service ($ps) and backend ($pm) new flows agree"
done
scrape >"$WORK/web.txt"
obs=$(metric "$WORK/web.txt" 'sluice_service_observed_split_ratio,service="web"')
awk -v o="$obs" 'BEGIN { exit !(o > 0.45 && o < 0.55) }' &&
	ok "observed split of web is $obs (configured 0.5)" ||
	not_ok "observed split of web is $obs (configured 0.5)"
[ "$(metric "$WORK/web.txt" 'sluice_service_split_ratio,service="web",color="green"')" = 0.5 ] &&
	ok "configured split ratio of web: green 0.5" ||
	not_ok "configured split ratio of web: green 0.5"

# ---- 3. faults: every counter family moves ---------------------------------
# --timeout 5s: the refused and the 500 connections fail or answer at
# once; the timeout only bounds a connection the host is slow to serve,
# which would otherwise miss the counts compared below.
in_ns "$NS_CLIENT" "$BIN/loadgen" --target "$VIP_FAULTY:80" \
	--connections 200 --clients 50 --timeout 5s --json \
	>"$WORK/faulty.json" 2>/dev/null
in_ns "$NS_CLIENT" "$BIN/loadgen" --target "$VIP_FAULTY:80" --path /bytes/x \
	--connections 40 --clients 20 --timeout 5s --json \
	>"$WORK/faulty4xx.json" 2>/dev/null
# A SYN to a blackholed backend (no_route) and one to an empty pool. No
# answer comes: 3 s leaves a busy host time to start bash and send the
# SYN (and again after 1 s); both at once, so it costs 3 s, not 6.
in_ns "$NS_CLIENT" timeout 3 bash -c "exec 3<>/dev/tcp/$VIP_DEAD/80" 2>/dev/null &
syn_dead=$!
in_ns "$NS_CLIENT" timeout 3 bash -c "exec 3<>/dev/tcp/$VIP_EMPTY/80" 2>/dev/null &
syn_empty=$!
wait "$syn_dead" "$syn_empty"
# UDP to a closed backend port: the backend's ICMP error is its error.
for _ in 1 2 3; do
	in_ns "$NS_CLIENT" bash -c "echo ping >/dev/udp/$VIP_UDP/53"
	sleep 0.1
done
# UDP echoed back to a client port already closed: the client's ICMP
# error about a steered flow is forwarded to the backend. The echo
# waits, so it lands after the client has closed, however busy the host.
have_py=""
if command -v python3 >/dev/null; then
	have_py=1
	bg "$NS_BLUE" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(2048)
    time.sleep(0.3)
    s.sendto(d, a)' "$BLUE4" 5354
	for _ in $(seq 200); do
		[ -n "$(in_ns "$NS_BLUE" ss -Hnlu 'sport = :5354')" ] && break
		sleep 0.1
	done
	for _ in 1 2 3 4 5; do
		in_ns "$NS_CLIENT" bash -c "echo ping >/dev/udp/$VIP_UDP/54"
		sleep 0.2
	done
fi
# A flow miss: an established connection whose state is forgotten
# (backend removed --now and added back) sends its request afresh.
bg "$NS_CLIENT" bash -c "
	exec 3<>/dev/tcp/$VIP_MISS/80 || exit 1
	touch '$WORK/miss.ready'
	for _ in \$(seq 50); do [ -e '$WORK/miss.go' ] && break; sleep 0.1; done
	printf 'GET / HTTP/1.0\r\n\r\n' >&3
	timeout 2 cat <&3 >'$WORK/miss.out'"
for _ in $(seq 50); do
	[ -e "$WORK/miss.ready" ] && break
	sleep 0.1
done
sl backend del miss blue "$BLUE4:8080" --now >/dev/null &&
	sl backend add miss blue "$BLUE4:8080" >/dev/null
touch "$WORK/miss.go"
wait "${PIDS[-1]}" 2>/dev/null
grep -q '^HTTP/1.1 200' "$WORK/miss.out" &&
	ok "the re-steered connection was answered" ||
	not_ok "the re-steered connection was answered"
sleep 0.3

scrape >"$WORK/faults.txt"
moved() { # NAME SELECTOR: ok when the samples' sum is above zero
	local v
	v=$(metric "$WORK/faults.txt" "$2")
	if [ "$v" != none ] && awk -v v="$v" 'BEGIN { exit !(v > 0) }'; then
		ok "$1 moved ($v)"
	else
		not_ok "$1 moved ($v)"
	fi
}
moved "backend packets to_backend" 'sluice_backend_packets_total,direction="to_backend"'
moved "backend packets from_backend" 'sluice_backend_packets_total,direction="from_backend"'
moved "backend bytes to_backend" 'sluice_backend_bytes_total,direction="to_backend"'
moved "backend bytes from_backend" 'sluice_backend_bytes_total,direction="from_backend"'
moved "backend new flows" 'sluice_backend_new_flows_total'
moved "backend drops, no_route (blackholed backend)" \
	'sluice_backend_drops_total,service="dead",reason="no_route"'
moved "backend errors, rst (refused)" \
	'sluice_backend_errors_total,service="faulty",color="blue",kind="rst"'
moved "backend errors, http_5xx" \
	'sluice_backend_errors_total,service="faulty",color="green",kind="http_5xx"'
moved "backend errors, icmp (closed UDP port)" \
	'sluice_backend_errors_total,service="dns",kind="icmp"'
moved "backend http responses, 2xx" 'sluice_backend_http_responses_total,class="2xx"'
moved "backend http responses, 4xx" 'sluice_backend_http_responses_total,class="4xx"'
moved "backend http responses, 5xx" 'sluice_backend_http_responses_total,class="5xx"'
moved "backend handshake histogram count" 'sluice_backend_handshake_seconds_count'
moved "backend first-byte histogram count" 'sluice_backend_first_byte_seconds_count'
moved "service new flows" 'sluice_service_new_flows_total'
moved "service drops, empty_pool" 'sluice_service_drops_total,service="empty",reason="empty_pool"'
moved "service drops, no_route" 'sluice_service_drops_total,service="dead",reason="no_route"'
moved "service segment flows" 'sluice_service_segment_flows_total,service="miss"'
moved "service flow misses" 'sluice_service_flow_misses_total,service="miss"'
moved "service packets" 'sluice_service_packets_total'
moved "service bytes" 'sluice_service_bytes_total'
moved "datapath passed" 'sluice_datapath_passed_total'
if [ -n "$have_py" ]; then
	moved "datapath icmp forwarded (client's ICMP error)" \
		'sluice_datapath_icmp_forwarded_total'
else
	ok "datapath icmp forwarded # SKIP no python3 for a UDP echo backend"
fi
# The agent reads the ring (it was given --events): every event it wrote
# is counted.
ev=$(metric "$WORK/faults.txt" 'sluice_ringbuf_events_total')
if [ "$ev" = none ]; then
	not_ok "sluice_ringbuf_events_total is exported"
elif awk -v v="$ev" 'BEGIN { exit !(v > 0) }'; then
	ok "ring buffer events counted ($ev)"
else
	not_ok "ring buffer events counted ($ev)"
fi
jq -e -s 'any(.type == "error" and .service != null)' "$WORK/events.jsonl" \
	>/dev/null && ok "the agent writes data-path events as JSON lines" ||
	not_ok "the agent writes data-path events as JSON lines"
[ "$(metric "$WORK/faults.txt" sluice_ringbuf_events_lost_total)" != none ] &&
	ok "sluice_ringbuf_events_lost_total is exported" ||
	not_ok "sluice_ringbuf_events_lost_total is exported"

# the fault counters agree with what the clients saw
refused=$(jq -s 'map(.errors.refused) | add' "$WORK/faulty.json" \
	"$WORK/faulty4xx.json")
rst=$(metric "$WORK/faults.txt" 'sluice_backend_errors_total,service="faulty",color="blue",kind="rst"')
# Each refused connection's RST passed the edge at least once; only a
# SYN sent again (after an RST lost past the edge, on a busy host) can
# draw another, and the edge counts each such SYN as a syn_retry.
retry=$(metric "$WORK/faults.txt" 'sluice_backend_errors_total,service="faulty",color="blue",kind="syn_retry"')
[ "$refused" -gt 0 ] 2>/dev/null &&
	awk -v r="$rst" -v n="$refused" -v s="$retry" \
		'BEGIN { exit !(r >= n && r <= n + s) }' &&
	ok "rst errors ($rst) == refused connections ($refused), + $retry SYNs sent again at most" ||
	not_ok "rst errors ($rst) == refused connections ($refused), + $retry SYNs sent again at most"
n500=$(jq '.status["500"] // 0' "$WORK/faulty.json")
h5=$(metric "$WORK/faults.txt" 'sluice_backend_http_responses_total,service="faulty",color="green",class="5xx"')
[ "$h5" = "$n500" ] && ok "http 5xx ($h5) == the client's 500s" ||
	not_ok "http 5xx ($h5) == the client's 500s ($n500)"

# Histograms: cumulative buckets never fall, +Inf == _count, _sum > 0
# when there are samples.
hist_ok=$(awk '
	/^sluice_backend_(handshake|first_byte)_seconds_bucket/ {
		key = $1; sub(/,le="[^"]*"\}/, "", key)
		if (key != last) { prev = -1; last = key; nb[key] = 0 }
		if ($2 + 0 < prev) bad = bad " falls:" key
		prev = $2 + 0; nb[key]++
		if ($1 ~ /le="\+Inf"/) inf[key] = $2
	}
	/^sluice_backend_(handshake|first_byte)_seconds_count/ {
		key = $1; sub(/_count/, "_bucket", key); sub(/\}$/, "", key)
		cnt[key] = $2
	}
	/^sluice_backend_(handshake|first_byte)_seconds_sum/ {
		key = $1; sub(/_sum/, "_bucket", key); sub(/\}$/, "", key)
		sum[key] = $2
	}
	END {
		n = 0
		for (k in nb) {
			n++
			if (nb[k] != 24) bad = bad " buckets:" k
			if (inf[k] != cnt[k]) bad = bad " count:" k
			if (cnt[k] > 0 && sum[k] <= 0) bad = bad " sum:" k
		}
		print (n > 0 && bad == "") ? "yes " n : "no" bad
	}' "$WORK/faults.txt")
case $hist_ok in
yes*) ok "histograms: 24 buckets each, monotone, +Inf == _count (${hist_ok#yes } series)" ;;
*) not_ok "histograms well formed: $hist_ok" ;;
esac
grep -q 'sluice_backend_first_byte_seconds_bucket{service="web",color="blue",backend="198.18.1.10:8080",le="0.000001"}' \
	"$WORK/faults.txt" &&
	grep -q 'sluice_backend_first_byte_seconds_bucket{service="web",color="blue",backend="198.18.1.10:8080",le="4.194304"}' \
		"$WORK/faults.txt" &&
	ok "bucket bounds in seconds: le 1 us (0.000001) .. 2^22 us (4.194304), +Inf" ||
	not_ok "bucket bounds in seconds: le 0.000001 .. 4.194304"

# ---- 1. promtool accepts a real scrape ------------------------------------
if out=$(promtool check metrics <"$WORK/faults.txt" 2>&1); then
	ok "promtool check metrics accepts the scrape ($(grep -vc '^#' "$WORK/faults.txt") samples)"
else
	not_ok "promtool check metrics accepts the scrape"
	printf '%s\n' "$out" | head -20 | sed 's/^/# /'
fi
fams=$(grep -c '^# TYPE ' "$WORK/faults.txt")
helps=$(grep -c '^# HELP ' "$WORK/faults.txt")
bad=$(grep '^# TYPE ' "$WORK/faults.txt" | awk '
	$4 == "counter" && $3 !~ /_total$/ { print $3 }
	$3 !~ /^sluice_/ { print $3 }')
[ "$fams" = "$helps" ] && [ -z "$bad" ] &&
	ok "$fams families, each with HELP and TYPE, sluice_ prefix, counters end in _total" ||
	not_ok "naming: $fams TYPE vs $helps HELP; bad: $bad"
grep -E '^sluice_[a-z_]*\{[^}]*(client|src)=' "$WORK/faults.txt" >/dev/null &&
	not_ok "no label carries a client address" ||
	ok "no label carries a client address"
s=$(metric "$WORK/faults.txt" sluice_scrape_duration_seconds)
t=$(in_ns "$NS_EDGE" curl -s -o /dev/null -w '%{time_total}' \
	"http://127.0.0.1:$PORT/metrics")
echo "# testbed scrape ($(grep -c '^sluice_' "$WORK/faults.txt") samples): built in ${s}s, HTTP GET ${t}s"

# ---- 3. rollout gauges and decisions ---------------------------------------
check "rollout start web --steps 50,100 --bake 60s" \
	sl rollout start web --steps 50,100 --bake 60s --tick 250ms
sleep 0.6
scrape >"$WORK/ro1.txt"
[ "$(metric "$WORK/ro1.txt" 'sluice_rollout_step,service="web"')" = 1 ] &&
	ok "sluice_rollout_step{web} is 1" || not_ok "sluice_rollout_step{web} is 1"
[ "$(metric "$WORK/ro1.txt" 'sluice_rollout_state,service="web",state="running"')" = 1 ] &&
	[ "$(metric "$WORK/ro1.txt" 'sluice_rollout_state,service="web"')" = 1 ] &&
	ok "sluice_rollout_state{web}: running 1, the others 0" ||
	not_ok "sluice_rollout_state{web}: running 1, the others 0"
[ "$(metric "$WORK/ro1.txt" 'sluice_rollout_split_ratio,service="web"')" = 0.5 ] &&
	ok "sluice_rollout_split_ratio{web} is 0.5" ||
	not_ok "sluice_rollout_split_ratio{web} is 0.5"
[ "$(metric "$WORK/ro1.txt" 'sluice_rollout_step,service="faulty"')" = 0 ] &&
	ok "a service without a rollout has step 0" ||
	not_ok "a service without a rollout has step 0"
check "rollout pause web" sl rollout pause web
scrape >"$WORK/ro2.txt"
[ "$(metric "$WORK/ro2.txt" 'sluice_rollout_state,service="web",state="paused"')" = 1 ] &&
	ok "paused: sluice_rollout_state{state=paused} is 1" ||
	not_ok "paused: sluice_rollout_state{state=paused} is 1"
check "rollout promote web" sl rollout promote web
scrape >"$WORK/ro3.txt"
# promote jumps to 100% from the step it was at: the step stays 1
[ "$(metric "$WORK/ro3.txt" 'sluice_rollout_state,service="web",state="promoted"')" = 1 ] &&
	[ "$(metric "$WORK/ro3.txt" 'sluice_rollout_step,service="web"')" = 1 ] &&
	[ "$(metric "$WORK/ro3.txt" 'sluice_rollout_split_ratio,service="web"')" = 1 ] &&
	ok "promoted: state promoted, still step 1, split ratio 1" ||
	not_ok "promoted: state promoted, still step 1, split ratio 1"
[ "$(metric "$WORK/ro3.txt" 'sluice_service_candidate,service="web",color="blue"')" = 1 ] &&
	ok "roles swapped: blue is the candidate now" ||
	not_ok "roles swapped: blue is the candidate now"
# decisions_total counts exactly what the history recorded
hist=$(sl rollout history web --json | jq -c 'group_by(.action) |
	map({key: .[0].action, value: length}) | from_entries')
mism=""
for a in $(jq -r 'keys[]' <<<"$hist" | tr ' ' '_'); do
	a=${a//_/ }
	want=$(jq --arg a "$a" '.[$a]' <<<"$hist")
	got=$(metric "$WORK/ro3.txt" "sluice_rollout_decisions_total,service=\"web\",action=\"$a\"")
	[ "$got" = "$want" ] || mism="$mism $a:$got/$want"
done
total=$(metric "$WORK/ro3.txt" 'sluice_rollout_decisions_total,service="web"')
[ -z "$mism" ] && [ "$total" = "$(jq 'add' <<<"$hist")" ] &&
	ok "decisions_total matches the history by action: $hist" ||
	not_ok "decisions_total matches the history ($hist; off:$mism; total $total)"

# ---- 4. bad values, a port in use, the config file ---------------------------
for v in foo 127.0.0.1 127.0.0.1:0 127.0.0.1:65536 localhost:9464 \
	'' 300.1.2.3:80 '[::1]' ' 127.0.0.1:9464'; do
	out=$(sl agent --metrics "$v" 2>&1)
	rc=$?
	if [ "$rc" = 2 ] && grep -qF -- "'$v'" <<<"$out"; then
		ok "--metrics '$v': exit 2, the value named"
	else
		not_ok "--metrics '$v': exit 2, the value named (exit $rc: $out)"
	fi
done
# Another state dir, so the port (not the agent lock) is what fails.
out=$(SLUICE_STATE_DIR=$WORK/s2 SLUICE_SOCKET=$WORK/s2.sock \
	sl agent --metrics "127.0.0.1:$PORT" 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -q "127.0.0.1:$PORT.*Address already in use" <<<"$out" &&
	ok "a port in use: exit 1 ($out)" ||
	not_ok "a port in use: exit 1 with a clear message (exit $rc: $out)"

# other_agent NAME ARGS...: an agent with its own state and socket
other_agent() {
	local name=$1
	shift
	SLUICE_STATE_DIR=$WORK/$name SLUICE_SOCKET=$WORK/$name.sock \
		bg "$NS_EDGE" "$S" agent "$@" 2>>"$WORK/$name.log"
	OTHER=${PIDS[-1]}
}
wait_serving() { # PORT [ADDR]
	for _ in $(seq 50); do
		in_ns "$NS_EDGE" curl -sf -o /dev/null \
			"http://${2:-127.0.0.1}:$1/metrics" && return 0
		sleep 0.1
	done
	return 1
}
stop_other() {
	kill "$OTHER" 2>/dev/null
	wait "$OTHER" 2>/dev/null
}
printf 'agent:\n  metrics: 127.0.0.1:9465\n' >"$WORK/agent.yaml"
other_agent cfg --config "$WORK/agent.yaml"
wait_serving 9465 && ok "config agent.metrics: serves on 127.0.0.1:9465" ||
	not_ok "config agent.metrics: serves on 127.0.0.1:9465"
stop_other
other_agent flag --config "$WORK/agent.yaml" --metrics 127.0.0.1:9466
if wait_serving 9466 && ! in_ns "$NS_EDGE" curl -sf -o /dev/null \
	"http://127.0.0.1:9465/metrics"; then
	ok "--metrics wins over the config file (9466 serves, 9465 does not)"
else
	not_ok "--metrics wins over the config file"
fi
stop_other
# Not loopback: allowed, because it has to be given explicitly.
other_agent wide --metrics "$EDGE4:9467"
if wait_serving 9467 "$EDGE4" &&
	in_ns "$NS_CLIENT" curl -sf -o /dev/null "http://$EDGE4:9467/metrics"; then
	ok "an explicit non-loopback address ($EDGE4:9467) serves"
else
	not_ok "an explicit non-loopback address ($EDGE4:9467) serves"
fi
stop_other
code=$(in_ns "$NS_EDGE" curl -s -o /dev/null -w '%{http_code}' \
	-X POST "http://127.0.0.1:$PORT/metrics")
code2=$(in_ns "$NS_EDGE" curl -s -o /dev/null -w '%{http_code}' \
	"http://127.0.0.1:$PORT/")
code3=$(in_ns "$NS_EDGE" curl -s -o /dev/null -w '%{http_code}' -I \
	"http://127.0.0.1:$PORT/metrics")
[ "$code" = 405 ] && [ "$code2" = 404 ] && [ "$code3" = 200 ] &&
	ok "POST /metrics 405, GET / 404, HEAD /metrics 200" ||
	not_ok "POST /metrics 405 ($code), GET / 404 ($code2), HEAD 200 ($code3)"

# ---- the cost of a scrape with 1,000 backends --------------------------------
{
	echo "services:"
	for s in 0 1 2 3; do
		echo "  big$s:"
		echo "    vip: 198.18.100.$((100 + s)):80/tcp"
		for c in 0 1; do
			[ $c = 0 ] && echo "    blue:" || echo "    green:"
			for b in $(seq 1 125); do
				echo "      - 198.18.$((10 + 2 * s + c)).$b:8080"
			done
		done
	done
} >"$WORK/big.yaml"
check "apply 4 services x 2 pools x 125 backends" sl apply -f "$WORK/big.yaml"
scrape >"$WORK/big.txt"
n=$(metric "$WORK/big.txt" 'sluice_backend_weight')
[ "$n" -ge 1000 ] 2>/dev/null && ok "1,000+ backends exported ($n)" ||
	not_ok "1,000+ backends exported ($n)"
times=""
for _ in 1 2 3 4 5; do
	t=$(in_ns "$NS_EDGE" curl -s -o "$WORK/big.txt" -w '%{time_total}' \
		"http://127.0.0.1:$PORT/metrics")
	times="$times ${t}s/$(metric "$WORK/big.txt" sluice_scrape_duration_seconds)s"
done
echo "# scrape with $n backends, $(wc -c <"$WORK/big.txt") bytes," \
	"$(grep -c '^sluice_' "$WORK/big.txt") samples; HTTP GET/built in:$times"
if out=$(promtool check metrics <"$WORK/big.txt" 2>&1); then
	ok "promtool check metrics accepts the 1,000-backend scrape"
else
	not_ok "promtool check metrics accepts the 1,000-backend scrape"
	printf '%s\n' "$out" | head -5 | sed 's/^/# /'
fi

kill "$AGENT" 2>/dev/null
wait "$AGENT" 2>/dev/null
rc=$?
AGENT=""
[ "$rc" = 0 ] && ok "agent stops on SIGTERM, exit 0" ||
	not_ok "agent stops on SIGTERM, exit 0 (exit $rc)"
echo "1..$TAP_N"
tap_done
