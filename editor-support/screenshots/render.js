// Renders the two screenshots of editor-support/README.md as HTML pages: a script
// highlighted by the TextMate grammar (tokenized by vscode-textmate, coloured with VS Code's
// Dark+ colours), and a script with the diagnostic that the real `flow lsp` publishes for it.
// Usage: node render.js FLOW_BINARY OUT_DIR (render.sh then photographs them with Chromium).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { loadGrammar, tokenize } = require('../vscode/test/tokenize');

const [flowBin, outDir] = process.argv.slice(2);
const ROOT = path.join(__dirname, '..', '..');

// Dark+ colours by scope prefix; the innermost scope with a rule wins, as in VS Code.
const THEME = [
  ['comment', '#6A9955'],
  ['string', '#CE9178'],
  ['constant.character.escape', '#D7BA7D'],
  ['constant.numeric', '#B5CEA8'],
  ['constant.language', '#569CD6'],
  ['keyword.control', '#C586C0'],
  ['keyword.operator', '#D4D4D4'],
  ['keyword', '#569CD6'],
  ['storage', '#569CD6'],
  ['entity.name.function', '#DCDCAA'],
  ['support.function', '#DCDCAA'],
  ['variable.language', '#569CD6'],
  ['variable', '#9CDCFE'],
  ['punctuation.section.interpolation', '#569CD6'],
  ['meta.embedded', '#D4D4D4'],
];
function colour(scopes) {
  for (let i = scopes.length - 1; i >= 0; i--) {
    let best = null;
    for (const [prefix, c] of THEME) {
      if ((scopes[i] === prefix || scopes[i].startsWith(prefix + '.')) && (!best || prefix.length > best[0].length)) best = [prefix, c];
    }
    if (best) return best[1];
  }
  return '#D4D4D4';
}
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// `marks`: [{ line, start, end }] drawn with a red squiggle (columns in UTF-16 units).
function codeHtml(grammar, text, marks = []) {
  const lines = tokenize(grammar, text);
  return lines.map((tokens, n) => {
    let html = '';
    for (const t of tokens) {
      // Split tokens at mark edges, so that a squiggle covers exactly its range.
      const cuts = new Set([t.start, t.end]);
      for (const m of marks) if (m.line === n) [m.start, m.end].forEach((x) => x > t.start && x < t.end && cuts.add(x));
      const pts = [...cuts].sort((a, b) => a - b);
      for (let i = 0; i + 1 < pts.length; i++) {
        const part = t.text.slice(pts[i] - t.start, pts[i + 1] - t.start);
        const marked = marks.some((m) => m.line === n && m.start <= pts[i] && pts[i] < m.end);
        html += `<span style="color:${colour(t.scopes)}"${marked ? ' class="err"' : ''}>${esc(part)}</span>`;
      }
    }
    return `<div class="line"><span class="ln">${n + 1}</span>${html || ' '}</div>`;
  });
}

function page(title, body) {
  return `<!doctype html><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body { margin: 0; background: #1E1E1E; font: 14px/20px "DejaVu Sans Mono", monospace; color: #D4D4D4; }
.tab { background: #252526; color: #FFFFFF; padding: 6px 16px; font: 13px sans-serif; border-bottom: 1px solid #333; }
pre { margin: 0; padding: 10px 0; white-space: pre; }
.ln { display: inline-block; width: 3em; margin-right: 1.5em; text-align: right; color: #858585; }
.err { text-decoration: underline wavy #F14C4C; text-underline-offset: 3px; }
.hover { margin: 4px 0 0 7.5em; max-width: 760px; background: #252526; border: 1px solid #454545;
         padding: 8px 12px; font: 13px/19px sans-serif; white-space: pre-wrap; }
.hover code { font: 13px "DejaVu Sans Mono", monospace; color: #F14C4C; }
</style>${body}`;
}

// The diagnostics `flow lsp` publishes for `text`.
function lspDiagnostics(text) {
  return new Promise((resolve, reject) => {
    const p = spawn(flowBin, ['lsp'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = Buffer.alloc(0);
    const send = (m) => {
      const body = JSON.stringify({ jsonrpc: '2.0', ...m });
      p.stdin.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    p.stdout.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const head = buf.indexOf('\r\n\r\n');
        if (head < 0) return;
        const len = Number(/Content-Length: (\d+)/.exec(buf.slice(0, head).toString())[1]);
        if (buf.length < head + 4 + len) return;
        const msg = JSON.parse(buf.slice(head + 4, head + 4 + len).toString());
        buf = buf.slice(head + 4 + len);
        if (msg.method === 'textDocument/publishDiagnostics') {
          send({ id: 2, method: 'shutdown' });
          send({ method: 'exit' });
          resolve(msg.params.diagnostics);
        }
      }
    });
    p.on('error', reject);
    send({ id: 1, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });
    send({ method: 'initialized', params: {} });
    send({ method: 'textDocument/didOpen', params: { textDocument: { uri: 'file:///compress.flow', languageId: 'flow', version: 1, text } } });
  });
}

const BROKEN = `// Compress every CSV, 4 at a time, and count the server errors.
from glob("data/*.csv") | pool 4 exec gzp -k \${it} progress
fn parse(line) { let f = line.split(" "); #{ status: f[8].parse_int() } }
let errors = cat access.log | pool map parse | filter { it.status >= 500 } | count
print(\`\${errors} server errors\`);
`;

(async () => {
  const grammar = await loadGrammar();
  const tour = fs.readFileSync(path.join(ROOT, 'examples', 'tour.flow'), 'utf8');
  const highlighted = `<div class="tab">tour.flow</div><pre>${codeHtml(grammar, tour).join('')}</pre>`;
  fs.writeFileSync(path.join(outDir, 'highlight.html'), page('tour.flow', highlighted));

  const diags = await lspDiagnostics(BROKEN);
  if (diags.length === 0) throw new Error('flow lsp published no diagnostic for the broken script');
  const d = diags[0];
  const marks = diags.map((x) => ({ line: x.range.start.line, start: x.range.start.character, end: x.range.end.character }));
  const lines = codeHtml(grammar, BROKEN, marks);
  const box = `<div class="hover">${esc(d.message)}  <code>${esc(String(d.code))}</code></div>`;
  lines.splice(d.range.start.line + 1, 0, box);
  const diag = `<div class="tab">compress.flow</div><pre>${lines.join('')}</pre>`;
  fs.writeFileSync(path.join(outDir, 'diagnostic.html'), page('compress.flow', diag));
  console.log(`rendered; diagnostic: ${d.code} at ${JSON.stringify(d.range)}`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
