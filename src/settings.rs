//! The configuration file, `piscan.toml`: custom kinds, kinds not reported,
//! per-kind minimum confidence, excluded paths and allowlisted values.
//!
//! ```toml
//! [[custom]]                       # a custom kind (any number of tables)
//! id = "employee_card"             # lower snake case, not a builtin's id
//! regex = '\bEMP\d{12}\b'           # optional capture group `value` selects the value
//! validator = "luhn"                # luhn | mod11-2 | none (default)
//! context = ["工号", "employee"]    # optional context words
//! require_context = false           # true: only reported near a context word
//! category = "identity.employee_id" # required
//! sensitive = true                  # default false
//! label_zh = "员工卡号"             # default: label_en
//! label_en = "Employee card number" # default: the id
//! description = "…"                 # default: the regex and validator
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
//! Custom kinds can also come from pattern files (`--patterns DIR`: every
//! `*.toml` file of the directory, by name, holding only `[[custom]]`
//! tables), read by [`load_with_patterns`]. Definitions are checked here
//! (id, regex, validator, context, category), then registered with
//! [`custom::register`], which gives each a [`Kind`] after the builtins, so
//! `[kinds]` and the allowlist name them like builtins; an id defined twice,
//! in one file or across files, is an error naming both places. The
//! compiled detectors end up in [`Settings::custom`]. See
//! [`crate::detect::custom`] for how they are run.
//!
//! Every error names the file and the line (`piscan.toml:3: unknown kind
//! "ipv5" in kinds.disable`), and the key (`invalid regex in custom.regex of
//! custom kind "employee_card": …`). The allowlist is matched in
//! [`Filter::is_allowlisted`] against a value both as found in the file and
//! in its canonical form ([`mask::canonical`]).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::RegexSet;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::detect::context::KindSet;
use crate::detect::custom::{self, CustomDef, CustomDetectors, RegisterError, Validator};
use crate::detect::{Confidence, Kind, MAX_KINDS};
use crate::report::mask;

/// The file looked for in the current directory when `--config` is not given.
pub const FILE_NAME: &str = "piscan.toml";

/// What a configuration file (and the pattern files) say.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Which findings are not reported.
    pub filter: Filter,
    /// Gitignore-style globs added to `--exclude`.
    pub excludes: Vec<String>,
    /// The custom kinds defined, registered, in order of definition
    /// (`piscan.toml` first, then the pattern files by name).
    pub custom_kinds: Vec<Kind>,
    /// Their detectors; `None` when no custom kind is defined.
    pub custom: Option<Arc<CustomDetectors>>,
}

/// Which findings are never reported: disabled kinds, findings below their
/// kind's minimum confidence and allowlisted values. The default reports
/// everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    disabled: KindSet,
    /// Per kind, by [`Kind::index`]; `Medium` (the lowest) drops nothing.
    min_confidence: [Confidence; MAX_KINDS],
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
        !self.disabled.contains(kind) && confidence >= self.min_confidence[kind.index()]
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
    load_with_patterns(explicit, None)
}

/// [`load`], plus the custom kinds of every `*.toml` file in the directory
/// `patterns` (`--patterns DIR`), read in order of name.
pub fn load_with_patterns(
    explicit: Option<&Path>,
    patterns: Option<&Path>,
) -> Result<Settings, Error> {
    let path = explicit.unwrap_or(Path::new(FILE_NAME));
    let file = path.display().to_string();
    let text = match read_text(path) {
        Ok(text) => text,
        Err((err, _)) if err.kind() == io::ErrorKind::NotFound && explicit.is_none() => {
            String::new()
        }
        Err((_, message)) => {
            return Err(Error {
                file,
                line: None,
                message,
            })
        }
    };
    let mut pattern_files = Vec::new();
    if let Some(dir) = patterns {
        for path in pattern_paths(dir)? {
            let file = path.display().to_string();
            let text = read_text(&path).map_err(|(_, message)| Error {
                file: file.clone(),
                line: None,
                message,
            })?;
            pattern_files.push((file, text));
        }
    }
    parse_with_patterns(&text, &file, &pattern_files)
}

/// The text of a UTF-8 file, or the error and what to say about it.
fn read_text(path: &Path) -> Result<String, (io::Error, String)> {
    let bytes = std::fs::read(path).map_err(|err| {
        let message = format!("cannot read: {}", crate::source::io_message(&err));
        (err, message)
    })?;
    String::from_utf8(bytes).map_err(|_| {
        (
            io::Error::from(io::ErrorKind::InvalidData),
            "not valid UTF-8".to_string(),
        )
    })
}

/// The `*.toml` files in `dir` (not in its subdirectories), by name.
fn pattern_paths(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let error = |err: io::Error| Error {
        file: dir.display().to_string(),
        line: None,
        message: format!(
            "cannot read the patterns directory: {}",
            crate::source::io_message(&err)
        ),
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(error)? {
        let path = entry.map_err(error)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawSettings {
    #[serde(default)]
    custom: Vec<RawCustom>,
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

/// A pattern file of `--patterns DIR`: custom kinds only.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawPatternFile {
    #[serde(default)]
    custom: Vec<RawCustom>,
}

/// One `[[custom]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawCustom {
    id: Spanned<String>,
    regex: Spanned<String>,
    #[serde(default)]
    validator: Option<Spanned<String>>,
    #[serde(default)]
    context: Vec<Spanned<String>>,
    #[serde(default)]
    require_context: Option<Spanned<bool>>,
    category: Spanned<String>,
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    label_zh: Option<Spanned<String>>,
    #[serde(default)]
    label_en: Option<Spanned<String>>,
    #[serde(default)]
    description: Option<Spanned<String>>,
}

/// A custom kind's definition checked, with where its id stands.
struct Defined {
    def: CustomDef,
    file: String,
    line: usize,
}

/// Parses the text of a configuration file; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Settings, Error> {
    parse_with_patterns(text, file, &[])
}

/// Builds an [`Error`] at byte `offset` of `text`.
fn error_at(text: &str, file: &str, offset: Option<usize>, message: String) -> Error {
    Error {
        file: file.to_string(),
        line: offset.map(|o| line_of(text, o)),
        message,
    }
}

/// Deserializes a TOML document; errors name the line and, when known, the
/// key.
fn from_toml<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T, Error> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start);
        let mut message = one_line(&e.message());
        if let Some(key) = offset.and_then(|o| key_at(text, o)) {
            message = format!("{message} (at {key})");
        }
        error_at(text, file, offset, message)
    })
}

/// Checks the `[[custom]]` tables of one file.
fn check_custom(text: &str, file: &str, raw: Vec<RawCustom>) -> Result<Vec<Defined>, Error> {
    let mut defined = Vec::with_capacity(raw.len());
    for c in raw {
        let at = |offset: usize, message: String| error_at(text, file, Some(offset), message);
        let id = c.id.get_ref();
        let id_at = c.id.span().start;
        let valid_id = id.len() <= 64
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid_id {
            return Err(at(
                id_at,
                format!(
                    "invalid id {id:?} in custom.id \
                     (expected lower snake case: a-z, 0-9 and _, starting with a letter)"
                ),
            ));
        }
        if Kind::BUILTIN.iter().any(|k| k.id() == id) {
            return Err(at(
                id_at,
                format!("custom kind {id:?} in custom.id clashes with a builtin kind"),
            ));
        }
        let of = format!("of custom kind {id:?}");
        let regex = c.regex.get_ref();
        match custom::compile(regex) {
            Err(err) => {
                return Err(at(
                    c.regex.span().start,
                    format!("invalid regex in custom.regex {of}: {}", one_line(&err)),
                ))
            }
            Ok(re) if re.is_match(b"") => {
                return Err(at(
                    c.regex.span().start,
                    format!("custom.regex {of} matches the empty string"),
                ))
            }
            Ok(_) => {}
        }
        let validator = match &c.validator {
            None => Validator::None,
            Some(name) => Validator::from_name(name.get_ref()).ok_or_else(|| {
                at(
                    name.span().start,
                    format!(
                        "unknown validator {:?} in custom.validator {of} \
                         (expected \"luhn\", \"mod11-2\" or \"none\")",
                        name.get_ref()
                    ),
                )
            })?,
        };
        if let Some(word) = c.context.iter().find(|w| w.get_ref().trim().is_empty()) {
            return Err(at(
                word.span().start,
                format!("empty word in custom.context {of}"),
            ));
        }
        let require_context = c.require_context.as_ref().is_some_and(|r| *r.get_ref());
        if let Some(r) = c.require_context.as_ref().filter(|_| require_context) {
            if c.context.is_empty() {
                return Err(at(
                    r.span().start,
                    format!("custom.require_context {of} needs words in custom.context"),
                ));
            }
        }
        let category = c.category.get_ref().as_str();
        let valid_category = !category.is_empty()
            && category
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !valid_category {
            return Err(at(
                c.category.span().start,
                format!(
                    "invalid category {:?} in custom.category {of} (expected an id of \
                     letters, digits, '_', '.' and '-', such as \"identity.employee_id\")",
                    c.category.get_ref()
                ),
            ));
        }
        // Labels and descriptions are printed in tables: one line each.
        for (key, text) in [
            ("label_zh", &c.label_zh),
            ("label_en", &c.label_en),
            ("description", &c.description),
        ] {
            if let Some(text) = text
                .as_ref()
                .filter(|t| t.get_ref().contains(char::is_control))
            {
                return Err(at(
                    text.span().start,
                    format!("custom.{key} {of} must be one line of text"),
                ));
            }
        }
        let label_en = c.label_en.map_or_else(|| id.clone(), Spanned::into_inner);
        let description = c.description.map(Spanned::into_inner).unwrap_or_else(|| {
            let checked = match validator {
                Validator::None => String::new(),
                v => format!(", {} validated", v.name()),
            };
            format!("Custom kind defined in {file}: regex {regex}{checked}")
                .replace(char::is_control, " ")
        });
        defined.push(Defined {
            def: CustomDef {
                id: id.clone(),
                regex: regex.clone(),
                validator,
                context: c
                    .context
                    .iter()
                    .map(|w| w.get_ref().trim().to_string())
                    .collect(),
                require_context,
                category: category.to_string(),
                sensitive: c.sensitive,
                label_zh: c
                    .label_zh
                    .map_or_else(|| label_en.clone(), Spanned::into_inner),
                label_en,
                description,
            },
            file: file.to_string(),
            line: line_of(text, id_at),
        });
    }
    Ok(defined)
}

/// Registers the custom kinds of the configuration file and of the pattern
/// files; an id defined twice is an error naming both places.
fn register_custom(defined: Vec<Defined>) -> Result<Vec<Kind>, Error> {
    let mut kinds: Vec<Kind> = Vec::with_capacity(defined.len());
    let mut seen: Vec<(&str, &str, usize)> = Vec::new();
    for d in &defined {
        let id = d.def.id.as_str();
        let error = |message: String| Error {
            file: d.file.clone(),
            line: Some(d.line),
            message,
        };
        if let Some((_, file, line)) = seen.iter().find(|(i, _, _)| *i == id) {
            return Err(error(format!(
                "custom kind {id:?} in custom.id is already defined at {file}:{line}"
            )));
        }
        seen.push((id, &d.file, d.line));
        let kind = custom::register(d.def.clone()).map_err(|err| match err {
            RegisterError::TooMany => error(format!(
                "custom kind {id:?} in custom.id is one too many: at most {} custom kinds",
                custom::MAX_CUSTOM
            )),
            err => error(format!("custom kind {id:?} in custom.id {err}")),
        })?;
        kinds.push(kind);
    }
    Ok(kinds)
}

/// Parses the text of a configuration file and of pattern files, given as
/// (file name, text); the names are used in errors.
pub fn parse_with_patterns(
    text: &str,
    file: &str,
    pattern_files: &[(String, String)],
) -> Result<Settings, Error> {
    let error = |offset: Option<usize>, message: String| error_at(text, file, offset, message);
    let at = |s: &Spanned<String>, message: String| error(Some(s.span().start), message);
    let mut raw: RawSettings = from_toml(text, file)?;

    let mut defined = check_custom(text, file, std::mem::take(&mut raw.custom))?;
    for (pattern_file, pattern_text) in pattern_files {
        let raw: RawPatternFile = from_toml(pattern_text, pattern_file)?;
        defined.extend(check_custom(pattern_text, pattern_file, raw.custom)?);
    }
    let custom_kinds = register_custom(defined)?;
    let custom = if custom_kinds.is_empty() {
        None
    } else {
        let detectors = CustomDetectors::new(&custom_kinds)
            .map_err(|err| error(None, format!("custom kinds: {}", one_line(&err))))?;
        Some(Arc::new(detectors))
    };

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
        filter.min_confidence[k.index()] = match level.get_ref().as_str() {
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
    Ok(Settings {
        filter,
        excludes,
        custom_kinds,
        custom,
    })
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
        for kind in Kind::BUILTIN {
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
    fn custom_kinds_are_registered_and_filtered_like_builtins() {
        let s = parse(
            r#"
[[custom]]
id = "settings_staff_card"
regex = '\bSC\d{10}\b'
validator = "luhn"
context = ["工号", " staff "]
category = "identity.employee_id"
sensitive = true
label_zh = "员工卡号"

[[custom]]
id = "settings_badge"
regex = 'B-(?P<value>\d{6})'
category = "service.badge"

[kinds]
disable = ["settings_badge"]
[kinds.min_confidence]
settings_staff_card = "high"
"#,
            "piscan.toml",
        )
        .unwrap();
        let [card, badge] = s.custom_kinds[..] else {
            panic!("two kinds: {:?}", s.custom_kinds)
        };
        assert_eq!(card.id(), "settings_staff_card");
        assert_eq!(Kind::from_id("settings_badge"), Some(badge));
        let def = custom::definition(card);
        assert_eq!(def.validator, Validator::Luhn);
        assert_eq!(def.context, ["工号", "staff"]);
        assert!(!def.require_context);
        let class = crate::classify::classify(card);
        assert!(class.sensitive);
        assert_eq!(
            (class.label_zh, class.label_en),
            ("员工卡号", "settings_staff_card")
        );
        let class = crate::classify::classify(badge);
        assert!(!class.sensitive);
        assert_eq!(class.label_zh, "settings_badge");
        assert!(class.description.contains("piscan.toml"));

        assert!(!s.filter.admits(badge, Confidence::High));
        assert!(!s.filter.admits(card, Confidence::Medium));
        assert!(s.filter.admits(card, Confidence::High));
        let detectors = s.custom.expect("detectors");
        assert_eq!(detectors.kinds().collect::<Vec<_>>(), [card, badge]);

        // Parsing the same definitions again gives the same kinds.
        let again = parse(
            "[[custom]]\nid = \"settings_badge\"\nregex = 'B-(?P<value>\\d{6})'\n\
             category = \"service.badge\"\n",
            "piscan.toml",
        )
        .unwrap();
        assert_eq!(again.custom_kinds, [badge]);
        assert!(parse("", "piscan.toml").unwrap().custom.is_none());
    }

    #[test]
    fn custom_kinds_from_pattern_files() {
        let files = [(
            "patterns/hr.toml".to_string(),
            "[[custom]]\nid = \"settings_hr_no\"\nregex = 'HR\\d{8}'\n\
             validator = \"mod11-2\"\ncategory = \"identity.employee_id\"\n"
                .to_string(),
        )];
        let s = parse_with_patterns(
            "[kinds]\ndisable = [\"settings_hr_no\"]\n",
            "piscan.toml",
            &files,
        )
        .unwrap();
        let [kind] = s.custom_kinds[..] else { panic!() };
        assert_eq!(custom::definition(kind).validator, Validator::Mod11_2);
        assert!(!s.filter.admits(kind, Confidence::High));

        // Only custom kinds in a pattern file.
        let files = [(
            "patterns/x.toml".to_string(),
            "\n[kinds]\ndisable = []\n".to_string(),
        )];
        let e = parse_with_patterns("", "piscan.toml", &files).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("patterns/x.toml", Some(2)));
    }

    #[test]
    fn custom_kind_errors_name_file_line_and_key() {
        let custom = |body: &str| {
            format!("# custom kinds\n[[custom]]\nid = \"settings_err\"\ncategory = \"a.b\"\n{body}")
        };
        let cases = [
            (
                custom("regex = '(unclosed'\n"),
                5,
                "invalid regex in custom.regex of custom kind \"settings_err\"",
            ),
            (custom("regex = 'x?'\n"), 5, "matches the empty string"),
            (
                custom("regex = 'x'\nvalidator = \"crc32\"\n"),
                6,
                "unknown validator \"crc32\" in custom.validator",
            ),
            (
                custom("regex = 'x'\ncontext = [\"ok\", \" \"]\n"),
                6,
                "empty word in custom.context",
            ),
            (
                custom("regex = 'x'\nrequire_context = true\n"),
                6,
                "custom.require_context",
            ),
            (
                custom("regex = 'x'\nsensitiv = true\n"),
                6,
                "unknown field `sensitiv`",
            ),
            (
                custom("regex = 'x'\nsensitive = \"yes\"\n"),
                6,
                "invalid type",
            ),
            (
                "[[custom]]\nid = \"bank_card\"\nregex = 'x'\ncategory = \"a\"\n".to_string(),
                2,
                "custom kind \"bank_card\" in custom.id clashes with a builtin kind",
            ),
            (
                "[[custom]]\nid = \"Staff-Card\"\nregex = 'x'\ncategory = \"a\"\n".to_string(),
                2,
                "invalid id \"Staff-Card\" in custom.id",
            ),
            (
                "[[custom]]\nid = \"settings_err2\"\nregex = 'x'\ncategory = \"a b\"\n".to_string(),
                4,
                "invalid category \"a b\" in custom.category",
            ),
            (
                "[[custom]]\nid = \"settings_err3\"\nregex = 'x'\ncategory = \"a\"\n\
                 label_en = \"two\\nlines\"\n"
                    .to_string(),
                5,
                "custom.label_en of custom kind \"settings_err3\" must be one line",
            ),
            (
                "[[custom]]\nid = \"settings_dup\"\nregex = 'x'\ncategory = \"a\"\n\
                 [[custom]]\nid = \"settings_dup\"\nregex = 'y'\ncategory = \"a\"\n"
                    .to_string(),
                6,
                "custom kind \"settings_dup\" in custom.id is already defined at piscan.toml:2",
            ),
        ];
        for (text, line, message) in cases {
            let e = err(&text);
            assert_eq!(e.line, Some(line), "{text}\n{e}");
            assert!(e.message.contains(message), "{text}\n{e}");
            assert!(!e.message.contains('\n'), "{e}");
        }

        // An id defined in piscan.toml and again in a pattern file.
        let files = [(
            "patterns/b.toml".to_string(),
            "\n[[custom]]\nid = \"settings_twice\"\nregex = 'y'\ncategory = \"a\"\n".to_string(),
        )];
        let e = parse_with_patterns(
            "[[custom]]\nid = \"settings_twice\"\nregex = 'x'\ncategory = \"a\"\n",
            "piscan.toml",
            &files,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "patterns/b.toml:3: custom kind \"settings_twice\" in custom.id \
             is already defined at piscan.toml:2"
        );
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let dir = std::env::temp_dir().join(format!("piscan-settings-{}", std::process::id()));
        let e = load(Some(&dir.join("nope.toml"))).unwrap_err();
        assert!(e.to_string().contains("nope.toml: cannot read"), "{e}");
    }
}
