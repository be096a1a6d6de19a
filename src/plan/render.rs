//! Rendering the plan as text, Graphviz dot, or JSON.

use super::{NodeKind, Plan, PlanPipeline, Segment, Via, BATCH_SIZE};
use serde_json::{json, Value};
use std::fmt::Write as _;

fn title(i: usize, p: &PlanPipeline) -> String {
    match &p.context {
        Some(c) => format!("pipeline {} (line {}, {c})", i + 1, p.line),
        None => format!("pipeline {} (line {})", i + 1, p.line),
    }
}

/// One block per pipeline: `[id] kind  label  (options)  runs-on  @line:col`, then the edges.
pub(crate) fn text(plan: &Plan) -> String {
    let mut out = String::new();
    for (i, p) in plan.pipelines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(out, "{}", title(i, p));
        // The where-it-runs column is as wide as its longest entry, so positions line up.
        let wide = p
            .nodes
            .iter()
            .filter(|n| n.kind != NodeKind::Sink)
            .map(|n| n.runs_on().chars().count())
            .max()
            .unwrap_or(0)
            .max(19);
        for n in &p.nodes {
            let mut label = n.label.clone();
            if let Some(pool) = &n.pool {
                let _ = write!(label, "  ({})", pool.options.join(", "));
            }
            let runs = if n.kind == NodeKind::Sink {
                String::new()
            } else {
                n.runs_on()
            };
            let line = format!(
                "  [{}] {:<7} {:<40}  {:<wide$}  {}:{}",
                n.id,
                n.kind.name(),
                label,
                runs,
                n.line,
                n.col
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        let mut edges = String::new();
        for (k, e) in p.edges.iter().enumerate() {
            if k == 0 {
                let _ = write!(edges, "{}", e.from);
            }
            let _ = write!(edges, " -{}-> {}", e.via.name(), e.to);
        }
        let _ = writeln!(out, "  edges: {edges}");
    }
    if plan.pipelines.is_empty() {
        out.push_str("no pipelines\n");
    }
    out
}

/// A dot string literal: quotes, backslashes and line breaks escaped.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => {}
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

fn shape(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Source => "invhouse",
        NodeKind::Process => "box",
        NodeKind::Thread => "ellipse",
        NodeKind::Pool => "box3d",
        NodeKind::Sink => "house",
    }
}

/// Graphviz: one `cluster_N` per pipeline, node shape by kind, edges labelled by how they join.
pub(crate) fn dot(plan: &Plan) -> String {
    let mut out = String::from("digraph plan {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
    for (i, p) in plan.pipelines.iter().enumerate() {
        let c = i + 1;
        let _ = writeln!(out, "  subgraph cluster_{c} {{");
        let _ = writeln!(out, "    label={};", quote(&title(i, p)));
        for n in &p.nodes {
            let mut label = n.label.clone();
            if let Some(pool) = &n.pool {
                let _ = write!(label, "\n({})", pool.options.join(", "));
            }
            if n.kind != NodeKind::Sink {
                let _ = write!(label, "\n{}", n.runs_on());
            }
            let _ = writeln!(
                out,
                "    p{c}n{} [label={}, shape={}];",
                n.id,
                quote(&label),
                shape(n.kind)
            );
        }
        for e in &p.edges {
            let _ = writeln!(
                out,
                "    p{c}n{} -> p{c}n{} [label={}];",
                e.from,
                e.to,
                quote(&e.via.name())
            );
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

/// Pretty JSON of every pipeline, node and edge.
pub(crate) fn json(plan: &Plan) -> String {
    let pipelines: Vec<Value> = plan
        .pipelines
        .iter()
        .map(|p| {
            let nodes: Vec<Value> = p
                .nodes
                .iter()
                .map(|n| {
                    let mut v = json!({
                        "id": n.id,
                        "kind": n.kind.name(),
                        "runs_on": n.runs_on(),
                        "label": n.label,
                        "span": [n.span.start, n.span.end],
                        "line": n.line,
                        "col": n.col,
                    });
                    if !n.argv.is_empty() {
                        v["argv"] = json!(n.argv);
                    }
                    if let Some(pool) = &n.pool {
                        v["pool"] = json!({
                            "size": pool.size,
                            "workers": pool.workers,
                            "options": pool.options,
                        });
                    }
                    v
                })
                .collect();
            let edges: Vec<Value> = p
                .edges
                .iter()
                .map(|e| {
                    let mut v = json!({"from": e.from, "to": e.to, "via": e.via.name()});
                    if let Via::Channel(cap) = e.via {
                        v["capacity_batches"] = json!(cap);
                        v["batch_items"] = json!(BATCH_SIZE);
                    }
                    v
                })
                .collect();
            let segments: Vec<Value> = p.segments.iter().map(Segment::to_json).collect();
            let mut v = json!({
                "line": p.line,
                "span": [p.span.start, p.span.end],
                "nodes": nodes,
                "edges": edges,
                "segments": segments,
            });
            if let Some(c) = &p.context {
                v["context"] = json!(c);
            }
            v
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&json!({ "pipelines": pipelines }))
        .unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
