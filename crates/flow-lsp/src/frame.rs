//! The frames of the LSP base protocol (`Content-Length: N`, a blank line, N bytes of JSON)
//! read from a byte stream that may be hostile: every size is bounded, and nothing that
//! arrives ends the reader but the end of its input.
//!
//! * The header block may be at most 8 KiB, a frame's body at most [`MAX_BODY`] (16 MiB)
//!   and hold at most [`MAX_VALUES`] JSON values. The body is kept in a buffer that grows as
//!   its bytes arrive, never sized by the header. A longer frame is skipped: its bytes are
//!   read through the 64 KiB read buffer and dropped, and the client gets an error reply.
//! * A line `Content-Length: N` cannot occur inside a JSON text (a JSON string cannot hold a
//!   raw line break, and outside strings JSON has no such word), so wherever one appears a
//!   new frame starts there. This is how the reader finds its way again after a broken
//!   header block (no `Content-Length`, one that is not a number, a line that is no header),
//!   and it ends a body whose `Content-Length` promised more bytes than were sent before the
//!   next header: a frame that claims 99999999999 bytes costs nothing, and the request after
//!   it is answered.
//! * A body that is not JSON is answered with JSON-RPC's parse error (-32700, `"id": null`),
//!   JSON that is not a request, response or notification with "invalid request" (-32600),
//!   whose `id` is the request's when it has a valid one and `null` otherwise, as JSON-RPC
//!   2.0 says. So is a frame over a limit, unread (its `id` unknown).

use lsp_server::Message;
use serde_json::{json, Value};
use std::io::{self, Read};

/// The largest body a frame may have. flow scripts are small (10,000 lines are 400 KB), and
/// checking one costs about 35 times its size in memory (a 4 MiB script: 150 MB, 1.6 s): at
/// 16 MiB a frame's worst case is hundreds of MB and seconds, not gigabytes and minutes.
pub(super) const MAX_BODY: u64 = 16 << 20;
/// The most JSON values (counted as their commas, colons and brackets) a body may hold: a
/// parsed value costs up to 80 bytes, so 16 MiB of `[0,0,0,…]` would be 2.5 GB. Messages
/// hold a few thousand at most (a whole script is one string).
pub(super) const MAX_VALUES: usize = 100_000;
/// The largest header block, all its lines together (clients send about 25 bytes).
const MAX_HEADER: usize = 8 << 10;
/// The read buffer: bytes read and not yet taken. Holds a whole header block.
const BUF: usize = 64 << 10;
/// How long a `Content-Length:` line found while scanning may run after its name.
const MAX_VALUE: usize = 40;
const NAME: &[u8] = b"content-length:";

/// JSON-RPC 2.0's error codes.
const PARSE_ERROR: i32 = -32700;
const INVALID_REQUEST: i32 = -32600;

/// What the reader gives: a message for the server, or an error reply for the client.
#[derive(Debug)]
pub(super) enum Frame {
    Message(Message),
    /// A JSON-RPC error response, ready to send; the input goes on after it.
    Error(Value),
}

/// Reads frames from `input` (blocking); at most [`BUF`] bytes of look-ahead plus the body
/// of the frame being read.
pub(super) struct FrameReader<R> {
    input: R,
    buf: Box<[u8]>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
    /// A header block was broken: skip to the next `Content-Length` line before reading on.
    lost: bool,
}

enum Header {
    Length(u64),
    Bad(String),
    Eof,
}

/// Where the next `Content-Length` line starts in a slice of the input.
#[derive(Debug, PartialEq)]
enum Scan {
    Found(usize),
    /// Something at this offset may be one; the bytes after the slice will tell.
    Partial(usize),
    None,
}

impl<R: Read> FrameReader<R> {
    pub(super) fn new(input: R) -> Self {
        FrameReader {
            input,
            buf: vec![0; BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            lost: false,
        }
    }

    /// The next frame; `None` at the end of the input (also in the middle of a frame).
    pub(super) fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        if std::mem::take(&mut self.lost) && !self.skip_to_header()? {
            return Ok(None);
        }
        match self.header()? {
            Header::Eof => Ok(None),
            Header::Bad(why) => {
                self.lost = true;
                let why =
                    format!("{why}; the input up to the next Content-Length header is skipped");
                Ok(Some(Frame::Error(error_reply(
                    Value::Null,
                    PARSE_ERROR,
                    &why,
                ))))
            }
            Header::Length(n) => self.body(n),
        }
    }

    /// Read more input after the unread bytes, which are moved to the buffer's start;
    /// false at the end of the input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // The callers never hold a full buffer of unread bytes.
            return Err(io::Error::other("frame reader: read buffer full"));
        }
        loop {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// A header block: its `Content-Length`. Blank lines before it are skipped. On a broken
    /// block the reader stands one byte into the line at fault, so that the scan for the
    /// next header goes on from there (and a header later on that line is found).
    fn header(&mut self) -> io::Result<Header> {
        let mut length = None;
        let mut used = 0;
        loop {
            let eol = loop {
                let avail = &self.buf[self.start..self.end];
                if let Some(i) = memchr::memchr(b'\n', avail) {
                    break i;
                }
                if used + avail.len() > MAX_HEADER {
                    self.start += 1;
                    return Ok(Header::Bad(format!(
                        "a header block longer than {} KiB",
                        MAX_HEADER >> 10
                    )));
                }
                if !self.fill()? {
                    return Ok(Header::Eof);
                }
            };
            let line = &self.buf[self.start..self.start + eol];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            used += eol + 1;
            if used > MAX_HEADER {
                self.start += 1;
                let why = format!("a header block longer than {} KiB", MAX_HEADER >> 10);
                return Ok(Header::Bad(why));
            }
            if line.is_empty() {
                self.start += eol + 1;
                if used == eol + 1 {
                    // A blank line between frames.
                    used = 0;
                    continue;
                }
                return Ok(match length {
                    Some(n) => Header::Length(n),
                    None => Header::Bad("a header block without Content-Length".into()),
                });
            }
            match header_line(line) {
                Ok(Some(n)) if length.is_some_and(|m| m != n) => {
                    self.start += 1;
                    return Ok(Header::Bad("two different Content-Length headers".into()));
                }
                Ok(Some(n)) => length = Some(n),
                Ok(None) => {}
                Err(why) => {
                    self.start += 1;
                    return Ok(Header::Bad(why));
                }
            }
            self.start += eol + 1;
        }
    }

    /// Skip to the next `Content-Length` line; false at the end of the input.
    fn skip_to_header(&mut self) -> io::Result<bool> {
        loop {
            if self.start == self.end && !self.fill()? {
                return Ok(false);
            }
            let avail = &self.buf[self.start..self.end];
            match find_header(avail, avail.len(), self.eof) {
                Scan::Found(i) => {
                    self.start += i;
                    return Ok(true);
                }
                Scan::Partial(i) => {
                    self.start += i;
                    // At the end of the input the next scan decides.
                    self.fill()?;
                }
                Scan::None => self.start = self.end,
            }
        }
    }

    /// The body of a frame of `n` bytes, kept if `n` is within the limit; it ends early
    /// where a header starts.
    fn body(&mut self, n: u64) -> io::Result<Option<Frame>> {
        let keep = n <= MAX_BODY;
        let mut body = Vec::new();
        let mut left = n;
        let mut cut = false;
        while left > 0 {
            if self.start == self.end && !self.fill()? {
                return Ok(None);
            }
            let avail = &self.buf[self.start..self.end];
            let window = usize::try_from(left).map_or(avail.len(), |l| l.min(avail.len()));
            let (take, more) = match find_header(avail, window, self.eof) {
                Scan::Found(i) => {
                    cut = true;
                    (i, false)
                }
                Scan::Partial(i) => (i, true),
                Scan::None => (window, false),
            };
            if keep {
                // Grow by doubling, never past the frame's size.
                let want = (body.len() + take).max(body.capacity() * 2);
                let want = usize::try_from(n).map_or(want, |n| want.min(n));
                body.reserve_exact(want - body.len());
                body.extend_from_slice(&avail[..take]);
            }
            self.start += take;
            left -= take as u64;
            if cut {
                break;
            }
            if more {
                self.fill()?;
            }
        }
        let reply = if !keep {
            let size = if n == u64::MAX {
                "more than 2^64".to_string()
            } else {
                n.to_string()
            };
            let why = format!(
                "a message of {size} bytes is over flow lsp's limit of {} MiB; it was skipped",
                MAX_BODY >> 20
            );
            error_reply(Value::Null, INVALID_REQUEST, &why)
        } else if cut {
            let why = format!(
                "a message ended after {} of the {n} bytes of its Content-Length, where the \
                 next header began",
                body.len()
            );
            error_reply(Value::Null, PARSE_ERROR, &why)
        } else {
            return Ok(Some(parse(&body)));
        };
        Ok(Some(Frame::Error(reply)))
    }
}

/// One header line: `Ok(Some(n))` for `Content-Length: n` (a number too big for `u64` is
/// `u64::MAX`: over the limit all the same), `Ok(None)` for another header.
fn header_line(line: &[u8]) -> Result<Option<u64>, String> {
    let shown = || {
        let s = String::from_utf8_lossy(&line[..line.len().min(60)]);
        format!("{s:?}{}", if line.len() > 60 { "…" } else { "" })
    };
    let Some(colon) = memchr::memchr(b':', line) else {
        return Err(format!("a header line without a colon: {}", shown()));
    };
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
        return Err(format!("not a header line: {}", shown()));
    }
    if !name.eq_ignore_ascii_case(&NAME[..NAME.len() - 1]) {
        return Ok(None);
    }
    let value = value.trim_ascii();
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(format!(
            "a Content-Length that is not a number: {}",
            shown()
        ));
    }
    let n = value.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    });
    Ok(Some(n.unwrap_or(u64::MAX)))
}

/// A character of a header's name (HTTP's `tchar`).
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The first `Content-Length` line (a whole line: name, a number, line end) that starts in
/// `hay[..limit]`; it may end after `limit`. At the end of the input (`eof`) a line cut
/// short is none.
fn find_header(hay: &[u8], limit: usize, eof: bool) -> Scan {
    let mut from = 0;
    while let Some(i) = memchr::memchr2(b'c', b'C', &hay[from..limit]) {
        let at = from + i;
        match header_at(&hay[at..]) {
            Some(true) => return Scan::Found(at),
            None if !eof => return Scan::Partial(at),
            _ => from = at + 1,
        }
    }
    Scan::None
}

/// Whether `s` starts with `Content-Length:`, blanks, digits, blanks and a line end; `None`
/// when `s` ends before that can be told.
fn header_at(s: &[u8]) -> Option<bool> {
    let n = s.len().min(NAME.len());
    if !s[..n].eq_ignore_ascii_case(&NAME[..n]) {
        return Some(false);
    }
    if n < NAME.len() {
        return None;
    }
    let rest = &s[NAME.len()..];
    // 0: blanks before the number, 1: its digits, 2: blanks after it, 3: after `\r`.
    let mut state = 0;
    for &b in rest.iter().take(MAX_VALUE) {
        state = match (state, b) {
            (0, b' ' | b'\t') => 0,
            (0 | 1, b'0'..=b'9') => 1,
            (1 | 2, b' ' | b'\t') => 2,
            (1 | 2, b'\r') => 3,
            (1..=3, b'\n') => return Some(true),
            _ => return Some(false),
        };
    }
    if rest.len() >= MAX_VALUE {
        Some(false)
    } else {
        None
    }
}

/// A body: the message it holds, or the error reply JSON-RPC asks for.
fn parse(body: &[u8]) -> Frame {
    if json_values(body) > MAX_VALUES {
        let why = format!("a message of more than {MAX_VALUES} JSON values; it was skipped");
        return Frame::Error(error_reply(Value::Null, INVALID_REQUEST, &why));
    }
    if let Ok(msg) = serde_json::from_slice::<Message>(body) {
        return Frame::Message(msg);
    }
    Frame::Error(match serde_json::from_slice::<Value>(body) {
        Err(e) => error_reply(Value::Null, PARSE_ERROR, &format!("not JSON: {e}")),
        Ok(Value::Array(_)) => {
            let why = "a batch (a JSON array) is not part of the Language Server Protocol";
            error_reply(Value::Null, INVALID_REQUEST, why)
        }
        Ok(v) => {
            // The request's id if it has a valid one: the client is waiting for it.
            let id = match v.get("id") {
                Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
                _ => Value::Null,
            };
            let why = "not a JSON-RPC request (`id`, `method`), notification (`method`) or \
                       response (`id`, `result` or `error`)";
            error_reply(id, INVALID_REQUEST, why)
        }
    })
}

/// About how many values a JSON text holds: its commas, colons and opening brackets outside
/// strings (so at least its values less one).
fn json_values(body: &[u8]) -> usize {
    let (mut n, mut in_string, mut escaped) = (0, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b',' | b':' | b'[' | b'{' => n += 1,
                _ => {}
            }
        }
    }
    n
}

fn error_reply(id: Value, code: i32, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input given a few bytes per `read`, as a pipe may.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    const HOVER: &str = r#"{"jsonrpc":"2.0","id":1,"method":"textDocument/hover","params":{}}"#;

    /// Every frame of `input`, read `step` bytes at a time: methods of messages, and
    /// `error CODE ID` for error replies.
    fn frames(input: &[u8], step: usize) -> Vec<String> {
        let mut r = FrameReader::new(Trickle { data: input, step });
        let mut out = vec![];
        while let Some(f) = r.next_frame().unwrap() {
            out.push(match f {
                Frame::Message(Message::Request(q)) => q.method,
                Frame::Message(Message::Notification(n)) => n.method,
                Frame::Message(Message::Response(r)) => format!("response {}", r.id),
                Frame::Error(v) => format!("error {} {}", v["error"]["code"], v["id"]),
            });
        }
        out
    }

    #[test]
    fn frames_split_anywhere_are_read_whole() {
        let input = format!("{}{}", frame(HOVER), frame(r#"{"method":"exit"}"#));
        for step in [1, 2, 3, 7, 64, 100_000] {
            assert_eq!(
                frames(input.as_bytes(), step),
                ["textDocument/hover", "exit"]
            );
        }
    }

    #[test]
    fn headers_are_case_blind_and_blank_lines_between_frames_are_skipped() {
        let input = format!(
            "\r\n\ncontent-length:{}\r\nContent-Type: application/vscode-jsonrpc; \
             charset=utf-8\r\n\r\n{HOVER}\n{}",
            HOVER.len(),
            frame(HOVER)
        );
        assert_eq!(frames(input.as_bytes(), 5), ["textDocument/hover"; 2]);
    }

    #[test]
    fn an_oversize_frame_that_lies_is_skipped_up_to_the_next_header() {
        let input = format!("Content-Length: 99999999999\r\n\r\n{{}}{}", frame(HOVER));
        assert_eq!(
            frames(input.as_bytes(), 3),
            ["error -32600 null", "textDocument/hover"]
        );
        let input = format!(
            "Content-Length: 99999999999999999999999\r\n\r\n{}",
            frame(HOVER)
        );
        assert_eq!(
            frames(input.as_bytes(), 1000),
            ["error -32600 null", "textDocument/hover"]
        );
    }

    #[test]
    fn an_oversize_frame_that_is_sent_is_read_and_dropped() {
        // A JSON string one byte over the limit: made as it is read, never held.
        let head = r#"{"jsonrpc":"2.0","method":"$/big","params":""#;
        let n = MAX_BODY + 1;
        let len = head.len() as u64 + n + 2;
        let input = io::Cursor::new(format!("Content-Length: {len}\r\n\r\n{head}"))
            .chain(io::repeat(b'a').take(n))
            .chain(io::Cursor::new(format!("\"}}{}", frame(HOVER))));
        let mut r = FrameReader::new(input);
        let Some(Frame::Error(e)) = r.next_frame().unwrap() else {
            panic!("an error reply")
        };
        assert_eq!(e["error"]["code"], INVALID_REQUEST);
        assert!(e["error"]["message"].as_str().unwrap().contains("16 MiB"));
        let Some(Frame::Message(Message::Request(q))) = r.next_frame().unwrap() else {
            panic!("the request after it")
        };
        assert_eq!(q.method, "textDocument/hover");
        assert!(r.next_frame().unwrap().is_none());
    }

    #[test]
    fn broken_headers_are_answered_and_the_next_frame_is_read() {
        let junk = [
            "Content-Length: abc\r\n\r\n{}".to_string(),
            "Content-Length: -5\r\n\r\n{}".into(),
            "Content-Length:\r\n\r\n".into(),
            "Content-Type: text/json\r\n\r\n{}".into(),
            "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}".into(),
            "{bad}\r\n\r\n".into(),
            "x".repeat(20_000),
            // A line that is no header ends where the next header begins.
            "\"garbage\": 1}".into(),
            "Content-Length : 2\r\n\r\n{}".into(),
        ];
        for junk in junk {
            let input = format!("{junk}{}", frame(HOVER));
            assert_eq!(
                frames(input.as_bytes(), 4),
                ["error -32700 null", "textDocument/hover"],
                "{junk:?}"
            );
        }
    }

    #[test]
    fn a_content_length_too_short_or_too_long() {
        // Too short: the rest of the body is a broken header line.
        let input = format!("Content-Length: 2\r\n\r\n{HOVER}{}", frame(HOVER));
        assert_eq!(
            frames(input.as_bytes(), 10),
            [
                "error -32700 null",
                "error -32700 null",
                "textDocument/hover"
            ]
        );
        // Too long: the body ends where the next header begins.
        let input = format!("Content-Length: 500\r\n\r\n{{}}{}", frame(HOVER));
        assert_eq!(
            frames(input.as_bytes(), 10),
            ["error -32700 null", "textDocument/hover"]
        );
    }

    #[test]
    fn a_header_inside_a_json_string_is_part_of_the_body() {
        let body = r#"{"jsonrpc":"2.0","method":"m","params":"Content-Length: 5\r\n\r\nxx"}"#;
        assert_eq!(frames(frame(body).as_bytes(), 1), ["m"]);
    }

    #[test]
    fn bodies_that_are_no_messages_get_json_rpc_errors() {
        let cases = [
            ("{bad}", "error -32700 null"),
            ("", "error -32700 null"),
            ("\u{feff}{}", "error -32700 null"),
            ("[1,2,3]", "error -32600 null"),
            ("[]", "error -32600 null"),
            ("42", "error -32600 null"),
            (r#"{"jsonrpc":"2.0","id":7}"#, "error -32600 7"),
            (r#"{"id":"a","method":5}"#, "error -32600 \"a\""),
            (r#"{"id":{},"method":"m","x":1"#, "error -32700 null"),
        ];
        for (body, want) in cases {
            let input = format!("{}{}", frame(body), frame(HOVER));
            assert_eq!(
                frames(input.as_bytes(), 6),
                [want, "textDocument/hover"],
                "{body:?}"
            );
        }
    }

    #[test]
    fn a_body_of_too_many_values_is_refused_unparsed() {
        let many = format!("[{}0]", "0,".repeat(MAX_VALUES));
        let input = format!("{}{}", frame(&many), frame(HOVER));
        assert_eq!(
            frames(input.as_bytes(), 5000),
            ["error -32600 null", "textDocument/hover"]
        );
        // Commas in a string are not values.
        let text = format!(r#"a\"b{}"#, ",:[{".repeat(MAX_VALUES));
        let body = json!({"jsonrpc": "2.0", "method": "m", "params": text}).to_string();
        assert!(json_values(body.as_bytes()) < 10);
        assert_eq!(frames(frame(&body).as_bytes(), 5000), ["m"]);
    }

    #[test]
    fn the_end_of_the_input_inside_a_frame_ends_it() {
        for input in [
            "Content-Length: 10\r\n\r\n{\"a\"",
            "Content-Length: 10",
            "Content-Len",
        ] {
            assert_eq!(frames(input.as_bytes(), 3), Vec::<String>::new());
        }
    }

    #[test]
    fn scanning_for_a_header() {
        assert_eq!(
            find_header(b"xx\"Content-Length: 12\r\n", 23, false),
            Scan::Found(3)
        );
        assert_eq!(
            find_header(b"xx CONTENT-LENGTH:7\n", 20, false),
            Scan::Found(3)
        );
        assert_eq!(find_header(b"abc content-len", 15, false), Scan::Partial(4));
        assert_eq!(find_header(b"abc content-len", 15, true), Scan::None);
        assert_eq!(
            find_header(b"Content-Length: 12", 18, false),
            Scan::Partial(0)
        );
        assert_eq!(
            find_header(b"Content-Length: 1x\r\n", 20, false),
            Scan::None
        );
        // Only a start before the limit counts.
        assert_eq!(
            find_header(b"ab Content-Length: 1\r\n", 3, false),
            Scan::None
        );
    }

    #[test]
    fn random_input_never_panics() {
        let parts: [&[u8]; 12] = [
            b"Content-Length: ",
            b"99999999999",
            b"12",
            b"\r\n",
            b"\r\n\r\n",
            b"{}",
            b"{bad}",
            b"[1,2,3]",
            b"content-length:3\n\n",
            b":",
            HOVER.as_bytes(),
            b"\xff\xfe",
        ];
        let mut rng = fastrand::Rng::with_seed(23);
        for _ in 0..2000 {
            let mut input = vec![];
            for _ in 0..rng.usize(1..12) {
                input.extend_from_slice(parts[rng.usize(..parts.len())]);
            }
            let step = rng.usize(1..20);
            let mut r = FrameReader::new(Trickle { data: &input, step });
            while r.next_frame().unwrap().is_some() {}
        }
    }
}
