//! Built-in tools that need nothing beyond the reader.

pub mod inventory;
