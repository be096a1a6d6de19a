//! The checker's diagnostics as LSP diagnostics: the CLI's codes, spans, labels and help,
//! from the same parse and check entry points as `Script::compile`.

use super::position::LineIndex;
use flow::{ast::Ast, tooling::check_only, CompileOptions};
use lsp_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Uri,
};

/// Parse and check `text` as `flow check` does (the steps of `Script::compile`, keeping the
/// syntax tree also when the check fails): every error and warning as an LSP diagnostic, and
/// the syntax tree when the script parsed.
pub(crate) fn check(uri: &Uri, text: &str) -> (Vec<Diagnostic>, Option<Ast>) {
    let idx = LineIndex::new(text);
    let ast = match flow::parse(text) {
        Ok(ast) => ast,
        Err(es) => return (es.iter().map(|e| convert(e, &idx, uri)).collect(), None),
    };
    // No plan: an editor shows diagnostics only (a plan was a third of a big file's check).
    let out = match check_only(&ast, text, &CompileOptions::default()) {
        Ok(warnings) => warnings.iter().map(|w| convert(w, &idx, uri)).collect(),
        Err(es) => es.iter().map(|e| convert(e, &idx, uri)).collect(),
    };
    (out, Some(ast))
}

/// One miette diagnostic: its range is its primary label's (else its first label's), the
/// other labels are related information, and the help follows the message as in the CLI.
pub(crate) fn convert(d: &dyn miette::Diagnostic, idx: &LineIndex<'_>, uri: &Uri) -> Diagnostic {
    let labels: Vec<miette::LabeledSpan> = d.labels().map(Iterator::collect).unwrap_or_default();
    let main = labels
        .iter()
        .position(miette::LabeledSpan::primary)
        .or((!labels.is_empty()).then_some(0));
    let range_of = |l: &miette::LabeledSpan| idx.range(l.offset(), l.offset() + l.len());
    let mut message = d.to_string();
    if let Some(label) = main.and_then(|i| labels[i].label()) {
        // A label that only repeats the message (`not found` under `… not found on PATH`)
        // is left to the squiggle.
        if !label.is_empty() && !message.to_lowercase().contains(&label.to_lowercase()) {
            message = format!("{message}: {label}");
        }
    }
    if let Some(help) = d.help() {
        message = format!("{message}\nhelp: {help}");
    }
    let related: Vec<DiagnosticRelatedInformation> = labels
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != main)
        .map(|(_, l)| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), range_of(l)),
            message: l.label().unwrap_or("here").to_string(),
        })
        .collect();
    let severity = match d.severity() {
        Some(miette::Severity::Warning) => DiagnosticSeverity::WARNING,
        Some(miette::Severity::Advice) => DiagnosticSeverity::HINT,
        _ => DiagnosticSeverity::ERROR,
    };
    Diagnostic {
        range: main.map_or_else(|| idx.range(0, 0), |i| range_of(&labels[i])),
        severity: Some(severity),
        code: d.code().map(|c| NumberOrString::String(c.to_string())),
        source: Some("flow".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Diagnostic::default()
    }
}
