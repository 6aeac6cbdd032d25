//! TODO: config (work in progress).
