#!/usr/bin/env bash
# End-to-end sync benchmarks against a local `rosterbridge sandbox` (release build).
#
#   scripts/bench-sync.sh rest [STUDENTS]       REST mode under the sandbox's default throttle
#                                              (700-unit bucket, 10 units/s leak, cost 1 a
#                                              request): how much of what the bucket allows the
#                                              sync used, and how many answers were throttled.
#   scripts/bench-sync.sh sis-import [STUDENTS] SIS-import mode: first sync and a 1% delta,
#                                              wall time and peak memory of each.
#
# Prints figures; asserts nothing (speed goals are not tests).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: bench-sync.sh rest|sis-import [STUDENTS]}
cargo build --release --quiet -p rosterbridge-cli
rb=$PWD/target/release/rosterbridge
work=$(mktemp -d)
trap 'kill $sandbox_pid 2>/dev/null || true; rm -rf "$work"' EXIT

"$rb" sandbox --listen 127.0.0.1:0 --token bench-token >"$work/url" 2>/dev/null &
sandbox_pid=$!
for _ in $(seq 50); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(head -1 "$work/url")

config() {
  cat >"$work/rb.toml" <<TOML
[source]
kind = "oneroster-csv"
path = "district"

[canvas]
url = "$url"
account_id = 1
token_env = "CANVAS_TOKEN"
$1
TOML
}

timed_sync() { # prints the report JSON; time and peak RSS on stderr
  local start end
  start=$(date +%s.%N)
  CANVAS_TOKEN=bench-token ROSTERBRIDGE_REPORT_PEAK_RSS=1 "$rb" sync --config "$work/rb.toml" --json -q 2>"$work/stderr" >"$work/report.json"
  end=$(date +%s.%N)
  python3 - "$start" "$end" "$work/report.json" "$work/stderr" <<'PY'
import json, sys
start, end, report, stderr = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
r = json.load(open(report))["report"]
peak = [l.split("=")[1] for l in open(stderr) if l.startswith("peak_rss_kb=")]
print(f"  {r['outcome']}: {r['applied']} change(s) applied, {r['rejected']} rejected in {end-start:.1f} s, peak RSS {int(peak[0])//1024 if peak else '?'} MB")
http = r.get("http") or {}
print(f"  http: {http}")
json.dump({"secs": end - start, "http": http}, open(report + ".fig", "w"))
PY
}

case "$mode" in
  rest)
    students=${2:-20}
    "$rb" generate --students "$students" --seed 5 --out "$work/district" -q
    config 'mode = "rest"'
    echo "REST sync of a $students-student district against the default throttle"
    timed_sync
    python3 - "$work/report.json.fig" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
secs, cost, throttled = f["secs"], f["http"]["cost"], f["http"]["throttled"]
allowed = 700 + 10 * secs   # the bucket's room at the start plus what leaked during the run
print(f"  used {cost:.0f} of the {allowed:.0f} units the bucket allowed in {secs:.1f} s: {100*cost/allowed:.1f}%, throttled answers: {throttled}")
PY
    ;;
  sis-import)
    students=${2:-200000}
    "$rb" generate --students "$students" --seed 5 --out "$work/district" -q
    config ''
    echo "SIS-import first sync of a $students-student district"
    timed_sync
    "$rb" generate --students "$students" --seed 5 --change 1 --out "$work/district" -q
    echo "SIS-import sync of the same district with about 1% changed"
    timed_sync
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
