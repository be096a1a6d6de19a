#!/usr/bin/env bash
# CI (called by .ci/run): the editor grammars checked with the real engines — the VS Code
# TextMate grammar with vscode-textmate, the Vim syntax with Vim.
set -euo pipefail
cd "$(dirname "$0")"
vscode/test/run.sh
vim/test/run.sh
