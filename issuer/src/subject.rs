//! TODO: subject (work in progress).
