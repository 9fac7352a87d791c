//! Licence tool (work in progress).
