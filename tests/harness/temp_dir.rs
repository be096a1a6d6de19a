//! A temporary directory removed on drop: `tempfile`'s, named after the test that made it.

use std::path::Path;

/// A fresh directory under the system temp dir, deleted with its contents on drop.
pub(crate) struct TempDir(tempfile::TempDir);

impl TempDir {
    pub(crate) fn new(label: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("flow-test-{label}-"))
            .tempdir()
            .expect("create a temporary directory");
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }
}
