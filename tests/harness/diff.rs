//! A unified-style line diff for failure reports (LCS; big inputs fall back to a dump).

use std::fmt::Write;

/// Lines of context around each change.
const CONTEXT: usize = 3;
/// Above this many cells the LCS table is too big; show both texts whole instead.
const MAX_CELLS: usize = 4_000_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Add,
}

/// `expected` vs `actual` as `-`/`+` lines with context; a missing final newline is marked.
pub(crate) fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.split_inclusive('\n').collect();
    let b: Vec<&str> = actual.split_inclusive('\n').collect();
    let mut out = String::from("--- expected\n+++ actual\n");
    if (a.len() + 1) * (b.len() + 1) > MAX_CELLS {
        out.push_str("(too long to diff; both in full)\n");
        for l in &a {
            push_line(&mut out, '-', l);
        }
        for l in &b {
            push_line(&mut out, '+', l);
        }
        return out;
    }
    let ops = script(&a, &b);
    // Which entries of `ops` are within CONTEXT of a change.
    let changed: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].0 != Op::Same).collect();
    let mut shown = vec![false; ops.len()];
    for &i in &changed {
        let lo = i.saturating_sub(CONTEXT);
        let hi = (i + CONTEXT).min(ops.len() - 1);
        for s in &mut shown[lo..=hi] {
            *s = true;
        }
    }
    let mut last_shown = None;
    for (i, &(op, line)) in ops.iter().enumerate() {
        if !shown[i] {
            continue;
        }
        if !matches!(last_shown, Some(l) if l + 1 == i) {
            let _ = writeln!(out, "@@ expected line {} @@", line_no(&ops[..i]) + 1);
        }
        last_shown = Some(i);
        match op {
            Op::Same => push_line(&mut out, ' ', line),
            Op::Del => push_line(&mut out, '-', line),
            Op::Add => push_line(&mut out, '+', line),
        }
    }
    out
}

/// How many expected lines come before this point of the edit script.
fn line_no(ops: &[(Op, &str)]) -> usize {
    ops.iter().filter(|(op, _)| *op != Op::Add).count()
}

fn push_line(out: &mut String, mark: char, line: &str) {
    match line.strip_suffix('\n') {
        Some(l) => {
            let _ = writeln!(out, "{mark}{l}");
        }
        None => {
            let _ = writeln!(out, "{mark}{line}  [no newline at end]");
        }
    }
}

/// The edit script turning `a` into `b`, via a longest-common-subsequence table.
fn script<'s>(a: &[&'s str], b: &[&'s str]) -> Vec<(Op, &'s str)> {
    let (n, m) = (a.len(), b.len());
    // lcs[i][j]: LCS length of a[i..] and b[j..].
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[at(i, j)] = if a[i] == b[j] {
                lcs[at(i + 1, j + 1)] + 1
            } else {
                lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j, mut ops) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((Op::Same, a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) {
            ops.push((Op::Del, a[i]));
            i += 1;
        } else {
            ops.push((Op::Add, b[j]));
            j += 1;
        }
    }
    ops
}

#[test]
fn diff_marks_changes_and_missing_newline() {
    let d = diff("a\nb\nc\n", "a\nB\nc");
    assert!(
        d.contains(" a\n-b\n-c\n+B\n+c  [no newline at end]\n"),
        "{d}"
    );
}
