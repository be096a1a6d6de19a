//! Programs on PATH: lookup of a command's program word, listed once per check.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The flow keywords, offered as suggestions beside PATH programs.
pub(crate) use crate::vocabulary::KEYWORDS;

/// What a program word resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Found and executable.
    Found,
    /// A bare name not on PATH.
    NotOnPath,
    /// A path (with `/`) that does not exist.
    NoSuchFile,
    /// A path that exists but is not an executable file.
    NotExecutable,
}

/// The search path, with the results of earlier lookups and a lazily made listing of names.
#[derive(Debug)]
pub(crate) struct Programs {
    dirs: Vec<PathBuf>,
    found: HashMap<String, Lookup, super::quick_hash::QuickHash>,
    listing: Option<BTreeSet<String>>,
}

impl Programs {
    /// A search path from `path`, or the `PATH` environment variable.
    pub(crate) fn new(path: Option<&OsString>) -> Self {
        let path = path.cloned().or_else(|| std::env::var_os("PATH"));
        let dirs = path
            .map(|p| {
                std::env::split_paths(&p)
                    // POSIX: an empty entry means the current directory.
                    .map(|d| {
                        if d.as_os_str().is_empty() {
                            ".".into()
                        } else {
                            d
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Programs {
            dirs,
            found: HashMap::default(),
            listing: None,
        }
    }

    /// Resolve a program word as the runtime will: a path when it has a `/`, else a PATH name.
    pub(crate) fn lookup(&mut self, name: &str) -> Lookup {
        if let Some(l) = self.found.get(name) {
            return *l;
        }
        let l = if name.contains('/') {
            let path = expand_home(name);
            match std::fs::metadata(&path) {
                Err(_) => Lookup::NoSuchFile,
                Ok(m) if is_executable(&m) => Lookup::Found,
                Ok(_) => Lookup::NotExecutable,
            }
        } else if !name.is_empty() && self.dirs.iter().any(|d| executable_at(&d.join(name))) {
            Lookup::Found
        } else {
            Lookup::NotOnPath
        };
        self.found.insert(name.to_string(), l);
        l
    }

    /// The closest PATH program or keyword to `name`.
    pub(crate) fn suggest(&mut self, name: &str) -> Option<String> {
        let listing = self.listing.get_or_insert_with(|| list(&self.dirs));
        let names = listing
            .iter()
            .map(String::as_str)
            .chain(KEYWORDS.iter().copied());
        super::suggest::closest(name, names)
    }
}

/// Every program name on `PATH` (for completion in the REPL).
pub fn on_path() -> Vec<String> {
    list(&Programs::new(None).dirs).into_iter().collect()
}

/// Every file name in the PATH directories (not checked for being executable: the list only
/// feeds suggestions, and statting thousands of files would make every check slow).
fn list(dirs: &[PathBuf]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        for e in rd.flatten() {
            if let Ok(n) = e.file_name().into_string() {
                out.insert(n);
            }
        }
    }
    out
}

fn expand_home(name: &str) -> PathBuf {
    match (name.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(name),
    }
}

fn executable_at(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| is_executable(&m))
}

#[cfg(unix)]
fn is_executable(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    m.is_file() && m.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(m: &std::fs::Metadata) -> bool {
    m.is_file()
}
