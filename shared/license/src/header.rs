//! Licence *headers* in source files: `SPDX-License-Identifier:` tags in any comment style (`//`, `#`, `/* */`,
//! `<!-- -->`, `--`, `;`, `%`, `(* *)`) and the common boilerplate notices — Apache-2.0 ("Licensed under the
//! Apache License, Version 2.0"), the GNU GPL/LGPL/AGPL "either version N of the License, or (at your
//! option) any later version" and "version N of the License" notices, and the short MIT notices ("Released
//! under the MIT license", "Licensed under the MIT License", "Use of this source code is governed by an
//! MIT-style license"). Only the head of a file is read ([`HEADER_BYTES`]).

use spdx::{Expression, ParseMode};

/// Bytes read from the start of a source file.
pub const HEADER_BYTES: usize = 8 * 1024;

/// Confidence of a boilerplate notice (a tag is exact: 1.0).
pub const BOILERPLATE_CONFIDENCE: f32 = 0.9;

/// File extensions of source files whose headers are read.
const SOURCE_EXTENSIONS: &[&str] = &[
    "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "rs", "go", "java", "kt", "kts", "scala", "groovy",
    "js", "mjs", "cjs", "ts", "mts", "cts", "jsx", "tsx", "vue", "py", "pyi", "rb", "php", "pl",
    "pm", "sh", "bash", "zsh", "ps1", "cs", "fs", "swift", "m", "mm", "lua", "r", "sql", "hs",
    "ml", "mli", "ex", "exs", "erl", "clj", "dart", "zig", "nim", "cmake", "s", "asm", "proto",
    "css", "scss", "less", "html", "htm", "xml", "vhd", "v", "sv", "tcl", "el", "lisp", "jl",
];

/// True when the file name is a source file whose header is read.
pub fn is_source_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    match lower.rsplit_once('.') {
        // Minified bundles carry no useful header and are large.
        Some((stem, ext)) => SOURCE_EXTENSIONS.contains(&ext) && !stem.ends_with(".min"),
        None => false,
    }
}

/// The licences declared by the head of a source file: `(SPDX expression, confidence)`, tags first, each
/// expression once.
pub fn detect(head: &str) -> Vec<(String, f32)> {
    let mut out: Vec<(String, f32)> = Vec::new();
    // Every tag and notice contains "licen": most files stop here after one lowercase pass.
    let lower = head.to_ascii_lowercase();
    if !lower.contains("licen") {
        return out;
    }
    for expr in tags(head, &lower) {
        if !out.iter().any(|(e, _)| *e == expr) {
            out.push((expr, 1.0));
        }
    }
    if out.is_empty() {
        for id in notices(&lower) {
            out.push((id.to_string(), BOILERPLATE_CONFIDENCE));
        }
    }
    out
}

const TAG: &str = "spdx-license-identifier:";

/// Expressions of the `SPDX-License-Identifier:` tags in `head`, normalized; unparsable tags are skipped.
pub fn spdx_tags(head: &str) -> Vec<String> {
    tags(head, &head.to_ascii_lowercase())
}

/// `lower` is `head` lowercased (ASCII only, so byte offsets agree).
fn tags(head: &str, lower: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find(TAG) {
        let at = from + found;
        let line_end = lower[at..].find('\n').map_or(lower.len(), |e| at + e);
        from = line_end;
        let line = &head[at..line_end];
        let at = 0;
        // The tag is ASCII, so the byte offset is valid in `line` too.
        let rest = &line[at + TAG.len()..];
        let mut value = rest.trim();
        for end in ["*/", "-->", "*)", "#}", "%}", "\"", "'", "`"] {
            if let Some(i) = value.find(end) {
                value = &value[..i];
            }
        }
        let value = value.trim().trim_end_matches([',', ';', '*']).trim();
        if value.is_empty() {
            continue;
        }
        let mut mode = ParseMode::LAX;
        mode.allow_unknown = true;
        if let Ok(e) = Expression::parse_mode(value, mode) {
            out.push(crate::eval::normalize(&e));
        }
    }
    out
}

/// Lowercase words of the text without comment markers, joined by single spaces.
fn words(head: &str) -> String {
    let mut s = String::with_capacity(head.len());
    for w in head.split(|c: char| c.is_whitespace() || matches!(c, '*' | '#' | '/' | ';' | '!')) {
        let w = w.trim_matches(|c: char| matches!(c, '-' | '<' | '>' | '%' | '"' | '(' | ')'));
        if w.is_empty() {
            continue;
        }
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(w);
    }
    s
}

/// Licences named by boilerplate notices in `head`.
pub fn boilerplate(head: &str) -> Vec<&'static str> {
    let lower = head.to_ascii_lowercase();
    if !lower.contains("licen") {
        return Vec::new();
    }
    notices(&lower)
}

fn notices(lower: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    let t = words(lower);
    if t.contains("licensed under the apache license, version 2.0")
        || t.contains("licensed under the apache license version 2.0")
    {
        out.push("Apache-2.0");
    }
    if let Some(id) = gnu(&t) {
        out.push(id);
    }
    if t.contains("released under the mit license")
        || t.contains("licensed under the mit license")
        || t.contains("governed by an mit-style license")
        || t.contains("licensed under mit")
        || t.contains("license: mit")
    {
        out.push("MIT");
    }
    out
}

/// The GNU notice: which licence, which version, and whether "any later version" applies.
fn gnu(t: &str) -> Option<&'static str> {
    let family = if t.contains("gnu affero general public license") {
        "AGPL"
    } else if t.contains("gnu lesser general public license")
        || t.contains("gnu library general public license")
    {
        "LGPL"
    } else if t.contains("gnu general public license") {
        "GPL"
    } else {
        return None;
    };
    let later = t.contains("or (at your option) any later version")
        || t.contains("or at your option any later version")
        || t.contains("or (at your option) any later");
    let version = ["2.1", "2", "3"]
        .into_iter()
        .find(|v| t.contains(&format!("version {v} of the license")))?;
    let id = match (family, version, later) {
        ("GPL", "2", true) => "GPL-2.0-or-later",
        ("GPL", "2", false) => "GPL-2.0-only",
        ("GPL", "3", true) => "GPL-3.0-or-later",
        ("GPL", "3", false) => "GPL-3.0-only",
        ("LGPL", "2.1", true) => "LGPL-2.1-or-later",
        ("LGPL", "2.1", false) => "LGPL-2.1-only",
        ("LGPL", "2", true) => "LGPL-2.0-or-later",
        ("LGPL", "2", false) => "LGPL-2.0-only",
        ("LGPL", "3", true) => "LGPL-3.0-or-later",
        ("LGPL", "3", false) => "LGPL-3.0-only",
        ("AGPL", "3", true) => "AGPL-3.0-or-later",
        ("AGPL", "3", false) => "AGPL-3.0-only",
        _ => return None,
    };
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_tags_in_every_comment_style() {
        let cases = [
            ("// SPDX-License-Identifier: MIT\nfn main() {}", "MIT"),
            (
                "#!/bin/sh\n# SPDX-License-Identifier: GPL-2.0-only\n",
                "GPL-2.0-only",
            ),
            (
                "/* SPDX-License-Identifier: GPL-2.0+ */\n",
                "GPL-2.0-or-later",
            ),
            (
                "<!-- SPDX-License-Identifier: Apache-2.0 -->\n<html/>",
                "Apache-2.0",
            ),
            (
                "-- SPDX-License-Identifier: (MIT OR Apache-2.0)\n",
                "MIT OR Apache-2.0",
            ),
            (
                "; spdx-license-identifier: GPL-2.0-only WITH Linux-syscall-note\n",
                "GPL-2.0-only WITH Linux-syscall-note",
            ),
            (
                " * SPDX-License-Identifier: BSD-3-Clause\n */\n",
                "BSD-3-Clause",
            ),
        ];
        for (src, want) in cases {
            assert_eq!(detect(src), vec![(want.to_string(), 1.0)], "{src:?}");
        }
        // No value, or only a comment end: nothing.
        assert!(detect("// SPDX-License-Identifier: */\n").is_empty());
        assert!(detect("let tag = 1; // no licence here\n").is_empty());
    }

    #[test]
    fn boilerplate_headers() {
        let apache = "/*\n * Copyright 2020 Acme\n *\n * Licensed under the Apache License, Version 2.0 (the \"License\");\n * you may not use this file except in compliance with the License.\n */";
        assert_eq!(boilerplate(apache), vec!["Apache-2.0"]);
        let gpl2 = "# This program is free software; you can redistribute it and/or modify\n# it under the terms of the GNU General Public License as published by\n# the Free Software Foundation; either version 2 of the License, or\n# (at your option) any later version.\n";
        assert_eq!(boilerplate(gpl2), vec!["GPL-2.0-or-later"]);
        let gpl3_only = "// it under the terms of the GNU General Public License as published by\n// the Free Software Foundation, version 3 of the License.\n";
        assert_eq!(boilerplate(gpl3_only), vec!["GPL-3.0-only"]);
        let lgpl = " * This library is free software; you can redistribute it and/or\n * modify it under the terms of the GNU Lesser General Public\n * License as published by the Free Software Foundation; either\n * version 2.1 of the License, or (at your option) any later version.\n";
        assert_eq!(boilerplate(lgpl), vec!["LGPL-2.1-or-later"]);
        let agpl = "# under the terms of the GNU Affero General Public License as published by the Free Software\n# Foundation, either version 3 of the License, or (at your option) any later version.\n";
        assert_eq!(boilerplate(agpl), vec!["AGPL-3.0-or-later"]);
        let mit =
            "/*!\n * jQuery JavaScript Library v3.7.1\n * Released under the MIT license\n */";
        assert_eq!(boilerplate(mit), vec!["MIT"]);
        let go = "// Copyright 2009 The Go Authors. All rights reserved.\n// Use of this source code is governed by a BSD-style\n// license that can be found in the LICENSE file.\n";
        assert!(
            boilerplate(go).is_empty(),
            "a BSD-style pointer names no exact licence"
        );
        // A tag wins over the boilerplate of the same file.
        let both = format!("// SPDX-License-Identifier: Apache-2.0\n{mit}");
        assert_eq!(detect(&both), vec![("Apache-2.0".to_string(), 1.0)]);
    }

    #[test]
    fn source_file_names() {
        for n in [
            "main.rs",
            "index.js",
            "Foo.java",
            "x.py",
            "a.h",
            "page.html",
        ] {
            assert!(is_source_file(n), "{n}");
        }
        for n in [
            "jquery.min.js",
            "LICENSE",
            "data.bin",
            "README.md",
            "package.json",
        ] {
            assert!(!is_source_file(n), "{n}");
        }
    }
}
