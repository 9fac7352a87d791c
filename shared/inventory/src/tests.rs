//! Unit tests (fixture corpus scoring lives in `fixture_tests`).
