//! Host sinks: read during a run (more items than the capacity) or after it, reused across
//! runs, and their iteration always ends.

use flow::Engine;
use std::time::Duration;

/// Collect a sink's next run on a thread, failing (instead of hanging) after 10 s.
fn read_on_thread(sink: &flow::Sink) -> std::sync::mpsc::Receiver<Vec<i64>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = sink.clone();
    std::thread::spawn(move || {
        let _ = tx.send(sink.iter().map(|v| v.as_int().unwrap()).collect());
    });
    rx
}

fn within(rx: &std::sync::mpsc::Receiver<Vec<i64>>) -> Vec<i64> {
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the sink's iteration ended")
}

#[test]
fn a_host_reads_more_items_than_the_capacity_while_the_script_runs() {
    let mut e = Engine::new();
    let out = e.sink("out", 4);
    let s = e.compile("from 1..=1000 | into out").unwrap();
    let rx = read_on_thread(&out);
    e.run_as::<()>(&s).unwrap();
    assert_eq!(within(&rx), (1..=1000).collect::<Vec<_>>());
}

#[test]
fn a_sink_read_after_the_run_ends_with_the_run() {
    let mut e = Engine::new();
    let out = e.sink("out", 8);
    // Nothing sent: the iteration ends (on main it never did: the channel stayed open).
    let s = e.compile("let x = 1").unwrap();
    e.run_as::<()>(&s).unwrap();
    assert_eq!(within(&read_on_thread(&out)), Vec::<i64>::new());
    let s = e.compile("from [1, 2, 3] | into out").unwrap();
    e.run_as::<()>(&s).unwrap();
    assert_eq!(within(&read_on_thread(&out)), [1, 2, 3]);
}

#[test]
fn a_sink_is_reused_across_runs_and_several_statements_may_send_into_it() {
    let mut e = Engine::new();
    let out = e.sink("out", 2);
    let s = e
        .compile("from 1..=5 | into out\nlet t = spawn { from [6, 7] | into out }\njoin t")
        .unwrap();
    for _ in 0..3 {
        let rx = read_on_thread(&out);
        e.run_as::<()>(&s).unwrap();
        assert_eq!(within(&rx), [1, 2, 3, 4, 5, 6, 7]);
    }
}

#[test]
fn each_iteration_reads_one_run_in_order() {
    let mut e = Engine::new();
    let out = e.sink("out", 4);
    e.set_var("k", 1_i64);
    let s1 = e.compile("from [k] | into out").unwrap();
    e.run_as::<()>(&s1).unwrap();
    e.set_var("k", 2_i64);
    e.run_as::<()>(&s1).unwrap();
    assert_eq!(within(&read_on_thread(&out)), [1]);
    assert_eq!(within(&read_on_thread(&out)), [2]);
}

/// The natural first host: a sink of 16, a script that sends 100 items, `run`, then read.
/// The run cannot finish (nobody reads while it runs): it fails as a deadlock naming the
/// sink and the fix, instead of hanging the host forever.
#[test]
fn a_full_sink_nobody_reads_is_a_deadlock_not_a_hang() {
    let mut e = Engine::new();
    let out = e.sink("out", 16);
    let s = e.compile("from 1..=100 | into out").unwrap();
    let source = s.source.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(e.run(&s));
    });
    let r = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the run ends instead of hanging");
    let err = r.unwrap_err();
    assert!(err.to_string().contains("deadlock"), "{err}");
    let shown = flow::render(
        &[&err],
        &source,
        flow::RenderOptions {
            color: false,
            width: 200,
        },
    );
    assert!(
        shown.contains("`into out` waits for room in the host's sink, which nothing reads"),
        "{shown}"
    );
    // What the run sent before it stopped is still there to read.
    assert_eq!(out.iter().count(), 16);
}

/// The natural host code: make a sink, run, then read it — with far more items than any
/// channel holds. `Engine::keep` keeps them all; nothing waits for a reader.
#[test]
fn a_kept_sink_is_read_after_the_run_whatever_its_size() {
    let mut e = Engine::new();
    let out = e.keep("out");
    let s = e
        .compile("from 1..=20000 | into out\nfrom [\"last\"] | into out")
        .unwrap();
    e.run_as::<()>(&s).unwrap();
    let got: Vec<_> = out.iter().collect();
    assert_eq!(got.len(), 20001);
    assert_eq!(got[19999].as_int(), Ok(20000));
    assert_eq!(got[20000].clone().into_string().unwrap(), "last");
    // Run by run: two runs, then each one's items in turn.
    e.run_as::<()>(&s).unwrap();
    e.run_as::<()>(&s).unwrap();
    assert_eq!(out.iter().count(), 20001);
    assert_eq!(out.iter().count(), 20001);
}
