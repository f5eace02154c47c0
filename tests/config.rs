//! End-to-end tests of the configuration file `piscan.toml` and `--config`.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use piscan::synth::{self, Rng};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// Runs `piscan scan --format jsonl --show-values ARGS` in `dir` and
/// returns (exit code, findings, stderr).
fn scan_in(dir: &Path, args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = Command::cargo_bin("piscan")
        .expect("binary built")
        .current_dir(dir)
        .args([
            "scan",
            "--format",
            "jsonl",
            "--show-values",
            "--sort",
            "path",
        ])
        .args(args)
        .output()
        .expect("runs");
    let findings = String::from_utf8(out.stdout)
        .expect("utf-8 stdout")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    (
        out.status.code().expect("exit code"),
        findings,
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

/// (kind, value) of each finding.
fn found(findings: &[Value]) -> Vec<(String, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["match"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pair(kind: &str, value: &str) -> (String, String) {
    (kind.to_string(), value.to_string())
}

fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A directory with `data/` holding `files`, and `piscan.toml` when given.
fn tree(config: Option<&str>, files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().unwrap();
    for (name, text) in files {
        let path = dir.path().join("data").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    if let Some(config) = config {
        fs::write(dir.path().join("piscan.toml"), config).unwrap();
    }
    dir
}

#[test]
fn disabled_kinds_are_not_reported() {
    let mut rng = Rng::new(1);
    let (phone, ip, mac) = (
        synth::mobile(&mut rng),
        synth::ipv4(&mut rng),
        synth::mac(&mut rng),
    );
    let text = format!("手机 {phone}\nclient_ip={ip}\nmac {mac}\n");
    let files = [("a.txt", text.as_str())];

    let dir = tree(None, &files);
    let (code, all, _) = scan_in(dir.path(), &["data"]);
    assert_eq!(code, 0);
    assert_eq!(
        found(&all),
        [
            pair("cn_mobile", &phone),
            pair("ipv4", &ip),
            pair("mac_address", &mac)
        ]
    );

    let dir = tree(
        Some("[kinds]\ndisable = [\"ipv4\", \"mac_address\"]\n"),
        &files,
    );
    let (code, some, _) = scan_in(dir.path(), &["data"]);
    assert_eq!(code, 0);
    assert_eq!(found(&some), [pair("cn_mobile", &phone)]);
}

#[test]
fn per_kind_minimum_confidence() {
    let mut rng = Rng::new(2);
    let (sure, bare, card) = (
        synth::mobile(&mut rng),
        synth::mobile(&mut rng),
        synth::bank_card(&mut rng),
    );
    let sure_text = format!("手机 {sure}\n");
    let bare_text = format!("{bare}\n{card}\n");
    let files = [("a.txt", sure_text.as_str()), ("b.txt", bare_text.as_str())];

    let dir = tree(None, &files);
    let (_, all, _) = scan_in(dir.path(), &["data"]);
    let confidence = |v: &str| {
        all.iter()
            .find(|f| f["match"] == v)
            .map(|f| f["confidence"].as_str().unwrap().to_string())
    };
    assert_eq!(confidence(&sure).as_deref(), Some("high"));
    assert_eq!(confidence(&bare).as_deref(), Some("medium"));
    assert!(confidence(&card).is_some());

    let dir = tree(
        Some("[kinds.min_confidence]\ncn_mobile = \"high\"\nbank_card = \"medium\"\n"),
        &files,
    );
    let (code, some, _) = scan_in(dir.path(), &["data"]);
    assert_eq!(code, 0);
    assert_eq!(
        found(&some),
        [pair("cn_mobile", &sure), pair("bank_card", &card)]
    );
}

#[test]
fn allowlist_by_sha256_suppresses_exactly_that_value() {
    let mut rng = Rng::new(3);
    let (listed, other) = (synth::resident_id(&mut rng), synth::resident_id(&mut rng));
    let phone = synth::mobile(&mut rng);
    let grouped = format!("{} {} {}", &phone[..3], &phone[3..7], &phone[7..]);
    let text = format!("身份证 {listed}\n身份证 {other}\n手机 {grouped}\n");
    // The value as found, and a phone by the hash of its canonical form.
    let config = format!(
        "[allowlist]\nsha256 = [\n  \"{}\",\n  \"{}\",\n]\n",
        sha256_hex(&listed),
        sha256_hex(&phone).to_uppercase()
    );
    let dir = tree(Some(&config), &[("a.txt", &text)]);
    let (code, findings, _) = scan_in(dir.path(), &["data"]);
    assert_eq!(code, 0);
    assert_eq!(found(&findings), [pair("cn_resident_id", &other)]);

    // Without the file, all three are reported.
    fs::remove_file(dir.path().join("piscan.toml")).unwrap();
    let (_, findings, _) = scan_in(dir.path(), &["data"]);
    assert_eq!(findings.len(), 3);
}

#[test]
fn allowlist_by_regex() {
    let mut rng = Rng::new(4);
    let (listed, other) = (synth::resident_id(&mut rng), synth::resident_id(&mut rng));
    let email = synth::email(&mut rng);
    let text = format!("{listed}\n{other}\n{email}\n");
    let config = format!("[allowlist]\nregex = [\"^{listed}$\", \"@corp-mail\\\\.cn$|@example-hr\\\\.com$|@mail\\\\.test-co\\\\.net$\"]\n");
    let dir = tree(Some(&config), &[("a.txt", &text)]);
    let (code, findings, stderr) = scan_in(dir.path(), &["data"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(found(&findings), [pair("cn_resident_id", &other)]);
}

#[test]
fn excluded_paths_add_to_the_command_line() {
    let text = "tel 13812345678\n";
    let dir = tree(
        Some("[paths]\nexclude = [\"data/fixtures/**\", \"*.min.js\"]\n"),
        &[
            ("keep.txt", text),
            ("fixtures/sample.txt", text),
            ("app.min.js", text),
            ("app.log", text),
        ],
    );
    let paths = |args: &[&str]| -> Vec<String> {
        let (code, findings, _) = scan_in(dir.path(), args);
        assert_eq!(code, 0);
        findings
            .iter()
            .map(|f| f["path"].as_str().unwrap().replace('\\', "/"))
            .collect()
    };
    assert_eq!(paths(&["data"]), ["data/app.log", "data/keep.txt"]);
    assert_eq!(paths(&["data", "--exclude", "*.log"]), ["data/keep.txt"]);
}

#[test]
fn explicit_config_file() {
    let mut rng = Rng::new(5);
    let phone = synth::mobile(&mut rng);
    let ip = synth::ipv4(&mut rng);
    let text = format!("手机 {phone}\nclient_ip={ip}\n");
    // A broken ./piscan.toml is not read when --config names another file.
    let dir = tree(Some("this is not toml"), &[("a.txt", &text)]);
    fs::create_dir(dir.path().join("conf")).unwrap();
    fs::write(
        dir.path().join("conf/strict.toml"),
        "[kinds]\ndisable = [\"cn_mobile\"]\n",
    )
    .unwrap();
    let (code, findings, stderr) = scan_in(dir.path(), &["--config", "conf/strict.toml", "data"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(found(&findings), [pair("ipv4", &ip)]);

    // A named file that does not exist is an error; a missing
    // ./piscan.toml is not.
    let (code, findings, stderr) = scan_in(dir.path(), &["--config", "nope.toml", "data"]);
    assert_eq!(code, 2);
    assert!(findings.is_empty());
    assert!(stderr.contains("nope.toml"), "{stderr}");
    fs::remove_file(dir.path().join("piscan.toml")).unwrap();
    let (code, findings, _) = scan_in(dir.path(), &["data"]);
    assert_eq!(code, 0);
    assert_eq!(findings.len(), 2);
}

#[test]
fn config_errors_name_file_and_line() {
    let cases = [
        (
            "[kinds]\ndisable = [\"ipv4\"]\n\n[allowlist]\nsha256 = []\nvalues = [\"x\"]\n",
            "piscan.toml:6:",
            "unknown field `values`",
        ),
        (
            "[kinds]\ndisable = [\n  \"ipv4\",\n  \"ipv5\",\n]\n",
            "piscan.toml:4:",
            "unknown kind \"ipv5\" in kinds.disable",
        ),
        (
            "# allowlist\n[allowlist]\nregex = [\"^ok$\", \"(unclosed\"]\n",
            "piscan.toml:3:",
            "invalid regex in allowlist.regex",
        ),
        (
            "[kinds.min_confidence]\ncn_mobile = \"certain\"\n",
            "piscan.toml:2:",
            "invalid confidence \"certain\"",
        ),
        (
            "[allowlist]\nsha256 = [\"not-hex\"]\n",
            "piscan.toml:2:",
            "invalid SHA-256 in allowlist.sha256",
        ),
    ];
    for (config, line, message) in cases {
        let dir = tree(Some(config), &[("a.txt", "tel 13812345678\n")]);
        let (code, findings, stderr) = scan_in(dir.path(), &["data"]);
        assert_eq!(code, 2, "{config}");
        assert!(findings.is_empty());
        assert!(
            stderr.starts_with(&format!("piscan: {line} ")),
            "{config:?}: {stderr}"
        );
        assert!(stderr.contains(message), "{config:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}
