//! stdin/stdout for the server: a reader thread that turns stdin into messages through
//! [`FrameReader`] (every size bounded, bad frames answered), a writer thread that writes
//! the server's messages and the reader's error replies to stdout, and between them only
//! rendezvous channels (capacity 0), so that a client that sends faster than the server
//! works, or reads slower than it writes, is made to wait rather than queued for.

use super::frame::{Frame, FrameReader};
use crossbeam_channel::{bounded, never, select, Receiver, Sender};
use lsp_server::{Connection, Message};
use serde_json::Value;
use std::io::{self, BufWriter, Read, Write};
use std::thread::{self, JoinHandle};

/// The writer thread, joined at the end so that the last replies (`shutdown`'s) are out.
/// The reader thread is not joined: it may be waiting on stdin, which the client holds.
pub(super) struct Io {
    writer: JoinHandle<()>,
}

/// The server's end of the connection over stdin/stdout.
pub(super) fn stdio() -> io::Result<(Connection, Io)> {
    let (to_server, from_reader) = bounded::<Message>(0);
    let (to_writer, from_server) = bounded::<Message>(0);
    let (replies, from_replies) = bounded::<Value>(0);
    let writer = thread::Builder::new()
        .name("flow-lsp-writer".into())
        .spawn(move || write_output(io::stdout().lock(), &from_server, from_replies))?;
    thread::Builder::new()
        .name("flow-lsp-reader".into())
        .spawn(move || read_input(io::stdin().lock(), &to_server, &replies))?;
    let conn = Connection {
        sender: to_writer,
        receiver: from_reader,
    };
    Ok((conn, Io { writer }))
}

impl Io {
    /// Wait until everything the server sent is written (call after dropping the connection).
    pub(super) fn join(self) {
        if self.writer.join().is_err() {
            eprintln!("flow lsp: the writer thread failed");
        }
    }
}

/// Frames from `input` to the server, error replies to the writer, until the input ends,
/// the client says `exit`, or the other side is gone.
fn read_input(input: impl Read, to_server: &Sender<Message>, replies: &Sender<Value>) {
    let mut frames = FrameReader::new(input);
    loop {
        match frames.next_frame() {
            Ok(Some(Frame::Message(msg))) => {
                let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
                if to_server.send(msg).is_err() || exit {
                    return;
                }
            }
            Ok(Some(Frame::Error(reply))) => {
                let why = reply["error"]["message"].as_str().unwrap_or_default();
                eprintln!("flow lsp: bad input: {why}");
                if replies.send(reply).is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                eprintln!("flow lsp: reading stdin: {e}");
                return;
            }
        }
    }
}

/// Write the server's messages and the reader's replies, each as a frame, until the server
/// is done or stdout fails (then the server's next send fails and it ends).
fn write_output(output: impl Write, from_server: &Receiver<Message>, replies: Receiver<Value>) {
    let mut out = BufWriter::new(output);
    let mut replies = Some(replies);
    let none = never();
    loop {
        let written = select! {
            recv(from_server) -> msg => match msg {
                Ok(msg) => msg.write(&mut out),
                Err(_) => return,
            },
            recv(replies.as_ref().unwrap_or(&none)) -> reply => match reply {
                Ok(reply) => write_value(&mut out, &reply),
                // The reader is done; the server may still have answers to send.
                Err(_) => {
                    replies = None;
                    Ok(())
                }
            },
        };
        if let Err(e) = written {
            eprintln!("flow lsp: writing to stdout: {e}");
            return;
        }
    }
}

fn write_value(out: &mut impl Write, v: &Value) -> io::Result<()> {
    let text = v.to_string();
    write!(out, "Content-Length: {}\r\n\r\n{text}", text.len())?;
    out.flush()
}
