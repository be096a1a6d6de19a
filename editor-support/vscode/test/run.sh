#!/usr/bin/env bash
# CI: install the real TextMate engine (vscode-textmate + vscode-oniguruma, pinned by
# package-lock.json) and check the grammar against every .flow script in the repository.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
node grammar.test.js
