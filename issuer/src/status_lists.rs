//! TODO: status_lists (work in progress).
