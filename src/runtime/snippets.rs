//! Statement snippets compiled once per run. A loop body's statements and a task's block
//! run many times; compiling their Rhai each time cost more than running it (10,000
//! `spawn { sleep(1) }` spent a sixth of their time in Rhai's parser).

use rhai::AST;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// More distinct snippets than a script has is a generated script: start afresh rather
/// than grow without bound.
const MAX_SNIPPETS: usize = 4096;

/// One statement's Rhai: as compiled (positions relative to the snippet, for errors) and
/// merged with the script's `fn`s (what runs).
pub(crate) struct Compiled {
    pub(crate) own: AST,
    pub(crate) merged: AST,
}

/// The snippets of one run (or one REPL entry), by their text.
#[derive(Default)]
pub(crate) struct Snippets {
    map: Mutex<HashMap<Arc<str>, Arc<Compiled>>>,
}

impl Snippets {
    /// The compiled `code`, compiling it with `compile` the first time, and the kept text
    /// when it had been compiled before. A failed compile is not kept: it fails the run, or
    /// the REPL entry, that met it.
    fn get<E>(
        &self,
        code: &str,
        compile: impl FnOnce() -> Result<Compiled, E>,
    ) -> Result<(Arc<Compiled>, Option<Arc<str>>), E> {
        if let Some((k, c)) = self.lock().get_key_value(code) {
            return Ok((c.clone(), Some(k.clone())));
        }
        // Compiled outside the lock: tasks starting together do not queue behind it.
        let c = Arc::new(compile()?);
        let mut map = self.lock();
        if map.len() >= MAX_SNIPPETS {
            map.clear();
        }
        map.insert(Arc::from(code), c.clone());
        Ok((c, None))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<Compiled>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One executor's snippets in front of the run's [`Snippets`], keyed by where the text
/// is, checked against the text itself (an address can be reused once a script's text is
/// freed, as between REPL entries). Only a snippet met before is kept here: a loop's
/// statements are, while a long straight script does not pay twice for each statement.
#[derive(Default)]
pub(crate) struct Local {
    map: HashMap<(usize, usize), (Arc<Compiled>, Arc<str>)>,
}

impl Local {
    /// Whether `code` (this very text) was compiled here before.
    pub(crate) fn has(&self, code: &str) -> bool {
        let key = (code.as_ptr() as usize, code.len());
        self.map.get(&key).is_some_and(|(_, text)| **text == *code)
    }

    pub(crate) fn get<E>(
        &mut self,
        shared: &Snippets,
        code: &str,
        compile: impl FnOnce() -> Result<Compiled, E>,
    ) -> Result<Got<'_>, E> {
        let key = (code.as_ptr() as usize, code.len());
        if !self.has(code) {
            let (c, seen) = shared.get(code, compile)?;
            let Some(text) = seen else {
                return Ok(Got::Shared(c));
            };
            if self.map.len() >= MAX_SNIPPETS {
                self.map.clear();
            }
            self.map.insert(key, (c, text));
        }
        // Borrowed, not cloned: tasks running the same loop would bounce its count.
        Ok(Got::Local(&self.map[&key].0))
    }
}

/// A compiled snippet from [`Local::get`].
pub(crate) enum Got<'a> {
    Local(&'a Compiled),
    Shared(Arc<Compiled>),
}

impl std::ops::Deref for Got<'_> {
    type Target = Compiled;
    fn deref(&self) -> &Compiled {
        match self {
            Got::Local(c) => c,
            Got::Shared(c) => c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(code: &str) -> Result<Compiled, String> {
        let e = rhai::Engine::new();
        let own = e.compile(code).map_err(|e| e.to_string())?;
        Ok(Compiled {
            merged: own.clone(),
            own,
        })
    }

    #[test]
    fn a_snippet_is_compiled_once() {
        let s = Snippets::default();
        let mut compiles = 0;
        for _ in 0..3 {
            s.get("1 + 2", || {
                compiles += 1;
                compiled("1 + 2")
            })
            .unwrap();
        }
        assert_eq!(compiles, 1);
    }

    #[test]
    fn a_failed_compile_is_not_kept_and_the_cache_stays_bounded() {
        let s = Snippets::default();
        assert!(s.get("1 +", || compiled("1 +")).is_err());
        assert!(s.lock().is_empty());
        for i in 0..MAX_SNIPPETS + 10 {
            let code = format!("{i}");
            s.get(&code, || compiled(&code)).unwrap();
        }
        assert!(s.lock().len() <= MAX_SNIPPETS);
    }
}
