//! A unified line diff for failure reports (`similar`'s, with 3 lines of context).

/// `expected` vs `actual` as `-`/`+` lines with context; a missing final newline is marked.
pub(crate) fn diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header("expected", "actual")
        .to_string()
}

#[test]
fn diff_marks_changes_and_missing_newline() {
    let d = diff("a\nb\nc\n", "a\nB\nc");
    assert!(d.starts_with("--- expected\n+++ actual\n"), "{d}");
    assert!(d.contains(" a\n-b\n-c\n+B\n+c"), "{d}");
    assert!(d.contains("No newline at end of file"), "{d}");
}
