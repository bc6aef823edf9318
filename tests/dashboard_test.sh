#!/bin/bash
# The Grafana dashboard in tools/grafana uses only metrics sluice really
# exports, in PromQL that parses. A real agent is scraped, in a private
# namespace, with a service, backends and a rollout so every family shows.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh

S=$PWD/build/sluice
DASH=tools/grafana/sluice-dashboard.json
NS=sldash$$
WORK=/tmp/sluice-dash$$
export SLUICE_PIN_DIR=/sys/fs/bpf/sluice-dash$$
export SLUICE_LOCK_FILE=$WORK/lock
export SLUICE_STATE_DIR=$WORK/state
export SLUICE_SOCKET=$WORK/agent.sock
mkdir -p "$WORK"
AGENT=""
in_ns() { nsenter --net=/var/run/netns/$NS "$@"; }
cleanup() {
	trap '' INT TERM
	trap - EXIT
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	in_ns "$S" down >/dev/null 2>&1
	ip netns del $NS 2>/dev/null
	rm -rf "$WORK" "$SLUICE_PIN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

jq -e '.panels | length > 0' $DASH >/dev/null && ok "dashboard is valid JSON" ||
	not_ok "dashboard is valid JSON"

ip netns add $NS
in_ns ip link set lo up
in_ns ip link add e0 type veth peer name e1
in_ns ip link set e0 up
in_ns ip link set e1 up
in_ns "$S" up --iface e0 --sample-every 1 >/dev/null
in_ns "$S" service add web --vip 198.18.100.10:80/tcp >/dev/null
in_ns "$S" backend add web blue 198.18.1.10:8080 >/dev/null
in_ns "$S" backend add web green 198.18.2.10:8080 >/dev/null
nsenter --net=/var/run/netns/$NS "$S" agent --metrics 127.0.0.1:9464 \
	--events "$WORK/events.jsonl" 2>"$WORK/agent.log" &
AGENT=$!
# Up to 30 s for the agent on a busy host; one that died fails below.
for _ in $(seq 300); do
	[ -S "$SLUICE_SOCKET" ] && break
	kill -0 "$AGENT" 2>/dev/null || break
	sleep 0.1
done
in_ns "$S" rollout start web --steps 5,100 --bake 1m >/dev/null
# A scrape that shows the rollout running (up to 10 s): from then on
# every family the dashboard reads is there to be checked.
scraped=""
for _ in $(seq 100); do
	if in_ns curl -sf --max-time 5 http://127.0.0.1:9464/metrics \
		>"$WORK/metrics.txt" &&
		grep -qE '^sluice_rollout_state\{[^}]*service="web"[^}]*state="running"[^}]*\} 1$' \
			"$WORK/metrics.txt"; then
		scraped=1
		break
	fi
	sleep 0.1
done
[ -n "$scraped" ] && ok "scraped the agent, the rollout running" ||
	not_ok "scraped the agent, the rollout running"

# Every metric a panel or variable queries is a family in the scrape
# (declared with TYPE; a ratio over no flows yet has no sample).
missing=""
for m in $(grep -o 'sluice_[a-z0-9_]*' $DASH | sort -u); do
	family=${m%_bucket}
	grep -q "^$m[ {]" "$WORK/metrics.txt" ||
		grep -q "^# TYPE $family " "$WORK/metrics.txt" ||
		missing="$missing $m"
done
n=$(grep -o 'sluice_[a-z0-9_]*' $DASH | sort -u | wc -l)
[ -z "$missing" ] && ok "all $n metrics the dashboard queries are exported" ||
	not_ok "metrics the dashboard queries but sluice does not export:$missing"

# Every expression parses: promtool checks them as recording rules.
{
	echo "groups:"
	echo "  - name: dashboard"
	echo "    rules:"
	jq -r '.panels[].targets[].expr, .templating.list[].query.query? // empty' $DASH |
		grep -v '^label_values' | sed 's/\$service/web/g' |
		while IFS= read -r e; do
			printf '      - record: dashboard:expr\n        expr: %s\n' \
				"$(jq -Rn --arg e "$e" '$e')"
		done
} >"$WORK/rules.yml"
out=$(promtool check rules "$WORK/rules.yml" 2>&1) &&
	ok "every dashboard expression is valid PromQL" ||
	{ not_ok "every dashboard expression is valid PromQL"; echo "$out" | sed 's/^/# /'; }
tap_done
