//! Container images: `docker save` tarballs (manifest.json) and OCI image layouts (oci-layout + index.json).
//! Layers are walked from the top layer down so that files deleted (whiteouts, opaque directories) or
//! overwritten by an upper layer are never reported from the lower one; every file is attributed to the
//! layer that last wrote it.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

use serde::Deserialize;

use crate::model::{Format, UnscannableReason};

use super::formats::ancestors;
use super::guard::LimitHit;
use super::{EntryInfo, EntryKind, Flow, Walker, normalize_name};

/// Whiteout / shadowing state across the layers of one image, walked top layer first.
#[derive(Debug, Default)]
pub(crate) struct LayerFilter {
    seen: HashSet<String>,
    seen_nondir: HashSet<String>,
    deleted: HashSet<String>,
    opaque: HashSet<String>,
    cur_seen: Vec<(String, bool)>,
    cur_deleted: Vec<String>,
    cur_opaque: Vec<String>,
}

/// What to do with an entry of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Report it.
    Emit,
    /// A whiteout marker (applies to lower layers).
    Whiteout,
    /// Deleted or overwritten by an upper layer.
    Hidden,
}

impl LayerFilter {
    pub fn decide(&mut self, path: &str, is_dir: bool) -> Decision {
        let (dir, base) = match path.rfind('/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path),
        };
        if base == ".wh..wh..opq" {
            self.cur_opaque.push(dir.to_string());
            return Decision::Whiteout;
        }
        if let Some(target) = base.strip_prefix(".wh.") {
            let full = if dir.is_empty() {
                target.to_string()
            } else {
                format!("{dir}/{target}")
            };
            self.cur_deleted.push(full);
            return Decision::Whiteout;
        }
        if self.seen.contains(path) || self.deleted.contains(path) {
            return Decision::Hidden;
        }
        for a in ancestors(path) {
            if self.deleted.contains(a) || self.opaque.contains(a) || self.seen_nondir.contains(a) {
                return Decision::Hidden;
            }
        }
        if !dir.is_empty() && self.opaque.contains(dir) {
            return Decision::Hidden;
        }
        self.cur_seen.push((path.to_string(), is_dir));
        Decision::Emit
    }

    /// Makes the finished layer's writes and whiteouts apply to the layers below it.
    pub fn end_layer(&mut self) {
        for (p, is_dir) in self.cur_seen.drain(..) {
            if !is_dir {
                self.seen_nondir.insert(p.clone());
            }
            self.seen.insert(p);
        }
        self.deleted.extend(self.cur_deleted.drain(..));
        self.opaque.extend(self.cur_opaque.drain(..));
    }
}

#[derive(Deserialize)]
struct DockerManifest {
    #[serde(rename = "Config")]
    config: Option<String>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct OciIndex {
    #[serde(default)]
    manifests: Vec<OciDescriptor>,
}

#[derive(Deserialize)]
struct OciManifest {
    config: Option<OciDescriptor>,
    #[serde(default)]
    layers: Vec<OciDescriptor>,
    #[serde(default)]
    manifests: Vec<OciDescriptor>,
}

#[derive(Deserialize, Clone)]
struct OciDescriptor {
    digest: String,
}

/// (data offset, size) of a member of the outer tar.
type Index = HashMap<String, (u64, u64)>;

/// One image found in the tarball: its config member and its layers bottom-up.
struct ImagePlan {
    config: Option<String>,
    layers: Vec<(String, String)>, // (layer id, member name)
}

const MAX_JSON: u64 = 16 * 1024 * 1024;

impl Walker<'_> {
    /// A top-level tar file: an image when it carries manifest.json or an OCI layout, else a plain tar.
    pub(crate) fn top_tar(&mut self, name: &str, mut file: File, info: &EntryInfo) -> Flow {
        let index = match index_tar(&mut file, self.budget.limits.max_entries) {
            Ok(ix) => ix,
            Err(e) => {
                // Unreadable as an index: walk it as a stream, which reports where it breaks.
                tracing::debug!(error = %e, "tar index failed; streaming");
                None
            }
        };
        let plans = match &index {
            Some(ix) => self.image_plans(name, &mut file, ix),
            None => Vec::new(),
        };
        if let (Some(ix), false) = (&index, plans.is_empty()) {
            let format = if ix.contains_key("oci-layout") {
                Format::OciLayout
            } else {
                Format::DockerArchive
            };
            let mut img_info = info.clone();
            img_info.format = format;
            self.visitor.container(&img_info);
            return self.walk_image(name, &mut file, ix, &plans);
        }
        if file.seek(SeekFrom::Start(0)).is_err() {
            self.issue(name, UnscannableReason::Corrupt, "cannot rewind tar".into());
            return Ok(());
        }
        self.visitor.container(info);
        let mut r = BufReader::with_capacity(256 * 1024, file);
        self.tar(name, 0, &mut r, None)
    }

    fn image_plans(&mut self, name: &str, file: &mut File, ix: &Index) -> Vec<ImagePlan> {
        let mut plans = Vec::new();
        if let Some(bytes) = read_member(file, ix, "manifest.json")
            && let Ok(manifests) = serde_json::from_slice::<Vec<DockerManifest>>(&bytes)
        {
            for m in manifests {
                let layers: Vec<(String, String)> = m
                    .layers
                    .iter()
                    .map(|l| {
                        let (norm, _) = normalize_name(l);
                        (layer_id(&norm), norm)
                    })
                    .collect();
                if layers.iter().all(|(_, member)| ix.contains_key(member)) {
                    plans.push(ImagePlan {
                        config: m.config.map(|c| normalize_name(&c).0),
                        layers,
                    });
                } else {
                    self.issue(
                        name,
                        UnscannableReason::Corrupt,
                        "manifest.json names layers that are not in the tarball".into(),
                    );
                }
            }
            if !plans.is_empty() {
                return plans;
            }
        }
        if ix.contains_key("oci-layout")
            && let Some(bytes) = read_member(file, ix, "index.json")
            && let Ok(index) = serde_json::from_slice::<OciIndex>(&bytes)
        {
            let mut queue: Vec<(OciDescriptor, u32)> =
                index.manifests.into_iter().map(|d| (d, 0)).collect();
            while let Some((desc, level)) = queue.pop() {
                if level > 4 {
                    continue;
                }
                let Some(member) = blob_member(&desc.digest) else {
                    continue;
                };
                let Some(bytes) = read_member(file, ix, &member) else {
                    continue;
                };
                let Ok(m) = serde_json::from_slice::<OciManifest>(&bytes) else {
                    continue;
                };
                if !m.manifests.is_empty() {
                    queue.extend(m.manifests.into_iter().map(|d| (d, level + 1)));
                    continue;
                }
                let layers: Vec<(String, String)> = m
                    .layers
                    .iter()
                    .filter_map(|l| blob_member(&l.digest).map(|member| (l.digest.clone(), member)))
                    .collect();
                if !layers.is_empty() && layers.iter().all(|(_, member)| ix.contains_key(member)) {
                    plans.push(ImagePlan {
                        config: m.config.and_then(|c| blob_member(&c.digest)),
                        layers,
                    });
                }
            }
        }
        plans
    }

    fn walk_image(&mut self, name: &str, file: &mut File, ix: &Index, plans: &[ImagePlan]) -> Flow {
        for plan in plans {
            // The image config (env, history) is a file like any other: secrets in ENV are real findings.
            if let Some(cfg) = &plan.config
                && let Some(&(off, size)) = ix.get(cfg)
            {
                let mut r = match section(file, off, size) {
                    Ok(r) => r,
                    Err(e) => return self.fail(name, &e),
                };
                self.entry(
                    name,
                    cfg,
                    EntryKind::File,
                    Some(size),
                    None,
                    1,
                    UnscannableReason::Corrupt,
                    &mut r,
                )?;
            }
            self.image_filter = Some(LayerFilter::default());
            for (layer_id, member) in plan.layers.iter().rev() {
                let Some(&(off, size)) = ix.get(member) else {
                    continue;
                };
                let mut r = match section(file, off, size) {
                    Ok(r) => r,
                    Err(e) => return self.fail(name, &e),
                };
                if let Err(e) = self.budget.count_entry() {
                    return self.fail(name, &e);
                }
                self.pending_layer = Some(layer_id.clone());
                let layer_path = name.to_string();
                let flow = self.stream(
                    &layer_path,
                    member,
                    Some(size),
                    Some(layer_id),
                    1,
                    true,
                    &mut r,
                );
                if self.pending_layer.take().is_some() {
                    // The layer did not contain a tar: say so, it was not scanned as a filesystem.
                    self.issue(
                        &format!("{name}!/{member}"),
                        UnscannableReason::UnsupportedFormat,
                        "image layer is not a (compressed) tar".into(),
                    );
                }
                if let Some(f) = self.image_filter.as_mut() {
                    f.end_layer();
                }
                flow?;
            }
            self.image_filter = None;
        }
        Ok(())
    }
}

/// `blobs/sha256/<hex>` for a `sha256:<hex>` digest (hex checked: untrusted).
fn blob_member(digest: &str) -> Option<String> {
    let (alg, hex) = digest.split_once(':')?;
    let ok = matches!(alg, "sha256" | "sha512")
        && !hex.is_empty()
        && hex.len() <= 128
        && hex.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| format!("blobs/{alg}/{hex}"))
}

/// A readable id for a docker-save layer member (`<id>/layer.tar` → `<id>`; `blobs/sha256/x` → `sha256:x`).
fn layer_id(member: &str) -> String {
    if let Some(hex) = member.strip_prefix("blobs/sha256/") {
        return format!("sha256:{hex}");
    }
    member
        .strip_suffix("/layer.tar")
        .unwrap_or(member)
        .to_string()
}

fn section(file: &mut File, off: u64, size: u64) -> std::io::Result<impl Read + use<>> {
    let mut f = file.try_clone()?;
    f.seek(SeekFrom::Start(off))?;
    Ok(BufReader::with_capacity(256 * 1024, f).take(size))
}

fn read_member(file: &mut File, ix: &Index, name: &str) -> Option<Vec<u8>> {
    let &(off, size) = ix.get(name)?;
    if size > MAX_JSON {
        return None;
    }
    let mut r = section(file, off, size).ok()?;
    let mut buf = Vec::with_capacity(size as usize);
    r.read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// Lists the members of a seekable tar (names → data offset and size) without reading their data.
fn index_tar(file: &mut File, max_entries: u64) -> std::io::Result<Option<Index>> {
    file.seek(SeekFrom::Start(0))?;
    let mut archive = tar::Archive::new(BufReader::new(&*file));
    let mut ix = Index::new();
    let mut has_marker = false;
    for (n, item) in archive.entries_with_seek()?.enumerate() {
        if n as u64 > max_entries {
            return Err(LimitHit::io(
                UnscannableReason::TooManyEntries,
                "tar index".into(),
            ));
        }
        let e = item?;
        if !(e.header().entry_type().is_file()) {
            continue;
        }
        let (norm, _) = normalize_name(&String::from_utf8_lossy(&e.path_bytes()));
        if norm == "manifest.json" || norm == "oci-layout" {
            has_marker = true;
        }
        ix.insert(norm, (e.raw_file_position(), e.size()));
    }
    Ok(has_marker.then_some(ix))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn whiteouts_hide_lower_layers() {
        let mut f = LayerFilter::default();
        // top layer
        assert_eq!(f.decide("etc/.wh.secret", false), Decision::Whiteout);
        assert_eq!(f.decide("opt/app/.wh..wh..opq", false), Decision::Whiteout);
        assert_eq!(f.decide("bin/sh", false), Decision::Emit);
        f.end_layer();
        // lower layer
        assert_eq!(f.decide("etc/secret", false), Decision::Hidden);
        assert_eq!(f.decide("etc/other", false), Decision::Emit);
        assert_eq!(f.decide("opt/app/old.jar", false), Decision::Hidden);
        assert_eq!(f.decide("opt/app", true), Decision::Emit);
        assert_eq!(f.decide("bin/sh", false), Decision::Hidden);
        assert_eq!(f.decide("bin/sh/x", false), Decision::Hidden);
    }

    #[test]
    fn digests_are_checked() {
        assert_eq!(
            blob_member("sha256:abc123").as_deref(),
            Some("blobs/sha256/abc123")
        );
        assert_eq!(blob_member("sha256:../../etc"), None);
        assert_eq!(blob_member("md5:abc"), None);
    }
}
