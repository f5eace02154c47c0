//! The configuration file, `piscan.toml`: kinds not reported, per-kind
//! minimum confidence, excluded paths and allowlisted values.
//!
//! ```toml
//! [kinds]
//! disable = ["ipv4", "mac_address"]
//! [kinds.min_confidence]
//! cn_mobile = "high"
//! [paths]
//! exclude = ["fixtures/**", "*.min.js"]
//! [allowlist]
//! sha256 = ["<hex sha256 of a value>"]
//! regex = ["^11010519491231002X$"]
//! ```
//!
//! Every error names the file and the line (`piscan.toml:3: unknown kind
//! "ipv5" in kinds.disable`). The allowlist is matched in
//! [`Filter::is_allowlisted`] against a value both as found in the file and
//! in its canonical form ([`mask::canonical`]).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io;
use std::path::Path;

use regex::RegexSet;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::detect::context::KindSet;
use crate::detect::{Confidence, Kind};
use crate::report::mask;

/// The file looked for in the current directory when `--config` is not given.
pub const FILE_NAME: &str = "piscan.toml";

/// What a configuration file says.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Which findings are not reported.
    pub filter: Filter,
    /// Gitignore-style globs added to `--exclude`.
    pub excludes: Vec<String>,
}

/// Which findings are never reported: disabled kinds, findings below their
/// kind's minimum confidence and allowlisted values. The default reports
/// everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    disabled: KindSet,
    /// Per kind, by `Kind as usize`; `Medium` (the lowest) drops nothing.
    min_confidence: [Confidence; Kind::ALL.len()],
    /// SHA-256 digests of allowlisted values.
    sha256: HashSet<[u8; 32]>,
    /// Allowlisted values' patterns; `None` when there are none.
    regex: Option<RegexSet>,
}

impl Filter {
    /// Whether a match of `kind` with `confidence` may be reported: its kind
    /// is not disabled and the confidence reaches the kind's minimum.
    #[inline]
    pub fn admits(&self, kind: Kind, confidence: Confidence) -> bool {
        !self.disabled.contains(kind) && confidence >= self.min_confidence[kind as usize]
    }

    /// Whether `value`, found as `kind`, is allowlisted: its SHA-256, or
    /// that of its canonical form, is listed, or a listed regex matches it
    /// or its canonical form.
    pub fn is_allowlisted(&self, kind: Kind, value: &str) -> bool {
        if self.sha256.is_empty() && self.regex.is_none() {
            return false;
        }
        let canonical = mask::canonical(kind, value);
        let forms: &[&str] = if canonical == value {
            &[value]
        } else {
            &[value, &canonical]
        };
        forms.iter().any(|form| {
            (!self.sha256.is_empty()
                && self
                    .sha256
                    .contains(&<[u8; 32]>::from(Sha256::digest(form.as_bytes()))))
                || self.regex.as_ref().is_some_and(|set| set.is_match(form))
        })
    }
}

/// A configuration error: the file, the line when known, and what is wrong.
/// Displayed as `piscan.toml:3: unknown kind "ipv5" in kinds.disable`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The file as named to [`load`] or [`parse`].
    pub file: String,
    /// 1-based line of the offending key or value.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Reads the settings from `explicit` (which must exist) or, without it,
/// from `piscan.toml` in the current directory when there is one. No file
/// means default settings.
pub fn load(explicit: Option<&Path>) -> Result<Settings, Error> {
    let path = explicit.unwrap_or(Path::new(FILE_NAME));
    let file = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| Error {
            file: file.clone(),
            line: None,
            message: "not valid UTF-8".to_string(),
        })?,
        Err(err) if err.kind() == io::ErrorKind::NotFound && explicit.is_none() => {
            return Ok(Settings::default())
        }
        Err(err) => {
            return Err(Error {
                file,
                line: None,
                message: format!("cannot read: {}", crate::source::io_message(&err)),
            })
        }
    };
    parse(&text, &file)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawSettings {
    #[serde(default)]
    kinds: RawKinds,
    #[serde(default)]
    paths: RawPaths,
    #[serde(default)]
    allowlist: RawAllowlist,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawKinds {
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    min_confidence: BTreeMap<Spanned<String>, Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawPaths {
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawAllowlist {
    #[serde(default)]
    sha256: Vec<Spanned<String>>,
    #[serde(default)]
    regex: Vec<Spanned<String>>,
}

/// Parses the text of a configuration file; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Settings, Error> {
    let error = |offset: Option<usize>, message: String| Error {
        file: file.to_string(),
        line: offset.map(|o| line_of(text, o)),
        message,
    };
    let at = |s: &Spanned<String>, message: String| error(Some(s.span().start), message);
    let raw: RawSettings = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start);
        let mut message = one_line(&e.message());
        if let Some(key) = offset.and_then(|o| key_at(text, o)) {
            message = format!("{message} (at {key})");
        }
        error(offset, message)
    })?;

    let mut filter = Filter::default();
    let kind = |name: &Spanned<String>, key: &str| {
        Kind::from_id(name.get_ref())
            .ok_or_else(|| at(name, format!("unknown kind {:?} in {key}", name.get_ref())))
    };
    for name in &raw.kinds.disable {
        filter.disabled.insert(kind(name, "kinds.disable")?);
    }
    for (name, level) in &raw.kinds.min_confidence {
        let k = kind(name, "kinds.min_confidence")?;
        filter.min_confidence[k as usize] = match level.get_ref().as_str() {
            "high" => Confidence::High,
            "medium" => Confidence::Medium,
            other => {
                return Err(at(
                    level,
                    format!(
                        "invalid confidence {other:?} for kinds.min_confidence.{} \
                         (expected \"high\" or \"medium\")",
                        name.get_ref()
                    ),
                ))
            }
        };
    }

    for hex in &raw.allowlist.sha256 {
        let digest = parse_sha256(hex.get_ref()).ok_or_else(|| {
            at(
                hex,
                format!(
                    "invalid SHA-256 in allowlist.sha256: {:?} (expected 64 hex digits)",
                    hex.get_ref()
                ),
            )
        })?;
        filter.sha256.insert(digest);
    }
    for pattern in &raw.allowlist.regex {
        if let Err(err) = regex::Regex::new(pattern.get_ref()) {
            return Err(at(
                pattern,
                format!("invalid regex in allowlist.regex: {}", one_line(&err)),
            ));
        }
    }
    if !raw.allowlist.regex.is_empty() {
        let set = RegexSet::new(raw.allowlist.regex.iter().map(|p| p.get_ref()))
            .map_err(|err| error(None, format!("allowlist.regex: {}", one_line(&err))))?;
        filter.regex = Some(set);
    }

    // Check the globs here, where their line is known; the walker would
    // only say that one of them is bad.
    let mut globs = ignore::overrides::OverrideBuilder::new(".");
    for glob in &raw.paths.exclude {
        if let Err(err) = globs.add(&format!("!{}", glob.get_ref())) {
            return Err(at(glob, format!("invalid glob in paths.exclude: {err}")));
        }
    }
    let excludes = raw
        .paths
        .exclude
        .into_iter()
        .map(Spanned::into_inner)
        .collect();
    Ok(Settings { filter, excludes })
}

/// The dotted key (`kinds.disable`) whose key or value holds byte `offset`
/// of the document, the deepest one; `None` when the text does not parse.
fn key_at(text: &str, offset: usize) -> Option<String> {
    fn find(table: &toml::de::DeTable<'_>, offset: usize, path: &mut Vec<String>) -> bool {
        for (key, value) in table.iter() {
            path.push(key.get_ref().to_string());
            if let toml::de::DeValue::Table(inner) = value.get_ref() {
                if find(inner, offset, path) {
                    return true;
                }
            }
            if key.span().contains(&offset) || value.span().contains(&offset) {
                return true;
            }
            path.pop();
        }
        false
    }
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    find(doc.get_ref(), offset, &mut path).then(|| path.join("."))
}

/// 32 bytes from 64 hex digits (either case).
fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let digit = |b: u8| (b as char).to_digit(16);
        *byte = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// An error message on one line (regex errors draw a caret under the
/// pattern on several lines).
fn one_line(err: &impl fmt::Display) -> String {
    let text = err.to_string();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The 1-based line holding byte `offset` of `text` (the last line when
/// the offset is past the end).
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Error {
        parse(text, "piscan.toml").expect_err("invalid")
    }

    #[test]
    fn line_of_offsets() {
        let text = "a = 1\nb = 2\r\n\nc = 3";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, 4), 1);
        assert_eq!(line_of(text, 5), 1, "the newline ends its own line");
        assert_eq!(line_of(text, 6), 2);
        assert_eq!(line_of(text, 11), 2, "\\r\\n counts once");
        assert_eq!(line_of(text, 13), 3);
        assert_eq!(line_of(text, 14), 4);
        assert_eq!(line_of(text, text.len()), 4);
        assert_eq!(line_of(text, 10_000), 4, "past the end: last line");
        assert_eq!(line_of("", 0), 1);
        assert_eq!(line_of("身份\n证", 7), 2, "byte offsets, not chars");
    }

    #[test]
    fn empty_file_is_default() {
        let s = parse("", "piscan.toml").unwrap();
        assert!(s.excludes.is_empty());
        for kind in Kind::ALL {
            assert!(s.filter.admits(kind, Confidence::Medium));
            assert!(!s.filter.is_allowlisted(kind, "13812345678"));
        }
    }

    #[test]
    fn full_example() {
        let s = parse(
            r#"
[kinds]
disable = ["ipv4", "mac_address"]
[kinds.min_confidence]
cn_mobile = "high"
[paths]
exclude = ["fixtures/**", "*.min.js"]
[allowlist]
sha256 = ["C1DF1DE2E5F2C0F1B1F5C2DDB6CBE6E8F7D3E8F1C1B2E0E1C8F2A8C2B3E5D6F7"]
regex = ["^11010519491231002X$"]
"#,
            "piscan.toml",
        )
        .unwrap();
        assert!(!s.filter.admits(Kind::Ipv4, Confidence::High));
        assert!(!s.filter.admits(Kind::MacAddress, Confidence::High));
        assert!(!s.filter.admits(Kind::Mobile, Confidence::Medium));
        assert!(s.filter.admits(Kind::Mobile, Confidence::High));
        assert!(s.filter.admits(Kind::BankCard, Confidence::Medium));
        assert_eq!(s.excludes, ["fixtures/**", "*.min.js"]);
        assert!(s
            .filter
            .is_allowlisted(Kind::ResidentId, "11010519491231002X"));
        // The canonical form (upper case) matches too.
        assert!(s
            .filter
            .is_allowlisted(Kind::ResidentId, "11010519491231002x"));
        assert!(!s
            .filter
            .is_allowlisted(Kind::ResidentId, "110105194912310029"));
    }

    #[test]
    fn sha256_of_value_and_of_canonical_form() {
        let hex = |v: &str| {
            Sha256::digest(v.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let text = format!(
            "[allowlist]\nsha256 = [\"{}\", \"{}\"]\n",
            hex("13812345678"),
            hex("6222 0212 9837 4658").to_uppercase()
        );
        let f = parse(&text, "piscan.toml").unwrap().filter;
        assert!(f.is_allowlisted(Kind::Mobile, "13812345678"));
        assert!(f.is_allowlisted(Kind::Mobile, "138 1234 5678"));
        assert!(f.is_allowlisted(Kind::Mobile, "+86-138-1234-5678"));
        assert!(!f.is_allowlisted(Kind::Mobile, "13812345679"));
        // As found, grouped; its canonical form is not listed.
        assert!(f.is_allowlisted(Kind::BankCard, "6222 0212 9837 4658"));
        assert!(!f.is_allowlisted(Kind::BankCard, "6222021298374658"));
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = err("[kinds]\n\ndisable = [\"ipv4\",\n  \"ipv5\"]\n");
        assert_eq!(e.line, Some(4));
        assert_eq!(
            e.to_string(),
            "piscan.toml:4: unknown kind \"ipv5\" in kinds.disable"
        );

        let e = err("[kinds.min_confidence]\ncn_mobile = \"high\"\nphone = \"high\"\n");
        assert_eq!(e.line, Some(3));
        assert!(e
            .message
            .contains("unknown kind \"phone\" in kinds.min_confidence"));

        let e = err("[kinds.min_confidence]\ncn_mobile = \"hihg\"\n");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("invalid confidence \"hihg\""), "{e}");

        let e = err("[allowlist]\nregex = [\"ok\", \"(unclosed\"]\n");
        assert_eq!(e.line, Some(2));
        assert!(e.message.starts_with("invalid regex in allowlist.regex: "));
        assert!(!e.message.contains('\n'));

        let e = err("[allowlist]\nsha256 = [\"abc\"]\n");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("invalid SHA-256 in allowlist.sha256"));
        let e = err(&format!("[allowlist]\nsha256 = [\"{}\"]\n", "g".repeat(64)));
        assert_eq!(e.line, Some(2));

        let e = err("[paths]\nexclude = [\"a/{b\"]\n");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("invalid glob in paths.exclude"), "{e}");
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_errors() {
        let e = err("[kinds]\ndisable = []\nenable = [\"ipv4\"]\n");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("enable"), "{e}");

        let e = err("\n[allowlists]\n");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("allowlists"), "{e}");

        let e = err("[kinds]\ndisable = \"ipv4\"\n");
        assert_eq!(e.line, Some(2));

        let e = err("[kinds\n");
        assert_eq!(e.line, Some(1));
        assert!(!e.message.contains('\n'), "{e}");
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let dir = std::env::temp_dir().join(format!("piscan-settings-{}", std::process::id()));
        let e = load(Some(&dir.join("nope.toml"))).unwrap_err();
        assert!(e.to_string().contains("nope.toml: cannot read"), "{e}");
    }
}
