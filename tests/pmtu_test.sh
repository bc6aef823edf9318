#!/bin/bash
# Path-MTU discovery through sluice, on the namespace testbed. The edge's
# port toward blue has an MTU of 1300, the client's path 1500: a client
# packet of 1500 bytes that may not be fragmented cannot go on. sluice
# must answer it "too big" quoting the packet as the client sent it (to
# the VIP), so the client's own stack lowers its path MTU and resends:
#
#   - UDP, IPv4 and IPv6: a 1400-byte datagram with DF; afterwards the
#     client's socket reports a path MTU of 1300 toward the VIP
#   - TCP, IPv4 and IPv6: a 300 kB upload with full-size segments
#     completes intact (without the answer it would stall: a black hole)
#   - the backend's too_big drop counter, its Prometheus series, status
#     and the drop event with the MTU move, and no error counter does
#     (that the judge leaves too_big out is checked in datapath_test)
#
# TAP output; torn down on EXIT, INT and TERM.
# shellcheck disable=SC2016 # jq programs in single quotes
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/e2e.sh mtu

if [ "$(id -u)" != 0 ]; then
	echo "ok 1 - pmtu # SKIP needs root for namespaces and BPF"
	exit 0
fi
for cmd in python3 jq curl nsenter; do
	command -v "$cmd" >/dev/null || {
		echo "not ok 1 - $cmd is installed (make deps)"
		exit 1
	}
done

VIP_UDP4=198.18.100.21
VIP_UDP6=fd00:100::21
VIP_TCP4=198.18.100.22
VIP_TCP6=fd00:100::22
PORT=9464

# The backends: a UDP echo and a TCP sink that answers with the count of
# bytes it read, on blue, both families.
cat >"$WORK/servers.py" <<'PY'
import socket, sys, threading
def udp(fam, addr):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, 5353))
    while True:
        d, a = s.recvfrom(65535)
        s.sendto(d, a)
def tcp(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 8081))
    s.listen(16)
    while True:
        c, _ = s.accept()
        n = 0
        while True:
            d = c.recv(65536)
            if not d:
                break
            n += len(d)
        c.sendall(b"%d\n" % n)
        c.close()
for fam, addr in ((socket.AF_INET, sys.argv[1]), (socket.AF_INET6, sys.argv[2])):
    threading.Thread(target=udp, args=(fam, addr), daemon=True).start()
    threading.Thread(target=tcp, args=(fam, addr), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
PY

# The client: prints one JSON line about what its stack learned.
cat >"$WORK/client.py" <<'PY'
import json, socket, sys, time
kind, vip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
v6 = ":" in vip
fam = socket.AF_INET6 if v6 else socket.AF_INET
# IP(V6)_MTU_DISCOVER = 10 (23): PMTUDISC_DO = 2; IP(V6)_MTU = 14 (24)
lvl = socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP
disc, mtuopt = (23, 24) if v6 else (10, 14)
out = {"kind": kind}
if kind == "udp":
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(lvl, disc, 2)
    s.settimeout(2)
    s.connect((vip, port))
    s.send(b"x" * 1400)
    # What the stack learned is in its route to the VIP, which a new
    # socket picks up (the first one may keep its cached route).
    for _ in range(50):
        t = socket.socket(fam, socket.SOCK_DGRAM)
        t.setsockopt(lvl, disc, 2)
        t.settimeout(2)
        t.connect((vip, port))
        mtu = t.getsockopt(lvl, mtuopt)
        if mtu < 1500:
            break
        t.close()
        time.sleep(0.1)
    s = t
    out["mtu"] = mtu
    try:
        s.send(b"x" * 1400)
        out["big_send"] = "sent"
    except OSError as e:
        out["big_send"] = "EMSGSIZE" if e.errno == 90 else str(e)
    s.send(b"y" * 1200)
    try:
        out["echo"] = len(s.recv(65535))
    except OSError as e:
        out["echo"] = str(e)
else:
    s = socket.create_connection((vip, port), timeout=10)
    data = bytes(range(256)) * 1200
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        d = s.recv(100)
        if not d:
            break
        reply += d
    out["sent"] = len(data)
    out["read"] = int(reply or b"-1")
    out["mtu"] = s.getsockopt(lvl, mtuopt)
print(json.dumps(out))
PY

testbed_up >/dev/null || {
	not_ok "testbed up"
	exit 1
}
check "sluice up" sl up --iface c0 --iface b0 --iface g0
check "the edge's port toward blue has an MTU of 1300" \
	in_ns "$NS_EDGE" ip link set dev b0 mtu 1300
in_ns "$NS_BLUE" python3 "$WORK/servers.py" "$BLUE4" "$BLUE6" \
	>"$WORK/servers.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
	grep -q ready "$WORK/servers.out" && break
	sleep 0.1
done
check "blue's UDP echo and TCP sink are ready" grep -q ready "$WORK/servers.out"
for svc in "udp4 $VIP_UDP4:53/udp $BLUE4:5353" \
	"udp6 [$VIP_UDP6]:53/udp [$BLUE6]:5353" \
	"tcp4 $VIP_TCP4:80/tcp $BLUE4:8081" \
	"tcp6 [$VIP_TCP6]:80/tcp [$BLUE6]:8081"; do
	set -- $svc
	sl service add "$1" --vip "$2" >/dev/null &&
		sl backend add "$1" blue "$3" >/dev/null ||
		not_ok "service $1 ($2 -> $3)"
done
ok "four nat services on blue: UDP and TCP, IPv4 and IPv6"
start_agent --metrics "127.0.0.1:$PORT" || not_ok "agent with --metrics"
sl events >/dev/null # from an empty ring

# client KIND VIP PORT FILE: run the client probe, JSON into FILE.
client() {
	in_ns "$NS_CLIENT" timeout 30 python3 "$WORK/client.py" "$1" "$2" "$3" \
		>"$4" 2>"$4.err"
}

for fam in 4 6; do
	vip=VIP_UDP$fam
	client udp "${!vip}" 53 "$WORK/udp$fam.json"
	jcheck "UDP/IPv$fam: the client learned a path MTU of 1300 toward the VIP" \
		"$WORK/udp$fam.json" '.mtu == 1300 and .big_send == "EMSGSIZE"'
	jcheck "UDP/IPv$fam: a datagram that fits is echoed" \
		"$WORK/udp$fam.json" '.echo == 1200'
	vip=VIP_TCP$fam
	client tcp "${!vip}" 80 "$WORK/tcp$fam.json"
	jcheck "TCP/IPv$fam: a 300 kB upload with full-size segments completes intact" \
		"$WORK/tcp$fam.json" '.read == .sent and .sent == 307200'
	jcheck "TCP/IPv$fam: the connection's path MTU came down to 1300" \
		"$WORK/tcp$fam.json" '.mtu == 1300'
done

sl status --json >"$WORK/st.json"
jcheck "every service's backend counted too_big drops; status says so" \
	"$WORK/st.json" '[.services[] | .pools.blue.backends[0].drops.too_big]
	| length == 4 and all(. > 0)'
jcheck "...and no backend error moved with them (no RST, ICMP or SYN retry)" \
	"$WORK/st.json" '[.services[] | .pools.blue.backends[0].errors
	| to_entries[] | .value] | all(. == 0)'
sl status tcp4 | grep -Eq "drops: .*too big [1-9]" &&
	ok "sluice status shows the service's too-big drops" ||
	not_ok "sluice status: too big ($(sl status tcp4 | grep drops))"
in_ns "$NS_EDGE" curl -sf "http://127.0.0.1:$PORT/metrics" >"$WORK/m.txt"
n=$(grep -c '^sluice_backend_drops_total{.*reason="too_big"} [1-9]' "$WORK/m.txt")
[ "$n" -eq 4 ] && ok "sluice_backend_drops_total{reason=\"too_big\"} moved for all 4" ||
	not_ok "too_big drop series moved for $n of 4"
sl events --json >"$WORK/ev.jsonl"
jq -e -s 'map(select(.type == "drop" and .reason == "too_big"))
	| length > 0 and all(.mtu == 1300 and .colour == "blue")' \
	"$WORK/ev.jsonl" >/dev/null &&
	ok "drop events say too_big with the MTU, 1300" ||
	not_ok "too_big drop events ($(head -c 600 "$WORK/ev.jsonl"))"

echo "1..$TAP_N"
tap_done
