//! Maven ordering, a port of `ComparableVersion`: tokens split on `.`, `-` and digit/letter transitions
//! (a transition or `-` opens a sub-list), numbers compared as unbounded integers, qualifiers ordered
//! `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp < unknown (lexical)`,
//! `a1`/`b1`/`m1` meaning alpha/beta/milestone, and trailing null items (`0`, `""`, empty lists) dropped.

use std::cmp::Ordering;

use super::cmp_digits;

/// One item of a parsed Maven version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A number (digits, leading zeros stripped).
    Int(String),
    /// A qualifier (lowercase, aliases applied).
    Str(String),
    /// A sub-list (after `-` or a digit/letter transition).
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

/// Maven's `comparableQualifier` (`"<index>"` for known qualifiers, `"7-<q>"` for others) as a tuple that
/// orders the same way without allocating.
fn comparable_qualifier(q: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => (i, ""),
        None => (QUALIFIERS.len(), q),
    }
}

fn string_item(s: &str, followed_by_digit: bool) -> Item {
    let s = if followed_by_digit && s.len() == 1 {
        match s {
            "a" => "alpha",
            "b" => "beta",
            "m" => "milestone",
            other => other,
        }
    } else {
        s
    };
    let s = match s {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Str(s.to_string())
}

fn int_item(s: &str) -> Item {
    let t = s.trim_start_matches('0');
    Item::Int(if t.is_empty() {
        "0".to_string()
    } else {
        t.to_string()
    })
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(n) => n == "0",
            Item::Str(s) => s.is_empty(),
            Item::List(l) => l.is_empty(),
        }
    }

    /// Compares with another item; `None` is the null item (padding).
    fn compare(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(n), None) => {
                if n == "0" {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Int(a), Some(Item::Int(b))) => cmp_digits(a, b),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Str(s), None) => comparable_qualifier(s).cmp(&comparable_qualifier("")),
            (Item::Str(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::Str(a), Some(Item::Str(b))) => {
                comparable_qualifier(a).cmp(&comparable_qualifier(b))
            }
            (Item::Str(_), Some(Item::List(_))) => Ordering::Less,
            (Item::List(l), None) => l
                .iter()
                .map(|i| i.compare(None))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal),
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Str(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => compare_lists(a, b),
        }
    }
}

fn compare_lists(a: &[Item], b: &[Item]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let o = match (a.get(i), b.get(i)) {
            (None, None) => Ordering::Equal,
            (None, Some(r)) => r.compare(None).reverse(),
            (Some(l), r) => l.compare(r),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// A parsed Maven version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MavenVersion {
    /// The top-level list.
    pub items: Vec<Item>,
}

fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// Builds the nested lists: `stack` holds the open lists, innermost last.
struct Builder {
    stack: Vec<Vec<Item>>,
}

impl Builder {
    fn add(&mut self, item: Item) {
        if let Some(top) = self.stack.last_mut() {
            top.push(item);
        }
    }
    fn open(&mut self) {
        self.stack.push(Vec::new());
    }
    fn finish(mut self) -> Vec<Item> {
        while let Some(mut top) = self.stack.pop() {
            normalize(&mut top);
            // A sub-list left holding only another list (`1-ga-1` → `1-[[1]]`) is that list (`1-1`).
            if top.len() == 1
                && !self.stack.is_empty()
                && let Some(Item::List(inner)) = top.first_mut()
            {
                top = std::mem::take(inner);
            }
            match self.stack.last_mut() {
                Some(parent) => parent.push(Item::List(top)),
                None => return top,
            }
        }
        Vec::new()
    }
}

impl MavenVersion {
    /// Parses any string.
    pub fn parse(s: &str) -> MavenVersion {
        let v = s.trim().to_lowercase();
        let chars: Vec<(usize, char)> = v.char_indices().collect();
        let mut b = Builder {
            stack: vec![Vec::new()],
        };
        let mut is_digit = false;
        let mut start = 0usize;
        let parse_item = |digit: bool, buf: &str| {
            if digit {
                int_item(buf)
            } else {
                string_item(buf, false)
            }
        };
        // Lists are nested: a new list is pushed as the last element of the current one. We keep the open
        // lists on a stack and attach each to its parent when it is closed (at the end), which yields the
        // same tree because nothing is appended to a parent after a child list is opened.
        for &(i, c) in &chars {
            if c == '.' {
                if i == start {
                    b.add(Item::Int("0".to_string()));
                } else {
                    b.add(parse_item(is_digit, &v[start..i]));
                }
                start = i + 1;
            } else if c == '-' {
                if i == start {
                    b.add(Item::Int("0".to_string()));
                } else {
                    b.add(parse_item(is_digit, &v[start..i]));
                }
                start = i + 1;
                b.open();
            } else if c.is_ascii_digit() {
                if !is_digit && i > start {
                    b.add(string_item(&v[start..i], true));
                    start = i;
                    b.open();
                }
                is_digit = true;
            } else {
                if is_digit && i > start {
                    b.add(parse_item(true, &v[start..i]));
                    start = i;
                    b.open();
                }
                is_digit = false;
            }
        }
        if v.len() > start {
            b.add(parse_item(is_digit, &v[start..]));
        }
        MavenVersion { items: b.finish() }
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_lists(&self.items, &other.items)
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two Maven versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    MavenVersion::parse(a).cmp(&MavenVersion::parse(b))
}
