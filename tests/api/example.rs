//! `examples/embed_host.rs` is part of the suite: its `demo` runs here.

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/embed_host.rs"]
mod embed_host;

#[test]
fn the_embedding_example_runs_and_reports_what_it_should() {
    let report = embed_host::demo().unwrap_or_else(|e| {
        panic!(
            "{}",
            e.render(flow::RenderOptions {
                color: false,
                width: 100
            })
        )
    });
    assert_eq!(
        report,
        "total score: 80\n\
         sink total: 210\n\
         Stdout: scoring\n\
         cancelled: the run was cancelled by the host\n"
    );
}

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/sandboxed_host.rs"]
mod sandboxed_host;

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/service_host.rs"]
mod service_host;

/// The sandboxed host runs what it allows, refuses the rest with the fix named, and stops
/// a script that runs too long.
#[test]
fn the_sandboxed_host_runs_allowed_work_and_refuses_the_rest() {
    use std::time::Duration;
    let run = |src: &str| sandboxed_host::run_untrusted(src, Duration::from_secs(20));
    assert_eq!(
        run("from [\"b\", \"a\", \"b\"] | sort | uniq").unwrap(),
        "a\nb\n"
    );
    let e = run("curl -s http://example.com").unwrap_err();
    assert!(e.contains("`curl` is not allowed by this host"), "{e}");
    assert!(e.contains("sort, uniq, wc"), "{e}");
    let e = run("let p = \"rm\"\n${p} -rf /").unwrap_err();
    assert!(e.contains("does not allow this script to run `rm`"), "{e}");
    let e = run("fn spin() { let n = 0; loop { n += 1 } }\nspin()").unwrap_err();
    assert!(e.contains("Too many operations"), "{e}");
    let e = sandboxed_host::run_untrusted("sort", Duration::from_millis(300));
    // `sort` reads the host's stdin? No: an empty input, so it ends at once.
    assert_eq!(e.unwrap(), "");
    let started = std::time::Instant::now();
    let e = sandboxed_host::run_untrusted(
        "from 1..=100000000000 | map { it.to_string() } | count",
        Duration::from_millis(300),
    )
    .unwrap_err();
    assert!(e.contains("stopped after"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The service host's eight concurrent requests each get their own answer.
#[test]
fn the_service_host_answers_concurrent_requests_apart() {
    let answers = service_host::demo().unwrap();
    assert_eq!(answers.len(), 8);
    for (i, a) in answers.iter().enumerate() {
        let text = format!("request {i} asks for words longer than {i} letters");
        let want: Vec<String> = text
            .split(' ')
            .filter(|w| w.len() > i)
            .map(str::to_uppercase)
            .collect();
        assert_eq!(a.shouted, want, "request {i}");
        assert_eq!(a.n, want.len() as i64, "request {i}");
    }
}

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/cli_tool.rs"]
mod cli_tool;

/// The command-line tool runs a script file with its arguments and its host function, and
/// exits as the `flow` CLI would: 0, 1 for a failed run, 2 for a script that does not
/// compile.
#[test]
fn the_cli_tool_runs_a_file_with_args_and_its_host_function() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("owners.txt");
    let script = dir.path().join("owners.flow");
    std::fs::write(
        &script,
        "let out = args[0]\nfrom args | skip 1 | map lookup > ${out}\n",
    )
    .unwrap();
    let args = ["db", "web", "mail"].map(String::from);
    let status = cli_tool::run_file(
        script.to_str().unwrap(),
        std::iter::once(out.display().to_string())
            .chain(args)
            .collect(),
    );
    assert_eq!(status, 0);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "ada\ngrace\nnobody\n"
    );
    let failing = dir.path().join("fails.flow");
    std::fs::write(&failing, "false\n").unwrap();
    assert_eq!(cli_tool::run_file(failing.to_str().unwrap(), vec![]), 1);
    let broken = dir.path().join("broken.flow");
    std::fs::write(&broken, "from [1] | map nope\n").unwrap();
    assert_eq!(cli_tool::run_file(broken.to_str().unwrap(), vec![]), 2);
}
