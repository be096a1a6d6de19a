//! Path parts, as GNU parallel's replacement strings: `basename` `{/}`, `dirname` `{//}`,
//! `no_ext` `{.}`, `stem` `{/.}`, and `ext` (the extension without its dot).
//!
//! `basename` is everything after the last `/` (so `a/b/` has an empty one, as in parallel
//! and Python); `dirname` is Perl's `File::Basename::dirname`, which parallel uses (`.` for a
//! bare name, trailing slashes ignored, `/` for `/`). The extension is the text after the
//! last `.` of the base name when it holds neither `/` nor `.` and is not empty; one
//! difference from parallel: a name's leading dots start no extension (`.bashrc` has none,
//! as in Python's `os.path.splitext`; parallel's `{.}` would make it empty).

use rhai::{Engine, ImmutableString};

/// Register the path helpers on `e`.
pub(crate) fn register(e: &mut Engine) {
    e.register_fn("basename", |p: &str| ImmutableString::from(basename(p)));
    e.register_fn("dirname", |p: &str| ImmutableString::from(dirname(p)));
    e.register_fn("no_ext", |p: &str| ImmutableString::from(no_ext(p)));
    e.register_fn("stem", |p: &str| ImmutableString::from(no_ext(basename(p))));
    e.register_fn("ext", |p: &str| ImmutableString::from(ext(p)));
}

pub(crate) fn basename(p: &str) -> &str {
    p.rfind('/').map_or(p, |i| &p[i + 1..])
}

/// Perl's `fileparse` on Unix: the directory with its trailing `/` (`./` when none), and
/// the rest.
fn fileparse(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(i) => (&p[..=i], &p[i + 1..]),
        None => ("./", p),
    }
}

/// Trailing slashes removed, but never the first character.
fn strip_trailing_slashes(s: &str) -> &str {
    let t = s.trim_end_matches('/');
    if t.is_empty() {
        s.get(..1).unwrap_or("")
    } else {
        t
    }
}

pub(crate) fn dirname(p: &str) -> &str {
    let (dir, base) = fileparse(p);
    let dir = strip_trailing_slashes(dir);
    if base.is_empty() {
        strip_trailing_slashes(fileparse(dir).0)
    } else {
        dir
    }
}

/// Where the extension's dot is, if the path has an extension.
fn ext_dot(p: &str) -> Option<usize> {
    let base_at = p.rfind('/').map_or(0, |i| i + 1);
    let name = &p[base_at..];
    let lead = name.len() - name.trim_start_matches('.').len();
    let dot = name.rfind('.')?;
    (dot >= lead.max(1) && dot + 1 < name.len()).then_some(base_at + dot)
}

pub(crate) fn no_ext(p: &str) -> &str {
    ext_dot(p).map_or(p, |d| &p[..d])
}

pub(crate) fn ext(p: &str) -> &str {
    ext_dot(p).map_or("", |d| &p[d + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row: path, `{/}`, `{//}`, `{.}`, `{/.}` (checked against GNU parallel's Perl), ext.
    #[test]
    fn match_gnu_parallel() {
        for (p, b, d, n, s, x) in [
            (
                "a/b/c.tar.gz",
                "c.tar.gz",
                "a/b",
                "a/b/c.tar",
                "c.tar",
                "gz",
            ),
            ("c.txt", "c.txt", ".", "c", "c", "txt"),
            ("c", "c", ".", "c", "c", ""),
            ("a/b/", "", "a", "a/b/", "", ""),
            ("a/b//", "", "a", "a/b//", "", ""),
            ("/", "", "/", "/", "", ""),
            ("//", "", "/", "//", "", ""),
            ("", "", ".", "", "", ""),
            ("/a", "a", "/", "/a", "a", ""),
            ("a//b", "b", "a", "a//b", "b", ""),
            ("a.", "a.", ".", "a.", "a.", ""),
            ("a.b/c", "c", "a.b", "a.b/c", "c", ""),
            ("../x", "x", "..", "../x", "x", ""),
            ("a/b/..", "..", "a/b", "a/b/..", "..", ""),
            ("a b/c d.txt", "c d.txt", "a b", "a b/c d", "c d", "txt"),
            // The one difference: a dotfile has no extension.
            (".bashrc", ".bashrc", ".", ".bashrc", ".bashrc", ""),
            ("d/.bashrc", ".bashrc", "d", "d/.bashrc", ".bashrc", ""),
            (
                "d/.config.old",
                ".config.old",
                "d",
                "d/.config",
                ".config",
                "old",
            ),
        ] {
            assert_eq!(basename(p), b, "basename {p:?}");
            assert_eq!(dirname(p), d, "dirname {p:?}");
            assert_eq!(no_ext(p), n, "no_ext {p:?}");
            assert_eq!(no_ext(basename(p)), s, "stem {p:?}");
            assert_eq!(ext(p), x, "ext {p:?}");
        }
    }
}
