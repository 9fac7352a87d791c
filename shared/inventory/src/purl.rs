//! Package URLs (purl) for every ecosystem the inventory reports, and the reverse mapping used when
//! reading SBOMs.

use crate::extract::python::normalize;

fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let ok = b.is_ascii_alphanumeric()
            || matches!(b, b'.' | b'-' | b'_' | b'~')
            || (keep_slash && b == b'/');
        if ok {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Builds the purl of a package, or None for ecosystems without a purl type.
pub fn build(ecosystem: &str, name: &str, version: &str, distro: Option<&str>) -> Option<String> {
    let (ty, ns, n): (&str, Option<String>, String) = match ecosystem {
        "npm" => match name.strip_prefix('@').and_then(|s| s.split_once('/')) {
            Some((scope, n)) => ("npm", Some(format!("@{scope}")), n.to_string()),
            None => ("npm", None, name.to_string()),
        },
        "PyPI" => ("pypi", None, normalize(name)),
        "crates.io" => ("cargo", None, name.to_string()),
        "Maven" => match name.split_once(':') {
            Some((g, a)) => ("maven", Some(g.to_string()), a.to_string()),
            None => ("maven", None, name.to_string()),
        },
        "Go" => {
            if name == "stdlib" {
                ("golang", None, "stdlib".to_string())
            } else {
                match name.rsplit_once('/') {
                    Some((ns, n)) => ("golang", Some(ns.to_string()), n.to_string()),
                    None => ("golang", None, name.to_string()),
                }
            }
        }
        "Debian" => (
            "deb",
            Some(distro.unwrap_or("debian").to_string()),
            name.to_string(),
        ),
        "Ubuntu" => ("deb", Some("ubuntu".to_string()), name.to_string()),
        "Alpine" => ("apk", Some("alpine".to_string()), name.to_string()),
        "Red Hat" => ("rpm", Some("redhat".to_string()), name.to_string()),
        "Rocky Linux" => ("rpm", Some("rocky".to_string()), name.to_string()),
        "AlmaLinux" => ("rpm", Some("almalinux".to_string()), name.to_string()),
        "openSUSE" => ("rpm", Some("opensuse".to_string()), name.to_string()),
        "SUSE" => ("rpm", Some("suse".to_string()), name.to_string()),
        "openEuler" => ("rpm", Some("openeuler".to_string()), name.to_string()),
        "Mageia" => ("rpm", Some("mageia".to_string()), name.to_string()),
        "RPM" => ("rpm", None, name.to_string()),
        "RubyGems" => ("gem", None, name.to_string()),
        "NuGet" => ("nuget", None, name.to_string()),
        "Packagist" => match name.split_once('/') {
            Some((v, n)) => ("composer", Some(v.to_string()), n.to_string()),
            None => ("composer", None, name.to_string()),
        },
        _ => return None,
    };
    if n.is_empty() {
        return None;
    }
    let mut s = format!("pkg:{ty}/");
    if let Some(ns) = ns {
        let ns = if ty == "golang" || ty == "npm" || ty == "maven" {
            ns
        } else {
            ns.to_ascii_lowercase()
        };
        s.push_str(&encode(&ns, true));
        s.push('/');
    }
    s.push_str(&encode(&n, false));
    if !version.is_empty() {
        s.push('@');
        s.push_str(&encode(version, false));
    }
    Some(s)
}

/// A parsed purl: (type, namespace, name, version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    /// Type (`npm`, `pypi`, …).
    pub ty: String,
    /// Namespace, decoded.
    pub namespace: Option<String>,
    /// Name, decoded.
    pub name: String,
    /// Version, decoded.
    pub version: Option<String>,
}

/// Parses `pkg:type/namespace/name@version?qualifiers#subpath`.
pub fn parse(purl: &str) -> Option<Purl> {
    let rest = purl.strip_prefix("pkg:")?.trim_start_matches('/');
    let rest = rest.split('#').next().unwrap_or(rest);
    let rest = rest.split('?').next().unwrap_or(rest);
    let (ty, path) = rest.split_once('/')?;
    let (path, version) = match path.rfind('@') {
        Some(i) if i > 0 && !path[..i].ends_with('/') => (&path[..i], Some(decode(&path[i + 1..]))),
        _ => (path, None),
    };
    let path = path.trim_end_matches('/');
    let (ns, name) = match path.rsplit_once('/') {
        Some((ns, n)) => (
            Some(ns.split('/').map(decode).collect::<Vec<_>>().join("/")),
            decode(n),
        ),
        None => (None, decode(path)),
    };
    if name.is_empty() {
        return None;
    }
    Some(Purl {
        ty: ty.to_ascii_lowercase(),
        namespace: ns,
        name,
        version: version.filter(|v| !v.is_empty()),
    })
}

impl Purl {
    /// OSV ecosystem and ecosystem-spelled name.
    pub fn ecosystem_and_name(&self) -> (String, String) {
        let ns = self.namespace.as_deref();
        let joined = |sep: &str| match ns {
            Some(ns) => format!("{ns}{sep}{}", self.name),
            None => self.name.clone(),
        };
        match self.ty.as_str() {
            "npm" => ("npm".into(), joined("/")),
            "pypi" => ("PyPI".into(), self.name.clone()),
            "cargo" => ("crates.io".into(), self.name.clone()),
            "maven" => ("Maven".into(), joined(":")),
            "golang" => ("Go".into(), joined("/")),
            "deb" => match ns.map(str::to_ascii_lowercase).as_deref() {
                Some("ubuntu") => ("Ubuntu".into(), self.name.clone()),
                _ => ("Debian".into(), self.name.clone()),
            },
            "apk" => ("Alpine".into(), self.name.clone()),
            "rpm" => {
                let eco = match ns.map(str::to_ascii_lowercase).as_deref() {
                    Some("redhat") => "Red Hat",
                    Some("rocky") => "Rocky Linux",
                    Some("almalinux") => "AlmaLinux",
                    Some("opensuse") => "openSUSE",
                    Some("suse") => "SUSE",
                    Some("openeuler") => "openEuler",
                    Some("mageia") => "Mageia",
                    _ => "RPM",
                };
                (eco.into(), self.name.clone())
            }
            "gem" => ("RubyGems".into(), self.name.clone()),
            "nuget" => ("NuGet".into(), self.name.clone()),
            "composer" => ("Packagist".into(), joined("/")),
            "pub" => ("Pub".into(), self.name.clone()),
            "hex" => ("Hex".into(), self.name.clone()),
            "swift" => ("SwiftURL".into(), joined("/")),
            "cran" => ("CRAN".into(), self.name.clone()),
            other => (other.to_string(), joined("/")),
        }
    }
}
