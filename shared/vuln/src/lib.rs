//! OSV vulnerability matching for Portcullis: per-ecosystem version ordering ([`version`]), a compact OSV
//! database index ([`db`]) with CVSS scoring ([`cvss`]), and the `vuln/osv` tool ([`tool`]).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cvss;
pub mod db;
pub mod osv;
pub mod version;
