//! `--format sarif`, `csv` and `md` on a generated tree: SARIF validated
//! against the official 2.1.0 schema, CSV parsed back, the Markdown
//! inventory checked.

use std::fs;
use std::io::Write;

use assert_cmd::Command;
use piscan::detect::Kind;
use piscan::synth::{self, Rng};
use serde_json::Value;
use tempfile::TempDir;

struct Tree {
    dir: TempDir,
    /// Raw values written into the tree; none may appear in a report.
    raw: Vec<String>,
}

/// A roster (CSV), a log, a file with a space in its name, a spreadsheet
/// (cells, no lines) and a zip archive (a member).
fn tree() -> Tree {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(7);
    let id = synth::resident_id(&mut rng);
    let phone = synth::mobile(&mut rng);
    let card = synth::bank_card(&mut rng);
    let email = synth::email(&mut rng);
    let id2 = synth::resident_id(&mut rng);
    let id3 = synth::resident_id(&mut rng);
    let root = dir.path();
    fs::write(
        root.join("roster.csv"),
        format!("姓名,身份证号,手机\n张三,{id},{phone}\n"),
    )
    .unwrap();
    fs::write(root.join("app.log"), format!("bind card_no={card} ok\n")).unwrap();
    fs::write(root.join("my notes.txt"), format!("mail {email}\n")).unwrap();

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("员工").unwrap();
    sheet.write_string(0, 0, "身份证号").unwrap();
    sheet.write_string(1, 0, &id2).unwrap();
    book.save(root.join("staff.xlsx")).unwrap();

    let mut zip = zip::ZipWriter::new(fs::File::create(root.join("backup.zip")).unwrap());
    zip.start_file("data/r.csv", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(format!("身份证号\n{id3}\n").as_bytes())
        .unwrap();
    zip.finish().unwrap();

    Tree {
        dir,
        raw: vec![id, phone, card, email, id2, id3],
    }
}

/// Findings expected in the tree: 3 resident ids, a phone, a card, an email.
const FINDINGS: usize = 6;

fn run(tree: &Tree, format: &str) -> Vec<u8> {
    let out = Command::cargo_bin("piscan")
        .unwrap()
        .current_dir(tree.dir.path())
        .args(["scan", "--format", format, "--no-progress", "."])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn assert_no_raw(tree: &Tree, text: &str) {
    for raw in &tree.raw {
        assert!(
            !text.contains(raw.as_str()),
            "raw value {raw} in the report"
        );
    }
}

/// Asserts that `doc` validates against the official SARIF 2.1.0 schema,
/// and that the schema rejects a broken copy of it.
fn assert_valid_sarif(doc: &Value) {
    let schema: Value = serde_json::from_str(
        &fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/sarif-schema-2.1.0.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::draft4::new(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
    // The schema does reject what is not SARIF.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&broken));
}

#[test]
fn sarif_is_schema_valid_masked_and_stable() {
    let tree = tree();
    let first = String::from_utf8(run(&tree, "sarif")).unwrap();
    let doc: Value = serde_json::from_str(&first).expect("SARIF is JSON");
    assert_valid_sarif(&doc);

    assert_eq!(doc["version"], "2.1.0");
    let run0 = &doc["runs"][0];
    let driver = &run0["tool"]["driver"];
    assert_eq!(driver["name"], "piscan");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), Kind::BUILTIN.len());
    for (rule, kind) in rules.iter().zip(Kind::BUILTIN) {
        assert_eq!(rule["id"], kind.id());
        let sensitive = rule["properties"]["sensitive"].as_bool().unwrap();
        let level = if sensitive { "error" } else { "warning" };
        assert_eq!(rule["defaultConfiguration"]["level"], level);
        assert!(rule["shortDescription"]["text"]
            .as_str()
            .unwrap()
            .contains(" / "));
    }
    assert_eq!(rules[0]["id"], "cn_resident_id");
    assert_eq!(
        rules[0]["shortDescription"]["text"],
        "居民身份证号 / Resident identity card number"
    );

    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), FINDINGS, "{results:#?}");
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert_eq!(r["level"], rules[index]["defaultConfiguration"]["level"]);
        assert!(r["message"]["text"].as_str().unwrap().contains('*'));
        let fp = r["partialFingerprints"]["piscan/v1"].as_str().unwrap();
        assert_eq!(fp.len(), 64);
    }
    let with = |pred: &dyn Fn(&Value) -> bool| results.iter().filter(|r| pred(r)).count();
    assert_eq!(
        with(&|r| r["ruleId"] == "cn_resident_id" && r["level"] == "error"),
        3
    );
    assert_eq!(
        with(&|r| r["ruleId"] == "cn_mobile" && r["level"] == "warning"),
        1
    );
    // A line-numbered source has a region, a spreadsheet a logical location,
    // an archive member a property; a space in a path is percent-encoded.
    assert_eq!(
        with(&|r| r["locations"][0]["physicalLocation"]["region"]["startLine"] == 2),
        3
    );
    assert_eq!(
        with(&|r| r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "员工!A2"),
        1
    );
    assert_eq!(
        with(&|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["properties"]["member"]
                == "data/r.csv"
        }),
        1
    );
    assert!(first.contains("my%20notes.txt"));
    assert_no_raw(&tree, &first);

    // Fingerprints are the same in a second process (the in-process value
    // hash is randomly keyed; the fingerprint must not be).
    let second: Value = serde_json::from_slice(&run(&tree, "sarif")).unwrap();
    let prints = |doc: &Value| -> Vec<String> {
        let mut v: Vec<String> = doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["partialFingerprints"]["piscan/v1"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(prints(&doc), prints(&second));
    let mut distinct = prints(&doc);
    distinct.dedup();
    assert_eq!(distinct.len(), FINDINGS);
}

#[test]
fn csv_has_bom_header_and_one_row_per_finding() {
    let tree = tree();
    let out = run(&tree, "csv");
    assert!(out.starts_with("\u{feff}".as_bytes()), "UTF-8 BOM first");
    let text = std::str::from_utf8(&out[3..]).unwrap();
    assert_no_raw(&tree, text);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header.join(","),
        "path,member,line,col,sheet,cell,table,row,field,kind,category,sensitive,match,confidence"
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), FINDINGS);
    assert!(rows.iter().all(|r| r.len() == 14));
    let id_rows = rows.iter().filter(|r| &r[9] == "cn_resident_id").count();
    assert_eq!(id_rows, 3);
    assert!(rows
        .iter()
        .any(|r| &r[4] == "员工" && &r[5] == "A2" && &r[8] == "身份证号" && &r[11] == "true"));
    assert!(rows.iter().any(|r| &r[1] == "data/r.csv"));
    assert!(rows
        .iter()
        .any(|r| r[0].ends_with("my notes.txt") && &r[9] == "email"));
}

#[test]
fn md_is_the_inventory() {
    let tree = tree();
    let md = String::from_utf8(run(&tree, "md")).unwrap();
    assert_no_raw(&tree, &md);
    assert!(md.contains("## Personal information inventory (GB/T 35273 §5.4a)"));
    assert!(
        md.contains("| kind | label 中文 | category | sensitive | findings | distinct | files |")
    );
    assert!(md.contains(
        "| `cn_resident_id` | 居民身份证号 | `identity.id_document` | **yes** | 3 | 3 | 3 |"
    ));
    assert!(
        md.contains("| `bank_card` | 银行卡号 | `property.bank_account` | **yes** | 1 | 1 | 1 |")
    );
    assert!(md.contains("| `cn_mobile` |"));
    assert!(md.contains("| `email` |"));
    assert!(md.contains("## Columns holding personal information"));
    assert!(md.contains("| 身份证号 | `cn_resident_id` | **yes** | 100.0 % |"));
    assert!(md.contains("**Scan:** 6 findings"));
    // Findings are not listed: no masked values.
    assert!(!md.contains("***"));
}

#[test]
fn sarif_lists_custom_kinds_as_rules() {
    let mut tree = tree();
    let root = tree.dir.path();
    fs::write(
        root.join("piscan.toml"),
        r#"
[[custom]]
id = "employee_card"
regex = '\bEMP\d{12}\b'
validator = "luhn"
context = ["工号"]
category = "identity.employee_id"
sensitive = true
label_zh = "员工卡号"
label_en = "Employee card number"

[[custom]]
id = "ticket_no"
regex = '\bTK-\d{4}-\d{4}\b'
category = "service.ticket"
"#,
    )
    .unwrap();
    let payload = "12345678901";
    let check = piscan::detect::luhn::check_digit(payload.as_bytes()) as char;
    let card = format!("EMP{payload}{check}");
    let ticket = "TK-2024-0042".to_string();
    fs::write(root.join("hr.log"), format!("工号 {card} 工单 {ticket}\n")).unwrap();
    tree.raw.extend([card, ticket]);

    let text = String::from_utf8(run(&tree, "sarif")).unwrap();
    assert_no_raw(&tree, &text);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_valid_sarif(&doc);
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), Kind::BUILTIN.len() + 2);
    assert_eq!(ids[..8], Kind::BUILTIN.map(Kind::id));
    assert_eq!(ids[8..], ["employee_card", "ticket_no"]);
    assert_eq!(rules[8]["name"], "EmployeeCard");
    assert_eq!(rules[8]["defaultConfiguration"]["level"], "error");
    assert_eq!(
        rules[8]["shortDescription"]["text"],
        "员工卡号 / Employee card number"
    );
    assert_eq!(rules[9]["defaultConfiguration"]["level"], "warning");

    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), FINDINGS + 2);
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert_eq!(r["level"], rules[index]["defaultConfiguration"]["level"]);
    }
    let custom: Vec<(&str, u64, &str)> = results
        .iter()
        .filter(|r| r["ruleIndex"].as_u64().unwrap() >= 8)
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap(),
                r["ruleIndex"].as_u64().unwrap(),
                r["properties"]["confidence"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        custom,
        [("employee_card", 8, "high"), ("ticket_no", 9, "medium")]
    );
}
