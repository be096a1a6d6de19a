// The TextMate grammar, checked with the real engine: pinned snippets with their expected
// scopes, and every .flow script under examples/ and tests/ against a small independent
// lexer (comments, strings, interpolations, keywords, durations, commands). Exits 1 on any
// mismatch, so that a grammar change that breaks highlighting fails CI.
'use strict';
const fs = require('fs');
const path = require('path');
const { loadGrammar, tokenize } = require('./tokenize');

const ROOT = path.join(__dirname, '..', '..', '..');
let failures = 0;
function fail(msg) {
  failures++;
  if (failures <= 50) console.error(`FAIL ${msg}`);
}

// The scopes of the character at (line, col).
function scopesAt(tokens, line, col) {
  const t = tokens[line].find((t) => t.start <= col && col < t.end);
  return t ? t.scopes : [];
}
const has = (scopes, prefix) => scopes.some((s) => s.startsWith(prefix));

// ---------------------------------------------------------------- pinned snippets

// [snippet, the text to look at (first occurrence, or [text, nth]), a scope prefix it must
// have, or with a leading `!` one it must not have]
const PINNED = [
  ['let n = 10', 'let', 'keyword.control'],
  ['let n = 10', 'n', 'variable.other.definition'],
  ['// a comment with `let`', 'let', 'comment.line'],
  ['ls http://x.org // note', 'http://x.org', '!comment'],
  ['ls http://x.org // note', 'note', 'comment.line'],
  ['/* block\n   still */ ls', 'still', 'comment.block'],
  ['/* block */ ls -l', 'ls', 'entity.name.function.command'],
  ['echo "hi ${name}!"', 'hi', 'string.quoted.double'],
  ['echo "hi ${name}!"', '${', 'punctuation.section.interpolation.begin'],
  ['echo "hi ${name}!"', 'name', 'meta.interpolation'],
  ['echo "hi ${name}!"', 'name', 'meta.embedded.line.rhai'],
  ['echo "hi $name"', 'name', 'variable.other.interpolated'],
  ['echo "a\\"b"', '\\"', 'constant.character.escape'],
  ["echo 'raw ${x}'", '${x}', 'string.quoted.single'],
  ["echo 'raw ${x}'", '${x}', '!meta.interpolation'],
  ["let q = '\\''; print('ab cd')", 'ab cd', 'string.quoted.single'],
  ["let q = '\\n'; ls -l", 'ls', 'entity.name.function.command'],
  ['print(`${n} left`)', 'left', 'string.template'],
  ['print(`${n} left`)', ['n', 1], 'meta.interpolation'],
  ['gzip -k ${it}', 'it', 'variable.language'],
  ['cp $f $work', 'work', 'variable.other.interpolated'],
  ['join a, b timeout 30s', '30s', 'constant.numeric.duration'],
  ['join a, b timeout 30s', 'timeout', 'keyword'],
  ['on_interrupt grace 1.5s { rm -f x }', '1.5s', 'constant.numeric.duration'],
  ['on_interrupt grace 1.5s { rm -f x }', 'rm', 'entity.name.function.command'],
  ['from xs | pool 4 exec gzip -k ${it} retries 2 timeout 250ms', 'pool', 'keyword.other.pool'],
  ['from xs | pool 4 exec gzip -k ${it} retries 2 timeout 250ms', '4', 'constant.numeric'],
  ['from xs | pool 4 exec gzip -k ${it} retries 2 timeout 250ms', 'gzip', 'entity.name.function.command'],
  ['from xs | pool 4 exec gzip -k ${it} retries 2 timeout 250ms', 'retries', 'keyword.other.pool-option'],
  ['from xs | pool 4 exec gzip -k ${it} retries 2 timeout 250ms', '250ms', 'constant.numeric.duration'],
  ['from xs | pool map parse unordered on_error skip', 'unordered', 'keyword.other.pool-option'],
  ['from xs | pool map parse unordered on_error skip', 'skip', 'constant.language'],
  ['cat data/access.log /tmp/map', 'log', '!keyword'],
  ['cat data/access.log /tmp/map', 'map', '!keyword'],
  ['ps ax | grep -c python', 'ps', 'entity.name.function.command'],
  ['ps ax | grep -c python', 'grep', 'entity.name.function.command'],
  ['ps ax | grep -c python', '|', 'keyword.operator.pipe'],
  ['cat f 2>&1 > out.txt', '2>&1', 'keyword.operator.redirect'],
  ['LC_ALL=C grep -c x f', 'LC_ALL', 'variable.other.environment'],
  ['LC_ALL=C grep -c x f', 'grep', 'entity.name.function.command'],
  ['A=1 B=2 env', 'B', 'variable.other.environment'],
  ['let files = ls data | lines', 'ls', 'entity.name.function.command'],
  ['let out = ^ls -l', 'ls', 'entity.name.function.command'],
  ['let s = name + "!"', 'name', '!entity.name.function.command'],
  ['xs.push(4)', 'xs', '!entity.name.function.command'],
  ['total += 1', 'total', '!entity.name.function.command'],
  ['print(count)', 'count', '!keyword'],
  ['print(count)', 'print', 'support.function.builtin'],
  ['from [1, 2] | map { it * 2 } | filter { it > count }', 'count', '!keyword'],
  ['from [1, 2] | map { it * 2 } | filter { it > count }', 'it', 'variable.language'],
  ['from [1, 2] | map { it * 2 } | filter { it > count }', 'filter', 'keyword.other.stage'],
  ['from [1, 2] | map { it * 2 } | filter { it > count }', '*', 'meta.embedded.block.rhai'],
  ['fn parse(line) { let f = line.split(" "); #{ n: f[1] } }', 'parse', 'entity.name.function'],
  ['fn parse(line) { let f = line.split(" "); #{ n: f[1] } }', 'line', 'variable.parameter'],
  ['fn parse(line) { let f = line.split(" "); #{ n: f[1] } }', ['let', 0], 'keyword.control.rhai'],
  ['fn parse(line) { let f = line.split(" "); #{ n: f[1] } }', '" "', 'string.quoted.double'],
  ['let a = spawn { wc -l x }\nlet b = join a', 'wc', 'entity.name.function.command'],
  ['let a = spawn { wc -l x }\nlet b = join a', 'spawn', 'keyword.control'],
  ['let a = spawn { wc -l x }\nlet b = join a', 'join', 'keyword.control'],
  ['try { false } catch e { print(e.message) }', 'catch', 'keyword.control'],
  ['try { false } catch e { print(e.message) }', ['e', 1], 'variable.other.definition'],
  ['try { false } catch (err) { print(err.message) }', 'catch', 'keyword.control'],
  ['try { false } catch (err) { print(err.message) }', 'err', 'variable.other.definition'],
  ['for f in glob("*.csv") { cp $f out/ }', 'in', 'keyword.control'],
  ['for f in glob("*.csv") { cp $f out/ }', 'cp', 'entity.name.function.command'],
  ['from 1..=3 | reduce 0 { acc + it }', 'acc', 'variable.language'],
  ['from 1..=3 | reduce 0 { acc + it }', 'reduce', 'keyword.other.sink'],
  ['#!/usr/bin/env flow\nls', 'flow', 'comment.line.shebang'],
];

function checkPinned(grammar) {
  for (const [snippet, what, expect] of PINNED) {
    const [needle, nth] = Array.isArray(what) ? what : [what, 0];
    let at = -1;
    for (let i = 0; i <= nth; i++) at = snippet.indexOf(needle, at + 1);
    if (at < 0) {
      fail(`pinned: \`${needle}\` not in \`${snippet}\``);
      continue;
    }
    const before = snippet.slice(0, at).split('\n');
    const line = before.length - 1;
    const col = before[line].length;
    const tokens = tokenize(grammar, snippet);
    const negate = expect.startsWith('!');
    const prefix = negate ? expect.slice(1) : expect;
    for (let c = col; c < col + needle.length; c++) {
      const scopes = scopesAt(tokens, line, c);
      if (has(scopes, prefix) === negate) {
        fail(`pinned: in \`${snippet}\`, \`${needle}\` ${negate ? 'has' : 'lacks'} ${prefix}: ${scopes.join(' ')}`);
        break;
      }
    }
  }
}

// ---------------------------------------------------------------- the corpus

function flowFiles(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules' && e.name !== 'target') flowFiles(p, out);
    else if (e.isFile() && e.name.endsWith('.flow')) out.push(p);
  }
  return out;
}

// An independent lexer: the class of every character ('code', 'comment', 'string',
// 'interp' for `${`'s two characters) and whether a string interpolates. It follows the
// language's lexical rules only (docs/language.md §2), not the grammar.
function classify(text) {
  const lines = text.split(/\r?\n/);
  const cls = lines.map((l) => new Array(l.length).fill('code'));
  // Stack of contexts: 'code' (depth counts braces inside `${…}`), 'dq', 'tpl', 'block'.
  const stack = [{ kind: 'code', depth: 0 }];
  const wordStart = (l, c) => c === 0 || /[\s;{}()|,]/.test(l[c - 1]);
  for (let n = 0; n < lines.length; n++) {
    const l = lines[n];
    if (n === 0 && l.startsWith('#!')) {
      cls[n].fill('comment');
      continue;
    }
    let sq = false;
    for (let c = 0; c < l.length; c++) {
      const top = stack[stack.length - 1];
      const two = l.slice(c, c + 2);
      if (top.kind === 'block') {
        cls[n][c] = 'comment';
        if (two === '*/') {
          cls[n][c + 1] = 'comment';
          c++;
          stack.pop();
        }
      } else if (sq) {
        cls[n][c] = 'string';
        if (l[c] === "'") sq = false;
      } else if (top.kind === 'dq' || top.kind === 'tpl') {
        const close = top.kind === 'dq' ? '"' : '`';
        if (l[c] === '\\') {
          cls[n][c] = cls[n][c + 1] = 'string';
          c++;
        } else if (two === '${') {
          cls[n][c] = cls[n][c + 1] = top.kind === 'tpl' ? 'interp' : 'dq-interp';
          c++;
          stack.push({ kind: 'code', depth: 0 });
        } else {
          cls[n][c] = 'string';
          if (l[c] === close) stack.pop();
        }
      } else if (two === '/*') {
        cls[n][c] = cls[n][c + 1] = 'comment';
        c++;
        stack.push({ kind: 'block' });
      } else if (two === '//' && wordStart(l, c)) {
        for (let k = c; k < l.length; k++) cls[n][k] = 'comment';
        break;
      } else if (l[c] === '"' || l[c] === '`') {
        cls[n][c] = 'string';
        stack.push({ kind: l[c] === '"' ? 'dq' : 'tpl' });
      } else if (l[c] === "'") {
        cls[n][c] = 'string';
        sq = true;
      } else if (two === '${') {
        cls[n][c] = cls[n][c + 1] = 'interp';
        c++;
        stack.push({ kind: 'code', depth: 0 });
      } else if (l[c] === '{') {
        top.depth++;
      } else if (l[c] === '}') {
        if (top.depth === 0 && stack.length > 1) stack.pop();
        else top.depth--;
      }
    }
  }
  return { lines, cls };
}

const STMT_START = /^\s*(let|fn|for|if|spawn|on_interrupt|try|throw|join|cancel|from)\b/;
const AFTER_PIPE = /(^|[^|])\|\s*(map|filter|each|flat_map|take|skip|batch|sort|uniq|lines|json|to_json|into|count_by|count|sum|first|last|collect|text|reduce|pool)\b/g;
const TIMED = /\b(timeout|grace)\s+(\d+(?:\.\d+)?(?:ms|s|m|h))\b/g;
// (Not the `|` that ends a Rhai closure's parameters: `xs.reduce(|a, b| a + b)`.)
const COMMAND_AFTER_PIPE = /(^|[^|])(?<![(,=]\s*\|[\w, ]*)\|\s*([a-z][\w.-]*)(?=\s|$)/g;
const KEYWORDS = new Set(('fn let from spawn daemon join timeout on_interrupt grace pool exec map filter each ' +
  'flat_map take skip batch sort uniq count count_by sum first last collect reduce lines text json into unchecked ' +
  'ordered unordered chunk retries on_error progress log resume if else for in cancel to_json try catch throw sh').split(' '));

function checkFile(grammar, file, stats) {
  const text = fs.readFileSync(file, 'utf8');
  const rel = path.relative(ROOT, file);
  const tokens = tokenize(grammar, text);
  // Scripts that are parse errors on purpose are only tokenized (the engine must not fail).
  const stderr = file.replace(/\.flow$/, '.stderr');
  if (fs.existsSync(stderr) && fs.readFileSync(stderr, 'utf8').includes('flow::parse::')) {
    stats.parseErrors++;
    return;
  }
  const { lines, cls } = classify(text);
  const expect = (n, c, prefix, what) => {
    const scopes = scopesAt(tokens, n, c);
    if (!has(scopes, prefix)) {
      fail(`${rel}:${n + 1}:${c + 1}: ${what} \`${lines[n].slice(c, c + 12)}\` lacks ${prefix}: ${scopes.join(' ')}`);
      return false;
    }
    return true;
  };
  for (let n = 0; n < lines.length; n++) {
    const l = lines[n];
    for (let c = 0; c < l.length; c++) {
      const k = cls[n][c];
      if (k === 'comment' && l[c].trim()) {
        if (!expect(n, c, 'comment', 'comment')) break;
        stats.comment++;
      } else if (k === 'string' && l[c].trim()) {
        if (!expect(n, c, 'string', 'string')) break;
        stats.string++;
      } else if (k === 'interp' && l[c] === '$') {
        if (expect(n, c, 'punctuation.section.interpolation.begin', 'interpolation')) stats.interp++;
      } else if (k === 'dq-interp' && l[c] === '$') {
        // `"${x}"` interpolates in a command word and is plain text in Rhai: either is right.
        const s = scopesAt(tokens, n, c);
        if (!has(s, 'punctuation.section.interpolation.begin') && !has(s, 'string')) {
          fail(`${rel}:${n + 1}:${c + 1}: \${ in a string is neither: ${s.join(' ')}`);
        }
      }
    }
    const code = (c) => cls[n][c] === 'code';
    const m = STMT_START.exec(l);
    if (m && code(m.index + m[0].length - 1)) {
      if (expect(n, m[0].length - m[1].length, 'keyword', 'statement keyword')) stats.keyword++;
    }
    for (const p of l.matchAll(AFTER_PIPE)) {
      const at = p.index + p[0].length - p[2].length;
      if (code(at) && expect(n, at, 'keyword', 'stage keyword')) stats.keyword++;
    }
    for (const p of l.matchAll(TIMED)) {
      const at = p.index + p[0].length - p[2].length;
      if (code(at) && expect(n, at, 'constant.numeric.duration', 'duration')) stats.duration++;
    }
    for (const p of l.matchAll(COMMAND_AFTER_PIPE)) {
      const at = p.index + p[0].length - p[2].length;
      const inRhai = has(scopesAt(tokens, n, at), 'meta.embedded');
      if (code(at) && !KEYWORDS.has(p[2]) && !inRhai) {
        if (expect(n, at, 'entity.name.function.command', 'command')) stats.command++;
      }
    }
  }
}

(async () => {
  const grammar = await loadGrammar();
  checkPinned(grammar);
  const files = ['examples', 'tests'].flatMap((d) => flowFiles(path.join(ROOT, d)));
  const stats = { files: files.length, parseErrors: 0, comment: 0, string: 0, interp: 0, keyword: 0, duration: 0, command: 0 };
  for (const f of files) checkFile(grammar, f, stats);
  // The corpus must exercise every category: a grammar that highlights nothing fails too.
  for (const k of ['comment', 'string', 'interp', 'keyword', 'duration', 'command']) {
    if (stats[k] < 5) fail(`corpus: only ${stats[k]} checked ${k} characters/tokens`);
  }
  if (stats.files < 20) fail(`corpus: only ${stats.files} .flow files found under examples/ and tests/`);
  console.log(`grammar: ${PINNED.length} pinned snippets; corpus ${JSON.stringify(stats)}`);
  if (failures) {
    console.error(`grammar: ${failures} failure(s)`);
    process.exit(1);
  }
  console.log('grammar: ok');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
