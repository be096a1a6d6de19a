//! `channel(n)`: a bounded multi-producer multi-consumer channel value. It closes when the
//! last registered sender (an `into ch` stage, or a task containing one) is done.

use crossbeam_channel::{bounded, Receiver, Sender};
use rhai::Dynamic;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
struct Shared {
    capacity: usize,
    /// The master sender: dropped when the last registered producer finishes.
    tx: Mutex<Option<Sender<Dynamic>>>,
    rx: Receiver<Dynamic>,
    producers: Mutex<usize>,
    /// Fed or read by the host (a named source or sink), outside the script's view.
    external: bool,
    /// For a host's sink: how many of the host's readers (`Sink::iter`) exist.
    readers: Option<Arc<AtomicUsize>>,
}

/// A channel value, shared by clones.
#[derive(Debug, Clone)]
pub(crate) struct FlowChannel {
    shared: Arc<Shared>,
}

impl FlowChannel {
    /// A channel holding at most `capacity` items.
    #[must_use]
    pub(crate) fn new(capacity: usize) -> Self {
        Self::make(capacity, false, None)
    }

    /// A channel the host feeds (a named source).
    #[must_use]
    pub(crate) fn new_external(capacity: usize) -> Self {
        Self::make(capacity, true, None)
    }

    /// A channel the host reads (a named sink), with the count of its readers.
    #[must_use]
    pub(crate) fn new_sink(capacity: usize, readers: Arc<AtomicUsize>) -> Self {
        Self::make(capacity, true, Some(readers))
    }

    fn make(capacity: usize, external: bool, readers: Option<Arc<AtomicUsize>>) -> Self {
        let (tx, rx) = bounded(capacity);
        FlowChannel {
            shared: Arc::new(Shared {
                capacity,
                tx: Mutex::new(Some(tx)),
                rx,
                producers: Mutex::new(0),
                external,
                readers,
            }),
        }
    }

    /// A host's sink that no reader of the host is reading: a full one waits for nobody.
    pub(crate) fn is_unread_sink(&self) -> bool {
        self.shared
            .readers
            .as_ref()
            .is_some_and(|r| r.load(Ordering::SeqCst) == 0)
    }

    /// Whether the host feeds or reads it.
    pub(crate) fn is_external(&self) -> bool {
        self.shared.external
    }

    pub(crate) fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// A producer starts: returns a sender, or `None` when the channel is already closed.
    pub(crate) fn register(&self) -> Option<Sender<Dynamic>> {
        let tx = self
            .shared
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        *self
            .shared
            .producers
            .lock()
            .unwrap_or_else(|e| e.into_inner()) += 1;
        Some(tx)
    }

    /// A producer is done; the last one closes the channel.
    pub(crate) fn unregister(&self) {
        let mut n = self
            .shared
            .producers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.shared
                .tx
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
        }
    }

    /// A sender for a producer that is already registered.
    pub(crate) fn sender(&self) -> Option<Sender<Dynamic>> {
        self.shared
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn receiver(&self) -> Receiver<Dynamic> {
        self.shared.rx.clone()
    }

    /// Identity, for deduplicating registrations.
    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }
}
