#!/usr/bin/env bash
# The main job on the embedded defaults: generate a district, plan it, apply it through the
# folder sink (SQLite state beside the config), then change 1% of the district and show
# that only the delta is planned and written.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p rosterbridge-cli
rb=target/release/rosterbridge
work=${1:-quickstart}
rm -rf "$work" && mkdir -p "$work"

"$rb" generate --students 2000 --seed 7 --out "$work/district"
cat > "$work/rosterbridge.toml" <<'TOML'
[source]
kind = "oneroster-csv"
path = "district"

[canvas]
url = "http://127.0.0.1:8089"
account_id = 1
token_env = "CANVAS_TOKEN"
TOML

echo; echo "== validate"; "$rb" validate --config "$work/rosterbridge.toml"
echo; echo "== first plan";  "$rb" plan --config "$work/rosterbridge.toml" --changes 3
echo; echo "== apply (folder sink)"; "$rb" apply --config "$work/rosterbridge.toml" --sink folder --out "$work/outbox"
echo; echo "== plan again: nothing to do"; "$rb" plan --config "$work/rosterbridge.toml" --changes 0

"$rb" generate --students 2000 --seed 7 --change 1 --out "$work/district"
echo; echo "== the district changed by about 1%: only the delta"
"$rb" plan --config "$work/rosterbridge.toml" --changes 5
"$rb" apply --config "$work/rosterbridge.toml" --sink folder --out "$work/outbox"
echo; ls -l "$work/outbox"
