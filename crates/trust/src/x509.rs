//! X.509 chain validation (placeholder module; being written).
