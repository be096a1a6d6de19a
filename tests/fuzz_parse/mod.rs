//! Property test of `flow::parse`.
