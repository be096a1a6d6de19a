//! Did-you-mean: the closest known name to a misspelt one.

/// Optimal-string-alignment distance (Levenshtein plus adjacent transposition), by chars.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rolling rows: the transposition rule looks two rows back.
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

/// The best candidate for `name`: edit distance ≤ 2 (≤ 1 for names of 2 or 3 chars and none
/// for 1 char, where more would match almost anything), else the shortest candidate that
/// `name` (of 3 chars or more) begins.
/// Ties go to the shorter, then alphabetically first name, so the answer is stable.
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
    let mut best: Option<(usize, usize, &str)> = None;
    for c in candidates {
        if c == name || c.is_empty() {
            continue;
        }
        let d = edit_distance(name, c);
        let score = if d <= limit {
            d
        } else if len >= 3 && c.starts_with(name) {
            limit + 1
        } else {
            continue;
        };
        let key = (score, c.chars().count(), c);
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
}
