// Starts `flow lsp` (the language server built into the flow binary) for .flow files.
'use strict';
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration('flow');
  if (!config.get('lsp.enable', true)) return;
  const command = config.get('path', 'flow');
  const server = { command, args: ['lsp'], transport: TransportKind.stdio };
  client = new LanguageClient(
    'flow',
    'flow language server',
    { run: server, debug: server },
    { documentSelector: [{ scheme: 'file', language: 'flow' }, { scheme: 'untitled', language: 'flow' }] },
  );
  client.start().catch((e) => {
    vscode.window.showWarningMessage(`flow: could not start \`${command} lsp\`: ${e.message}`);
  });
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
