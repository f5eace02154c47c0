//! No leaks, no writes: a corpus of known synthetic values of every kind,
//! in every file format piscan reads, is scanned with every report format
//! (to stdout and with `-o`), verbose, with a baseline written; no raw value
//! may appear in stdout, stderr, the report file or the baseline. With
//! `--show-values` they do appear, so the check can fail. The scanned tree
//! is left exactly as it was: same files, same contents, same mtimes, and
//! no SQLite `-journal`/`-wal` beside the database.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use piscan::detect::Kind;
use piscan::synth::{self, Rng};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// One value of each kind, with the key a log or a table would put it
/// under (passport and IMEI need such context to be reported).
fn values(rng: &mut Rng) -> Vec<(Kind, &'static str, String)> {
    vec![
        (Kind::ResidentId, "身份证号", synth::resident_id(rng)),
        (Kind::BankCard, "card_no", synth::bank_card(rng)),
        (Kind::Mobile, "phone", synth::mobile(rng)),
        (Kind::Imei, "imei", synth::imei(rng)),
        (Kind::Passport, "passport_no", synth::passport(rng)),
        (Kind::Email, "email", synth::email(rng)),
        (Kind::Ipv4, "client_ip", synth::ipv4(rng)),
        (Kind::MacAddress, "mac", synth::mac(rng)),
    ]
}

/// A tree with the same kinds of values in many formats; returns it and
/// every raw value planted.
fn corpus() -> (TempDir, Vec<String>) {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let mut rng = Rng::new(2024);
    let mut planted = Vec::new();
    let mut next = |planted: &mut Vec<String>| {
        let v = values(&mut rng);
        planted.extend(v.iter().map(|(_, _, value)| value.clone()));
        v
    };
    let lines = |v: &[(Kind, &str, String)]| -> String {
        v.iter()
            .map(|(_, key, value)| format!("2024-05-17 INFO user {key}={value} ok\n"))
            .collect()
    };
    let csv = |v: &[(Kind, &str, String)]| -> String {
        let header: Vec<&str> = v.iter().map(|(_, k, _)| *k).collect();
        let row: Vec<&str> = v.iter().map(|(_, _, value)| value.as_str()).collect();
        format!("{}\n{}\n", header.join(","), row.join(","))
    };
    let json = |v: &[(Kind, &str, String)]| -> String {
        let map: serde_json::Map<String, serde_json::Value> = v
            .iter()
            .map(|(_, k, value)| (k.to_string(), value.as_str().into()))
            .collect();
        serde_json::Value::Object(map).to_string()
    };

    fs::write(d.join("app.log"), lines(&next(&mut planted))).unwrap();
    fs::write(d.join("roster.csv"), csv(&next(&mut planted))).unwrap();
    fs::write(
        d.join("user.json"),
        format!(r#"{{"user": {}}}"#, json(&next(&mut planted))),
    )
    .unwrap();
    fs::write(
        d.join("events.jsonl"),
        format!(
            "{}\n{}\n",
            json(&next(&mut planted)),
            json(&next(&mut planted))
        ),
    )
    .unwrap();
    let v = next(&mut planted);
    let columns: Vec<&str> = v.iter().map(|(_, k, _)| *k).collect();
    let row: Vec<String> = v.iter().map(|(_, _, value)| format!("'{value}'")).collect();
    fs::write(
        d.join("dump.sql"),
        format!(
            "-- MySQL dump 10.13\nCREATE TABLE `u` (`id` int);\nINSERT INTO `u` (`{}`) VALUES ({});\n",
            columns.join("`, `"),
            row.join(",")
        ),
    )
    .unwrap();
    fs::write(
        d.join("app.log.gz"),
        common::gz(lines(&next(&mut planted)).as_bytes()),
    )
    .unwrap();
    let inner_csv = csv(&next(&mut planted));
    let inner_log = lines(&next(&mut planted));
    fs::write(
        d.join("export.zip"),
        common::zip(&[
            ("data/roster.csv", inner_csv.as_bytes()),
            ("logs/app.log", inner_log.as_bytes()),
        ]),
    )
    .unwrap();
    fs::write(
        d.join("backup.tar.gz"),
        common::gz(&common::tar(&[(
            "app.log",
            lines(&next(&mut planted)).as_bytes(),
        )])),
    )
    .unwrap();
    let v = next(&mut planted);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, (_, key, value)) in v.iter().enumerate() {
        sheet.write_string(0, col as u16, *key).unwrap();
        sheet.write_string(1, col as u16, value).unwrap();
    }
    book.save(d.join("staff.xlsx")).unwrap();
    let v = next(&mut planted);
    let paragraphs: Vec<String> = v
        .iter()
        .map(|(_, k, value)| format!("{k}: {value}"))
        .collect();
    fs::write(d.join("memo.docx"), common::docx(&paragraphs)).unwrap();
    let v = next(&mut planted);
    let db = rusqlite::Connection::open(d.join("app.db")).unwrap();
    let columns: Vec<String> = v.iter().map(|(_, k, _)| format!("\"{k}\" TEXT")).collect();
    db.execute_batch(&format!("CREATE TABLE users ({});", columns.join(", ")))
        .unwrap();
    let marks: Vec<String> = (1..=v.len()).map(|i| format!("?{i}")).collect();
    let params: Vec<&str> = v.iter().map(|(_, _, value)| value.as_str()).collect();
    db.execute(
        &format!("INSERT INTO users VALUES ({})", marks.join(",")),
        rusqlite::params_from_iter(params),
    )
    .unwrap();
    drop(db);
    (dir, planted)
}

/// Every path under `root` with its content hash and modification time.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (String, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let md = fs::symlink_metadata(&p).unwrap();
            if md.is_dir() {
                stack.push(p.clone());
                out.insert(p, (String::new(), md.modified().unwrap()));
            } else {
                let hash = format!("{:x}", Sha256::digest(fs::read(&p).unwrap()));
                out.insert(p, (hash, md.modified().unwrap()));
            }
        }
    }
    out
}

/// Runs `piscan scan` with `args`; returns everything it wrote (stdout,
/// stderr, and the files named) as text.
fn everything(args: &[&str], written: &[&Path]) -> String {
    let out = Command::cargo_bin("piscan")
        .unwrap()
        .arg("scan")
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut all = String::from_utf8_lossy(&out.stdout).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stderr));
    for path in written {
        all.push_str(&String::from_utf8_lossy(&fs::read(path).unwrap()));
    }
    all
}

#[test]
fn no_raw_value_in_any_output_and_the_tree_is_untouched() {
    let (tree, planted) = corpus();
    let root = tree.path().to_str().unwrap();
    // Any mtime change must be visible, even on coarse-grained filesystems.
    std::thread::sleep(Duration::from_millis(20));
    let before = snapshot(tree.path());
    let scratch = TempDir::new().unwrap();
    let report = scratch.path().join("report");
    let baseline = scratch.path().join("baseline.json");
    let report_s = report.to_str().unwrap();
    let baseline_s = baseline.to_str().unwrap();

    for format in ["table", "jsonl", "json", "sarif", "csv", "md"] {
        let common = [root, "--format", format, "--fail-on", "any"];
        let runs: [(Vec<&str>, Vec<&Path>); 3] = [
            (vec!["-v"], vec![]),
            (vec!["-o", report_s, "-v"], vec![&report]),
            (
                vec!["--baseline-write", baseline_s, "--color", "always"],
                vec![&baseline],
            ),
        ];
        for (extra, written) in runs {
            let args: Vec<&str> = common.iter().copied().chain(extra).collect();
            let all = everything(&args, &written);
            for value in &planted {
                assert!(
                    !all.contains(value.as_str()),
                    "{value} leaked with {args:?}"
                );
            }
        }
    }

    // The check can fail: with --show-values every value is there.
    let shown = everything(&[root, "--format", "jsonl", "--show-values"], &[]);
    let missing: Vec<&String> = planted
        .iter()
        .filter(|v| !shown.contains(v.as_str()))
        .collect();
    let sets: Vec<usize> = missing
        .iter()
        .map(|m| planted.iter().position(|v| v == *m).unwrap() / 8)
        .collect();
    assert!(
        missing.is_empty(),
        "not found with --show-values: {missing:?} in value sets {sets:?}"
    );

    assert_eq!(
        snapshot(tree.path()),
        before,
        "the scanned tree was modified"
    );
    let names: Vec<String> = before
        .keys()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(!names
        .iter()
        .any(|n| n.ends_with("-journal") || n.ends_with("-wal")));
}
