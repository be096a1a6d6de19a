#!/usr/bin/env bash
# Regenerates highlight.png and diagnostic.png (not run by CI): the pages from render.js,
# photographed by headless Chromium. Needs node, chromium, the npm packages of
# ../vscode/test (npm ci there) and a built flow (cargo build --release).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
(cd "$here/../vscode/test" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node "$here/render.js" "$root/target/release/flow" "$work"
shoot() { # page, png, height
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$work/profile" --window-size=1000,"$3" \
    --screenshot="$here/$2" "file://$work/$1" 2>/dev/null
}
shoot highlight.html highlight.png 580
shoot diagnostic.html diagnostic.png 200
echo "wrote $here/highlight.png $here/diagnostic.png"
