//! Signal dispositions. (Handlers themselves come from `signal-hook`; the task stacks' fault
//! handler is in `runtime/green/stacks.rs`.)

/// Whether `sig` is ignored (`SIG_IGN`) in this process: e.g. SIGHUP under `nohup`. Only
/// reads the disposition; false where `sigaction` fails (an invalid signal).
pub(crate) fn is_ignored(sig: i32) -> bool {
    // SAFETY: `sigaction` is plain data, for which all zeros is a valid value; with a null
    // new action, sigaction(2) only writes the current disposition into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}
