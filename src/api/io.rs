//! The host's ends of a run's data: named sources it feeds, named sinks it reads, and the
//! output hook that receives what the script would write to stdout and stderr.

use crate::runtime::{OutputHook, Stream};
use crate::script::channel::FlowChannel;
use crate::Engine;
use crossbeam_channel::Receiver;
use rhai::Dynamic;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

impl Engine {
    /// Capture the runs' output: everything a run would write to flow's stdout or stderr —
    /// `print`/`eprint`, printed items and sink values, the stdout and stderr of commands,
    /// pool job output, warnings — is passed to `f` instead, with the stream it was meant
    /// for. Calls are serialized (one at a time, from the run's threads); `print`, item and
    /// stderr output arrive as whole lines, a command's stdout in chunks as it comes. A
    /// command whose stdout would be flow's stdout writes into a pipe that flow copies to
    /// `f`. Without a hook (the default, and the CLI) commands inherit flow's stdout.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let out = Arc::new(Mutex::new(Vec::new()));
    /// let mut engine = flow::Engine::new();
    /// let o = out.clone();
    /// engine.on_output(move |stream, bytes| {
    ///     if stream == flow::Stream::Stdout {
    ///         o.lock().unwrap().extend_from_slice(bytes);
    ///     }
    /// });
    /// let script = engine.compile("print(\"hi\")\nfrom [1, 2] | map { it * 10 }").unwrap();
    /// engine.run(&script).unwrap();
    /// assert_eq!(&*out.lock().unwrap(), b"hi\n10\n20\n");
    /// ```
    pub fn on_output(&mut self, f: impl FnMut(Stream, &[u8]) + Send + 'static) -> &mut Self {
        let hook: OutputHook = Arc::new(Mutex::new(f));
        self.output = Some(hook);
        self
    }

    /// A named source: scripts read it with `from NAME`. It serves one stream of items:
    /// the runs that read it share it, and it ends for good when the sender is closed.
    pub fn source(&mut self, name: &str, capacity: usize) -> SourceSender {
        let ch = FlowChannel::new_external(capacity.max(1));
        let tx = ch.register();
        self.set_var(name, Dynamic::from(ch.clone()));
        SourceSender { tx, ch }
    }

    /// A named sink: scripts send into it with `| into NAME`; the host reads the returned
    /// [`Sink`], during the run (from another thread) or after it. Each run gets its own
    /// bounded channel of `capacity` items, closed when the run ends, so the sink is reused
    /// across runs and [`Sink::iter`] always ends.
    pub fn sink(&mut self, name: &str, capacity: usize) -> Sink {
        self.add_sink(name, capacity, false)
    }

    /// A named sink that keeps everything each run sends into it: read its [`Sink::iter`]
    /// after `run` returns (or during it), however many items there are — nothing fills,
    /// nothing waits for a reader. What [`Engine::sink`] bounds and streams, this buffers:
    /// the items of a run stay in memory until read. (Per-run sinks private to one run:
    /// [`crate::Vars::keep`].)
    ///
    /// ```
    /// let mut engine = flow::Engine::new();
    /// let out = engine.keep("out");
    /// let s = engine.compile("from 1..=10000 | map { it * 2 } | into out").unwrap();
    /// engine.run_as::<()>(&s).unwrap();
    /// assert_eq!(out.iter().count(), 10000);
    /// ```
    pub fn keep(&mut self, name: &str) -> Sink {
        self.add_sink(name, crate::limits::CHANNEL_CAPACITY * 64, true)
    }

    fn add_sink(&mut self, name: &str, capacity: usize, keep: bool) -> Sink {
        self.vars.retain(|(k, _)| k != name);
        self.sinks.retain(|(k, _)| k != name);
        let shared = Arc::new(SinkShared {
            capacity: capacity.max(1),
            keep,
            readers: Arc::default(),
            runs: Mutex::new(Runs::default()),
            started: Condvar::new(),
        });
        self.sinks.push((name.to_string(), shared.clone()));
        Sink { shared }
    }
}

/// The host's end of a named source: items sent here come out of `from NAME`. Dropping it
/// (or calling [`SourceSender::close`]) ends the stream.
pub struct SourceSender {
    tx: Option<crossbeam_channel::Sender<Dynamic>>,
    ch: FlowChannel,
}

impl SourceSender {
    /// Send one item (blocks while the channel is full).
    ///
    /// # Errors
    /// The item back, when the channel is closed.
    pub fn send(&self, item: impl Into<Dynamic>) -> Result<(), Dynamic> {
        match &self.tx {
            Some(tx) => tx.send(item.into()).map_err(|e| e.0),
            None => Err(Dynamic::UNIT),
        }
    }

    /// End the stream: `from NAME` finishes after the items already sent.
    pub fn close(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if self.tx.take().is_some() {
            self.ch.unregister();
        }
    }
}

impl Drop for SourceSender {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The sink's runs: the channel of each run whose items were not read to the end yet,
/// oldest first.
#[derive(Default)]
struct Runs {
    next_id: u64,
    unread: VecDeque<(u64, Receiver<Dynamic>)>,
}

pub(crate) struct SinkShared {
    capacity: usize,
    /// Keep every item ([`Engine::keep`]): a collector moves each run's items out of its
    /// bounded channel into a buffer as they come, so the channel never fills.
    keep: bool,
    /// The host's readers ([`SinkIter`]s) alive: a run whose sink is full while there are
    /// none waits for nobody, which the deadlock watch reports.
    readers: Arc<std::sync::atomic::AtomicUsize>,
    runs: Mutex<Runs>,
    /// Signalled when a run starts: readers waiting for one wake up.
    started: Condvar,
}

impl SinkShared {
    /// A run starts: its channel, held open (registered as a producer) until the returned
    /// guard is dropped at the run's end, whatever the script's `into` stages do.
    pub(crate) fn open_run(&self) -> (FlowChannel, RunSink) {
        // A keeping sink always has its reader: the collector.
        let readers = if self.keep {
            Arc::new(std::sync::atomic::AtomicUsize::new(1))
        } else {
            self.readers.clone()
        };
        let ch = FlowChannel::new_sink(self.capacity, readers.clone());
        let registered = ch.register().is_some();
        let rx = if self.keep {
            keep_all(&ch, &readers)
        } else {
            ch.receiver()
        };
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let id = runs.next_id;
        runs.next_id += 1;
        runs.unread.push_back((id, rx));
        drop(runs);
        self.started.notify_all();
        let guard = RunSink {
            ch: registered.then(|| ch.clone()),
        };
        (ch, guard)
    }
}

/// The items of `ch` moved, as they come, into a buffer of any size that the returned
/// receiver reads; it ends when `ch` has closed and the buffer is drained.
fn keep_all(ch: &FlowChannel, readers: &std::sync::atomic::AtomicUsize) -> Receiver<Dynamic> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let from = ch.receiver();
    let moved = std::thread::Builder::new()
        .name("flow-sink-keep".into())
        .spawn(move || {
            for x in from {
                if tx.send(x).is_err() {
                    return;
                }
            }
        });
    match moved {
        Ok(_) => rx,
        // No thread: the bounded channel itself, read as a streaming sink is (with no
        // collector, no reader until the host's: a full one is then a deadlock, not a hang).
        Err(_) => {
            readers.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            ch.receiver()
        }
    }
}

/// Closes a run's sink channel when the run ends.
pub(crate) struct RunSink {
    ch: Option<FlowChannel>,
}

impl Drop for RunSink {
    fn drop(&mut self) {
        if let Some(ch) = self.ch.take() {
            ch.unregister();
        }
    }
}

/// The host's end of a named sink (from [`Engine::sink`]). Clones read the same sink.
#[derive(Clone)]
pub struct Sink {
    shared: Arc<SinkShared>,
}

impl Sink {
    /// The items of one run: the oldest run not yet read to its end — the run going on, one
    /// that ended with items left, or else the next one to start (the iterator waits for it).
    /// It ends when that run has ended and its items are drained. Read it from another
    /// thread to take more than `capacity` items: a run whose sink is full waits for a reader.
    #[must_use]
    pub fn iter(&self) -> SinkIter {
        self.shared
            .readers
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        SinkIter {
            shared: self.shared.clone(),
            current: None,
            done: false,
        }
    }
}

impl IntoIterator for &Sink {
    type Item = Dynamic;
    type IntoIter = SinkIter;
    fn into_iter(self) -> SinkIter {
        self.iter()
    }
}

/// The items of one run of a [`Sink`].
pub struct SinkIter {
    shared: Arc<SinkShared>,
    current: Option<(u64, Receiver<Dynamic>)>,
    done: bool,
}

impl Drop for SinkIter {
    fn drop(&mut self) {
        self.shared
            .readers
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Iterator for SinkIter {
    type Item = Dynamic;

    fn next(&mut self) -> Option<Dynamic> {
        if self.done {
            return None;
        }
        if self.current.is_none() {
            let mut runs = self.shared.runs.lock().unwrap_or_else(|e| e.into_inner());
            while runs.unread.is_empty() {
                runs = self
                    .shared
                    .started
                    .wait(runs)
                    .unwrap_or_else(|e| e.into_inner());
            }
            self.current = runs.unread.front().cloned();
        }
        let (id, rx) = self.current.as_ref()?;
        match rx.recv() {
            Ok(v) => Some(v),
            Err(_) => {
                // The run ended and its items are drained: it is read.
                let mut runs = self.shared.runs.lock().unwrap_or_else(|e| e.into_inner());
                if runs.unread.front().is_some_and(|(f, _)| f == id) {
                    runs.unread.pop_front();
                }
                self.done = true;
                None
            }
        }
    }
}
