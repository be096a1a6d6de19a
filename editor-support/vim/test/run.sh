#!/usr/bin/env bash
# Checks the Vim syntax with real Vim (cases.tsv); skipped, with a note, where Vim is absent.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v vim >/dev/null 2>&1; then
  echo "vim syntax: vim not installed; skipped"
  exit 0
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
vim -Nu NONE -i NONE -es --cmd "let g:root = '$(cd .. && pwd)' | let g:cases = 'cases.tsv' | let g:out = '$out'" -S check.vim </dev/null || true
if [ ! -s "$out" ]; then
  echo "vim syntax: check.vim wrote nothing" >&2
  exit 1
fi
if [ "$(wc -l <"$out")" -gt 1 ]; then
  sed '$d' "$out" | sed 's/^/FAIL vim: /' >&2
  exit 1
fi
echo "vim syntax: $(cat "$out") cases ok"
