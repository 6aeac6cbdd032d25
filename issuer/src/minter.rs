//! TODO: minter (work in progress).
