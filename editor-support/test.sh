#!/usr/bin/env bash
# CI (called by .ci/run): the editor grammars checked with the real engines — the VS Code
# TextMate grammar with vscode-textmate, the Vim syntax with Vim — and the VS Code extension
# packaged with vsce without a prompt.
set -euo pipefail
cd "$(dirname "$0")"
vscode/test/run.sh
vscode/test/package.sh
vim/test/run.sh
