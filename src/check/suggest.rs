//! Did-you-mean: the closest known name to a misspelt one.

/// Names longer than this get no edit-distance suggestion: no program or variable name is
/// this long, and it bounds the work for a pasted megabyte (only the prefix rule applies).
const MAX_NAME_CHARS: usize = 256;

/// The optimal-string-alignment distance (Levenshtein plus adjacent transposition, by
/// chars) of `a` and `b` if it is at most `limit`, else `None`. Only the band of
/// cells within `limit` of the diagonal is computed, and a row whose every cell exceeds
/// `limit` ends the search: O(min(|a|, |b|) · limit), and nothing for lengths too far apart.
fn distance_within(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let big = limit + 1;
    // Three rolling rows: the transposition rule looks two rows back. Cells outside the
    // band stay `big` (more than `limit`), which is all the algorithm needs to know of them.
    let mut before: Vec<usize> = vec![big; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).map(|j| j.min(big)).collect();
    let mut cur: Vec<usize> = vec![big; b.len() + 1];
    for i in 1..=a.len() {
        let lo = i.saturating_sub(limit).max(1);
        let hi = (i + limit).min(b.len());
        cur[lo - 1] = if lo == 1 { i.min(big) } else { big };
        let mut row_min = cur[lo - 1];
        for j in lo..=hi {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d.min(big);
            row_min = row_min.min(cur[j]);
        }
        if hi < b.len() {
            cur[hi + 1] = big;
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[b.len()]).filter(|d| *d <= limit)
}

/// The best candidate for `name`: edit distance ≤ 2 (≤ 1 for names of 2 or 3 chars and none
/// for 1 char, where more would match almost anything), else the shortest candidate that
/// `name` (of 3 chars or more) begins.
/// Ties go to the shorter, then alphabetically first name, so the answer is stable.
/// The work per candidate is bounded: O(len · 2), and none at all for names longer than
/// [`MAX_NAME_CHARS`] or whose length differs by more than 2.
pub(crate) fn closest<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let len = name.chars().count();
    let limit = match len {
        0 | 1 => 0,
        2 | 3 => 1,
        _ => 2,
    };
    let chars: Vec<char> = if len <= MAX_NAME_CHARS {
        name.chars().collect()
    } else {
        vec![]
    };
    let mut b: Vec<char> = Vec::new();
    let mut best: Option<(usize, usize, &str)> = None;
    for c in candidates {
        if c == name || c.is_empty() {
            continue;
        }
        let c_len = c.chars().count();
        let d = if len <= MAX_NAME_CHARS && c_len.abs_diff(len) <= limit {
            b.clear();
            b.extend(c.chars());
            distance_within(&chars, &b, limit)
        } else {
            None
        };
        let score = if let Some(d) = d {
            d
        } else if len >= 3 && c.starts_with(name) {
            limit + 1
        } else {
            continue;
        };
        let key = (score, c_len, c);
        match best {
            Some(b) if b <= key => {}
            _ => best = Some(key),
        }
    }
    best.map(|(_, _, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full-matrix OSA distance: the reference for the banded one.
    fn edit_distance(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        let mut before: Vec<usize> = vec![0; b.len() + 1];
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        let mut cur: Vec<usize> = vec![0; b.len() + 1];
        for i in 1..=a.len() {
            cur[0] = i;
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d = d.min(before[j - 2] + 1);
                }
                cur[j] = d;
            }
            std::mem::swap(&mut before, &mut prev);
            std::mem::swap(&mut prev, &mut cur);
        }
        prev[b.len()]
    }

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("grpe", "grep"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("héllo", "hello"), 1);
    }

    #[test]
    fn closest_prefers_small_distance_then_prefix() {
        let c = ["grep", "egrep", "python3", "gzip"];
        assert_eq!(closest("grpe", c), Some("grep".into()));
        assert_eq!(closest("pyth", c), Some("python3".into()));
        assert_eq!(closest("zz", c), None);
        assert_eq!(closest("y", ["[", "x"]), None);
        assert_eq!(closest("grep", ["grep"]), None);
    }

    #[test]
    fn banded_distance_agrees_with_the_full_one() {
        let words = [
            "", "a", "ab", "ba", "abc", "acb", "grep", "grpe", "egrep", "kitten", "sitting",
            "héllo", "hello", "python3", "pyhton3", "xargs", "tar", "rat",
        ];
        for a in words {
            for b in words {
                let (ac, bc): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                let full = edit_distance(a, b);
                for limit in 0..4 {
                    let want = (full <= limit).then_some(full);
                    assert_eq!(
                        distance_within(&ac, &bc, limit),
                        want,
                        "{a:?} {b:?} {limit}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_huge_name_is_cheap_and_still_gets_prefix_help() {
        let programs: Vec<String> = (0..3000).map(|i| format!("prog{i:04}")).collect();
        let huge = "a".repeat(1 << 20);
        let start = std::time::Instant::now();
        let got = closest(&huge, programs.iter().map(String::as_str));
        assert_eq!(got, None);
        // Before the band and the length filter this took about a minute.
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        // Long but realistic names still get suggestions.
        let long = "a_really_long_program_name_for_testing";
        let typo = "a_really_long_program_name_for_tsting";
        assert_eq!(closest(typo, [long, "grep"]), Some(long.to_string()));
    }
}
