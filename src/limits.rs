//! Sizes that the checker's plan shows and the runtime uses: one definition for both.

/// Batches in flight between two stages. More only holds more memory: at 64, a log filter
/// spent half its time faulting in fresh pages for the items in flight.
pub(crate) const CHANNEL_CAPACITY: usize = 16;

/// Items per batch, at most.
pub(crate) const BATCH_SIZE: usize = 1024;
