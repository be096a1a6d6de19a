//! `flow lsp` fed frames that are broken or hostile: a size it must not believe, bodies that
//! are no messages, headers that are no headers, frames cut into small writes, a stdout
//! that is gone. It answers what JSON-RPC says, keeps its memory bounded, and goes on.

use super::{Client, URI, WAIT};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

/// The server's peak memory may not pass this (it starts at about 5 MB).
const MEMORY_KB: u64 = 100_000;

/// The peak resident memory of a process (`VmHWM`), in kB.
fn peak_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A hover request on the open document: its id and frame.
fn hover(c: &mut Client) -> (i64, Vec<u8>) {
    c.request_frame(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 1}}),
    )
}

/// Every message up to the answer to request `id` (the answer last), while the server's
/// peak memory is watched: past [`MEMORY_KB`] the test fails at once (and the server is
/// killed), so a server that allocates what a header says cannot take the machine's memory.
fn until_answer(c: &mut Client, id: i64) -> Vec<Value> {
    let start = Instant::now();
    let mut got = vec![];
    loop {
        let peak = peak_kb(c.child.id());
        assert!(peak < MEMORY_KB, "flow lsp's memory reached {peak} kB");
        match c.rx.recv_timeout(Duration::from_millis(20)) {
            Ok(msg) => {
                let last = msg["id"] == json!(id);
                got.push(msg);
                if last {
                    return got;
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                assert!(start.elapsed() < WAIT, "no answer to {id}; got {got:?}");
            }
            Err(RecvTimeoutError::Disconnected) => panic!("flow lsp ended; got {got:?}"),
        }
    }
}

/// `(code, id)` of the error replies among `msgs`.
fn errors(msgs: &[Value]) -> Vec<(i64, Value)> {
    msgs.iter()
        .filter_map(|m| Some((m["error"]["code"].as_i64()?, m["id"].clone())))
        .collect()
}

/// A server with one document open, its diagnostics read.
fn started() -> Client {
    let mut c = Client::start();
    c.initialize();
    c.open("ls | wc -l\n");
    assert_eq!(c.diagnostics(), Vec::<Value>::new());
    c
}

/// `bad` sent as it is, then a hover request: `bad`'s error replies (the hover is answered).
fn after(c: &mut Client, bad: &[u8]) -> Vec<(i64, Value)> {
    let (id, frame) = hover(c);
    c.raw(bad);
    c.raw(&frame);
    let msgs = until_answer(c, id);
    let answer = msgs.last().unwrap();
    assert!(answer.get("result").is_some(), "{answer}");
    errors(&msgs[..msgs.len() - 1])
}

#[test]
fn lsp_a_frame_claiming_99999999999_bytes_costs_no_memory() {
    let mut c = started();
    let errs = after(&mut c, b"Content-Length: 99999999999\r\n\r\n{}");
    assert_eq!(errs, [(-32600, Value::Null)]);
    // And once more, with a number too big for 64 bits.
    let errs = after(
        &mut c,
        b"Content-Length: 999999999999999999999999\r\n\r\n{}",
    );
    assert_eq!(errs, [(-32600, Value::Null)]);
    assert!(peak_kb(c.child.id()) < MEMORY_KB);
    assert_eq!(c.finish(), 0);
}

#[test]
fn lsp_a_frame_over_16_mib_is_read_and_dropped() {
    let mut c = started();
    // A well-formed notification of 16 MiB + 1 KiB: the server reads it through and drops it.
    let head = r#"{"jsonrpc":"2.0","method":"$/big","params":""#;
    let fill = 16 * 1024 * 1024 + 1024;
    let len = head.len() + fill + 2;
    c.raw(format!("Content-Length: {len}\r\n\r\n{head}").as_bytes());
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..16 {
        c.raw(&chunk);
    }
    let mut tail = vec![b'a'; 1024];
    tail.extend_from_slice(b"\"}");
    let errs = after(&mut c, &tail);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0], (-32600, Value::Null));
    assert!(peak_kb(c.child.id()) < MEMORY_KB);
    assert_eq!(c.finish(), 0);
}

#[test]
fn lsp_bodies_that_are_no_messages_get_json_rpc_errors() {
    let mut c = started();
    // 1 MB that would parse to 40 MB of values.
    let many = format!("[{}0]", "0,".repeat(500_000));
    for (body, want) in [
        ("{bad}", (-32700, Value::Null)),
        ("[1,2,3]", (-32600, Value::Null)),
        (r#"{"jsonrpc":"2.0","id":7}"#, (-32600, json!(7))),
        ("\"just a string\"", (-32600, Value::Null)),
        (many.as_str(), (-32600, Value::Null)),
    ] {
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        assert_eq!(after(&mut c, frame.as_bytes()), [want], "{body}");
    }
    assert_eq!(c.finish(), 0);
}

#[test]
fn lsp_broken_headers_are_answered_and_the_next_frame_is_found() {
    let mut c = started();
    for bad in [
        "Content-Length: abc\r\n\r\n{}",
        "Content-Length: 12x\r\n\r\n{}",
        "Content-Type: application/vscode-jsonrpc\r\n\r\n{}",
        "hello\r\n\r\n",
        // A header line of 1 MiB.
        &format!("X-Long: {}\r\n\r\n", "x".repeat(1 << 20)),
    ] {
        assert_eq!(
            after(&mut c, bad.as_bytes()),
            [(-32700, Value::Null)],
            "{bad:.40}"
        );
    }
    // A Content-Length longer than what was sent: the body ends where the next header begins.
    let errs = after(&mut c, b"Content-Length: 500\r\n\r\n{}");
    assert_eq!(errs, [(-32700, Value::Null)]);
    assert!(peak_kb(c.child.id()) < MEMORY_KB);
    // The input ends inside a frame: the end of stdin without `shutdown`, status 1.
    c.raw(b"Content-Length: 10\r\n\r\n{");
    drop(c.stdin.take());
    assert_eq!(c.child.wait().unwrap().code(), Some(1));
}

#[test]
fn lsp_frames_cut_into_small_writes_are_read_whole() {
    let mut c = Client::start();
    c.initialize();
    let text = "from [1] | map nope\n";
    let open = json!({"jsonrpc": "2.0", "method": "textDocument/didOpen",
        "params": {"textDocument": {"uri": URI, "languageId": "flow", "version": 1, "text": text}}})
    .to_string();
    let mut bytes = format!("Content-Length: {}\r\n\r\n{open}", open.len()).into_bytes();
    let (id, frame) = hover(&mut c);
    bytes.extend_from_slice(&frame);
    for (i, piece) in bytes.chunks(3).enumerate() {
        c.raw(piece);
        // The pauses are what is tested, not a wait for anything: they let the server's
        // reads return a frame in pieces instead of whole.
        if i % 20 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let msgs = until_answer(&mut c, id);
    let diags = msgs
        .iter()
        .find(|m| m["method"] == "textDocument/publishDiagnostics")
        .expect("diagnostics");
    assert_eq!(
        diags["params"]["diagnostics"][0]["code"],
        "flow::check::unknown_function"
    );
    assert_eq!(errors(&msgs), []);
    assert_eq!(c.finish(), 0);
}

#[test]
fn lsp_a_closed_stdout_ends_the_server_without_a_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flow"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flow lsp");
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let mut send = |msg: Value| {
        let body = msg.to_string();
        // The server may be gone already.
        let _ = write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len());
        let _ = stdin.flush();
    };
    send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"processId": null, "rootUri": null, "capabilities": {}}}));
    send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}));
    // stdin stays open: the server must end of its own accord.
    let Some(status) = crate::harness::wait_for_exit(&mut child, WAIT) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("flow lsp did not end when its stdout was closed");
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("writing to stdout"), "{stderr}");
    drop(stdin);
}
