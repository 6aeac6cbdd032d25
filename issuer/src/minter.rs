//! Work in progress: minter.
