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
