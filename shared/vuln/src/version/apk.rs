//! Alpine apk ordering, as apk-tools does it: `number{.number}…{letter}{_suffix{number}}…{~hash}{-r#}`;
//! pre-release suffixes (`alpha < beta < pre < rc`) sort before the bare version, post-release ones
//! (`cvs < svn < git < hg < p`) after; leading zeros of a non-first component compare as a fraction.

use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    Invalid = -1,
    DigitOrZero = 0,
    Digit = 1,
    Letter = 2,
    Suffix = 3,
    SuffixNo = 4,
    RevisionNo = 5,
    End = 6,
}

const PRE_SUFFIXES: [&[u8]; 4] = [b"alpha", b"beta", b"pre", b"rc"];
const POST_SUFFIXES: [&[u8]; 5] = [b"cvs", b"svn", b"git", b"hg", b"p"];

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &[u8] {
        self.s.get(self.pos..).unwrap_or(&[])
    }

    fn next_token(&mut self, t: &mut Tok) {
        let rest = self.rest();
        let mut n = Tok::Invalid;
        match rest.first().copied() {
            None | Some(0) => n = Tok::End,
            Some(c) if matches!(*t, Tok::Digit | Tok::DigitOrZero) && c.is_ascii_lowercase() => {
                n = Tok::Letter
            }
            Some(c) if *t == Tok::Letter && c.is_ascii_digit() => n = Tok::Digit,
            Some(c) if *t == Tok::Suffix && c.is_ascii_digit() => n = Tok::SuffixNo,
            Some(c) => {
                match c {
                    b'.' => n = Tok::DigitOrZero,
                    b'_' => n = Tok::Suffix,
                    // `-r` starts the revision; `-r` followed by letters (`-ruff`) is not one.
                    b'-' if rest.get(1) == Some(&b'r')
                        && !rest.get(2).is_some_and(u8::is_ascii_alphabetic) =>
                    {
                        n = Tok::RevisionNo;
                        self.pos += 1;
                    }
                    _ => {}
                }
                self.pos += 1;
            }
        }
        if n < *t
            && !((n == Tok::DigitOrZero && *t == Tok::Digit)
                || (n == Tok::Suffix && *t == Tok::SuffixNo)
                || (n == Tok::Digit && *t == Tok::Letter))
        {
            n = Tok::Invalid;
        }
        *t = n;
    }

    /// Reads one token of type `t`; returns its value (i128, saturating) and advances `t`.
    fn get_token(&mut self, t: &mut Tok) -> i128 {
        let rest = self.rest();
        if rest.is_empty() {
            *t = Tok::End;
            return 0;
        }
        let mut v: i128 = 0;
        let mut i = 0usize;
        let mut nt = Tok::Invalid;
        let mut numeric = false;
        match *t {
            Tok::DigitOrZero if rest[0] == b'0' => {
                while i < rest.len() && rest[i] == b'0' {
                    i += 1;
                }
                nt = Tok::Digit;
                v = -(i as i128);
            }
            Tok::DigitOrZero | Tok::Digit | Tok::SuffixNo | Tok::RevisionNo => numeric = true,
            Tok::Letter => {
                v = i128::from(rest[0]);
                i = 1;
            }
            Tok::Suffix => {
                if let Some(k) = PRE_SUFFIXES.iter().position(|p| rest.starts_with(p)) {
                    i = PRE_SUFFIXES[k].len();
                    v = k as i128 - PRE_SUFFIXES.len() as i128;
                } else if let Some(k) = POST_SUFFIXES.iter().position(|p| rest.starts_with(p)) {
                    i = POST_SUFFIXES[k].len();
                    v = k as i128;
                } else {
                    *t = Tok::Invalid;
                    return -1;
                }
            }
            _ => {
                *t = Tok::Invalid;
                return -1;
            }
        }
        if numeric {
            while i < rest.len() && rest[i].is_ascii_digit() {
                v = v
                    .saturating_mul(10)
                    .saturating_add(i128::from(rest[i] - b'0'));
                i += 1;
            }
        }
        self.pos += i;
        if self.rest().is_empty() {
            *t = Tok::End;
        } else if nt != Tok::Invalid {
            *t = nt;
        } else {
            self.next_token(t);
        }
        v
    }
}

/// A parsed apk version (the comparison walks the string token by token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApkVersion<'a> {
    /// The version as written.
    pub raw: &'a str,
}

impl<'a> ApkVersion<'a> {
    /// Wraps a version string (never fails: invalid tails compare as apk-tools does).
    pub fn parse(s: &'a str) -> ApkVersion<'a> {
        ApkVersion { raw: s.trim() }
    }
}

impl Ord for ApkVersion<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let mut a = Cursor {
            s: self.raw.as_bytes(),
            pos: 0,
        };
        let mut b = Cursor {
            s: other.raw.as_bytes(),
            pos: 0,
        };
        let (mut at, mut bt) = (Tok::Digit, Tok::Digit);
        let (mut av, mut bv) = (0i128, 0i128);
        while at == bt && at != Tok::End && at != Tok::Invalid && av == bv {
            av = a.get_token(&mut at);
            bv = b.get_token(&mut bt);
        }
        match av.cmp(&bv) {
            Ordering::Equal => {}
            o => return o,
        }
        if at == bt {
            return Ordering::Equal;
        }
        // An invalid tail sorts before anything valid; so does a `.` not followed by a digit.
        let dangling = |t: Tok, c: &Cursor<'_>| {
            t == Tok::DigitOrZero && !c.rest().first().is_some_and(u8::is_ascii_digit)
        };
        let at = if dangling(at, &a) { Tok::Invalid } else { at };
        let bt = if dangling(bt, &b) { Tok::Invalid } else { bt };
        if at == bt {
            return Ordering::Equal;
        }
        if at == Tok::Invalid {
            return Ordering::Less;
        }
        if bt == Tok::Invalid {
            return Ordering::Greater;
        }
        let mut tt = at;
        if at == Tok::Suffix && a.get_token(&mut tt) < 0 {
            return Ordering::Less;
        }
        let mut tt = bt;
        if bt == Tok::Suffix && b.get_token(&mut tt) < 0 {
            return Ordering::Greater;
        }
        if at > bt {
            return Ordering::Less;
        }
        if bt > at {
            return Ordering::Greater;
        }
        Ordering::Equal
    }
}

impl PartialOrd for ApkVersion<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two apk versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    ApkVersion::parse(a).cmp(&ApkVersion::parse(b))
}
