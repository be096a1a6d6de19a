//! Fuzz inputs: random bytes, token soups and mutations of real scripts.

use fastrand::Rng;

/// flow's token vocabulary, plus Rhai and shell bits that meet it.
const TOKENS: &[&str] = &[
    "fn",
    "let",
    "from",
    "spawn",
    "daemon",
    "join",
    "timeout",
    "on_interrupt",
    "grace",
    "pool",
    "exec",
    "map",
    "filter",
    "each",
    "flat_map",
    "take",
    "skip",
    "batch",
    "sort",
    "by",
    "uniq",
    "count",
    "count_by",
    "sum",
    "first",
    "last",
    "collect",
    "reduce",
    "lines",
    "text",
    "json",
    "to_json",
    "into",
    "unchecked",
    "ordered",
    "unordered",
    "chunk",
    "retries",
    "on_error",
    "fail",
    "skip",
    "progress",
    "log",
    "resume",
    "if",
    "else",
    "for",
    "in",
    "cancel",
    "cpus",
    "on",
    "slurm",
    "partition",
    "mem",
    "time",
    "sh",
    "it",
    "acc",
    "xs",
    "x",
    "ls",
    "-l",
    "wc",
    "grep",
    "cat",
    "python3.11",
    "|",
    "||",
    "|",
    "{",
    "}",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "#{",
    "${",
    "$",
    "$x",
    "${it}",
    ";",
    "\n",
    "\n",
    "\r\n",
    ",",
    "=",
    "==",
    "+=",
    "-=",
    "*=",
    "/=",
    ">",
    ">>",
    "<",
    "2>",
    "2>>",
    "2>&1",
    "^",
    "^sort",
    "\"",
    "'",
    "`",
    "\"a b\"",
    "'raw'",
    "`t ${x}`",
    "\\",
    "//",
    "/*",
    "*/",
    "// c\n",
    "/* c */",
    "#!",
    "#!/usr/bin/env flow\n",
    "1",
    "0",
    "42",
    "-1",
    "1.5",
    "250ms",
    "1.5s",
    "2m",
    "1h",
    "5x",
    "30",
    "1..10",
    "1..=n",
    "*.csv",
    "~/",
    "FOO=bar",
    "LC_ALL=C",
    "print(",
    "print(x)",
    "sleep(1)",
    "glob(\"*\")",
    ".",
    ".push(4)",
    "[0]",
    "+",
    "*",
    "-",
    "&&",
    "&",
    "!",
    "é",
    "→",
    "\t",
    " ",
    " ",
    " ",
];

/// Case `index` of a run with base `seed`: deterministic for the pair.
pub(super) fn case(seed: u64, index: usize, corpus: &[Vec<u8>]) -> String {
    let mut rng = Rng::with_seed(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let bytes = match index % 5 {
        0 => random_bytes(&mut rng),
        1 => token_soup(&mut rng).into_bytes(),
        2 => deep_brackets(&mut rng, corpus),
        // Two in five cases mutate the corpus, visiting every file in turn.
        _ => {
            let base = &corpus[(index / 5 * 2 + index % 2) % corpus.len()];
            mutate(&mut rng, base, corpus)
        }
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

fn random_bytes(rng: &mut Rng) -> Vec<u8> {
    let len = rng.usize(0..300);
    let syntaxy = b"{}()[]|;\n\"'`$#\\/*<>=&^ ,.-~2";
    (0..len)
        .map(|_| match rng.u8(0..10) {
            0..=3 => syntaxy[rng.usize(0..syntaxy.len())],
            4..=7 => rng.u8(b' '..=b'~'),
            _ => rng.u8(..),
        })
        .collect()
}

fn token_soup(rng: &mut Rng) -> String {
    let n = rng.usize(1..80);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(TOKENS[rng.usize(0..TOKENS.len())]);
        match rng.u8(0..6) {
            0 => {}
            1 => s.push('\n'),
            _ => s.push(' '),
        }
    }
    s
}

/// 1–8 edits of `base`: byte flips, insertions, deletions, duplications, splices.
fn mutate(rng: &mut Rng, base: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..rng.usize(1..=8) {
        let len = b.len();
        let at = rng.usize(0..=len);
        match rng.u8(0..6) {
            0 if len > 0 => {
                let i = rng.usize(0..len);
                b[i] ^= 1 << rng.u8(0..8);
            }
            1 => {
                let tok = TOKENS[rng.usize(0..TOKENS.len())].as_bytes();
                b.splice(at..at, tok.iter().copied());
            }
            2 => b.insert(at, rng.u8(..)),
            3 if len > 0 => {
                let end = (at + rng.usize(1..=16)).min(len);
                b.drain(at.min(end)..end);
            }
            4 if len > 0 => {
                let start = rng.usize(0..len);
                let end = (start + rng.usize(1..=64)).min(len);
                let piece = b[start..end].to_vec();
                b.splice(at..at, piece);
            }
            _ => {
                let other = &corpus[rng.usize(0..corpus.len())];
                if !other.is_empty() {
                    let start = rng.usize(0..other.len());
                    let end = (start + rng.usize(1..=128)).min(other.len());
                    b.splice(at..at, other[start..end].iter().copied());
                }
            }
        }
    }
    b
}

/// Where deep brackets go: every place that takes Rhai text or a word.
pub(super) const BRACKET_CONTEXTS: &[&str] = &[
    "let a = ",
    "let a = 1 + ",
    "a = ",
    "x += ",
    "print(",
    "xs.push(",
    "m[",
    "from ",
    "from 1..3 | map { ",
    "from 1..3 | filter ",
    "from 1..3 | reduce 0 { ",
    "from 1..3 | take ",
    "from 1..3 | sort by { ",
    "from 1..3 | pool 2 map { ",
    "from 1..3 | pool 2 exec { ",
    "from 1..3 | pool ",
    "if ",
    "if x { let a = ",
    "for x in ",
    "fn f(x) { ",
    "let h = spawn { ",
    "spawn { ",
    "on_interrupt { ",
    "echo ",
    "echo ${",
    "echo \"${",
    "echo \"a ${x} ${",
    "print(`${",
    "let s = `a ${",
    "sort ",
    "sort \"${",
];

/// Openers of every kind, as the grammar sees them (and block comments, never closed).
pub(super) const OPENERS: &[&str] = &["(", "[", "{", "#{", "${", "\"${", "`${", "/* "];

/// Deep and mostly unclosed brackets of one or several kinds, in one of the contexts,
/// alone or spliced into a real script: the inputs that once took exponential time.
fn deep_brackets(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut s = String::from(BRACKET_CONTEXTS[rng.usize(0..BRACKET_CONTEXTS.len())]);
    // Deep enough that 2^depth is hopeless, shallow enough for the prescan's limit.
    let depth = rng.usize(16..48);
    let mixed = rng.bool();
    let one = OPENERS[rng.usize(0..OPENERS.len())];
    for _ in 0..depth {
        s.push_str(if mixed {
            OPENERS[rng.usize(0..OPENERS.len())]
        } else {
            one
        });
        match rng.u8(0..8) {
            0 => s.push_str("x, "),
            1 => s.push(' '),
            2 => s.push_str(TOKENS[rng.usize(0..TOKENS.len())]),
            _ => {}
        }
    }
    // Sometimes close a few, or all but one, or with the wrong kind.
    let closers = [")", "]", "}", "`", "\""];
    for _ in 0..rng.usize(0..=depth) {
        if rng.u8(0..4) == 0 {
            break;
        }
        s.push_str(closers[rng.usize(0..closers.len())]);
    }
    if rng.bool() {
        s.push('\n');
    }
    if rng.bool() {
        return s.into_bytes();
    }
    let base = &corpus[rng.usize(0..corpus.len())];
    let mut at = rng.usize(0..=base.len());
    while at > 0 && base[at - 1] != b'\n' {
        at -= 1;
    }
    let mut b = base.clone();
    b.splice(at..at, s.bytes());
    b
}
