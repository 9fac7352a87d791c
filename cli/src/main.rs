//! `portcullis`: scan artifacts with the full tool chain (work in progress).
fn main() {}
