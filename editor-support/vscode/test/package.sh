#!/usr/bin/env bash
# CI: the extension packages with vsce, non-interactively (stdin closed: a prompt would fail),
# from a copy of the extension (no node_modules left in the repository), and the package
# holds what the extension needs.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r extension.js language-configuration.json package.json LICENSE README.md snippets syntaxes "$work"/
[ -f .vscodeignore ] && cp .vscodeignore "$work"/
cd "$work"
npm install --no-audit --no-fund --loglevel=error >/dev/null
npx --no-install vsce package --allow-missing-repository -o flow.vsix </dev/null >/dev/null
listing=$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' flow.vsix)
for f in extension/extension.js extension/package.json extension/LICENSE.txt extension/syntaxes/flow.tmLanguage.json extension/node_modules/vscode-languageclient/package.json; do
  if ! grep -qx "$f" <<<"$listing"; then
    echo "vscode package: $f missing from flow.vsix"; exit 1
  fi
done
echo "vscode package: flow.vsix built ($(wc -c < flow.vsix) bytes)"
