//! `progress`: a bar on stderr when it is a terminal.

use std::time::Duration;

/// A progress bar on stderr when it is a terminal: done/total (when the total is known),
/// rate, ETA and failures. Output lines are written around it (`around_progress`).
pub(super) fn make(
    wanted: bool,
    total: Option<u64>,
    slot: &super::super::Progress,
) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let (pb, template) = match total {
        Some(n) => (
            indicatif::ProgressBar::new(n),
            "{bar:30} {pos}/{len}  {per_sec}  eta {eta}  {msg}",
        ),
        None => (
            indicatif::ProgressBar::new_spinner(),
            "{spinner} {pos} done  {per_sec}  {elapsed_precise}  {msg}",
        ),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        pb.set_style(style);
    }
    pb.enable_steady_tick(Duration::from_millis(100));
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(pb.clone());
    Some(pb)
}
