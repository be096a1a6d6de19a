//! `flow lsp` driven as an editor drives it: JSON-RPC with Content-Length framing over the
//! process's stdin/stdout.

mod hostile_frames;
mod neovim;
mod shell_and_man;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{sync_channel, Receiver};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Messages from the server, read by a thread (bounded: the server waits when we lag).
    rx: Receiver<Value>,
    next_id: i64,
}

impl Client {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flow"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start flow lsp");
        let stdin = child.stdin.take();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = sync_channel(64);
        std::thread::spawn(move || loop {
            let mut len = None;
            loop {
                let mut line = String::new();
                if out.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(n) = line.strip_prefix("Content-Length: ") {
                    len = n.parse::<usize>().ok();
                }
            }
            let mut body = vec![0; len.expect("a Content-Length header")];
            if out.read_exact(&mut body).is_err() {
                return;
            }
            let msg: Value = serde_json::from_slice(&body).expect("a JSON body");
            if tx.send(msg).is_err() {
                return;
            }
        });
        Client {
            child,
            stdin,
            rx,
            next_id: 1,
        }
    }

    fn send(&mut self, msg: &Value) {
        let body = msg.to_string();
        let stdin = self.stdin.as_mut().unwrap();
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        stdin.flush().unwrap();
    }

    /// Bytes written as they are, no framing added.
    fn raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// A request as one frame: its id and its bytes.
    fn request_frame(&mut self, method: &str, params: Value) -> (i64, Vec<u8>) {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let body = body.to_string();
        (
            id,
            format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes(),
        )
    }

    /// Send a request and return its result (notifications that come first are skipped).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let (id, frame) = self.request_frame(method, params);
        self.raw(&frame);
        loop {
            let msg = self.rx.recv_timeout(WAIT).expect("a response");
            if msg["id"] == json!(id) {
                assert!(msg.get("error").is_none(), "{method} failed: {msg}");
                return msg["result"].clone();
            }
        }
    }

    /// The next diagnostics published.
    fn diagnostics(&mut self) -> Vec<Value> {
        loop {
            let msg = self.rx.recv_timeout(WAIT).expect("publishDiagnostics");
            if msg["method"] == "textDocument/publishDiagnostics" {
                return msg["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }

    fn initialize(&mut self) -> Value {
        let caps = self.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {}}),
        );
        self.notify("initialized", json!({}));
        caps
    }

    fn open(&mut self, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": URI, "languageId": "flow", "version": 1, "text": text}}),
        );
    }

    fn change(&mut self, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": version},
                   "contentChanges": [{"text": text}]}),
        );
    }

    fn at(&mut self, method: &str, line: usize, character: usize) -> Value {
        self.request(
            method,
            json!({"textDocument": {"uri": URI},
                   "position": {"line": line, "character": character}}),
        )
    }

    /// `shutdown`, `exit`, and the process's exit status.
    fn finish(mut self) -> i32 {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        drop(self.stdin.take());
        crate::harness::wait_for_exit(&mut self.child, WAIT)
            .expect("flow lsp did not exit")
            .code()
            .unwrap_or(-1)
    }
}

/// A test that fails does not leave its server behind.
impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const URI: &str = "file:///tmp/lsp-test.flow";

/// Column of `needle` on its line in UTF-16 code units, as LSP counts.
fn utf16_col(line: &str, needle: &str) -> usize {
    line[..line.find(needle).unwrap()].encode_utf16().count()
}

fn range(d: &Value) -> (u64, u64, u64, u64) {
    let r = &d["range"];
    let n = |v: &Value| v.as_u64().unwrap();
    (
        n(&r["start"]["line"]),
        n(&r["start"]["character"]),
        n(&r["end"]["line"]),
        n(&r["end"]["character"]),
    )
}

#[test]
fn lsp_session_diagnostics_completion_hover_definition() {
    let mut c = Client::start();
    let caps = c.initialize();
    assert_eq!(caps["capabilities"]["definitionProvider"], json!(true));

    // An unknown fn after characters that are 2 UTF-16 units (𝄞) and 2 bytes (é) long.
    let broken =
        "fn double(n) { n * 2 }\nlet total = \"é𝄞\"\nprint(\"𝄞\"); from [1] | map doubel\n";
    c.open(broken);
    let diags = c.diagnostics();
    assert_eq!(diags.len(), 1, "{diags:?}");
    let d = &diags[0];
    assert_eq!(d["code"], "flow::check::unknown_function");
    assert_eq!(d["severity"], 1);
    let line2 = broken.lines().nth(2).unwrap();
    let col = utf16_col(line2, "doubel") as u64;
    assert_eq!(range(d), (2, col, 2, col + 6));
    assert!(d["message"].as_str().unwrap().contains("help: "), "{d}");
    // The same code as the CLI's `flow check`.
    let cli = crate::harness::Flow::new()
        .script(broken)
        .args(&["check", "{}"])
        .status(2)
        .stderr_contains("flow::check::unknown_function");
    cli.run();

    let fixed = broken.replace("doubel", "double | each { print(total) }");
    c.change(2, &fixed);
    assert_eq!(c.diagnostics(), Vec::<Value>::new());

    // Completion in the middle of `double` (prefix `do`): the fn, not the variable.
    let line2 = fixed.lines().nth(2).unwrap();
    let col = utf16_col(line2, "double") + 2;
    let items = c.at("textDocument/completion", 2, col);
    let labels: Vec<&str> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"double"), "{labels:?}");
    assert!(!labels.contains(&"total"), "{labels:?}");

    let hover = c.at("textDocument/hover", 2, utf16_col(line2, "map") + 1);
    let text = hover["contents"]["value"].as_str().unwrap();
    assert!(text.contains("one output per item"), "{hover}");
    let hover = c.at("textDocument/hover", 2, utf16_col(line2, "double"));
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap()
        .contains("fn double(n)"));

    let def = c.at("textDocument/definition", 2, utf16_col(line2, "total") + 1);
    assert_eq!(def["uri"], URI);
    assert_eq!(range(&def), (1, 4, 1, 9));
    let def = c.at("textDocument/definition", 2, utf16_col(line2, "double") + 3);
    assert_eq!(range(&def), (0, 3, 0, 9));

    assert_eq!(c.finish(), 0);
}

/// A misspelt name in Rhai code is shown as you type, at the name, with the did-you-mean;
/// the same code and help as `flow check`.
#[test]
fn lsp_shows_a_misspelt_variable_in_rhai_code() {
    let mut c = Client::start();
    c.initialize();
    let text = "let total = 3\nfrom [1, 2] | map { it * totl }\nprint(`${total} é ${totl}`)\n";
    c.open(text);
    let diags = c.diagnostics();
    assert_eq!(diags.len(), 2, "{diags:?}");
    for (d, line) in diags.iter().zip([1, 2]) {
        assert_eq!(d["code"], "flow::check::unknown_variable");
        let l = text.lines().nth(line).unwrap();
        // After `é` (1 UTF-16 unit, 2 bytes) on the second line.
        let col = utf16_col(l, if line == 1 { "totl" } else { "totl}" }) as u64;
        assert_eq!(range(d), (line as u64, col, line as u64, col + 4), "{d}");
        let m = d["message"].as_str().unwrap();
        assert!(m.contains("help: did you mean `total`?"), "{d}");
    }
    crate::harness::Flow::new()
        .script(text)
        .args(&["check", "{}"])
        .status(2)
        .stderr_contains("flow::check::unknown_variable")
        .stderr_contains("did you mean `total`?")
        .run();
    c.change(2, &text.replace("totl", "total"));
    assert_eq!(c.diagnostics(), Vec::<Value>::new());
    assert_eq!(c.finish(), 0);
}

#[test]
fn lsp_shutdown_and_exit_sent_together_is_status_0() {
    let mut c = Client::start();
    c.initialize();
    c.open("ls | wc -l\n");
    c.send(&json!({"jsonrpc": "2.0", "id": 99, "method": "shutdown"}));
    c.notify("exit", Value::Null);
    drop(c.stdin.take());
    let status = c.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn lsp_exit_without_shutdown_is_status_1() {
    let mut c = Client::start();
    c.initialize();
    c.notify("exit", Value::Null);
    drop(c.stdin.take());
    let status = c.child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
}

/// A realistic 1,000-line script: fns, lets, pipelines, pools, tasks.
fn thousand_lines() -> String {
    let mut s = String::new();
    for i in 0..200 {
        s.push_str(&format!("fn f{i}(x) {{ x * {i} + 1 }}\n"));
        s.push_str(&format!(
            "let v{i} = from 1..=10 | map f{i} | filter {{ it % 2 == 0 }} | sum\n"
        ));
        s.push_str(&format!("echo \"${{v{i}}} done\" | wc -c\n"));
        s.push_str(&format!(
            "from [1, 2, 3] | pool 2 exec echo ${{it}} {i} timeout 5s\n"
        ));
        s.push_str(&format!("let t{i} = spawn {{ from [v{i}] | count }}\n"));
    }
    s
}

#[test]
fn lsp_diagnostics_for_a_thousand_lines_arrive_quickly() {
    let text = thousand_lines();
    assert_eq!(text.lines().count(), 1000);
    let mut c = Client::start();
    c.initialize();
    c.open(&text);
    assert_eq!(c.diagnostics(), Vec::<Value>::new());
    let broken = text.replace("map f150 ", "map nope ");
    let mut times = vec![];
    for (version, t) in [(2, &broken), (3, &text), (4, &broken), (5, &text)] {
        let start = Instant::now();
        c.change(version, t);
        let diags = c.diagnostics();
        times.push(start.elapsed());
        assert_eq!(diags.len(), usize::from(t == &broken), "{diags:?}");
    }
    eprintln!("flow lsp: diagnostics of 1,000 lines after a change: {times:?}");
    // Generous, so that a loaded machine does not fail it; the real figure is printed above.
    assert!(
        times.iter().all(|t| *t < Duration::from_secs(2)),
        "{times:?}"
    );
    assert_eq!(c.finish(), 0);
}
