//! The server loop: LSP over stdio (`transport`: a reader and a writer thread around this
//! one), full-text sync, and diagnostics published after each change.

use super::document::Document;
use super::position::LineIndex;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{Completion, GotoDefinition, HoverRequest, Request as _};
use lsp_types::{
    CompletionOptions, CompletionParams, CompletionResponse, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, GotoDefinitionParams,
    GotoDefinitionResponse, HoverParams, HoverProviderCapability, Location, OneOf,
    PublishDiagnosticsParams, ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind,
    Uri,
};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

/// Run the language server on stdin/stdout until the client says `exit` or stdin ends; the
/// process exit code (0 after `shutdown` then `exit`, 1 otherwise, as the protocol says).
#[must_use]
pub fn run() -> u8 {
    let (conn, io) = match super::transport::stdio() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("flow lsp: {e}");
            return 1;
        }
    };
    let caps = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["$".into()]),
            ..CompletionOptions::default()
        }),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    };
    let caps = serde_json::to_value(caps).unwrap_or_default();
    let code = if initialize(&conn, caps) {
        Server::new().serve(&conn)
    } else {
        1
    };
    drop(conn);
    io.join();
    code
}

/// The handshake: `initialize` is answered with the capabilities. A request before it is
/// refused (`ServerNotInitialized`), a notification dropped, as the protocol says; the
/// `initialized` notification that follows is dropped by the loop. False when the server
/// must end: `exit`, the end of stdin, or stdout gone.
fn initialize(conn: &Connection, caps: Value) -> bool {
    while let Ok(msg) = conn.receiver.recv() {
        let resp = match msg {
            Message::Request(req) if req.method == "initialize" => {
                let resp = Response::new_ok(req.id, json!({ "capabilities": caps }));
                return conn.sender.send(resp.into()).is_ok();
            }
            Message::Request(req) => {
                let msg = "the first request must be `initialize`".into();
                error(req.id, ErrorCode::ServerNotInitialized, msg)
            }
            Message::Notification(n) if n.method == "exit" => return false,
            Message::Notification(_) | Message::Response(_) => continue,
        };
        if conn.sender.send(resp.into()).is_err() {
            return false;
        }
    }
    false
}

struct Server {
    docs: HashMap<Uri, Document>,
    /// Changed since their diagnostics were last published.
    dirty: BTreeSet<String>,
    /// Programs on `PATH`, listed at the first completion that needs them.
    programs: Option<Vec<String>>,
}

impl Server {
    fn new() -> Self {
        Server {
            docs: HashMap::new(),
            dirty: BTreeSet::new(),
            programs: None,
        }
    }

    fn serve(&mut self, conn: &Connection) -> u8 {
        let mut shut_down = false;
        while let Ok(first) = conn.receiver.recv() {
            // Take what else is waiting, so that a burst of edits is checked once, at its end.
            let mut batch = vec![first];
            batch.extend(conn.receiver.try_iter());
            for msg in batch {
                match msg {
                    // The protocol: exit status 0 only when `shutdown` came first.
                    Message::Notification(n) if n.method == "exit" => return u8::from(!shut_down),
                    Message::Notification(n) => self.notification(n),
                    Message::Request(req) => {
                        let resp = if shut_down {
                            let msg = "the server is shut down".into();
                            error(req.id, ErrorCode::InvalidRequest, msg)
                        } else if req.method == "shutdown" {
                            shut_down = true;
                            Response::new_ok(req.id, ())
                        } else {
                            // Answers are about the latest text, checked.
                            if !self.publish(conn) {
                                return 1;
                            }
                            self.request(req)
                        };
                        if conn.sender.send(Message::Response(resp)).is_err() {
                            return 1;
                        }
                    }
                    Message::Response(_) => {}
                }
            }
            if !shut_down && !self.publish(conn) {
                return 1;
            }
        }
        1
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) {
                    let uri = p.text_document.uri;
                    self.dirty.insert(uri.as_str().to_string());
                    self.docs.insert(uri, Document::new(p.text_document.text));
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) {
                    // Full sync: the last change holds the whole text.
                    let uri = p.text_document.uri;
                    if let (Some(doc), Some(change)) = (
                        self.docs.get_mut(&uri),
                        p.content_changes.into_iter().last(),
                    ) {
                        doc.text = change.text;
                        self.dirty.insert(uri.as_str().to_string());
                    }
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) {
                    self.docs.remove(&p.text_document.uri);
                    self.dirty.remove(p.text_document.uri.as_str());
                }
            }
            _ => {}
        }
    }

    /// Check every changed document and publish its diagnostics; false when stdout is gone.
    fn publish(&mut self, conn: &Connection) -> bool {
        for (uri, doc) in &mut self.docs {
            if !self.dirty.remove(uri.as_str()) {
                continue;
            }
            let params = PublishDiagnosticsParams::new(uri.clone(), doc.analyze(uri), None);
            let note = Notification::new(PublishDiagnostics::METHOD.into(), params);
            if conn.sender.send(Message::Notification(note)).is_err() {
                return false;
            }
        }
        true
    }

    fn request(&mut self, req: Request) -> Response {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            Completion::METHOD => serde_json::from_value::<CompletionParams>(req.params)
                .map_err(invalid)
                .map(|p| {
                    let at = p.text_document_position;
                    let programs = self
                        .programs
                        .get_or_insert_with(flow::tooling::programs_on_path);
                    let list = self
                        .docs
                        .get(&at.text_document.uri)
                        .map(|d| super::completion::complete(d, at.position, programs));
                    serde_json::to_value(list.map(CompletionResponse::List))
                }),
            HoverRequest::METHOD => serde_json::from_value::<HoverParams>(req.params)
                .map_err(invalid)
                .map(|p| {
                    let at = p.text_document_position_params;
                    let hover = self
                        .docs
                        .get(&at.text_document.uri)
                        .and_then(|d| super::hover::hover(d, at.position));
                    serde_json::to_value(hover)
                }),
            GotoDefinition::METHOD => serde_json::from_value::<GotoDefinitionParams>(req.params)
                .map_err(invalid)
                .map(|p| {
                    let at = p.text_document_position_params;
                    let uri = at.text_document.uri;
                    let loc = self.docs.get(&uri).and_then(|d| {
                        let span = super::definition::find(d, at.position)?;
                        let range = LineIndex::new(&d.text).range(span.start, span.end);
                        Some(GotoDefinitionResponse::Scalar(Location::new(
                            uri.clone(),
                            range,
                        )))
                    });
                    serde_json::to_value(loc)
                }),
            _ => return error(id, ErrorCode::MethodNotFound, "unknown method".into()),
        };
        match result {
            Ok(Ok(v)) => Response::new_ok(id, v),
            Ok(Err(e)) => error(id, ErrorCode::InternalError, e.to_string()),
            Err(e) => error(id, ErrorCode::InvalidParams, e),
        }
    }
}

#[allow(clippy::needless_pass_by_value)] // the shape `map_err` wants
fn invalid(e: serde_json::Error) -> String {
    format!("invalid params: {e}")
}

fn error(id: RequestId, code: ErrorCode, message: String) -> Response {
    Response::new_err(id, code as i32, message)
}
