//! A snapshot of the system's process table from `/proc`: who is whose parent, and which
//! process group each is in. Used to find descendants that left flow's process groups
//! (`setsid`, daemonizing) so that they can be signalled with the group they came from.
//! (In `os/` because the watchdog's child parses `/proc` with [`parse_stat`].)

/// One process: its id, its parent and its process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Entry {
    pub(crate) pid: i32,
    pub(crate) ppid: i32,
    pub(crate) pgid: i32,
    /// Ended but not yet reaped by its parent.
    pub(crate) zombie: bool,
    /// When it started, in clock ticks since boot (0 if unknown).
    pub(crate) start: u64,
}

/// Every process visible in `/proc` (empty where `/proc` is not mounted).
pub(crate) fn snapshot() -> Vec<Entry> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    let mut out = Vec::with_capacity(256);
    for d in dir.flatten() {
        let name = d.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        // A process may end between the listing and the read: skip it.
        if let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) {
            if let Some(e) = parse_stat(&stat) {
                out.push(e);
            }
        }
    }
    out
}

/// Parse `pid (comm) S ppid pgrp …`; `comm` may hold spaces and parentheses, so the fields
/// are read after the last `)`. Allocates nothing: the watchdog's child calls it after the
/// fork (`os/watchdog.rs`), where allocating is not allowed.
pub(crate) fn parse_stat(stat: &[u8]) -> Option<Entry> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let pid = std::str::from_utf8(&stat[..open])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    let mut f = rest.split_ascii_whitespace();
    let state = f.next()?;
    let zombie = state == "Z" || state == "X";
    let ppid = f.next()?.parse().ok()?;
    let pgid = f.next()?.parse().ok()?;
    // Fields 6 to 21 (session … itrealvalue), then 22: the start time.
    let start = f.nth(16).and_then(|t| t.parse().ok()).unwrap_or(0);
    Some(Entry {
        pid,
        ppid,
        pgid,
        zombie,
        start,
    })
}

/// The live processes of `table` that descend from a process for which `root` holds (the
/// roots themselves excluded). Linear in the table's size times the tree's depth.
pub(crate) fn descendants(table: &[Entry], root: impl Fn(&Entry) -> bool) -> Vec<Entry> {
    let mut marked: std::collections::HashSet<i32> =
        table.iter().filter(|e| root(e)).map(|e| e.pid).collect();
    let roots = marked.clone();
    loop {
        let before = marked.len();
        for e in table {
            if !marked.contains(&e.pid) && marked.contains(&e.ppid) {
                marked.insert(e.pid);
            }
        }
        if marked.len() == before {
            break;
        }
    }
    table
        .iter()
        .filter(|e| !e.zombie && marked.contains(&e.pid) && !roots.contains(&e.pid))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let e = parse_stat(b"42 (a) b (c)) S 7 42 42 0 -1").unwrap();
        assert_eq!((e.pid, e.ppid, e.pgid, e.zombie), (42, 7, 42, false));
        assert!(parse_stat(b"43 (zz) Z 7 43 43").unwrap().zombie);
        assert!(parse_stat(b"garbage").is_none());
    }

    #[test]
    fn the_start_time_is_read() {
        let stat = std::fs::read("/proc/self/stat").unwrap();
        let me = parse_stat(&stat).unwrap();
        assert!(me.start > 0, "{me:?}");
        let odd = b"42 (a) b) c) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 777 0";
        assert_eq!(parse_stat(odd).unwrap().start, 777);
    }

    #[test]
    fn descendants_follow_parents_across_groups() {
        let e = |pid, ppid, pgid| Entry {
            pid,
            ppid,
            pgid,
            zombie: false,
            start: 0,
        };
        let t = [
            e(10, 1, 10),
            e(11, 10, 10),
            e(12, 11, 12),
            e(13, 12, 12),
            e(20, 1, 20),
        ];
        let d: Vec<i32> = descendants(&t, |e| e.pgid == 10)
            .iter()
            .map(|e| e.pid)
            .collect();
        assert_eq!(d, vec![12, 13]);
    }

    #[test]
    fn this_process_is_in_the_table() {
        let me = i32::try_from(std::process::id()).unwrap();
        assert!(snapshot().iter().any(|e| e.pid == me));
    }
}
