//! Glob expansion that keeps every file name, also one that is not valid UTF-8 (the `glob`
//! crate matches names as `&str` and silently skips such names; bash does not).
//!
//! The pattern is matched one path component at a time with `glob::Pattern` (its syntax and
//! options are unchanged: `*` also matches a leading dot, `**` is any depth of directories).
//! A name that is not UTF-8 is matched in its lossy form (each bad byte sequence is one
//! U+FFFD), and the path returned is its exact bytes.

use glob::{MatchOptions, Pattern, PatternError};
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Every existing path matching `pattern`, sorted by their bytes. A match that begins with
/// `-` is returned as `./-name` (the same file): a file named `-rf` never becomes an option
/// of the command it is passed to (`rm *`; shellcheck's SC2035 is about this trap).
pub(crate) fn glob_paths(pattern: &str) -> Result<Vec<PathBuf>, PatternError> {
    Pattern::new(pattern)?;
    let opts = MatchOptions::new();
    let (mut found, rest) = match pattern.strip_prefix('/') {
        Some(r) => (vec![PathBuf::from("/")], r),
        None => (vec![PathBuf::new()], pattern),
    };
    let dirs_only = rest.ends_with('/');
    let comps: Vec<&str> = rest.split('/').filter(|c| !c.is_empty()).collect();
    for (k, comp) in comps.iter().enumerate() {
        let last = k + 1 == comps.len();
        let mut next = vec![];
        if *comp == "**" {
            for b in &found {
                next.push(b.clone());
                subdirs(b, &mut next);
            }
        } else if !has_meta(comp) {
            next.extend(found.iter().map(|b| b.join(comp)));
        } else {
            let pat = Pattern::new(comp)?;
            for b in &found {
                let dir = if b.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    b
                };
                let Ok(entries) = std::fs::read_dir(dir) else {
                    continue;
                };
                for e in entries.flatten() {
                    let name = e.file_name();
                    if pat.matches_with(&name.to_string_lossy(), opts) {
                        let p = b.join(&name);
                        if last || p.is_dir() {
                            next.push(p);
                        }
                    }
                }
            }
        }
        found = next;
    }
    found.retain(|p| {
        !p.as_os_str().is_empty()
            && std::fs::symlink_metadata(p).is_ok()
            && (!dirs_only || p.is_dir())
    });
    found.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    found.dedup();
    for p in &mut found {
        if p.as_os_str().as_bytes().first() == Some(&b'-') {
            *p = Path::new(".").join(&*p);
        }
    }
    Ok(found)
}

/// Every directory below `dir`, depth first (what `**` matches besides `dir` itself).
fn subdirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let d = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(d) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let p = dir.join(e.file_name());
            out.push(p.clone());
            subdirs(&p, out);
        }
    }
}

/// A path as a Rhai-side string: exact when UTF-8, else lossy (and `false`).
pub(crate) fn to_text(p: PathBuf) -> (String, bool) {
    match p.into_os_string().into_string() {
        Ok(s) => (s, true),
        Err(os) => (os.to_string_lossy().into_owned(), false),
    }
}

/// The paths as argument words.
pub(crate) fn to_args(v: Vec<PathBuf>) -> Vec<OsString> {
    v.into_iter().map(PathBuf::into_os_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn keeps_names_that_are_not_utf8() {
        let dir = std::env::temp_dir().join(format!("flow-glob-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub/deep")).unwrap();
        let bad = OsStr::from_bytes(b"bad\xff.txt");
        for f in [OsStr::new("a.txt"), OsStr::new(".hidden.txt"), bad] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        std::fs::write(dir.join("sub/deep/c.txt"), "").unwrap();
        let d = dir.to_str().unwrap();
        let names = |pat: &str| -> Vec<Vec<u8>> {
            glob_paths(&format!("{d}/{pat}"))
                .unwrap()
                .into_iter()
                .map(|p| {
                    p.strip_prefix(&dir)
                        .unwrap()
                        .as_os_str()
                        .as_bytes()
                        .to_vec()
                })
                .collect()
        };
        assert_eq!(
            names("*.txt"),
            vec![
                b".hidden.txt".to_vec(),
                b"a.txt".to_vec(),
                b"bad\xff.txt".to_vec()
            ]
        );
        assert_eq!(names("bad?.txt"), vec![b"bad\xff.txt".to_vec()]);
        assert_eq!(names("**/*.txt").len(), 4);
        assert_eq!(names("s*/"), vec![b"sub".to_vec()]);
        assert!(names("nothing*").is_empty());
        assert!(glob_paths("[").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
