//! Tests of the plan graph and its text, dot and JSON renderings.

use super::Plan;
use crate::check::{check_only, CheckOptions};
use crate::limits::CHANNEL_CAPACITY;

fn plan(src: &str) -> Plan {
    let ast = crate::parse(src).unwrap_or_else(|e| panic!("parse {src:?}: {e:?}"));
    let warnings = check_only(&ast, src, &CheckOptions::default())
        .unwrap_or_else(|e| panic!("check {src:?}: {e:?}"));
    Plan::build(&ast, src, warnings)
}

fn edges(src: &str) -> Vec<String> {
    let text = plan(src).render_text();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("edges: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn text_of_a_pool_pipeline() {
    let src = "// tour\nfrom glob(\"data/*.csv\") | pool 4 exec gzip -k ${it} progress\n";
    let text = plan(src).render_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "pipeline 1 (line 2)");
    assert!(
        lines[1].starts_with("  [1] source  from glob(\"data/*.csv\")"),
        "{text}"
    );
    assert!(lines[1].contains("thread"), "{text}");
    assert!(lines[1].ends_with("2:1"), "{text}");
    assert!(
        lines[2].contains("pool 4 exec gzip -k ${it}  (ordered, progress)"),
        "{text}"
    );
    assert!(lines[2].contains("4 processes"), "{text}");
    assert!(lines[3].starts_with("  [3] sink    stdout"), "{text}");
    let c = CHANNEL_CAPACITY;
    assert_eq!(lines[4], format!("  edges: 1 -channel({c})-> 2 -fd-> 3"));
}

/// The segments of the single pipeline of `src`, as JSON text.
fn segments(src: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(&plan(src).render_json()).expect("the plan is JSON");
    json["pipelines"][0]["segments"].to_string()
}

#[test]
fn segments_say_what_runs() {
    // A final command writes to stdout itself; collected, its lines are read.
    assert_eq!(
        segments("ls | wc -l"),
        r#"[{"kind":"processes","out":"stdout","stages":[0,2]}]"#
    );
    assert_eq!(
        segments("let x = ls | wc -l"),
        r#"[{"kind":"processes","out":"lines","stages":[0,2]},{"kind":"sink","stage":null}]"#
    );
    // `lines SEP` after a command is done by the reader of its output.
    assert_eq!(
        segments("find . -print0 | lines \"\\0\" | count"),
        r#"[{"kind":"processes","out":"records \"\\0\"","stages":[0,1]},{"kind":"sink","stage":2}]"#
    );
    // An item stage with nothing before it reads flow's stdin.
    assert_eq!(
        segments("map { it.len() } | sum"),
        r#"[{"kind":"stdin","sep":null},{"kind":"thread","stages":[0,1]},{"kind":"sink","stage":1}]"#
    );
    // A pool's exec output: straight to stdout, into a pipe, or cut into items.
    assert!(segments("from [1] | pool 2 exec echo ${it}").contains(r#""out":"stdout""#));
    assert!(segments("from [1] | pool 2 exec echo ${it} | wc -l").contains(r#""out":"pipe""#));
    assert!(segments("from [1] | pool 2 exec echo ${it} | count").contains(r#""out":"lines""#));
    assert_eq!(
        segments("from [1] | pool 2 exec echo ${it} > f.txt"),
        r#"[{"counted":false,"here":false,"kind":"source"},{"kind":"pool","out":"file","stages":[0,1]}]"#,
        "a job's constant `> f` is the stage's output file"
    );

    let json: serde_json::Value =
        serde_json::from_str(&plan("let ch = channel(4)\nfrom [1] | into ch").render_json())
            .expect("JSON");
    assert_eq!(
        json["pipelines"][0]["segments"].to_string(),
        r#"[{"counted":false,"here":false,"kind":"source"},{"kind":"into","stages":[0,1]}]"#
    );
}

#[test]
fn stages_beyond_the_thread_budget_share_threads() {
    // Blocks that are not cheap (a method the fast path lacks): only the thread budget
    // makes them share.
    let maps = vec!["map { it.to_string() }"; 130].join(" | ");
    let src = format!("from [1] | {maps}");
    let p = plan(&src);
    let text = p.render_text();
    assert!(text.contains("thread shared by stages 1-3"), "{text}");
    assert!(text.contains(" -call-> "), "{text}");
    let segs = segments(&src);
    assert!(
        segs.contains(r#"{"here":false,"kind":"fused","stages":[0,3]}"#),
        "{segs}"
    );
    assert!(!segs.contains(r#""kind":"thread""#), "{segs}");
}

/// Neighbouring cheap `map`/`filter` stages share one thread and one loop; a stage that is
/// not cheap, or a single cheap one, keeps its own thread.
#[test]
fn cheap_neighbours_share_a_thread() {
    let src = "from lines(\"f\") | map { it.len() } | filter { it % 3 == 0 } | count";
    let segs = segments(src);
    assert!(
        segs.contains(r#"{"here":false,"kind":"fused","stages":[0,2]}"#),
        "{segs}"
    );
    let text = plan(src).render_text();
    assert!(text.contains("thread shared by stages 1-2"), "{text}");
    // A method the fast path lacks, a call of a `fn`, a `flat_map` or an `each`: one thread each.
    for src in [
        "from 1..=9 | map { it.to_string() } | filter { it > 2 } | count",
        "fn f(x) { x }\nfrom 1..=9 | map f | filter { it > 2 } | count",
        "from 1..=9 | map { it * 2 } | each { print(it) }",
        "from lines(\"f\") | map { it.len() } | count",
    ] {
        let segs = segments(src);
        assert!(!segs.contains("fused"), "{src}: {segs}");
    }
    // Three cheap ones after a costly one: the three share.
    let segs = segments("from 1..=9 | map { it.to_string() } | map { it + 1 } | map { it * 2 } | filter { it > 4 } | count");
    assert!(
        segs.contains(
            r#"{"kind":"thread","stages":[0,1]},{"here":false,"kind":"fused","stages":[1,4]}"#
        ),
        "{segs}"
    );
}

/// Items made in memory (a range or an array literal), cheap stages and a sink: the calling
/// thread runs it all as one loop. Anything else keeps its threads.
#[test]
fn a_pipeline_of_cheap_work_in_memory_is_one_loop() {
    for src in [
        "from 1..=9 | map { it * 2 } | filter { it % 3 == 0 } | count",
        "from [1, 2, 3] | map { it * 2 } | sum",
        "from 0..n | filter { it > 2 }",
        "from 1..=9 | count",
        "from [\"a]\", \"b\"] | map { it.len() }",
        "from 1..=9 | pool 2 map { it * 2 }",
        "from 1..=9 | map { let y = it * it; y + 1 } | count",
        // A variable: its array or range made here, its channel read here.
        "let xs = [1]\nfrom xs | map { it * 2 } | count",
        "let ch = channel(4)\nfrom ch | filter { it > 1 }",
    ] {
        let segs = segments(&format!("let n = 5\n{src}"));
        let segs: serde_json::Value = serde_json::from_str(&segs).expect("JSON");
        let segs = segs.as_array().expect("segments");
        assert_eq!(segs[0]["here"], true, "{src}: {segs:?}");
        assert!(
            segs.iter()
                .all(|s| s["kind"] != "thread" && s["here"] != false),
            "{src}: {segs:?}"
        );
    }
    let text = plan("from 1..=9 | map { it * 2 } | filter { it % 3 == 0 } | count").render_text();
    assert!(
        text.contains("edges: 1 -call-> 2 -call-> 3 -call-> 4 -call-> 5"),
        "{text}"
    );
    assert!(!text.contains("thread shared"), "{text}");
    for src in [
        // A file is read beside the stages; a call may take any time.
        "from lines(\"f\") | map { it.len() } | count",
        "from f(1..3) | count",
        "from [1] + [2] | count",
        // Not cheap, or not only element-wise.
        "from 1..=9 | map { it.to_string() } | count",
        "from 1..=9 | map { it * 2 } | take 3 | count",
        "from 1..=9 | pool 2 map { it.to_string() }",
        "from 1..=9 | pool 2 map { it * 2 } retries 1",
    ] {
        let segs = segments(src);
        assert!(!segs.contains(r#""here":true"#), "{src}: {segs}");
    }
}

/// A pool whose block is cheap and that has no option only a pool gives runs as a `map`
/// where it stands (no workers); with such an option, or a block that is not cheap, it
/// keeps its workers.
#[test]
fn a_cheap_pool_map_runs_as_a_map() {
    let src = "from lines(\"f\") | pool 2 map { it.len() * 2 } | count";
    assert!(
        segments(src).contains(r#"{"here":false,"kind":"fused","stages":[0,1]}"#),
        "{}",
        segments(src)
    );
    let text = plan(src).render_text();
    assert!(text.contains("thread, as a map: no workers"), "{text}");
    let src = "from lines(\"f\") | map { it.len() } | pool 2 map { it * 2 } | count";
    assert!(
        segments(src).contains(r#"{"here":false,"kind":"fused","stages":[0,2]}"#),
        "{}",
        segments(src)
    );
    for src in [
        "from lines(\"f\") | pool 2 map { it * 2 } on_error skip | count",
        "from lines(\"f\") | pool 2 map { it * 2 } progress | count",
        "from lines(\"f\") | pool 2 map { it * 2 } timeout 1s | count",
        "from lines(\"f\") | pool 2 map { it * 2 } chunk 4 | count",
        "from lines(\"f\") | pool { 1 + 1 } map { it * 2 } | count",
        "fn f(x) { x * 2 }\nfrom lines(\"f\") | pool 2 map f | count",
    ] {
        let segs = segments(src);
        assert!(segs.contains(r#""kind":"pool""#), "{src}: {segs}");
    }
}

#[test]
fn a_pool_lists_every_option() {
    let src = "from [1] | pool 2 exec echo ${it} on_error fail 10% soon retries 2 chunk 3";
    let text = plan(src).render_text();
    assert!(text.contains("on_error fail 10% soon"), "{text}");
    assert!(text.contains("retries 2"), "{text}");
    assert!(text.contains("chunk 3"), "{text}");
    let text = plan("from [1] | pool 2 map { it } unordered on_error skip").render_text();
    assert!(text.contains("(unordered, on_error skip)"), "{text}");
}

#[test]
fn a_reducing_sink_runs_on_the_calling_thread() {
    let text = plan("from [1, 2] | map { it } | count").render_text();
    assert!(text.contains("the calling thread"), "{text}");
    assert!(text.contains("3 -call-> 4"), "{text}");
}

#[test]
fn edges_say_how_stages_meet() {
    assert_eq!(edges("ls | wc -l"), ["1 -pipe-> 2 -fd-> 3"]);
    assert_eq!(
        edges("let x = ls | lines"),
        [format!("1 -lines-> 2 -channel({CHANNEL_CAPACITY})-> 3")]
    );
    assert_eq!(edges("from [1] | cat"), ["1 -write-> 2 -fd-> 3"]);
    assert_eq!(edges("from [1]"), ["1 -call-> 2"]);
    assert_eq!(
        edges("from lines(\"f\")"),
        [format!("1 -channel({CHANNEL_CAPACITY})-> 2")]
    );
    assert_eq!(
        edges("ls | map { it } > out.txt"),
        [format!("1 -lines-> 2 -channel({CHANNEL_CAPACITY})-> 3")]
    );
    assert_eq!(edges("ls > out.txt"), ["1 -fd-> 2"]);
}

#[test]
fn sinks_name_where_output_goes() {
    let t = plan("let x = ls | count").render_text();
    assert!(t.contains("sink    variable x"), "{t}");
    let t = plan("ls | wc -l >> log.txt").render_text();
    assert!(t.contains("sink    file log.txt (append)"), "{t}");
    let t = plan("let ch = channel(4)\nfrom [1] | into ch").render_text();
    assert!(t.contains("sink    channel ch"), "{t}");
    assert!(
        t.contains(&format!("edges: 1 -channel({CHANNEL_CAPACITY})-> 2")),
        "{t}"
    );
}

#[test]
fn pipelines_in_blocks_tasks_and_jobs_are_listed() {
    let src = "let h = spawn ls | wc -l\n\
               for f in [1] { cat /etc/hosts }\n\
               from [1] | pool cpus exec { echo $it | wc -c } unordered\n";
    let t = plan(src).render_text();
    assert!(t.contains("pipeline 1 (line 1, spawned task)"), "{t}");
    assert!(t.contains("sink    task value"), "{t}");
    assert!(t.contains("pipeline 2 (line 2)"), "{t}");
    assert!(t.contains("pipeline 3 (line 3)"), "{t}");
    assert!(t.contains("(unordered)"), "{t}");
    assert!(t.contains("cpus jobs"), "{t}");
    assert!(
        t.contains("pipeline 4 (line 3, each job of pipeline 3 node [2])"),
        "{t}"
    );
    assert!(t.contains("sink    job output"), "{t}");
}

#[test]
fn pool_map_runs_on_threads_with_options() {
    let src = "from [1] | pool { 1 + 1 } map { it } chunk 8 retries 2 progress";
    let t = plan(src).render_text();
    assert!(t.contains("pool { 1 + 1 } map { it }"), "{t}");
    assert!(t.contains("(ordered, chunk 8, retries 2, progress)"), "{t}");
    assert!(t.contains("{ 1 + 1 } threads"), "{t}");
}

#[test]
fn columns_count_chars_not_bytes() {
    let t = plan("let x = \"é\"; ls").render_text();
    assert!(t.contains("[1] process ls"), "{t}");
    assert!(t.contains("1:14"), "{t}");
}

#[test]
fn empty_plan() {
    assert_eq!(plan("let x = 1").render_text(), "no pipelines\n");
    assert_eq!(
        plan("").render_dot(),
        "digraph plan {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n}\n"
    );
}

#[test]
fn dot_is_escaped_and_clustered() {
    let src = "echo \"a \\\"b\\\" c\\\\d\" | wc -c\nfrom [1] | map { it }";
    let d = plan(src).render_dot();
    assert!(d.starts_with("digraph plan {\n"), "{d}");
    assert!(d.ends_with("}\n"), "{d}");
    assert!(d.contains("subgraph cluster_1 {"), "{d}");
    assert!(d.contains("subgraph cluster_2 {"), "{d}");
    assert!(d.contains(r#"echo \"a \\\"b\\\" c\\\\d\""#), "{d}");
    assert!(d.contains("p1n1 -> p1n2 [label=\"pipe\"];"), "{d}");
    assert!(d.contains("shape=box"), "{d}");
    let dot_ok = std::process::Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if dot_ok {
        use std::io::Write;
        let mut child = std::process::Command::new("dot")
            .arg("-Tsvg")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(d.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn json_has_nodes_edges_and_spans() {
    let src = "ls -l | pool 2 map { it.to_string() } | count";
    let j: serde_json::Value = serde_json::from_str(&plan(src).render_json()).unwrap();
    let p = &j["pipelines"][0];
    assert_eq!(p["line"], 1);
    let nodes = p["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    assert_eq!(nodes[0]["kind"], "process");
    assert_eq!(nodes[0]["runs_on"], "process");
    assert_eq!(nodes[0]["label"], "ls -l");
    assert_eq!(nodes[0]["argv"], serde_json::json!(["ls", "-l"]));
    assert_eq!(nodes[0]["span"], serde_json::json!([0, 5]));
    assert_eq!(nodes[1]["kind"], "pool");
    assert_eq!(nodes[1]["runs_on"], "2 threads");
    assert_eq!(nodes[1]["pool"]["options"], serde_json::json!(["ordered"]));
    assert_eq!(nodes[2]["kind"], "thread");
    assert_eq!(nodes[3]["kind"], "sink");
    let e = &p["edges"];
    assert_eq!(
        e[0],
        serde_json::json!({"from": 1, "to": 2, "via": "lines"})
    );
    assert_eq!(e[1]["via"], format!("channel({CHANNEL_CAPACITY})"));
    assert_eq!(e[1]["capacity_batches"], CHANNEL_CAPACITY);
    assert_eq!(e[1]["batch_items"], 1024);
}

#[test]
fn checking_and_planning_never_panic_on_odd_scripts() {
    let pieces = [
        "ls",
        "|",
        "map",
        "{ it }",
        "$x",
        "\"$y\"",
        "from [1]",
        "count",
        "pool 0",
        "exec",
        "let x = 1",
        "\n",
        "join",
        "é",
        "ß",
        "> out",
        "spawn {",
        "}",
        "for i in [1] {",
        "cancel",
    ];
    for _ in 0..500 {
        let n = fastrand::usize(1..8);
        let src: Vec<&str> = (0..n)
            .map(|_| pieces[fastrand::usize(..pieces.len())])
            .collect();
        let src = src.join(" ");
        if let Ok(ast) = crate::parse(&src) {
            if let Ok(warnings) = check_only(&ast, &src, &CheckOptions::default()) {
                // The plan is built and drawn from any script that checks.
                let plan = Plan::build(&ast, &src, warnings);
                let _ = (plan.render_text(), plan.render_dot(), plan.render_json());
            }
        }
    }
}
