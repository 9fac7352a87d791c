//! Format detection by content (magic numbers), never by file name.

use crate::model::Format;

/// How many leading bytes [`sniff`] wants to see (tar's magic sits at offset 257; text needs a sample).
pub const SNIFF_LEN: usize = 8192;

/// Detects the format of a stream from its first bytes (`head` may be shorter than [`SNIFF_LEN`] when the
/// stream is shorter).
pub fn sniff(head: &[u8]) -> Format {
    if head.is_empty() {
        return Format::Empty;
    }
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
        return Format::Zip;
    }
    if starts(&[0x1f, 0x8b]) {
        return Format::Gzip;
    }
    if head.len() >= 4 && starts(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
        return Format::Bzip2;
    }
    if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        return Format::Xz;
    }
    if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Format::Zstd;
    }
    if starts(b"!<arch>\n") {
        return Format::Ar;
    }
    if starts(&[0xed, 0xab, 0xee, 0xdb]) {
        return Format::Rpm;
    }
    if starts(b"070701") || starts(b"070702") || starts(b"070707") {
        return Format::Cpio;
    }
    if is_tar_header(head) {
        return Format::Tar;
    }
    if starts(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]) {
        return Format::SevenZip;
    }
    if starts(b"Rar!\x1a\x07") {
        return Format::Rar;
    }
    if starts(b"\x7fELF") {
        return Format::Elf;
    }
    if starts(b"MZ") && is_pe(head) {
        return Format::Pe;
    }
    if starts(&[0xfe, 0xed, 0xfa, 0xce])
        || starts(&[0xfe, 0xed, 0xfa, 0xcf])
        || starts(&[0xce, 0xfa, 0xed, 0xfe])
        || starts(&[0xcf, 0xfa, 0xed, 0xfe])
    {
        return Format::MachO;
    }
    if starts(&[0xca, 0xfe, 0xba, 0xbe]) && head.len() >= 8 {
        // Fat Mach-O has a small architecture count here; a Java class file has its version (≥ 45).
        let n = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        return if n < 20 {
            Format::MachO
        } else {
            Format::Binary
        };
    }
    if starts(b"\0asm") {
        return Format::Wasm;
    }
    if starts(b"%PDF-") {
        return Format::Pdf;
    }
    if is_text(head) {
        let first = head
            .iter()
            .copied()
            .find(|b| !b.is_ascii_whitespace() && *b != 0xef && *b != 0xbb && *b != 0xbf);
        return match first {
            Some(b'{') | Some(b'[') => Format::Json,
            _ => Format::Text,
        };
    }
    Format::Binary
}

/// A 512-byte block with `ustar` magic, or an old v7 header whose checksum is right.
fn is_tar_header(head: &[u8]) -> bool {
    if head.len() < 512 {
        return false;
    }
    if &head[257..262] == b"ustar" {
        return true;
    }
    // v7 tar: verify the header checksum (sum of bytes with the checksum field as spaces).
    let field = &head[148..156];
    let digits: String = field
        .iter()
        .take_while(|&&b| b != 0 && b != b' ')
        .map(|&b| b as char)
        .collect();
    let Ok(stored) = u32::from_str_radix(digits.trim(), 8) else {
        return false;
    };
    if head[..100].iter().all(|&b| b == 0) {
        return false;
    }
    let sum: u32 = head[..512]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                b as u32
            }
        })
        .sum();
    sum == stored
}

fn is_pe(head: &[u8]) -> bool {
    if head.len() < 0x40 {
        return false;
    }
    let off = u32::from_le_bytes([head[0x3c], head[0x3d], head[0x3e], head[0x3f]]) as usize;
    match head.get(off..off + 4) {
        Some(sig) => sig == b"PE\0\0",
        // PE header beyond the sniff window: accept the MZ stub if it is not text.
        None => !is_text(head),
    }
}

/// No NUL bytes and valid UTF-8 (a multi-byte character cut at the end of the sample is fine).
fn is_text(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && e.valid_up_to() + 4 > head.len(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(sniff(b""), Format::Empty);
        assert_eq!(sniff(b"PK\x03\x04rest"), Format::Zip);
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Format::Gzip);
        assert_eq!(sniff(b"BZh91AY"), Format::Bzip2);
        assert_eq!(sniff(b"BZhx"), Format::Text);
        assert_eq!(sniff(&[0xfd, b'7', b'z', b'X', b'Z', 0]), Format::Xz);
        assert_eq!(sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Format::Zstd);
        assert_eq!(sniff(b"!<arch>\ndebian-binary"), Format::Ar);
        assert_eq!(sniff(&[0xed, 0xab, 0xee, 0xdb, 3, 0]), Format::Rpm);
        assert_eq!(sniff(b"07070100000001"), Format::Cpio);
        assert_eq!(sniff(b"\x7fELF\x02\x01"), Format::Elf);
        assert_eq!(sniff(b"\0asm\x01\0\0\0"), Format::Wasm);
        assert_eq!(sniff(b"%PDF-1.7"), Format::Pdf);
        assert_eq!(sniff(b"  {\"a\": 1}"), Format::Json);
        assert_eq!(sniff(b"hello world\n"), Format::Text);
        assert_eq!(
            sniff(&[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 52]),
            Format::Binary
        );
        assert_eq!(sniff(&[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2]), Format::MachO);
        assert_eq!(sniff(&[0x00, 0xff, 0x10]), Format::Binary);
    }

    #[test]
    fn tar_by_magic_and_by_checksum() {
        let mut h = tar::Header::new_gnu();
        h.set_path("a.txt").unwrap();
        h.set_size(0);
        h.set_cksum();
        let mut block = h.as_bytes().to_vec();
        assert_eq!(sniff(&block), Format::Tar);
        // v7 header: no magic, valid checksum
        let mut v7 = tar::Header::new_old();
        v7.set_path("b.txt").unwrap();
        v7.set_size(0);
        v7.set_cksum();
        assert_eq!(sniff(v7.as_bytes()), Format::Tar);
        block[0] ^= 1; // breaks nothing for ustar magic
        assert_eq!(sniff(&block), Format::Tar);
    }

    #[test]
    fn text_cut_mid_character_is_still_text() {
        let s = "héllo".as_bytes();
        assert_eq!(sniff(&s[..2]), Format::Text);
    }
}
