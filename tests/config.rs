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

// ---- Custom kinds -------------------------------------------------------

/// A Luhn-valid number of `len` digits from `rng`.
fn luhn_number(rng: &mut Rng, len: usize) -> String {
    let payload: String = (1..len)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect();
    let check = piscan::detect::luhn::check_digit(payload.as_bytes());
    format!("{payload}{}", char::from(check))
}

/// `valid` with its last digit changed: fails Luhn (and MOD 11-2).
fn broken(valid: &str) -> String {
    let (head, last) = valid.split_at(valid.len() - 1);
    let last = last.as_bytes()[0];
    let other = if last == b'X' {
        b'0'
    } else {
        b'0' + (last - b'0' + 1) % 10
    };
    format!("{head}{}", char::from(other))
}

/// The employee card kind of the README: EMP + 12 digits, Luhn, sensitive.
const EMPLOYEE_CARD: &str = r#"
[[custom]]
id = "employee_card"
regex = '\bEMP\d{12}\b'
validator = "luhn"
context = ["工号", "employee"]
category = "identity.employee_id"
sensitive = true
label_zh = "员工卡号"
label_en = "Employee card number"
"#;

/// Runs `piscan ARGS` in `dir`: (exit code, stdout, stderr).
fn piscan_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("piscan")
        .expect("binary built")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

#[test]
fn custom_kind_with_a_luhn_validator_found_in_a_file() {
    let mut rng = Rng::new(60);
    let (near, bare) = (
        format!("EMP{}", luhn_number(&mut rng, 12)),
        format!("EMP{}", luhn_number(&mut rng, 12)),
    );
    let lookalike = broken(&near);
    let glued = format!("X{bare}");
    let text = format!("工号: {near}\nbadge {lookalike}\nseen {bare} and {glued}\n");
    let dir = tree(Some(EMPLOYEE_CARD), &[("staff.log", &text)]);
    let (code, findings, stderr) = scan_in(dir.path(), &["data"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        found(&findings),
        [pair("employee_card", &near), pair("employee_card", &bare)]
    );
    let first = &findings[0];
    assert_eq!(first["category"], "identity.employee_id");
    assert_eq!(first["sensitive"], true);
    assert_eq!(first["confidence"], "high", "a context word before it");
    assert_eq!((&first["line"], &first["col"]), (&1.into(), &5.into()));
    assert_eq!(findings[1]["confidence"], "medium", "no context word");
    assert_eq!(
        (&findings[1]["line"], &findings[1]["col"]),
        (&3.into(), &6.into())
    );

    // Without the definition, nothing is found.
    fs::remove_file(dir.path().join("piscan.toml")).unwrap();
    let (_, findings, _) = scan_in(dir.path(), &["data"]);
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn custom_kind_with_a_mod11_2_validator_and_a_value_group() {
    let mut rng = Rng::new(61);
    let mut member = || {
        let payload: String = (0..9)
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect();
        let check = piscan::detect::resident_id::mod11_2_check_char(payload.as_bytes()).unwrap();
        format!("{payload}{}", char::from(check))
    };
    let (a, b) = (member(), member());
    let bad = broken(&a);
    let config = r#"
[[custom]]
id = "member_no"
regex = 'MB-(?P<value>\d{9}[\dX])\b'
validator = "mod11-2"
category = "property.membership"
"#;
    let text = format!("MB-{a} MB-{bad}\nMB-{b}\n");
    let dir = tree(Some(config), &[("m.txt", &text)]);
    let (code, findings, stderr) = scan_in(dir.path(), &["data"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        found(&findings),
        [pair("member_no", &a), pair("member_no", &b)]
    );
    assert_eq!(findings[0]["sensitive"], false);
    assert_eq!(findings[0]["col"], 4, "the value group, after `MB-`");
}

#[test]
fn custom_kinds_from_a_patterns_directory() {
    let mut rng = Rng::new(62);
    let card = format!("EMP{}", luhn_number(&mut rng, 12));
    let student = format!("STU{}", luhn_number(&mut rng, 10));
    let text = format!("employee {card}\nstudent {student}\n");
    let dir = tree(None, &[("a.txt", &text)]);
    let pats = dir.path().join("pats");
    fs::create_dir(&pats).unwrap();
    fs::write(pats.join("hr.toml"), EMPLOYEE_CARD).unwrap();
    fs::write(
        pats.join("school.toml"),
        "[[custom]]\nid = \"student_no\"\nregex = '\\bSTU\\d{10}\\b'\n\
         validator = \"luhn\"\ncategory = \"education.student_id\"\n\
         context = [\"student\"]\nrequire_context = true\n",
    )
    .unwrap();
    fs::write(pats.join("README.md"), "not a pattern file [[custom]]").unwrap();

    let (code, findings, stderr) = scan_in(dir.path(), &["--patterns", "pats", "data"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        found(&findings),
        [pair("employee_card", &card), pair("student_no", &student)]
    );
    assert!(findings.iter().all(|f| f["confidence"] == "high"));

    // `piscan kinds` lists them after the builtins.
    let (code, stdout, stderr) = piscan_in(dir.path(), &["kinds", "--patterns", "pats"]);
    assert_eq!(code, 0, "{stderr}");
    let ids: Vec<&str> = stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids.len(), 10, "{stdout}");
    assert_eq!(ids[0], "cn_resident_id");
    assert_eq!(&ids[8..], ["employee_card", "student_no"]);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("employee_card"))
        .unwrap();
    assert!(
        line.contains("identity.employee_id") && line.contains("yes"),
        "{line}"
    );
    assert!(line.contains("员工卡号"), "{line}");
    // And without --patterns only the builtins.
    let (_, stdout, _) = piscan_in(dir.path(), &["kinds"]);
    assert_eq!(stdout.lines().count(), 9, "{stdout}");

    // piscan.toml settings apply to the pattern files' kinds.
    fs::write(
        dir.path().join("piscan.toml"),
        "[kinds]\ndisable = [\"student_no\"]\n",
    )
    .unwrap();
    let (code, findings, stderr) = scan_in(dir.path(), &["--patterns", "pats", "data"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(found(&findings), [pair("employee_card", &card)]);

    // A missing directory is an error.
    let (code, _, stderr) = scan_in(dir.path(), &["--patterns", "nope", "data"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("nope: cannot read the patterns directory"),
        "{stderr}"
    );
}

#[test]
fn custom_kind_errors_name_file_line_and_key() {
    let kind =
        |body: &str| format!("[[custom]]\nid = \"employee_card\"\ncategory = \"a.b\"\n{body}");
    let cases = [
        (
            kind("regex = '\\bEMP\\d{12'\n"),
            "piscan.toml:4:",
            "invalid regex in custom.regex of custom kind \"employee_card\"",
        ),
        (
            kind("regex = 'EMP\\d{12}'\nvalidator = \"luhn10\"\n"),
            "piscan.toml:5:",
            "unknown validator \"luhn10\" in custom.validator",
        ),
        (
            "\n[[custom]]\nid = \"cn_mobile\"\nregex = 'x'\ncategory = \"a\"\n".to_string(),
            "piscan.toml:3:",
            "custom kind \"cn_mobile\" in custom.id clashes with a builtin kind",
        ),
        (
            format!(
                "{}\n[[custom]]\nid = \"employee_card\"\nregex = 'y'\ncategory = \"a\"\n",
                kind("regex = 'x'")
            ),
            "piscan.toml:6:",
            "custom kind \"employee_card\" in custom.id is already defined at piscan.toml:2",
        ),
        (
            "[kinds]\ndisable = [\"employee_card\"]\n".to_string(),
            "piscan.toml:2:",
            "unknown kind \"employee_card\" in kinds.disable",
        ),
    ];
    for (config, line, message) in cases {
        let dir = tree(Some(&config), &[("a.txt", "tel 13812345678\n")]);
        let (code, findings, stderr) = scan_in(dir.path(), &["data"]);
        assert_eq!(code, 2, "{config}");
        assert!(findings.is_empty());
        assert!(
            stderr.starts_with(&format!("piscan: {line} ")),
            "{config:?}: {stderr}"
        );
        assert!(stderr.contains(message), "{config:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        // `piscan kinds` reads the same file and fails the same way.
        let (code, _, kinds_err) = piscan_in(dir.path(), &["kinds"]);
        assert_eq!((code, kinds_err.as_str()), (2, stderr.as_str()));
    }

    // The same id in piscan.toml and in a pattern file: both are named.
    let dir = tree(Some(EMPLOYEE_CARD), &[("a.txt", "x\n")]);
    fs::create_dir(dir.path().join("pats")).unwrap();
    fs::write(
        dir.path().join("pats/hr.toml"),
        format!("# HR\n{EMPLOYEE_CARD}"),
    )
    .unwrap();
    let (code, _, stderr) = scan_in(dir.path(), &["--patterns", "pats", "data"]);
    assert_eq!(code, 2);
    let hr = Path::new("pats").join("hr.toml");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "piscan: {}:4: custom kind \"employee_card\" in custom.id is already defined at piscan.toml:3",
            hr.display()
        )
    );

    // At most 24 custom kinds.
    let many: String = (0..25)
        .map(|i| format!("[[custom]]\nid = \"kind_{i}\"\nregex = 'K{i}X'\ncategory = \"a\"\n"))
        .collect();
    let dir = tree(Some(&many), &[("a.txt", "x\n")]);
    let (code, _, stderr) = scan_in(dir.path(), &["data"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(
            "piscan.toml:98: custom kind \"kind_24\" in custom.id is one too many: at most 24"
        ),
        "{stderr}"
    );
}

#[test]
fn custom_kinds_honour_fail_on_masking_and_filters() {
    let mut rng = Rng::new(63);
    let card = format!("EMP{}", luhn_number(&mut rng, 12));
    let other = format!("EMP{}", luhn_number(&mut rng, 12));
    let ticket = "TK-4711-0815";
    let config = format!(
        "{EMPLOYEE_CARD}\n[[custom]]\nid = \"ticket\"\nregex = 'TK-\\d{{4}}-\\d{{4}}'\ncategory = \"service.ticket\"\n"
    );
    let text = format!("工号 {card}\n{ticket}\n");
    let dir = tree(Some(&config), &[("a.txt", &text)]);

    // Masked by default, in every finding format.
    for format in ["jsonl", "json", "csv", "md", "table", "sarif"] {
        let (code, stdout, stderr) = piscan_in(
            dir.path(),
            &["scan", "--format", format, "--no-progress", "data"],
        );
        assert_eq!(code, 0, "{format}: {stderr}");
        assert!(!stdout.contains(&card), "{format}: raw value in {stdout}");
        assert!(!stdout.contains(ticket), "{format}: raw value in {stdout}");
        assert!(stdout.contains("employee_card"), "{format}: {stdout}");
        if format != "md" {
            assert!(
                stdout.contains(&format!("EMP********{}", &card[11..])),
                "{format}: {stdout}"
            );
            assert!(stdout.contains("TK-****-**15"), "{format}: {stdout}");
        }
    }
    // --show-values shows them.
    let (_, findings, _) = scan_in(dir.path(), &["data"]);
    assert_eq!(
        found(&findings),
        [pair("employee_card", &card), pair("ticket", ticket)]
    );

    // --fail-on sensitive fails on the sensitive custom kind only.
    let (code, _, stderr) = piscan_in(dir.path(), &["scan", "--fail-on", "sensitive", "data"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("1 sensitive findings (employee_card 1)"),
        "{stderr}"
    );
    let only_ticket = tree(Some(&config), &[("a.txt", &format!("{ticket}\n"))]);
    let (code, _, stderr) = piscan_in(
        only_ticket.path(),
        &["scan", "--fail-on", "sensitive", "data"],
    );
    assert_eq!(code, 0, "{stderr}");

    // The allowlist, [kinds] disable and min_confidence apply to custom kinds.
    let text = format!("工号 {card}\n{other}\n{ticket}\n");
    let filtered = |extra: &str| {
        let dir = tree(Some(&format!("{config}\n{extra}")), &[("a.txt", &text)]);
        let (code, findings, stderr) = scan_in(dir.path(), &["data"]);
        assert_eq!(code, 0, "{stderr}");
        found(&findings)
    };
    assert_eq!(
        filtered(""),
        [
            pair("employee_card", &card),
            pair("employee_card", &other),
            pair("ticket", ticket)
        ]
    );
    assert_eq!(
        filtered(&format!(
            "[allowlist]\nsha256 = [\"{}\"]\nregex = ['^TK-']\n",
            sha256_hex(&card[3..])
        )),
        [pair("employee_card", &other)],
        "allowlisted by the hash of its canonical form (the digits) and by regex"
    );
    assert_eq!(
        filtered(
            "[kinds]\ndisable = [\"ticket\"]\n[kinds.min_confidence]\nemployee_card = \"high\"\n"
        ),
        [pair("employee_card", &card)]
    );
}

#[test]
fn custom_kinds_in_the_inventory_columns_and_baseline() {
    let mut rng = Rng::new(64);
    let cards: Vec<String> = (0..3)
        .map(|_| format!("EMP{}", luhn_number(&mut rng, 12)))
        .collect();
    let csv = format!(
        "name,工号\n张三,{}\n李四,{}\n王五,{}\n",
        cards[0], cards[1], cards[2]
    );
    let dir = tree(Some(EMPLOYEE_CARD), &[("staff.csv", &csv)]);
    let (code, stdout, stderr) = piscan_in(
        dir.path(),
        &["scan", "--format", "json", "--no-progress", "data"],
    );
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let summary = &doc["summary"];
    assert_eq!(summary["sensitive_findings"], 3);
    let kind = &summary["kinds"][0];
    assert_eq!(kind["kind"], "employee_card");
    assert_eq!(kind["label_zh"], "员工卡号");
    assert_eq!(kind["category"], "identity.employee_id");
    assert_eq!((&kind["count"], &kind["distinct"]), (&3.into(), &3.into()));
    assert_eq!(
        kind["high_confidence"], 3,
        "the column name is a context word"
    );
    let column = &summary["columns"][0];
    assert_eq!(column["field"], "工号");
    assert_eq!(column["kinds"][0]["kind"], "employee_card");
    assert_eq!(column["kinds"][0]["count"], 3);
    assert_eq!(column["kinds"][0]["holds"], true);

    // A baseline accepts the custom findings; a new value is reported.
    let (code, _, stderr) = piscan_in(
        dir.path(),
        &[
            "scan",
            "--baseline-write",
            "base.json",
            "--fail-on",
            "any",
            "data",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let base = fs::read_to_string(dir.path().join("base.json")).unwrap();
    assert!(cards.iter().all(|c| !base.contains(&c[3..])));
    let (code, findings, stderr) = scan_in(
        dir.path(),
        &["--baseline", "base.json", "--fail-on", "any", "data"],
    );
    assert_eq!((code, findings.len()), (0, 0), "{stderr}");
    let new = format!("EMP{}", luhn_number(&mut rng, 12));
    fs::write(
        dir.path().join("data/staff.csv"),
        format!("{csv}赵六,{new}\n"),
    )
    .unwrap();
    let (code, findings, _) = scan_in(
        dir.path(),
        &["--baseline", "base.json", "--fail-on", "any", "data"],
    );
    assert_eq!(code, 1);
    assert_eq!(found(&findings), [pair("employee_card", &new)]);
}
