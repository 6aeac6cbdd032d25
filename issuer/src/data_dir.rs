//! TODO: data_dir (work in progress).
