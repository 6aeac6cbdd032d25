//! TODO: pki (work in progress).
