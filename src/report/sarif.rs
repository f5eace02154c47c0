//! `--format sarif`: SARIF 2.1.0 for code-scanning UIs.
//!
//! One run; the driver lists one rule per kind ([`Kind::all`]: the builtins,
//! then the custom kinds of the configuration, so a kind's `ruleIndex` is
//! its [`Kind::index`]), results stream out as files arrive. A result's
//! message carries the value as shown (masked unless `--show-values`); its
//! fingerprint is a hash of the path, member, kind and the stable hash of
//! the value, never the value itself.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use super::Finding;
use crate::classify::classify;
use crate::detect::Kind;

/// Key of the fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "piscan/v1";

/// `error` for sensitive kinds, `warning` otherwise.
pub fn level(kind: Kind) -> &'static str {
    if classify(kind).sensitive {
        "error"
    } else {
        "warning"
    }
}

/// `cn_resident_id` as `CnResidentId`.
fn rule_name(id: &str) -> String {
    id.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn rule(kind: Kind) -> Value {
    let class = classify(kind);
    let sensitivity = if class.sensitive {
        "sensitive personal information (Appendix B)"
    } else {
        "personal information, not listed as sensitive in Appendix B"
    };
    let full = format!(
        "GB/T 35273 Appendix A category {}; {sensitivity}. {}",
        class.category, class.description
    );
    json!({
        "id": kind.id(),
        "name": rule_name(kind.id()),
        "shortDescription": { "text": format!("{} / {}", class.label_zh, class.label_en) },
        "fullDescription": { "text": full },
        "help": { "text": full },
        "defaultConfiguration": { "level": level(kind) },
        "properties": { "category": class.category, "sensitive": class.sensitive },
    })
}

/// What comes before the first result: the log, the run and the rules, up
/// to the opening of the `results` array.
pub fn write_begin(w: &mut impl Write) -> io::Result<()> {
    let rules: Vec<Value> = Kind::all().into_iter().map(rule).collect();
    let driver = json!({
        "name": "piscan",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    w.write_all(
        b"{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\
          \"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":",
    )?;
    serde_json::to_writer(&mut *w, &driver)?;
    w.write_all(b"},\"columnKind\":\"unicodeCodePoints\",\"results\":[")
}

/// What comes after the last result.
pub fn write_finish(w: &mut impl Write) -> io::Result<()> {
    w.write_all(b"]}]}\n")
}

/// A path as a URI reference: percent-encoded, `/`-separated; absolute
/// paths become `file:` URIs.
pub fn path_uri(path: &str) -> String {
    path_uri_bytes(path.as_bytes())
}

/// [`path_uri`] of a path's bytes, which need not be UTF-8: every byte
/// outside the unreserved set is percent-encoded, so a non-UTF-8 name is
/// kept exactly.
pub fn path_uri_bytes(path: &[u8]) -> String {
    let bytes: Vec<u8> = path
        .iter()
        .map(|&b| if b == b'\\' { b'/' } else { b })
        .collect();
    let bytes = bytes.as_slice();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    let mut out = String::with_capacity(bytes.len() + 8);
    if drive {
        out.push_str("file:///");
    } else if bytes.starts_with(b"/") {
        out.push_str("file://");
    }
    for (i, &b) in bytes.iter().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/')
            || (drive && i == 1);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Appends one finding as a SARIF result (no separator). `raw_path` is the
/// path's bytes when `path` is a lossy rendering of them: the URI is made
/// from them.
pub fn write_result(
    buf: &mut Vec<u8>,
    path: &str,
    raw_path: Option<&[u8]>,
    f: &Finding,
) -> io::Result<()> {
    let class = classify(f.kind);
    let uri = raw_path.map_or_else(|| path_uri(path), path_uri_bytes);
    let mut artifact = json!({ "uri": uri });
    if let Some(member) = &f.member {
        artifact["properties"] = json!({ "member": &**member });
    }
    let mut physical = json!({ "artifactLocation": artifact });
    if let (Some(line), Some(col)) = (f.line, f.col) {
        physical["region"] = json!({ "startLine": line, "startColumn": col });
    }
    let mut location = json!({ "physicalLocation": physical });
    let mut logical = Vec::new();
    if let (Some(sheet), Some(cell)) = (&f.sheet, &f.cell) {
        logical.push(json!({
            "name": cell,
            "fullyQualifiedName": format!("{sheet}!{cell}"),
            "kind": "element",
        }));
    }
    if let Some(table) = &f.table {
        let (name, qualified) = match &f.field {
            Some(field) => (field.to_string(), format!("{table}.{field}")),
            None => (table.to_string(), table.to_string()),
        };
        let mut l = json!({ "name": name, "fullyQualifiedName": qualified, "kind": "element" });
        if let Some(row) = f.row {
            l["properties"] = json!({ "row": row });
        }
        logical.push(l);
    }
    if !logical.is_empty() {
        location["logicalLocations"] = Value::Array(logical);
    }
    let mut props = Map::new();
    props.insert("category".into(), class.category.into());
    props.insert("sensitive".into(), class.sensitive.into());
    props.insert("confidence".into(), f.confidence.as_str().into());
    if let Some(field) = &f.field {
        props.insert("field".into(), field.to_string().into());
    }
    let mut result = json!({
        "ruleId": f.kind.id(),
        "ruleIndex": f.kind.index(),
        "level": level(f.kind),
        "message": {
            "text": format!(
                "{} / {}: {} ({} confidence)",
                class.label_zh,
                class.label_en,
                f.shown,
                f.confidence.as_str()
            )
        },
        "locations": [location],
        "properties": props,
    });
    // Objects keep their keys sorted: this lands where it always did.
    if let Some(print) = f.fingerprint(path) {
        result["partialFingerprints"] = json!({ FINGERPRINT_KEY: print });
    }
    serde_json::to_writer(&mut *buf, &result)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded() {
        assert_eq!(path_uri("data/a b.csv"), "data/a%20b.csv");
        assert_eq!(path_uri("/tmp/x.log"), "file:///tmp/x.log");
        assert_eq!(
            path_uri("C:\\share\\名单.csv"),
            "file:///C:/share/%E5%90%8D%E5%8D%95.csv"
        );
        assert_eq!(path_uri("-"), "-");
        assert_eq!(path_uri_bytes(b"/d/n\xff.txt"), "file:///d/n%FF.txt");
    }

    #[test]
    fn rule_names() {
        assert_eq!(rule_name("cn_resident_id"), "CnResidentId");
        assert_eq!(rule_name("ipv4"), "Ipv4");
    }
}
