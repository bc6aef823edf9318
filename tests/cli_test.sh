#!/bin/bash
# The sluice CLI on a real host: pinned state, bad input, locking.
# Runs in a namespace of its own with a private pin directory.
set -u
cd "$(dirname "$0")/.."
. tests/lib/tap.sh

S=$PWD/build/sluice
NS=slcli$$
export SLUICE_PIN_DIR=/sys/fs/bpf/sluice-cli$$
export SLUICE_LOCK_FILE=/tmp/sluice-cli$$.lock
in_ns() { nsenter --net=/var/run/netns/$NS "$@"; }
cleanup() {
	trap '' INT TERM
	in_ns "$S" down >/dev/null 2>&1
	rm -rf "$SLUICE_PIN_DIR" "$SLUICE_LOCK_FILE" "/tmp/sluice-cli$$"
	ip netns del $NS 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add $NS
in_ns ip link add e0 type veth peer name e1
in_ns ip link set e0 up
in_ns ip link set e1 up

# help
out=$($S help)
for c in up down service backend split flip segment explain status; do
	grep -q "^  $c " <<<"$out" || not_ok "help lists $c"
done
ok "sluice help lists every command"
for c in up down service backend split flip segment explain status; do
	if ! $S $c --help | grep -q "^Usage: sluice $c"; then
		not_ok "sluice $c --help"
	fi
done
ok "every command has --help"
expect_exit 2 "unknown command is a usage error" $S frobnicate

# not up yet
expect_exit 2 "status before up: exit 2" in_ns $S status
in_ns $S status 2>&1 | grep -q "sluice is not up" &&
	ok "status before up says so" || not_ok "status before up says so"

# up
expect_exit 2 "up without --iface" in_ns $S up
expect_exit 2 "up on a missing interface" in_ns $S up --iface nosuch0
expect_exit 2 "up with a bad mode" in_ns $S up --iface e0 --mode turbo
expect_exit 2 "up with a bad seed" in_ns $S up --iface e0 --seed xyz
[ ! -e "$SLUICE_PIN_DIR" ] && ok "failed ups pinned nothing" ||
	not_ok "failed ups pinned nothing"
check "up" in_ns $S up --iface e0 --seed 5eed
[ "$(stat -c %a "$SLUICE_PIN_DIR")" = 700 ] && ok "pin directory is 0700" ||
	not_ok "pin directory is 0700"
in_ns ip link show e0 | grep -q "xdp" && ok "XDP attached to e0" ||
	not_ok "XDP attached to e0"
out=$(in_ns $S up --iface e0 2>&1)
grep -q "replaced in place" <<<"$out" && ok "second up replaces the program" ||
	not_ok "second up replaces the program: $out"
expect_exit 2 "up with another seed is refused" in_ns $S up --iface e0 --seed 1
expect_exit 2 "up with another flow-table size is refused" \
	in_ns $S up --iface e0 --flows 4096

# services
for bad in 198.18.0.10:80 198.18.0.10/tcp 198.18.0.300:80/tcp \
	198.18.0.10:0/tcp 198.18.0.10:65536/tcp 198.18.0.10:80/sctp \
	fd00::10:80/tcp "[fd00::10]:80" ""; do
	expect_exit 2 "service add rejects vip '$bad'" \
		in_ns $S service add web --vip "$bad"
done
expect_exit 2 "service add rejects a bad name" \
	in_ns $S service add "we b" --vip 198.18.0.10:80/tcp
expect_exit 2 "service add rejects a bad mode" \
	in_ns $S service add web --vip 198.18.0.10:80/tcp --mode ipip
expect_exit 2 "service add rejects a bad affinity" \
	in_ns $S service add web --vip 198.18.0.10:80/tcp --affinity cookie
[ "$(in_ns $S service list)" = "no services" ] &&
	ok "rejected adds changed nothing" || not_ok "rejected adds changed nothing"
check "service add web" in_ns $S service add web --vip 198.18.0.10:80/tcp \
	--affinity client
check "service add web6" in_ns $S service add web6 --vip "[fd00::10]:80/tcp" \
	--mode dsr
expect_exit 2 "duplicate service name" \
	in_ns $S service add web --vip 198.18.0.11:80/tcp
expect_exit 2 "duplicate VIP" in_ns $S service add other --vip 198.18.0.10:80/tcp
expect_exit 2 "unknown service" in_ns $S split nosuch 5

# backends
expect_exit 2 "backend add: unknown colour" \
	in_ns $S backend add web purple 198.18.1.10:8080
expect_exit 2 "backend add: bad endpoint" \
	in_ns $S backend add web blue 198.18.1.10
expect_exit 2 "backend add: port 0" in_ns $S backend add web blue 198.18.1.10:0
expect_exit 2 "backend add: weight 0" \
	in_ns $S backend add web blue 198.18.1.10:8080 --weight 0
expect_exit 2 "backend add: weight too big" \
	in_ns $S backend add web blue 198.18.1.10:8080 --weight 65536
expect_exit 2 "backend add: IPv6 backend for an IPv4 VIP" \
	in_ns $S backend add web blue "[fd00:1::10]:8080"
check "backend add" in_ns $S backend add web blue 198.18.1.10:8080
# the same endpoint behind a second nat service: allowed, and said
in_ns $S service add api --vip 198.18.0.12:80/tcp >/dev/null
out=$(in_ns $S backend add api green 198.18.1.10:8080 2>&1)
rc=$?
[ $rc -eq 0 ] && grep -q "198.18.1.10:8080 also serves nat service 'web'" <<<"$out" &&
	ok "backend add: an endpoint another nat service uses is added, with a note" ||
	not_ok "backend add: shared endpoint note (exit $rc: $out)"
out=$(in_ns $S backend add api blue 198.18.1.20:8080 2>&1)
grep -q "also serves" <<<"$out" &&
	not_ok "backend add: a note for an endpoint nobody else uses ($out)" ||
	ok "backend add: no note for an endpoint nobody else uses"
in_ns $S service del api >/dev/null
expect_exit 2 "duplicate backend" in_ns $S backend add web blue 198.18.1.10:8080
expect_exit 2 "backend del of an unknown backend" \
	in_ns $S backend del web blue 198.18.1.99:8080

# concurrent changes never interleave: every add survives
for i in $(seq 1 24); do
	in_ns $S backend add web green 198.18.2.$i:8080 >/dev/null 2>&1 &
done
wait
n=$(in_ns $S backend list web | grep -c "^green")
[ "$n" -eq 24 ] && ok "24 concurrent backend adds all landed" ||
	not_ok "24 concurrent backend adds all landed (got $n)"

# a full pool
for i in $(seq 25 256); do
	in_ns $S backend add web green 198.18.2.$((i % 250)):$((9000 + i)) \
		>/dev/null 2>&1 || { not_ok "fill pool at $i"; break; }
done
out=$(in_ns $S backend add web green 198.18.3.1:8080 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "full" <<<"$out" && ok "full pool: exit 2, says full" ||
	not_ok "full pool: exit 2, says full (exit $rc: $out)"

# split
for bad in 101 -1 5%% abc "" 0.00001 1e2; do
	expect_exit 2 "split rejects '$bad'" in_ns $S split web "$bad"
done
check "split 0.5%" in_ns $S split web 0.5%
in_ns $S status web --json | grep -q '"configured": "0.5%"' &&
	ok "status shows the configured split" ||
	not_ok "status shows the configured split"
expect_exit 2 "bad split left the split alone" in_ns $S split web 200
in_ns $S status web --json | grep -q '"configured_ppm": 5000' &&
	ok "split still 0.5% after a rejected change" ||
	not_ok "split still 0.5% after a rejected change"
check "flip" in_ns $S flip web
in_ns $S status web --json | grep -q '"stable": "green"' &&
	ok "after flip green is stable" || not_ok "after flip green is stable"

# segments
expect_exit 2 "segment with host bits" in_ns $S segment add web 198.18.7.1/24 green
expect_exit 2 "segment with a bad colour" in_ns $S segment add web 198.18.7.0/24 red
check "segment add" in_ns $S segment add web 198.18.7.0/24 blue
check "segment add v6" in_ns $S segment add web fd00:7::/48 green
n=$(in_ns $S segment list web | wc -l)
[ "$n" -eq 2 ] && ok "segment list shows both" || not_ok "segment list shows both ($n)"
check "segment del" in_ns $S segment del web 198.18.7.0/24
expect_exit 2 "segment del of a missing segment" \
	in_ns $S segment del web 198.18.7.0/24

# explain
expect_exit 2 "explain without a client" in_ns $S explain web
out=$(in_ns $S explain web abc 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "'abc'" <<<"$out" &&
	ok "explain: a bad client is exit 2, named" ||
	not_ok "explain: a bad client (exit $rc: $out)"
expect_exit 2 "explain: an IPv6 client of an IPv4 service" \
	in_ns $S explain web fd00::5
out=$(in_ns $S explain web6 fd00::5 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "port" <<<"$out" &&
	ok "explain: flow affinity without a port is exit 2, says why" ||
	not_ok "explain: flow affinity without a port (exit $rc: $out)"
expect_exit 2 "explain: unknown service" in_ns $S explain nosuch 198.18.7.5
out=$(in_ns $S explain web6 "[fd00::5]:4000" 2>&1)
grep -q "pool is empty" <<<"$out" &&
	ok "explain: an empty pool says the flow is dropped" ||
	not_ok "explain: an empty pool ($out)"
in_ns $S segment add web 198.18.7.0/24 blue >/dev/null
out=$(in_ns $S explain web 198.18.7.5 2>&1)
grep -q "^198.18.7.5: new flow -> blue (candidate) 198.18.1.10:8080, pinned by segment 198.18.7.0/24$" <<<"$out" &&
	ok "explain: a client in a segment is pinned by it, named" ||
	not_ok "explain: a client in a segment ($out)"
# blue is the candidate at 0% after the flip: all the rest goes green
in_ns $S explain web 198.18.8.5 198.18.9.5:1234 --json | jq -e '
	length == 2 and all(.[]; .reason == "split" and .colour == "green"
		and .role == "stable" and .green_ppm == 1000000
		and (.backend | test("^198[.]18[.][23][.]")))' >/dev/null &&
	ok "explain --json: outside the segment the split decides" ||
	not_ok "explain --json: outside the segment the split decides"
in_ns $S segment del web 198.18.7.0/24 >/dev/null

# service del
check "service del" in_ns $S service del web
expect_exit 2 "deleted service is gone" in_ns $S status web

# apply -f
cfgdir=/tmp/sluice-cli$$
mkdir -p $cfgdir
cat >$cfgdir/bad.yaml <<'YAML'
services:
  api:
    vip: 198.18.0.20:80/tcp
    colour: green
YAML
out=$(in_ns $S apply -f $cfgdir/bad.yaml 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "bad.yaml:4:5: services.api.colour: unknown key" <<<"$out" &&
	ok "apply: an unknown key is reported with file:line:column" ||
	not_ok "apply: unknown key (exit $rc: $out)"
in_ns $S service list | grep -q "^api " && not_ok "apply: a bad file applied nothing" ||
	ok "apply: a bad file applied nothing"
cat >$cfgdir/good.yaml <<'YAML'
services:
  api:
    vip: 198.18.0.20:80/tcp
    affinity: client
    blue: [198.18.1.10:8080, {address: 198.18.1.11:8080, weight: 3}]
    green: [198.18.2.10:8080]
    split: 5%
    segments: [{prefix: 198.18.7.0/24, colour: green}]
YAML
check "apply: a good file" in_ns $S apply -f $cfgdir/good.yaml
n=$(in_ns $S backend list api | grep -c active)
[ "$n" -eq 3 ] && ok "apply: three backends" || not_ok "apply: three backends ($n)"
in_ns $S status api --json | jq -e '.services[0] | .split.configured_ppm == 50000
	and .affinity == "client" and (.segments | length) == 1' >/dev/null &&
	ok "apply: split, affinity and segment as written" ||
	not_ok "apply: split, affinity and segment as written"
out=$(in_ns $S apply -f $cfgdir/good.yaml)
[ "$(wc -l <<<"$out")" -eq 1 ] && ok "apply twice: nothing to change" ||
	not_ok "apply twice: nothing to change ($out)"
sed -i 's/, {address: 198.18.1.11:8080, weight: 3}//' $cfgdir/good.yaml
out=$(in_ns $S apply -f $cfgdir/good.yaml --dry-run)
in_ns $S backend list api | grep -q "198.18.1.11:8080 .*active" &&
	grep -q "would drain" <<<"$out" && ok "apply --dry-run changes nothing" ||
	not_ok "apply --dry-run changes nothing ($out)"
check "apply: drop a backend" in_ns $S apply -f $cfgdir/good.yaml
in_ns $S backend list api | grep -q "198.18.1.11:8080 .*draining" &&
	ok "apply: a backend left out drains" || not_ok "apply: a backend left out drains"
check "apply --prune" in_ns $S apply -f $cfgdir/good.yaml --prune
[ "$(in_ns $S service list | tail -n +2 | awk '{print $1}' | tr '\n' ' ')" = "api " ] &&
	ok "apply --prune deleted the services not in the file" ||
	not_ok "apply --prune deleted the services not in the file"

# more segments than the limit: a clear error, nothing applied
awk 'BEGIN {
	print "services:\n  seg:\n    vip: 198.18.0.30:80/tcp\n    segments:"
	for (i = 0; i <= 65536; i++)
		printf "      - {prefix: 198.%d.%d.%d/32, colour: green}\n",
			18 + int(i / 65536), int(i / 256) % 256, i % 256
}' >$cfgdir/segs.yaml
out=$(in_ns $S apply -f $cfgdir/segs.yaml 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "65536" <<<"$out" &&
	ok "apply: 65537 segments: exit 2, the limit named" ||
	not_ok "apply: 65537 segments (exit $rc: $(head -c 300 <<<"$out"))"
in_ns $S service list | grep -q "^seg " &&
	not_ok "apply: nothing applied past the segment limit" ||
	ok "apply: nothing applied past the segment limit"

# root and bpffs
expect_exit 2 "not root: exit 2" setpriv --reuid=65534 --regid=65534 --clear-groups \
	$S status
mkdir -p /tmp/sluice-cli$$
expect_exit 2 "pin dir not on bpffs: exit 2" \
	env SLUICE_PIN_DIR=/tmp/sluice-cli$$/sluice $S status

# down
check "down" in_ns $S down
[ ! -e "$SLUICE_PIN_DIR" ] && ok "down removed every pin" ||
	not_ok "down removed every pin"
in_ns ip link show e0 | grep -q "xdp" && not_ok "down detached XDP" ||
	ok "down detached XDP"
check "down when already down" in_ns $S down
tap_done
