#!/bin/bash
# sluice rollout report: the HTML page from a real rollout history.
#
# No testbed and no root needed: the state files are plain JSON, so the
# fixtures below are a real history captured from `make demo` (a release
# that completed, then a faulty one rolled back at 25% on its error
# ratio), written into a private SLUICE_STATE_DIR. The page is rendered
# by headless Chromium, in a network namespace of its own when we are
# root so it cannot reach any network: the screenshot must show the
# chart's lines, the rendered DOM the expected polylines and rows.
# TAP output; skips the browser checks when chromium is not installed.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib/tap.sh

S=$PWD/build/sluice
WORK=$(mktemp -d /tmp/sluice-report.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export SLUICE_STATE_DIR=$WORK/state
ST=$SLUICE_STATE_DIR
mkdir -p "$ST"

# ---- fixtures: captured from make demo (tools/demo.sh), compacted only ------
cat >"$ST/web.rollout.json" <<'JSON'
{"base":{"errors":[2,0],"first_byte_hist_blue":[0,0,0,0,0,17,648,966,1235,109,43,72,116,9,2,3,1,0,0,0,0,0,0,0],"first_byte_hist_green":[0,0,0,0,0,13,435,467,383,112,79,78,153,15,5,3,1,0,0,0,0,0,0,0],"flows":[3221,1744]},"candidate":0,"failures":2,"inconclusive_noted":false,"policy":{"bake_ns":3000000000,"failure_limit":2,"gates":[],"inconclusive_timeout_ns":300000000000,"max_error_ratio_increase_ppm":5000,"max_error_ratio_ppm":10000,"max_p99_first_byte_ns":0,"min_flows":10,"ramp_ns":0,"steps":[50000,250000,500000,1000000],"tick_ns":250000000},"ramp_from_ppm":0,"ramp_started_ns":0,"reason":"2 failing ticks in a row: candidate error ratio 10.34% (3 of 29) is above the 1.00% limit (99.9% lower bound 2.11%)","service":"web","service_created_ns":1795715759387238644,"started_ns":1795715773140605255,"state":"rolled back","state_code":5,"step":1,"step_started_ns":1795715776161475275,"version":1}
JSON
cat >"$ST/web.history.jsonl" <<'JSON'
{"action":"start","candidate":"green","reason":"step 1 of 5: split 1%","service":"web","split":"1%","state":"running","step":1,"steps":5,"ts":"2026-11-26T17:56:00.591Z","ts_ns":1795715760591688306,"type":"decision"}
{"action":"inconclusive","candidate":"green","evidence":{"candidate":{"error_ratio":0.0,"errors":0,"flows":1,"p99_first_byte_ms":1.01888},"candidate_error_ratio_lower_bound":0.0,"stable":{"error_ratio":0.0,"errors":0,"flows":77,"p99_first_byte_ms":0.89258666666666731},"verdict":"inconclusive","z":0.0},"reason":"too little evidence: 1 candidate and 77 stable flows, 10 each needed","service":"web","split":"1%","state":"running","step":1,"steps":5,"ts":"2026-11-26T17:56:00.844Z","ts_ns":1795715760844297802,"type":"decision"}
{"action":"advance","candidate":"green","evidence":{"candidate":{"error_ratio":0.0,"errors":0,"flows":19,"p99_first_byte_ms":0.92671999999999932},"candidate_error_ratio_lower_bound":3.6945081227608793e-17,"stable":{"error_ratio":0.0,"errors":0,"flows":886,"p99_first_byte_ms":1.3158399999999966},"verdict":"healthy","z":0.0},"reason":"step 2 of 5: split 5%","service":"web","split":"5%","state":"running","step":2,"steps":5,"ts":"2026-11-26T17:56:03.606Z","ts_ns":1795715763606085059,"type":"decision"}
{"action":"inconclusive","candidate":"green","evidence":{"candidate":{"error_ratio":0.0,"errors":0,"flows":2,"p99_first_byte_ms":0.25344},"candidate_error_ratio_lower_bound":0.0,"stable":{"error_ratio":0.0,"errors":0,"flows":73,"p99_first_byte_ms":2.6009599999999917},"verdict":"inconclusive","z":0.0},"reason":"too little evidence: 2 candidate and 73 stable flows, 10 each needed","service":"web","split":"5%","state":"running","step":2,"steps":5,"ts":"2026-11-26T17:56:03.850Z","ts_ns":1795715763850705003,"type":"decision"}
{"action":"advance","candidate":"green","evidence":{"candidate":{"error_ratio":0.0,"errors":0,"flows":58,"p99_first_byte_ms":3.7000533333333343},"candidate_error_ratio_lower_bound":0.0,"stable":{"error_ratio":0.0,"errors":0,"flows":844,"p99_first_byte_ms":3.7322751999999957},"verdict":"healthy","z":0.0},"reason":"step 3 of 5: split 25%","service":"web","split":"25%","state":"running","step":3,"steps":5,"ts":"2026-11-26T17:56:06.613Z","ts_ns":1795715766613267563,"type":"decision"}
{"action":"inconclusive","candidate":"green","evidence":{"candidate":{"error_ratio":0.0,"errors":0,"flows":9,"p99_first_byte_ms":3.9116800000000005},"candidate_error_ratio_lower_bound":0.0,"stable":{"error_ratio":0.0,"errors":0,"flows":66,"p99_first_byte_ms":3.9480888888888876},"verdict":"inconclusive","z":0.0},"reason":"too little evidence: 9 candidate and 66 stable flows, 10 each needed","service":"web","split":"25%","state":"running","step":3,"steps":5,"ts":"2026-11-26T17:56:06.856Z","ts_ns":1795715766856911829,"type":"decision"}
{"action":"advance","candidate":"green","evidence":{"candidate":{"error_ratio":0.0,"errors":0,"flows":221,"p99_first_byte_ms":4.0652799999999987},"candidate_error_ratio_lower_bound":3.3257605522741183e-18,"stable":{"error_ratio":0.0,"errors":0,"flows":683,"p99_first_byte_ms":4.3281066666666108},"verdict":"healthy","z":0.0},"reason":"step 4 of 5: split 50%","service":"web","split":"50%","state":"running","step":4,"steps":5,"ts":"2026-11-26T17:56:09.631Z","ts_ns":1795715769631413716,"type":"decision"}
{"action":"advance","candidate":"green","evidence":{"candidate":{"error_ratio":0.0,"errors":0,"flows":432,"p99_first_byte_ms":4.06621090909091},"candidate_error_ratio_lower_bound":0.0,"stable":{"error_ratio":0.0,"errors":0,"flows":472,"p99_first_byte_ms":3.8638933333333307},"verdict":"healthy","z":0.0},"reason":"step 100%: promoting","service":"web","split":"100%","state":"running","step":5,"steps":5,"ts":"2026-11-26T17:56:12.637Z","ts_ns":1795715772637907770,"type":"decision"}
{"action":"complete","candidate":"green","reason":"reached 100%","service":"web","split":"100%","state":"promoted","step":5,"steps":5,"ts":"2026-11-26T17:56:12.639Z","ts_ns":1795715772639790941,"type":"decision"}
{"action":"start","candidate":"blue","reason":"step 1 of 4: split 5%","service":"web","split":"5%","state":"running","step":1,"steps":4,"ts":"2026-11-26T17:56:13.147Z","ts_ns":1795715773147516494,"type":"decision"}
{"action":"inconclusive","candidate":"blue","evidence":{"candidate":{"error_ratio":0.0,"errors":0,"flows":2,"p99_first_byte_ms":2.02752},"candidate_error_ratio_lower_bound":0.0,"stable":{"error_ratio":0.0,"errors":0,"flows":76,"p99_first_byte_ms":6.6355199999999899},"verdict":"inconclusive","z":0.0},"reason":"too little evidence: 2 candidate and 76 stable flows, 10 each needed","service":"web","split":"5%","state":"running","step":1,"steps":4,"ts":"2026-11-26T17:56:13.402Z","ts_ns":1795715773402378013,"type":"decision"}
{"action":"advance","candidate":"blue","evidence":{"candidate":{"error_ratio":0.045454545454545456,"errors":2,"flows":44,"p99_first_byte_ms":51.118080000000077},"candidate_error_ratio_lower_bound":0.0068981752187499811,"stable":{"error_ratio":0.0,"errors":0,"flows":862,"p99_first_byte_ms":7.2164072727272703},"verdict":"healthy","z":1.2882694187312278},"reason":"step 2 of 4: split 25%","service":"web","split":"25%","state":"running","step":2,"steps":4,"ts":"2026-11-26T17:56:16.188Z","ts_ns":1795715776188725423,"type":"decision"}
{"action":"fail","candidate":"blue","evidence":{"candidate":{"error_ratio":0.125,"errors":2,"flows":16,"p99_first_byte_ms":3.9321599999999997},"candidate_error_ratio_lower_bound":0.019143870060294648,"stable":{"error_ratio":0.0,"errors":0,"flows":59,"p99_first_byte_ms":3.6932266666666647},"verdict":"failing","z":0.0},"reason":"candidate error ratio 12.50% (2 of 16) is above the 1.00% limit (99.9% lower bound 1.91%)","service":"web","split":"25%","state":"running","step":2,"steps":4,"ts":"2026-11-26T17:56:16.412Z","ts_ns":1795715776412270660,"type":"decision"}
{"action":"fail","candidate":"blue","evidence":{"candidate":{"error_ratio":0.10344827586206896,"errors":3,"flows":29,"p99_first_byte_ms":3.8980266666666674},"candidate_error_ratio_lower_bound":0.021059916238844251,"stable":{"error_ratio":0.0,"errors":0,"flows":120,"p99_first_byte_ms":7.3727999999999883},"verdict":"failing","z":0.0},"reason":"candidate error ratio 10.34% (3 of 29) is above the 1.00% limit (99.9% lower bound 2.11%)","service":"web","split":"25%","state":"running","step":2,"steps":4,"ts":"2026-11-26T17:56:16.663Z","ts_ns":1795715776663028755,"type":"decision"}
{"action":"rollback","candidate":"blue","evidence":{"candidate":{"error_ratio":0.10344827586206896,"errors":3,"flows":29,"p99_first_byte_ms":3.8980266666666674},"candidate_error_ratio_lower_bound":0.021059916238844251,"stable":{"error_ratio":0.0,"errors":0,"flows":120,"p99_first_byte_ms":7.3727999999999883},"verdict":"failing","z":0.0},"reason":"2 failing ticks in a row: candidate error ratio 10.34% (3 of 29) is above the 1.00% limit (99.9% lower bound 2.11%)","service":"web","split":"0%","state":"rolled back","step":2,"steps":4,"ts":"2026-11-26T17:56:16.666Z","ts_ns":1795715776666298005,"type":"decision"}
JSON

# The latest rollout starts at the last "start" line.
LAST=$(grep -n '"action":"start"' "$ST/web.history.jsonl" | tail -1 | cut -d: -f1)
N_ALL=$(wc -l <"$ST/web.history.jsonl")
N_LAST=$((N_ALL - LAST + 1))
# Judged points: decisions with evidence and candidate flows in the window.
judged() {
	jq -s '[.[] | select(.evidence and .evidence.candidate.flows > 0)]
		| length'
}
J_LAST=$(tail -n +"$LAST" "$ST/web.history.jsonl" | judged)

# derived fixtures: a rollout still running, hostile text, a timeline
sed 's/"service":"web"/"service":"live"/;s/"state":"rolled back","state_code":5/"state":"running","state_code":0/;s/"reason":"[^"]*"/"reason":""/' \
	"$ST/web.rollout.json" >"$ST/live.rollout.json"
tail -n +"$LAST" "$ST/web.history.jsonl" | head -4 >"$ST/live.history.jsonl"

sed 's/"service":"web"/"service":"esc"/;s/"state":"rolled back","state_code":5/"state":"aborted","state_code":6/;s|"reason":"[^"]*"|"reason":"<img src=x onerror=alert(1)>"|' \
	"$ST/web.rollout.json" >"$ST/esc.rollout.json"
cat >"$ST/esc.history.jsonl" <<'JSON'
{"action":"start","candidate":"<b>blue</b>","reason":"<script>alert(\"x\")</script> & 'q'","service":"esc","split":"5%","state":"running","step":1,"steps":4,"ts":"2026-11-26T17:56:13.147Z","ts_ns":1795715773147000000,"type":"decision"}
{"action":"abort","candidate":"<b>blue</b>","reason":"<img src=x onerror=alert(1)>","service":"esc","split":"0%","state":"aborted","step":1,"steps":4,"ts":"2026-11-26T17:56:14.147Z","ts_ns":1795715774147000000,"type":"decision"}
JSON

# ramp: paused and resumed by hand, then rolled back ramping down (the
# action "rolled back" ends the ramp); hand-written in the agent's shape.
sed 's/"service":"web"/"service":"ramp"/' "$ST/web.rollout.json" >"$ST/ramp.rollout.json"
python3 - "$ST" <<'PY'
import json, sys
t0, ev = 1795715773147000000, {"candidate": {"error_ratio": 0.1, "errors": 3,
      "flows": 30, "p99_first_byte_ms": 4.0}, "stable": {"error_ratio": 0.0,
      "errors": 0, "flows": 120, "p99_first_byte_ms": 7.0},
      "candidate_error_ratio_lower_bound": 0.021, "verdict": "failing", "z": 0.0}
rows = [("start", 0, "5%", "running", None), ("advance", 3, "25%", "running", None),
        ("pause", 4, "25%", "paused", None), ("resume", 6, "25%", "running", None),
        ("fail", 7, "25%", "running", ev), ("rollback", 7.25, "25%", "rolling back", ev),
        ("rolled back", 17.25, "0%", "rolled back", None)]
with open(sys.argv[1] + '/ramp.history.jsonl', 'w') as f:
    for a, s, split, state, e in rows:
        d = {"action": a, "candidate": "blue", "reason": a + " <why>",
             "service": "ramp", "split": split, "state": state, "step": 2,
             "steps": 4, "ts_ns": t0 + int(s * 1e9), "type": "decision",
             "ts": "2026-11-26T17:56:%06.3fZ" % (13.147 + s)}
        if e:
            d["evidence"] = e
        f.write(json.dumps(d) + "\n")
PY

# dense: the latest rollout with a per-tick timeline (the shape the agent
# may write later), 50 ms apart, plus samples of the rollout before it
# that must be left out; big: 5000 samples with one spike to thin.
for s in dense big; do
	sed "s/\"service\":\"web\"/\"service\":\"$s\"/" "$ST/web.rollout.json" \
		>"$ST/$s.rollout.json"
	cp "$ST/web.history.jsonl" "$ST/$s.history.jsonl"
done
python3 - "$ST" <<'PY'
import json, sys
st = sys.argv[1]
hist = [json.loads(l) for l in open(st + '/web.history.jsonl')]
starts = [i for i, d in enumerate(hist) if d['action'] == 'start']
t0, t1 = hist[starts[-1]]['ts_ns'], hist[-1]['ts_ns']
def sample(t, i, n, spike=False):
    f = i / n
    return {"ts_ns": t, "split_ppm": 50000 if f < 0.8 else 250000,
            "candidate": {"flows": 10 + i, "errors": i // 4,
                          "error_ratio": 0.5 if spike else f * 0.1,
                          "p99_first_byte_ms": 4 + f},
            "stable": {"flows": 100 + i, "errors": 0, "error_ratio": 0.0,
                       "p99_first_byte_ms": 6.0}}
def write(name, n, spike_at=None):
    with open('%s/%s.timeline.jsonl' % (st, name), 'w') as f:
        for i in range(5):   # the previous rollout's, before t0
            f.write(json.dumps(sample(t0 - 10**9 + i, i, 5)) + '\n')
        step = (t1 - t0) // n
        for i in range(n):
            f.write(json.dumps(sample(t0 + i * step, i, n, i == spike_at))
                    + '\n')
        f.write('{"torn line\n')
write('dense', 70)
write('big', 5000, spike_at=1234)
PY

# Parse the page (or Chromium's DOM of it): polylines, rows, sections.
cat >"$WORK/dom.py" <<'PY'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.out, self.rows, self.sections = [], 0, 0
        self.maxspan = 0
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == 'polyline' and 'data-series' in a:
            pts = [p.split(',') for p in a['points'].split()]
            ys = [float(y) for _, y in pts]
            self.out.append('series %s %d %s %.1f' % (a['data-series'],
                            len(pts), a.get('data-samples'), min(ys)))
        if tag == 'tr' and 'decision' in a.get('class', '').split():
            self.rows += 1
        if tag == 'section':
            self.sections += 1
        if tag == 'rect' and a.get('class') == 'frame':
            self.out.append('frame %s' % a['y'])
p = P()
p.feed(open(sys.argv[1], encoding='utf-8').read())
print('\n'.join(p.out))
print('rows', p.rows)
print('sections', p.sections)
PY

# A PNG decoder in the standard library, and where each colour is.
cat >"$WORK/png.py" <<'PY'
import sys, zlib, struct
def decode(path):
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    pos, idat = 8, []
    while pos < len(data):
        n, typ = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b'IHDR':
            w, h, depth, ctype, _, _, lace = struct.unpack('>IIBBBBB', body)
            assert depth == 8 and ctype in (2, 6) and not lace
        elif typ == b'IDAT':
            idat.append(body)
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(b''.join(idat)), w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        ln = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                ln[i] = (ln[i] + ln[i - bpp]) & 255
        elif f == 2:
            ln = bytearray((a + b) & 255 for a, b in zip(ln, prev))
        elif f == 3:
            for i in range(stride):
                l = ln[i - bpp] if i >= bpp else 0
                ln[i] = (ln[i] + ((l + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = ln[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                ln[i] = (ln[i] + (a if pa <= pb and pa <= pc else
                                  b if pb <= pc else c)) & 255
        rows.append(bytes(ln))
        prev = ln
    return w, h, bpp, rows
w, h, bpp, rows = decode(sys.argv[1])
print('size', w, h)
bg = rows[h // 2][:3]
print('nonwhite', sum(1 for r in rows for x in range(0, w * bpp, bpp * 7)
                      if r[x:x + 3] != b'\xff\xff\xff'))
for name, hexcol in (a.split('=') for a in sys.argv[2:]):
    want = bytes.fromhex(hexcol)
    n, x0, y0, x1, y1 = 0, w, h, -1, -1
    for y, r in enumerate(rows):
        i = r.find(want)
        while i >= 0:
            if i % bpp == 0:
                x = i // bpp
                n += 1
                x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), y
            i = r.find(want, i + 1)
    print('colour', name, n, x0, y0, x1, y1)
PY

# ---- the command line ---------------------------------------------------------
out=$("$S" rollout report web --html "$WORK/web.html" 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -s "$WORK/web.html" ] && [ -z "$out" ]; then
	ok "report web --html FILE writes the page (exit 0, quiet)"
else
	not_ok "report web --html FILE (exit $rc)"
	printf '%s\n' "$out" | sed 's/^/# /'
fi
"$S" rollout report web --html - >"$WORK/stdout.html"
rc=$?
if [ $rc -eq 0 ] && head -1 "$WORK/stdout.html" | grep -q '^<!DOCTYPE html>' &&
	tail -1 "$WORK/stdout.html" | grep -q '^</html>'; then
	ok "--html - writes the whole page to stdout"
else
	not_ok "--html - (exit $rc)"
fi

# usage errors: exit 2, and the message names the bad value
usage() {
	local name=$1 want=$2 out rc
	shift 2
	out=$("$S" rollout report "$@" 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && grep -qF -- "$want" <<<"$out"; then
		ok "$name: exit 2 naming '$want'"
	else
		not_ok "$name (exit $rc, want 2 and '$want')"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
}
usage "no --html" "--html FILE" web
usage "--html without a value" "--html" web --html
usage "unknown option" "--frobnicate" web --html x.html --frobnicate
usage "no service" "SERVICE is missing" --html x.html
usage "two services" "extra" web extra --html x.html
usage "bad service name" "../web" ../web --html x.html
usage "unknown service" "nosuch" nosuch --html x.html
expect_exit 1 "cannot write FILE: exit 1" \
	"$S" rollout report web --html "$WORK/no/such/dir/r.html"
out=$("$S" rollout report web --html "$WORK/no/such/dir/r.html" 2>&1)
if grep -qF "$WORK/no/such/dir/r.html" <<<"$out"; then
	ok "the write error names the file"
else
	not_ok "the write error names the file"
	printf '%s\n' "$out" | sed 's/^/# /'
fi
if "$S" rollout --help | grep -q 'rollout report SERVICE --html'; then
	ok "rollout --help shows report"
else
	not_ok "rollout --help shows report"
fi

# ---- the page -----------------------------------------------------------------
H=$WORK/web.html
bad=$(grep -Eio '(https?|ftp|file|data):|//[a-z0-9]|<script|<link|<img|<iframe|@import|url\(|src=' "$H" | sort -u)
hrefs=$(grep -Eo 'href="[^"]*"' "$H" | grep -v '^href="#')
if [ -z "$bad$hrefs" ]; then
	ok "self-contained: no URL, script, link, src= or external href"
else
	not_ok "self-contained"
	printf '%s\n' "$bad" "$hrefs" | sed 's/^/# /'
fi
if grep -q "Content-Security-Policy\" content=\"default-src 'none'" "$H"; then
	ok "a CSP forbids fetching anything"
else
	not_ok "a CSP forbids fetching anything"
fi
grep -o '<p class="verdict[^>]*>.*</p>' "$H" >"$WORK/verdict"
if grep -q 'v-rolled-back' "$WORK/verdict" &&
	grep -q 'Rolled back</span> 2 failing ticks in a row: candidate error ratio 10.34% (3 of 29)' "$WORK/verdict"; then
	ok "header: rolled back, with the reason"
else
	not_ok "header: rolled back, with the reason"
	sed 's/^/# /' "$WORK/verdict"
fi
python3 "$WORK/dom.py" "$H" >"$WORK/web.dom"
series_points() { awk -v s="$2" '$1 == "series" && $2 == s { print $3 }' "$1"; }
rows=$(awk '$1 == "rows" { print $2 }' "$WORK/web.dom")
if [ "$rows" = "$N_LAST" ]; then
	ok "table: one row per decision of the latest rollout ($rows)"
else
	not_ok "table rows: $rows, want $N_LAST"
fi
good=1
for s in candidate-error-ratio stable-error-ratio candidate-p99 stable-p99; do
	n=$(series_points "$WORK/web.dom" $s)
	[ "$n" = "$J_LAST" ] || { good=0; echo "# $s: $n points, want $J_LAST"; }
done
# start 5% -> 25% -> rollback 0%: two steps, stepped, to the chart's end
n=$(series_points "$WORK/web.dom" split)
[ "$n" = 6 ] || { good=0; echo "# split: $n points, want 6"; }
if [ $good = 1 ]; then
	ok "chart: ratio and p99 lines have a point per judged decision ($J_LAST), the split steps"
else
	not_ok "chart: polyline points"
fi
n_fail=$(grep -c '<circle class="point failing"' "$H")
n_evt=$(grep -Eo 'class="event-label"[^>]*>[^<]*' "$H" | sed 's/.*>//' | paste -sd, -)
if [ "$n_fail" = 3 ] && [ "$n_evt" = "start 5%,25%,rollback" ]; then
	ok "failing points in red (3) and the steps and rollback as lines ($n_evt)"
else
	not_ok "markers: $n_fail failing points, events '$n_evt'"
fi
if grep -q 'limit 1%' "$H" && grep -q 'class="limit"' "$H"; then
	ok "the policy's error-ratio limit is drawn"
else
	not_ok "the policy's error-ratio limit is drawn"
fi
missing=""
for t in 'Split: the candidate' 'Error ratio: errors per new flow' \
	'p99 first-byte time (ms)' 'time (UTC)' '>candidate</text>' \
	'>stable</text>'; do
	grep -qF "$t" "$H" || missing="$missing '$t'"
done
if [ -z "$missing" ]; then
	ok "axis titles and legends"
else
	not_ok "axis titles and legends: missing$missing"
fi

"$S" rollout report web --all --html "$WORK/all.html"
python3 "$WORK/dom.py" "$WORK/all.html" >"$WORK/all.dom"
if grep -qx "rows $N_ALL" "$WORK/all.dom" && grep -qx 'sections 2' "$WORK/all.dom" &&
	grep -q 'Promoted</span> reached 100%' "$WORK/all.html" &&
	[ "$(grep -c 'data-series="split"' "$WORK/all.html")" = 2 ]; then
	ok "--all: both rollouts, promoted then rolled back, every decision"
else
	not_ok "--all"
	sed 's/^/# /' "$WORK/all.dom"
fi

"$S" rollout report live --html "$WORK/live.html"
if grep -q 'Running</span> at step 2 of 4 (split 25%)' "$WORK/live.html" &&
	grep -q 'the last decision was .* ago' "$WORK/live.html"; then
	ok "a running rollout: running at step k of n, last decision how long ago"
else
	not_ok "a running rollout"
	grep 'class="verdict' "$WORK/live.html" | sed 's/^/# /'
fi

"$S" rollout report esc --html "$WORK/esc.html"
if ! grep -Eq '<(script|img)[ >]|<b>blue' "$WORK/esc.html" &&
	grep -qF '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;' "$WORK/esc.html" &&
	grep -qF 'Aborted</span> &lt;img src=x onerror=alert(1)&gt;' "$WORK/esc.html" &&
	grep -qF '&lt;b&gt;blue&lt;/b&gt;' "$WORK/esc.html"; then
	ok "every text is HTML-escaped"
else
	not_ok "every text is HTML-escaped"
fi

"$S" rollout report ramp --html "$WORK/ramp.html"
python3 "$WORK/dom.py" "$WORK/ramp.html" >"$WORK/ramp.dom"
evts=$(grep -Eo 'class="event-label"[^>]*>[^<]*' "$WORK/ramp.html" | sed 's/.*>//' | paste -sd, -)
# 5%, up to 25%, held until the rollback, down to 0% at the ramp's end (a
# slope between the two lines), then held: the split's last three points.
ramp=$(python3 - "$WORK/ramp.html" <<'PY'
import re, sys
h = open(sys.argv[1]).read()
xs = [float(x) for x in re.findall(r'<line class="event" x1="([0-9.]+)"', h)]
pts = re.search(r'data-series="split"[^>]*points="([^"]*)"', h).group(1)
(x1, y1), (x2, y2), (x3, y3) = [map(float, p.split(',')) for p in pts.split()[-3:]]
print('ok' if (x1, x2) == (xs[4], xs[5]) and y1 < y2 == y3 and x2 < x3 else
      'no: events %s, points %s' % (xs, pts))
PY
)
if [ "$evts" = "start 5%,25%,pause,resume,rollback,rolled back" ] &&
	[ "$ramp" = ok ]; then
	ok "pause, resume, rollback and the end of a ramp as lines; the ramp drawn as a slope"
else
	not_ok "ramp: events '$evts', last split points '$ramp'"
fi

"$S" rollout report dense --html "$WORK/dense.html"
python3 "$WORK/dom.py" "$WORK/dense.html" >"$WORK/dense.dom"
n=$(series_points "$WORK/dense.dom" candidate-error-ratio)
if [ "$n" = 70 ] && grep -q 'per-tick samples from the timeline' "$WORK/dense.html"; then
	ok "a timeline gives the curves: 70 samples of this rollout, not the earlier ones"
else
	not_ok "timeline: $n points, want 70"
fi
"$S" rollout report big --html "$WORK/big.html"
python3 "$WORK/dom.py" "$WORK/big.html" >"$WORK/big.dom"
read -r _ _ n samples ymin < <(grep 'series candidate-error-ratio ' "$WORK/big.dom")
# The spike (50%) is above the panel's middle; every other sample is at
# most 10% of a scale the spike sets, so only the spike gets there.
top=$(awk '$1 == "frame" { print $2 }' "$WORK/big.dom" | sed -n 2p)
if [ "$samples" = 5000 ] && [ "$n" -lt 5000 ] &&
	awk -v y="$ymin" -v t="$top" 'BEGIN { exit !(y < t + 75) }'; then
	ok "5000 samples thinned to $n vertices, the spike kept"
else
	not_ok "thinning: $n vertices of $samples, top y $ymin (panel top $top)"
fi

# ---- in a browser -------------------------------------------------------------
# CHROMIUM= (empty) exercises the skip path.
CHROME=${CHROMIUM-$(command -v chromium || true)}
if [ -z "$CHROME" ]; then
	for i in 1 2 3 4; do
		ok "rendered by Chromium # SKIP chromium not installed"
	done
	tap_done
	exit
fi
# No network at all when we can: a namespace with only a downed lo.
NET=()
[ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null && NET=(unshare -n)
# timeout 60: a cold Chromium start on a busy 2-core host can take tens
# of seconds; the bound is only there to end a hang.
chrome() {
	local prof
	prof=$(mktemp -d "$WORK/chrome.XXXXXX")
	HOME=$prof timeout 60 "${NET[@]}" "$CHROME" --headless --no-sandbox \
		--disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update \
		--disable-sync --disable-default-apps --no-default-browser-check \
		--hide-scrollbars --force-device-scale-factor=1 \
		--user-data-dir="$prof" "$@" 2>>"$WORK/chrome.log"
}
SHOT=${REPORT_SCREENSHOT:-$WORK/web.png}
chrome --screenshot="$SHOT" --window-size=1200,1600 "file://$H" >/dev/null
python3 "$WORK/png.py" "$SHOT" split=6741d9 candidate=f76707 \
	stable=1c7ed6 rollback=e03131 >"$WORK/png.out" 2>&1
read -r _ w h < <(grep '^size' "$WORK/png.out")
if [ "${w:-0}" = 1200 ] && [ "${h:-0}" = 1600 ]; then
	ok "Chromium took a 1200x1600 screenshot${NET:+ (no network: unshare -n)}"
else
	not_ok "screenshot"
	sed 's/^/# /' "$WORK/png.out" "$WORK/chrome.log" | tail -20
fi
# Each line colour is drawn, as lines across the chart (not just the
# legend's swatches), panels stacked: split above the error ratio.
good=1
declare -A Y0 WIDTH
while read -r _ name n x0 y0 x1 y1; do
	Y0[$name]=$y0
	WIDTH[$name]=$((x1 - x0))
	if [ "$n" -lt 150 ]; then
		good=0
		echo "# $name: $n pixels"
	fi
done < <(grep '^colour' "$WORK/png.out")
for name in split candidate stable; do
	[ "${WIDTH[$name]:-0}" -gt 600 ] || { good=0; echo "# $name spans ${WIDTH[$name]:-0} px"; }
done
[ "${Y0[split]:-9999}" -lt "${Y0[candidate]:-0}" ] || { good=0; echo "# split not above candidate"; }
if [ $good = 1 ]; then
	ok "the screenshot shows the chart: split, candidate, stable and rollback colours across it"
else
	not_ok "the screenshot shows the chart"
	sed 's/^/# /' "$WORK/png.out"
fi
chrome --dump-dom "file://$H" >"$WORK/web.rendered.html"
python3 "$WORK/dom.py" "$WORK/web.rendered.html" >"$WORK/rendered.dom"
if diff -q "$WORK/web.dom" "$WORK/rendered.dom" >/dev/null &&
	grep -q "rows $N_LAST" "$WORK/rendered.dom"; then
	ok "Chromium's DOM has the polylines with every point and the $N_LAST decision rows"
else
	not_ok "Chromium's DOM"
	diff "$WORK/web.dom" "$WORK/rendered.dom" | sed 's/^/# /'
fi
if grep -Eq 'ERR_|net::' "$WORK/chrome.log"; then
	not_ok "Chromium asked for nothing"
	grep -E 'ERR_|net::' "$WORK/chrome.log" | head | sed 's/^/# /'
else
	ok "Chromium asked for nothing (no net:: errors)"
fi
tap_done
