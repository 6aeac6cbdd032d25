//! Work in progress: status_lists.
