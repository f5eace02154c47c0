//! End-to-end tests of the `piscan` binary on generated trees.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use piscan::synth::{self, Rng};
use serde_json::Value;
use tempfile::TempDir;

fn piscan() -> Command {
    let mut cmd = Command::cargo_bin("piscan").expect("binary built");
    cmd.env_remove("NO_COLOR");
    cmd
}

/// Runs `piscan scan` with `args` and returns (exit code, stdout, stderr).
fn scan(args: &[&str]) -> (i32, String, String) {
    let out = piscan().arg("scan").args(args).output().expect("runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

fn jsonl(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

struct Fixture {
    dir: TempDir,
    id: String,
    card: String,
    phone: String,
}

impl Fixture {
    /// A small tree: a roster, a log with distractors, a binary file.
    fn new() -> Fixture {
        let dir = TempDir::new().unwrap();
        let mut rng = Rng::new(42);
        let (id, card, phone) = (
            synth::resident_id(&mut rng),
            synth::bank_card(&mut rng),
            synth::mobile(&mut rng),
        );
        fs::write(
            dir.path().join("roster.csv"),
            format!("姓名,身份证号,手机\n张三,{id},{phone}\n"),
        )
        .unwrap();
        fs::write(
            dir.path().join("app.log"),
            format!(
                "2024-05-17T10:00:00.123 request_id=1234567890123456789 ts=1715913600123\n\
                 sha=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n\
                 bind card_no={card} ok\n"
            ),
        )
        .unwrap();
        fs::write(dir.path().join("blob.bin"), b"\x00\x01\x02binary").unwrap();
        Fixture {
            dir,
            id,
            card,
            phone,
        }
    }

    fn path(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

#[test]
fn finds_located_classified_masked_values() {
    let fx = Fixture::new();
    let (code, out, _) = scan(&[fx.path(), "--format", "jsonl", "--sort", "path"]);
    assert_eq!(code, 0);
    let findings = jsonl(&out);
    let got: Vec<(String, u64, u64, &str, bool, &str)> = findings
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["col"].as_u64().unwrap(),
                f["kind"].as_str().unwrap(),
                f["sensitive"].as_bool().unwrap(),
                f["category"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                fx.file("app.log"),
                3,
                14,
                "bank_card",
                true,
                "property.bank_account"
            ),
            (
                fx.file("roster.csv"),
                2,
                4,
                "cn_resident_id",
                true,
                "identity.id_document"
            ),
            (
                fx.file("roster.csv"),
                2,
                23,
                "cn_mobile",
                false,
                "identity.virtual_identity"
            ),
        ]
    );
    // Masked by default: first 3 and last 4 kept.
    let masked_id = format!("{}***********{}", &fx.id[..3], &fx.id[14..]);
    assert_eq!(findings[1]["match"], masked_id.as_str());
    assert_eq!(findings[1]["confidence"], "high");
    for raw in [&fx.id, &fx.card, &fx.phone] {
        assert!(!out.contains(raw.as_str()), "raw value leaked");
    }
}

#[test]
fn show_values_prints_raw_values() {
    let fx = Fixture::new();
    let (_, out, _) = scan(&[fx.path(), "--format", "jsonl", "--show-values"]);
    for raw in [&fx.id, &fx.card, &fx.phone] {
        assert!(out.contains(raw.as_str()), "{raw} missing");
    }
}

#[test]
fn json_has_findings_and_inventory_summary() {
    let fx = Fixture::new();
    let (code, out, _) = scan(&[fx.path(), "--format", "json"]);
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(doc["findings"].as_array().unwrap().len(), 3);
    let s = &doc["summary"];
    assert_eq!(s["files_scanned"], 2);
    assert_eq!(s["files_skipped"], 1);
    assert_eq!(s["skipped"][0]["path"], fx.file("blob.bin").as_str());
    assert_eq!(s["skipped"][0]["reason"], "binary data (NUL bytes)");
    assert_eq!(s["findings"], 3);
    assert_eq!(s["sensitive_findings"], 2);
    let kinds = s["kinds"].as_array().unwrap();
    // Sensitive kinds first.
    assert!(kinds[0]["sensitive"].as_bool().unwrap());
    let id = kinds
        .iter()
        .find(|k| k["kind"] == "cn_resident_id")
        .unwrap();
    assert_eq!(id["count"], 1);
    assert_eq!(id["distinct"], 1);
    assert_eq!(id["category"], "identity.id_document");
    assert_eq!(
        id["top_locations"][0]["path"],
        fx.file("roster.csv").as_str()
    );
    assert!(s["bytes_scanned"].as_u64().unwrap() > 100);
    assert!(s["elapsed_seconds"].as_f64().is_some());
}

#[test]
fn table_groups_by_file_and_prints_inventory() {
    let fx = Fixture::new();
    let (code, out, _) = scan(&[fx.path(), "--format", "table", "--color", "never"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("{}\n  2:4 ", fx.file("roster.csv"))),
        "{out}"
    );
    assert!(out.contains("cn_resident_id  sensitive"));
    assert!(out.contains("Personal information inventory"));
    assert!(out.contains("1 skipped (binary data (NUL bytes): 1)"));
    assert!(!out.contains('\x1b'), "no colour when asked");
    let (_, coloured, _) = scan(&[fx.path(), "--format", "table", "--color", "always"]);
    assert!(coloured.contains("\x1b["));
}

#[test]
fn distinct_values_count_spellings_once() {
    let dir = TempDir::new().unwrap();
    fs::write(
        dir.path().join("a.txt"),
        "13812345678\n+86 138 1234 5678\n138-1234-5678\n13912345678\n",
    )
    .unwrap();
    let (_, out, _) = scan(&[dir.path().to_str().unwrap(), "--format", "json"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let mobile = &doc["summary"]["kinds"][0];
    assert_eq!(mobile["count"], 4);
    assert_eq!(mobile["distinct"], 2);
}

#[test]
fn exit_codes_follow_fail_on() {
    let fx = Fixture::new();
    let (code, _, err) = scan(&[fx.path(), "--fail-on", "sensitive"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("2 sensitive findings (bank_card 1, cn_resident_id 1) — failing"),
        "{err}"
    );
    assert_eq!(scan(&[fx.path(), "--fail-on", "none"]).0, 0);
    assert_eq!(scan(&[fx.path()]).0, 0);

    let phones = TempDir::new().unwrap();
    fs::write(phones.path().join("a.txt"), "tel 13812345678\n").unwrap();
    let p = phones.path().to_str().unwrap();
    assert_eq!(scan(&[p, "--fail-on", "sensitive"]).0, 0);
    assert_eq!(scan(&[p, "--fail-on", "any"]).0, 1);
    assert_eq!(
        scan(&[p, "--fail-on", "any", "--min-confidence", "high"]).0,
        1
    );
}

#[test]
fn usage_errors_and_nothing_scanned_exit_2() {
    assert_eq!(scan(&["--format", "yaml"]).0, 2);
    let (code, _, err) = scan(&["/nonexistent/piscan-test-path"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("/nonexistent/piscan-test-path: unreadable"),
        "{err}"
    );
    let empty = TempDir::new().unwrap();
    assert_eq!(
        scan(&[empty.path().to_str().unwrap()]).0,
        0,
        "empty tree is fine"
    );
}

#[cfg(unix)]
#[test]
fn unreadable_files_are_reported_and_the_scan_goes_on() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let fx = Fixture::new();
    // A dangling link, followed with -L, cannot be read even by root.
    symlink(
        fx.dir.path().join("missing"),
        fx.dir.path().join("dangling"),
    )
    .unwrap();
    let locked = fx.dir.path().join("locked.txt");
    fs::write(&locked, "13812345678").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    let locked_is_unreadable = fs::read(&locked).is_err(); // false when run as root

    let (code, out, err) = scan(&[fx.path(), "-L", "--format", "json"]);
    assert_eq!(code, 0);
    assert!(err.contains("dangling: unreadable"), "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let skipped = doc["summary"]["skipped"].as_array().unwrap();
    assert!(skipped
        .iter()
        .any(|s| s["path"] == fx.file("dangling").as_str()
            && s["reason"].as_str().unwrap().starts_with("unreadable")));
    if locked_is_unreadable {
        assert!(
            err.contains("locked.txt: unreadable: permission denied"),
            "{err}"
        );
    }
    assert_eq!(
        doc["summary"]["sensitive_findings"], 2,
        "rest still scanned"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_by_default() {
    use std::os::unix::fs::symlink;
    let fx = Fixture::new();
    let outside = TempDir::new().unwrap();
    fs::write(outside.path().join("x.txt"), "13812345678").unwrap();
    symlink(outside.path().join("x.txt"), fx.dir.path().join("link.txt")).unwrap();
    let (_, out, _) = scan(&[fx.path(), "--format", "jsonl"]);
    assert!(!out.contains("link.txt"));
    let (_, out, _) = scan(&[fx.path(), "--format", "jsonl", "-L"]);
    assert!(out.contains("link.txt"));
}

#[test]
fn ignore_files_excludes_hidden_and_size() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let phone = "tel 13812345678\n";
    for name in [
        "keep.txt",
        ".hidden.txt",
        "gitignored.txt",
        "piscanignored.txt",
        "excluded.log",
    ] {
        fs::write(d.join(name), phone).unwrap();
    }
    fs::write(d.join("big.txt"), format!("{phone}{}", "x".repeat(5000))).unwrap();
    fs::write(d.join(".gitignore"), "gitignored.txt\n").unwrap();
    fs::write(d.join(".piscanignore"), "piscanignored.txt\n").unwrap();
    let p = d.to_str().unwrap();
    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec![p, "--format", "jsonl", "--sort", "path"];
        all.extend_from_slice(args);
        jsonl(&scan(&all).1)
            .iter()
            .map(|f| {
                let path = f["path"].as_str().unwrap();
                Path::new(path)
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        names(&[]),
        [
            ".hidden.txt",
            "big.txt",
            "excluded.log",
            "gitignored.txt",
            "keep.txt"
        ]
    );
    assert_eq!(
        names(&[
            "--respect-ignore",
            "--exclude",
            "*.log",
            "--max-filesize",
            "1K"
        ]),
        [".hidden.txt", "keep.txt"]
    );
    let (_, out, _) = scan(&[p, "--format", "json", "--max-filesize", "1K"]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc["summary"]["skipped_by_reason"]["larger than --max-filesize"],
        1
    );
}

#[test]
fn stdin_is_scanned_as_dash() {
    let out = piscan()
        .args(["scan", "-", "--format", "jsonl"])
        .write_stdin("line one\n手机 13812345678\n")
        .output()
        .unwrap();
    let findings = jsonl(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["path"], "-");
    assert_eq!(findings[0]["line"], 2);
    assert_eq!(findings[0]["col"], 4);
}

#[test]
fn gbk_and_utf16_files_are_decoded() {
    let dir = TempDir::new().unwrap();
    let text = "姓名,手机\n张三,13812345678\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    fs::write(dir.path().join("gbk.csv"), &gbk).unwrap();
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    fs::write(dir.path().join("utf16.csv"), utf16).unwrap();
    let (_, out, _) = scan(&[
        dir.path().to_str().unwrap(),
        "--format",
        "jsonl",
        "--sort",
        "path",
    ]);
    let findings = jsonl(&out);
    assert_eq!(findings.len(), 2, "{out}");
    for f in &findings {
        assert_eq!((f["line"].as_u64(), f["col"].as_u64()), (Some(2), Some(4)));
    }
}

#[test]
fn output_file_and_kinds_command() {
    let fx = Fixture::new();
    let report = fx.dir.path().join("report.jsonl");
    let (code, out, _) = scan(&[&fx.file("roster.csv"), "--output", report.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.is_empty());
    assert_eq!(jsonl(&fs::read_to_string(&report).unwrap()).len(), 2);

    let kinds = piscan().arg("kinds").output().unwrap();
    let text = String::from_utf8(kinds.stdout).unwrap();
    for kind in [
        "cn_resident_id",
        "bank_card",
        "cn_passport",
        "cn_mobile",
        "imei",
        "email",
        "ipv4",
        "mac_address",
    ] {
        assert!(text.contains(kind), "{kind}");
    }
    assert!(text.contains("property.bank_account"));
}

#[test]
fn bundled_examples_give_the_documented_report() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let (code, out, _) = scan(&[examples, "--format", "json"]);
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let s = &doc["summary"];
    let count = |kind: &str| {
        s["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == kind)
            .map_or(0, |k| k["count"].as_u64().unwrap())
    };
    assert_eq!(
        [
            count("cn_resident_id"),
            count("bank_card"),
            count("cn_passport"),
            count("cn_mobile"),
            count("email"),
            count("imei"),
            count("ipv4"),
            count("mac_address")
        ],
        [30, 16, 1, 38, 9, 5, 1, 4]
    );
    assert_eq!(s["files_skipped"], 1);
    // The Excel 97–2003 roster is read cell by cell, under its header.
    let xls_ids = s["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["path"].as_str().unwrap().ends_with("roster_2003.xls") && c["field"] == "身份证号"
        })
        .expect("the .xls roster's ID column");
    assert_eq!(xls_ids["sheet"], "花名册");
    assert_eq!(xls_ids["values"], 6);
}

#[test]
fn chance_numbers_in_tables_are_not_reported() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(9);
    let strokes: String = (0..100)
        .map(|i| {
            let digits: String = (0..10)
                .map(|_| char::from(b'1' + rng.below(5) as u8))
                .collect();
            format!("<U{i:04X}> IGNORE # 1{digits}\n")
        })
        .collect();
    fs::write(dir.path().join("strokes.txt"), strokes).unwrap();
    let phones: String = (0..100)
        .map(|_| format!("{}\n", synth::mobile(&mut rng)))
        .collect();
    fs::write(dir.path().join("phones.txt"), phones).unwrap();
    let (_, out, _) = scan(&[dir.path().to_str().unwrap(), "--format", "jsonl"]);
    let findings = jsonl(&out);
    assert_eq!(findings.len(), 100, "all phones, no strokes");
    assert!(findings
        .iter()
        .all(|f| f["path"].as_str().unwrap().ends_with("phones.txt")));
}

#[test]
fn chance_numbers_in_one_column_are_judged_by_that_column() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(10);
    let mut csv = String::from("name,card_no,order_id\n");
    for i in 0..300 {
        // 16 digits in the Visa range: one in ten passes Luhn by chance.
        let order = format!("4{}", rng.digits(15));
        csv.push_str(&format!("u{i},{},{order}\n", synth::bank_card(&mut rng)));
    }
    fs::write(dir.path().join("orders.csv"), csv).unwrap();
    let (_, out, _) = scan(&[dir.path().to_str().unwrap(), "--format", "jsonl"]);
    let findings = jsonl(&out);
    assert!(findings.iter().all(|f| f["field"] == "card_no"), "{out}");
    assert_eq!(findings.len(), 300);
}

#[test]
fn baseline_round_trip() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(21);
    let (id, card) = (synth::resident_id(&mut rng), synth::bank_card(&mut rng));
    let log = dir.path().join("logs");
    fs::create_dir(&log).unwrap();
    fs::write(log.join("app.log"), format!("a\nid {id}\ncard {card}\n")).unwrap();
    let baseline = dir.path().join("baseline.json");
    let (l, b) = (log.to_str().unwrap(), baseline.to_str().unwrap());

    let (code, _, _) = scan(&[l, "--baseline-write", b, "--fail-on", "sensitive"]);
    assert_eq!(code, 1, "the first run sees the findings");
    let text = fs::read_to_string(&baseline).unwrap();
    assert!(
        !text.contains(&id) && !text.contains(&card[6..]),
        "no values in the baseline"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["fingerprints"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (code, out, _) = scan(&[
        l,
        "--baseline",
        b,
        "--fail-on",
        "sensitive",
        "--format",
        "jsonl",
    ]);
    assert_eq!((code, out.as_str()), (0, ""), "nothing new");

    // Moving the lines does not revive them; one new value is one finding.
    let new_id = synth::resident_id(&mut rng);
    fs::write(
        log.join("app.log"),
        format!("x\ny\ncard {card}\nid {id}\nnew {new_id}\n"),
    )
    .unwrap();
    let (code, out, _) = scan(&[
        l,
        "--baseline",
        b,
        "--fail-on",
        "sensitive",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 1);
    let found = jsonl(&out);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["line"], 5);

    let (code, _, err) = scan(&[l, "--baseline", "/nonexistent/baseline.json"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read baseline /nonexistent/baseline.json"),
        "{err}"
    );
}

#[test]
fn a_pdf_is_skipped_with_its_reason_whatever_its_size() {
    let dir = TempDir::new().unwrap();
    let id = synth::resident_id(&mut Rng::new(35273));
    // Over the 4 MiB from which text files are streamed: told by its head.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    while pdf.len() < 5 << 20 {
        pdf.extend(format!("BT (ID {id}) Tj ET\n").as_bytes());
    }
    fs::write(dir.path().join("scan.pdf"), &pdf).unwrap();
    fs::write(dir.path().join("note.txt"), format!("身份证 {id}\n")).unwrap();
    let path = dir.path().to_str().unwrap();
    let (code, out, _) = scan(&[path, "--format", "json"]);
    assert_eq!(code, 0);
    let doc: Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);
    assert!(doc["findings"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("note.txt"));
    let s = &doc["summary"];
    assert_eq!(s["files_skipped"], 1);
    assert!(s["skipped"][0]["path"]
        .as_str()
        .unwrap()
        .ends_with("scan.pdf"));
    assert_eq!(
        s["skipped"][0]["reason"],
        "PDF document (text extraction not supported)"
    );
}
