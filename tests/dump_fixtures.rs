//! Dumps written by the real tools (MariaDB's mysqldump, pg_dump, sqlite3),
//! committed under `tests/fixtures/dumps/` by `scripts/make-dump-fixtures.sh`
//! together with `expected.json`, the findings each must give as
//! (table, row, field, kind), derived by the script from the data it loaded.
//! No database server is needed here.

use std::collections::BTreeSet;
use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

type Finding = (Option<String>, Option<u64>, Option<String>, String);

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dumps")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(dir().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fixture(name: &str) -> Value {
    let doc = expected();
    let entry = doc["fixtures"][name].clone();
    assert!(!entry.is_null(), "{name} is not in expected.json");
    entry
}

/// The findings of `piscan scan <file> --format jsonl --show-values`.
fn scan(name: &str) -> Vec<Value> {
    let out = Command::cargo_bin("piscan")
        .unwrap()
        .args(["scan", "--format", "jsonl", "--show-values"])
        .arg(dir().join(name))
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}: {:?}", out);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn key(f: &Value) -> Finding {
    (
        f["table"].as_str().map(str::to_owned),
        f["row"].as_u64(),
        f["field"].as_str().map(str::to_owned),
        f["kind"].as_str().unwrap().to_owned(),
    )
}

fn check(name: &str) {
    let want: BTreeSet<Finding> = fixture(name)["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no findings list in expected.json"))
        .iter()
        .map(|f| {
            (
                Some(f[0].as_str().unwrap().to_owned()),
                Some(f[1].as_u64().unwrap()),
                Some(f[2].as_str().unwrap().to_owned()),
                f[3].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(!want.is_empty());
    let found = scan(name);
    let got: BTreeSet<Finding> = found.iter().map(key).collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{name}: missing {missing:#?}\nunexpected {extra:#?}"
    );
    assert_eq!(found.len(), got.len(), "{name}: a finding reported twice");

    // The avatar BLOB / bytea holds ASCII runs that look like a mobile
    // number, a resident ID and a card: binary, never scanned.
    for binary in expected()["binary_fields"].as_array().unwrap() {
        let (table, field) = (binary[0].as_str(), binary[1].as_str());
        let hits: Vec<_> = found
            .iter()
            .filter(|f| f["table"].as_str() == table && f["field"].as_str() == field)
            .collect();
        assert!(hits.is_empty(), "{name}: binary column scanned: {hits:#?}");
    }
    // Nor does any of them turn up outside its column (as loose text).
    for f in &found {
        let value = f["match"].as_str().unwrap();
        assert_ne!(value, "13812345678", "{name}: {f}");
        assert!(!value.starts_with("622848000000"), "{name}: {f}");
    }
}

#[test]
fn mysqldump_default() {
    check("mysqldump-default.sql");
}

#[test]
fn mysqldump_hex_blob() {
    check("mysqldump-hex-blob.sql");
}

#[test]
fn mysqldump_skip_extended_insert_complete_insert() {
    check("mysqldump-complete-insert.sql");
}

#[test]
fn pg_dump_plain_copy() {
    check("pg_dump-plain.sql");
}

#[test]
fn pg_dump_inserts() {
    check("pg_dump-inserts.sql");
}

#[test]
fn pg_dump_column_inserts() {
    check("pg_dump-column-inserts.sql");
}

#[test]
fn sqlite3_dump() {
    check("sqlite3-dump.sql");
}

#[test]
fn sqlite_database() {
    check("sqlite.db");
}

#[test]
fn pg_dump_custom_is_skipped_with_pg_restore_advice() {
    let name = "pg_dump-custom.dump";
    let entry = fixture(name);
    assert_eq!(entry["skipped"], true);
    let advice = entry["reason_contains"].as_str().unwrap();
    let out = Command::cargo_bin("piscan")
        .unwrap()
        .args(["scan", "--format", "json"])
        .arg(dir().join(name))
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = &doc["summary"];
    assert_eq!(summary["findings"], 0);
    let skipped = summary["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{summary}");
    assert!(skipped[0]["path"].as_str().unwrap().ends_with(name));
    let reason = skipped[0]["reason"].as_str().unwrap();
    assert!(reason.contains(advice), "{reason}");
}

/// Every file the script writes is checked by one of the tests above.
#[test]
fn every_fixture_is_listed() {
    let doc = expected();
    let listed: BTreeSet<String> = doc["fixtures"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "expected.json")
        .collect();
    assert_eq!(listed, on_disk);
    assert_eq!(listed.len(), 9);
}
