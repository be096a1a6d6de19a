//! A job command's `> f` / `>> f` whose target does not depend on the job (`it`, `seq`,
//! `slot`) would make every job overwrite one file: it is the stage's output instead, opened
//! once when the stage starts (`>` truncates, `>>` appends). Decided from the word's syntax.

use crate::ast::{Command, Redirect, RedirectKind, Word, WordPart};

const JOB_NAMES: [&str; 3] = ["it", "seq", "slot"];

/// The position of the command's last stdout redirect when its target names no job
/// variable: the stage's file.
fn stage_file_at(cmd: &Command) -> Option<usize> {
    let i = cmd
        .redirects
        .iter()
        .rposition(|r| matches!(r.kind, RedirectKind::Out | RedirectKind::Append))?;
    let constant = cmd.redirects[i]
        .target
        .as_ref()
        .is_some_and(|w| !depends_on_job(w));
    constant.then_some(i)
}

/// The command's stage file (see the module docs), if it has one.
pub fn stage_file(cmd: &Command) -> Option<&Redirect> {
    stage_file_at(cmd).map(|i| &cmd.redirects[i])
}

/// Split off the command's stage file: the command for each job (without it) and the
/// redirect, if there is one.
pub fn split(cmd: &Command) -> (Command, Option<Redirect>) {
    let mut job = cmd.clone();
    let file = stage_file_at(cmd).map(|i| job.redirects.remove(i));
    (job, file)
}

fn depends_on_job(w: &Word) -> bool {
    parts_depend(&w.parts)
}

fn parts_depend(parts: &[WordPart]) -> bool {
    parts.iter().any(|p| match p {
        WordPart::Var(i) => JOB_NAMES.contains(&i.name.as_str()),
        WordPart::Expr(r) => mentions_job_name(&r.code),
        WordPart::Interp(ps) => parts_depend(ps),
        WordPart::Bare(_) | WordPart::Quoted(_) => false,
    })
}

/// Whether Rhai code names `it`, `seq` or `slot` as a variable (not as a property `x.it`).
fn mentions_job_name(code: &str) -> bool {
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() || b[i] == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let property = code[..start].trim_end().ends_with('.');
            if !property && JOB_NAMES.contains(&&code[start..i]) {
                return true;
            }
        } else {
            i += 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_rhai_code() {
        assert!(mentions_job_name("it"));
        assert!(mentions_job_name("no_ext(it) + \".gz\""));
        assert!(mentions_job_name("seq * 2"));
        assert!(!mentions_job_name("out_dir + \"/all\""));
        assert!(!mentions_job_name("cfg.it"));
        assert!(!mentions_job_name("item"));
    }
}
