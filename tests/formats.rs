//! End-to-end tests of the file formats: every input is generated here,
//! and findings are checked down to their location fields.

use std::fs;
use std::io::{Cursor, Write};

use assert_cmd::Command;
use piscan::synth::{self, Rng};
use serde_json::Value;
use tempfile::TempDir;

mod common;
use common::{ods, zip};

/// Scans `dir` and returns the findings of `--format jsonl --show-values`,
/// sorted by path.
fn findings(dir: &TempDir) -> Vec<Value> {
    findings_with(dir, &[])
}

/// [`findings`] with environment variables set.
fn findings_with(dir: &TempDir, env: &[(&str, &str)]) -> Vec<Value> {
    let out = Command::cargo_bin("piscan")
        .unwrap()
        .envs(env.iter().copied())
        .args([
            "scan",
            "--format",
            "jsonl",
            "--sort",
            "path",
            "--show-values",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The summary of `--format json`.
fn summary(dir: &TempDir) -> Value {
    let out = Command::cargo_bin("piscan")
        .unwrap()
        .args(["scan", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["summary"].clone()
}

#[test]
fn xlsx_cells_with_sheet_cell_and_header_field() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(11);
    let ids: Vec<String> = (0..3).map(|_| synth::resident_id(&mut rng)).collect();
    let phone: u64 = synth::mobile(&mut rng).parse().unwrap();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("员工").unwrap();
    for (col, head) in ["姓名", "身份证号", "手机"].iter().enumerate() {
        sheet.write_string(0, col as u16, *head).unwrap();
    }
    for (row, id) in ids.iter().enumerate() {
        let r = row as u32 + 1;
        sheet.write_string(r, 0, "张三").unwrap();
        sheet.write_string(r, 1, id).unwrap();
        sheet.write_number(r, 2, phone as f64).unwrap();
    }
    fs::write(
        dir.path().join("roster.xlsx"),
        book.save_to_buffer().unwrap(),
    )
    .unwrap();

    let found = findings(&dir);
    assert_eq!(found.len(), 6);
    assert_eq!(found[0]["sheet"], "员工");
    assert_eq!(found[0]["cell"], "B2");
    assert_eq!(found[0]["field"], "身份证号");
    assert_eq!(found[0]["match"], ids[0].as_str());
    assert_eq!(found[1]["cell"], "C2");
    assert_eq!(
        found[1]["match"],
        phone.to_string().as_str(),
        "numeric cell, exact digits"
    );
    assert!(found[0].get("line").is_none());

    let s = summary(&dir);
    let column = s["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "身份证号")
        .expect("per-column inventory");
    assert_eq!(column["sheet"], "员工");
    assert_eq!(column["values"], 3);
    assert_eq!(column["kinds"][0]["kind"], "cn_resident_id");
    assert_eq!(column["kinds"][0]["count"], 3);
    assert_eq!(column["kinds"][0]["holds"], true);
}

/// `zip_data` with a member of `len` bytes of noise added, stored
/// uncompressed: a workbook over the size from which it is read where it
/// is, not in memory (4 MiB), with the same cells.
fn padded(zip_data: Vec<u8>, len: usize) -> Vec<u8> {
    let mut w = zip::ZipWriter::new_append(Cursor::new(zip_data)).unwrap();
    w.start_file("xl/media/image1.bin", stored()).unwrap();
    let mut rng = Rng::new(5);
    let noise: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
    w.write_all(&noise).unwrap();
    w.finish().unwrap().into_inner()
}

/// The findings (without their path) of the document `small` named
/// `name`, after checking that a copy padded past 4 MiB, which is read
/// where it is rather than in memory, gives the same, and that a copy
/// padded past 16 MiB in a zip, a member too long to be held (written to
/// a temporary file and read there), gives the same in that member.
fn read_in_memory_and_in_place(name: &str, small: Vec<u8>) -> Vec<Value> {
    let (a, b, c) = (
        TempDir::new().unwrap(),
        TempDir::new().unwrap(),
        TempDir::new().unwrap(),
    );
    fs::write(a.path().join(name), &small).unwrap();
    fs::write(b.path().join(name), padded(small.clone(), 5 << 20)).unwrap();
    let mut share = zip::ZipWriter::new(Cursor::new(Vec::new()));
    share.start_file(name, stored()).unwrap();
    share.write_all(&padded(small, 17 << 20)).unwrap();
    let share = share.finish().unwrap().into_inner();
    fs::write(c.path().join("share.zip"), share).unwrap();
    let in_memory = without_path(findings(&a));
    assert_eq!(
        without_path(findings(&b)),
        in_memory,
        "{name} read in place"
    );
    let in_member = |found: Vec<Value>| in_member(found, name);
    assert_eq!(
        in_member(findings(&c)),
        in_memory,
        "{name} as a large member"
    );
    // Without a temporary file, the member is held: the same again.
    let no_tmp = [("TMPDIR", "/nonexistent/piscan-test")];
    assert_eq!(
        in_member(findings_with(&c, &no_tmp)),
        in_memory,
        "{name} as a large member held"
    );
    in_memory
}

fn stored() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored)
}

/// The findings without their `path`, to compare files in two places.
fn without_path(found: Vec<Value>) -> Vec<Value> {
    found
        .into_iter()
        .map(|mut f| {
            f.as_object_mut().unwrap().remove("path");
            f
        })
        .collect()
}

#[test]
fn large_xlsx_is_read_where_it_is_with_the_same_findings() {
    let mut rng = Rng::new(12);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("客户").unwrap();
    for (col, head) in ["姓名", "身份证号", "手机", "银行卡"].iter().enumerate() {
        sheet.write_string(0, col as u16, *head).unwrap();
    }
    for r in 1..=200u32 {
        sheet.write_string(r, 0, "李四").unwrap();
        sheet
            .write_string(r, 1, synth::resident_id(&mut rng))
            .unwrap();
        let phone: f64 = synth::mobile(&mut rng).parse().unwrap();
        sheet.write_number(r, 2, phone).unwrap();
        sheet
            .write_string(r, 3, synth::bank_card(&mut rng))
            .unwrap();
    }
    let in_memory = read_in_memory_and_in_place("book.xlsx", book.save_to_buffer().unwrap());
    assert_eq!(in_memory.len(), 600);
    assert_eq!(in_memory[0]["cell"], "B2");
    assert_eq!(in_memory[0]["field"], "身份证号");

    // The bomb guards are checked before it is read, as in memory.
    let mut bomb = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    let strings = format!("<sst><si><t>{}</t></si></sst>", "a".repeat(50 << 20));
    bomb.start_file("xl/sharedStrings.xml", options).unwrap();
    bomb.write_all(strings.as_bytes()).unwrap();
    let bomb = padded(bomb.finish().unwrap().into_inner(), 5 << 20);
    let c = TempDir::new().unwrap();
    fs::write(c.path().join("bomb.xlsx"), &bomb).unwrap();
    let s = summary(&c);
    assert_eq!(s["skipped"][0]["member"], "xl/sharedStrings.xml", "{s}");
    assert_eq!(
        s["skipped"][0]["reason"],
        "compression ratio above 100:1; the document was not scanned"
    );
}

/// A roster sheet: a header row (name, ID, phone), then 50 rows.
fn roster(rng: &mut Rng, name: &str) -> Vec<Vec<String>> {
    let mut rows = vec![vec!["姓名".to_string(), "身份证号".into(), "手机".into()]];
    for _ in 0..50 {
        rows.push(vec![
            name.into(),
            synth::resident_id(rng),
            synth::mobile(rng),
        ]);
    }
    rows
}

/// Checks the findings of a [`roster`] written to a workbook whose sheet
/// is `花名册` (the phones as number cells).
fn assert_roster_found(found: &[Value], rows: &[Vec<String>]) {
    assert_eq!(found.len(), 100);
    assert_eq!(found[0]["sheet"], "花名册");
    assert_eq!(found[0]["cell"], "B2");
    assert_eq!(found[0]["field"], "身份证号");
    assert_eq!(found[0]["match"], rows[1][1].as_str());
    assert_eq!(found[1]["cell"], "C2");
    assert_eq!(found[1]["field"], "手机");
    assert_eq!(found[1]["match"], rows[1][2].as_str(), "a number cell");
    assert_eq!(found[99]["cell"], format!("C{}", rows.len()).as_str());
}

#[test]
fn xls_cells_with_sheet_cell_and_header_field() {
    let mut rng = Rng::new(14);
    let mut rows = roster(&mut rng, "王五");
    let dir = TempDir::new().unwrap();
    fs::write(
        dir.path().join("roster.xls"),
        synth::xls_roster("花名册", &rows),
    )
    .unwrap();
    let found = findings(&dir);
    assert_roster_found(&found, &rows);

    // Over 4 MiB, it is read from the file where it is: the same cells.
    for i in 0..30_000 {
        rows.push(vec![
            format!("客户{i}"),
            synth::resident_id(&mut rng),
            synth::mobile(&mut rng),
            format!("第{i}次回访：{}", "客户满意，".repeat(12)),
        ]);
    }
    let large = synth::xls_roster("花名册", &rows);
    assert!(large.len() > 5 << 20, "{} bytes", large.len());
    let big = TempDir::new().unwrap();
    fs::write(big.path().join("roster.xls"), &large).unwrap();
    let in_place = without_path(findings(&big));
    assert_eq!(in_place.len(), 100 + 60_000);
    assert!(
        in_place[..100] == without_path(found)[..],
        "the first rows differ"
    );
    let last = rows.len();
    assert_eq!(
        in_place.last().unwrap()["cell"],
        format!("C{last}").as_str()
    );
    assert_eq!(in_place.last().unwrap()["field"], "手机");
}

#[test]
fn xlsb_cells_in_memory_and_in_place() {
    let rows = roster(&mut Rng::new(15), "赵六");
    let found = read_in_memory_and_in_place("roster.xlsb", synth::xlsb_roster("花名册", &rows));
    assert_roster_found(&found, &rows);
}

/// The findings of `dir`, each in the archive member `member` (checked
/// and removed), without their path.
fn in_member(found: Vec<Value>, member: &str) -> Vec<Value> {
    without_path(found)
        .into_iter()
        .map(|mut f| {
            assert_eq!(f["member"], member);
            f.as_object_mut().unwrap().remove("member");
            f
        })
        .collect()
}

#[test]
fn a_long_sqlite_member_is_read_from_a_temporary_file() {
    let mut rng = Rng::new(16);
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("app.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch("CREATE TABLE users (name TEXT, phone TEXT, bio TEXT); BEGIN;")
        .unwrap();
    for i in 0..4_500 {
        let row = (
            format!("用户{i}"),
            synth::mobile(&mut rng),
            "简介".repeat(700),
        );
        db.execute("INSERT INTO users VALUES (?1, ?2, ?3)", row)
            .unwrap();
    }
    db.execute_batch("COMMIT;").unwrap();
    drop(db);
    let bytes = fs::read(&path).unwrap();
    assert!(bytes.len() > 17 << 20, "{} bytes", bytes.len());
    let alone = without_path(findings(&dir));
    assert_eq!(alone.len(), 4_500);
    assert_eq!(alone[0]["table"], "users");
    assert_eq!(alone[0]["field"], "phone");

    // Over 16 MiB in a zip: written to a temporary file and opened there;
    // without one, held as before. The same findings either way.
    let no_tmp = [("TMPDIR", "/nonexistent/piscan-test")];
    let share = TempDir::new().unwrap();
    let backup = zip(&[("data/app.db", &bytes)]);
    fs::write(share.path().join("backup.zip"), &backup).unwrap();
    assert_eq!(in_member(findings(&share), "data/app.db"), alone);
    assert_eq!(
        in_member(findings_with(&share, &no_tmp), "data/app.db"),
        alone
    );

    // Cut inside a page: the pages present are read from the temporary
    // file, its header repaired there (without one, from a copy in
    // memory), and the cut is reported, as for a member held.
    let cut = &bytes[..bytes.len() - 1000];
    fs::write(
        share.path().join("backup.zip"),
        zip(&[("data/app.db", cut)]),
    )
    .unwrap();
    let summary_of = |env: &[(&str, &str)]| {
        let out = Command::cargo_bin("piscan")
            .unwrap()
            .envs(env.iter().copied())
            .args(["scan", "--format", "json", "--show-values"])
            .arg(share.path())
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            report["findings"].as_array().unwrap().len(),
            report["summary"]["skipped"].clone(),
        )
    };
    let spilled = summary_of(&[]);
    assert!(spilled.0 > 4_000, "{spilled:?}");
    assert!(spilled.1.to_string().contains("truncated"), "{spilled:?}");
    assert_eq!(spilled, summary_of(&no_tmp));
}

#[test]
fn ods_cells_in_memory_and_in_place_and_a_repeat_bomb() {
    let mut rng = Rng::new(13);
    let text = |t: &str| {
        format!(
            r#"<table:table-cell office:value-type="string"><text:p>{t}</text:p></table:table-cell>"#
        )
    };
    let mut rows = format!(
        "<table:table-row>{}{}{}</table:table-row>",
        text("姓名"),
        text("身份证号"),
        text("手机")
    );
    for _ in 0..200 {
        rows += &format!(
            r#"<table:table-row>{}{}<table:table-cell office:value-type="float" office:value="{}"/></table:table-row>"#,
            text("李四"),
            text(&synth::resident_id(&mut rng)),
            synth::mobile(&mut rng)
        );
    }
    // LibreOffice's padding: a million empty rows, then one more value.
    rows += r#"<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>"#;
    rows += &format!("<table:table-row>{}</table:table-row>", text("x"));
    let small = ods(&format!(
        r#"<table:table table:name="客户">{rows}</table:table>"#
    ));
    let in_memory = read_in_memory_and_in_place("book.ods", small);
    assert_eq!(in_memory.len(), 400);
    assert_eq!(in_memory[0]["sheet"], "客户");
    assert_eq!(in_memory[0]["cell"], "B2");
    assert_eq!(in_memory[0]["field"], "身份证号");
    assert_eq!(in_memory[1]["cell"], "C2");
    assert_eq!(in_memory[1]["field"], "手机");

    // One ID over 16 384 columns and a million rows, in 1 KB: read in a
    // moment, a million copies given (whole rows), the rest said to be cut.
    let bomb = ods(&format!(
        r#"<table:table table:name="S"><table:table-row table:number-rows-repeated="1000000">{}</table:table-row></table:table>"#,
        text(&synth::resident_id(&mut rng)).replace(
            "<table:table-cell ",
            r#"<table:table-cell table:number-columns-repeated="16384" "#
        )
    ));
    let c = TempDir::new().unwrap();
    fs::write(c.path().join("bomb.ods"), &bomb).unwrap();
    let s = summary(&c);
    assert_eq!(s["findings"], 1_000_000 - 1_000_000 % 16_384, "{s}");
    assert_eq!(s["skipped"][0]["member"], "S", "{s}");
    assert_eq!(
        s["skipped"][0]["reason"],
        "repeated cells past 1000000 copies per workbook not expanded (the first copy of each was scanned)"
    );
}

#[test]
fn docx_paragraphs_are_lines() {
    let dir = TempDir::new().unwrap();
    let id = synth::resident_id(&mut Rng::new(12));
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>出差审批</w:t></w:r></w:p>
<w:p/>
<w:p><w:r><w:t>身份证号:</w:t></w:r><w:r><w:t>{id}</w:t></w:r></w:p>
</w:body></w:document>"#
    );
    let docx = zip(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", body.as_bytes()),
    ]);
    // The same document over 4 MiB is read from the file where it is.
    fs::write(dir.path().join("trip.docx"), &docx).unwrap();
    fs::write(
        dir.path().join("trip-large.docx"),
        padded(docx.clone(), 5 << 20),
    )
    .unwrap();
    let found = findings(&dir);
    assert_eq!(found.len(), 2);
    assert!(found[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("trip-large.docx"));
    for f in &found {
        assert_eq!((f["line"].as_u64(), f["col"].as_u64()), (Some(3), Some(6)));
        assert_eq!(f["kind"], "cn_resident_id");
        assert_eq!(f["match"], id.as_str());
    }
    // And as a member of a zip too long to hold, from a temporary file.
    let in_memory = read_in_memory_and_in_place("trip.docx", docx);
    assert_eq!(in_memory.len(), 1);
    assert_eq!(in_memory[0]["line"], 3);
}

#[test]
fn json_and_jsonl_values_carry_key_paths() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(13);
    let (phone, id) = (synth::mobile(&mut rng), synth::resident_id(&mut rng));
    fs::write(
        dir.path().join("a.json"),
        format!("{{\n  \"users\": [\n    {{\"contact\": {{\"phone\": \"{phone}\"}}, \"id_no\": \"{id}\"}}\n  ]\n}}\n"),
    )
    .unwrap();
    fs::write(
        dir.path().join("b.jsonl"),
        format!("{{\"imei\": \"490154203237518\"}}\nnot json {phone}\n"),
    )
    .unwrap();
    let found = findings(&dir);
    let got: Vec<(&str, Option<&str>, u64)> = found
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap(),
                f["field"].as_str(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("cn_mobile", Some("users.contact.phone"), 3),
            ("cn_resident_id", Some("users.id_no"), 3),
            ("imei", Some("imei"), 1),
            ("cn_mobile", None, 2),
        ]
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn archives_nest_with_member_chains_and_limits() {
    let dir = TempDir::new().unwrap();
    let id = synth::resident_id(&mut Rng::new(14));
    let text = format!("header\nid {id}\n");
    let inner = zip(&[("data/roster.txt", text.as_bytes())]);
    let outer = zip(&[
        ("inner.zip", &inner),
        ("logs/app.log.gz", &gzip(text.as_bytes())),
        ("bomb.txt", &vec![b' '; 20 << 20]),
    ]);
    fs::write(dir.path().join("outer.zip"), outer).unwrap();
    let mut truncated = gzip(format!("{text}{}", "x".repeat(100_000)).as_bytes());
    truncated.truncate(truncated.len() / 2);
    fs::write(dir.path().join("cut.log.gz"), truncated).unwrap();

    let found = findings(&dir);
    let got: Vec<(&str, Option<&str>, u64)> = found
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().rsplit('/').next().unwrap(),
                f["member"].as_str(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("cut.log.gz", None, 2),
            ("outer.zip", Some("inner.zip!data/roster.txt"), 2),
            ("outer.zip", Some("logs/app.log.gz"), 2),
        ]
    );
    let s = summary(&dir);
    let reasons: Vec<(String, String)> = s["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["member"].as_str().unwrap_or("").to_string(),
                k["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        reasons.contains(&("bomb.txt".into(), "compression ratio above 100:1".into())),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(_, r)| r.starts_with("gzip stream truncated or corrupt")),
        "{reasons:?}"
    );
    assert_eq!(s["files_scanned"], 2);
    assert_eq!(s["files_skipped"], 0, "{}", s["skipped"]);
}

#[test]
fn sqlite_rows_are_located_by_table_row_and_column() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("app.db");
    let mut rng = Rng::new(15);
    let (id, phone) = (synth::resident_id(&mut rng), synth::mobile(&mut rng));
    {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, id_no TEXT, phone INTEGER, avatar BLOB);")
            .unwrap();
        db.execute(
            "INSERT INTO users (name, id_no, phone, avatar) VALUES ('张三', ?1, ?2, x'00ff')",
            rusqlite::params![id, phone.parse::<i64>().unwrap()],
        )
        .unwrap();
        db.execute("INSERT INTO users (name) VALUES ('李四')", [])
            .unwrap();
    }
    let before = fs::read(&path).unwrap();
    let found = findings(&dir);
    assert_eq!(fs::read(&path).unwrap(), before, "scanned file unchanged");
    let got: Vec<(&str, u64, &str, &str)> = found
        .iter()
        .map(|f| {
            (
                f["table"].as_str().unwrap(),
                f["row"].as_u64().unwrap(),
                f["field"].as_str().unwrap(),
                f["match"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("users", 1, "id_no", id.as_str()),
            ("users", 1, "phone", phone.as_str())
        ]
    );
    let s = summary(&dir);
    let column = &s["columns"][0];
    assert_eq!(
        (column["table"].as_str(), column["field"].as_str()),
        (Some("users"), Some("id_no"))
    );
    assert_eq!(column["values"], 1, "NULL is not a value");
}

#[test]
fn csv_fields_in_gbk_utf16_and_quoted_newlines() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(16);
    let ids: Vec<String> = (0..4).map(|_| synth::resident_id(&mut rng)).collect();
    let phone = synth::mobile(&mut rng);
    let text = format!(
        "姓名,身份证号,备注\r\n张三,{},\"地址:\n北京\"\r\n李四,{},\"电话 {phone}\"\r\n",
        ids[0], ids[1]
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    fs::write(dir.path().join("a_gbk.csv"), &gbk).unwrap();
    let utf16: Vec<u8> = format!("姓名\t身份证号\n王五\t{}\n赵六\t{}\n", ids[2], ids[3])
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    fs::write(dir.path().join("b_utf16.tsv"), utf16).unwrap();

    let found = findings(&dir);
    let got: Vec<(String, Option<&str>, u64, u64)> = found
        .iter()
        .map(|f| {
            (
                f["match"].as_str().unwrap().to_string(),
                f["field"].as_str(),
                f["line"].as_u64().unwrap(),
                f["col"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (ids[0].clone(), Some("身份证号"), 2, 4),
            (ids[1].clone(), Some("身份证号"), 4, 4),
            (phone.clone(), Some("备注"), 4, 27),
            (ids[2].clone(), Some("身份证号"), 2, 4),
            (ids[3].clone(), Some("身份证号"), 3, 4),
        ]
    );
    let s = summary(&dir);
    let id_column = s["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "身份证号" && c["path"].as_str().unwrap().ends_with("a_gbk.csv"))
        .unwrap()
        .clone();
    assert_eq!(id_column["values"], 2);
    assert_eq!(id_column["kinds"][0]["ratio"], 1.0);
}

#[test]
fn sql_dump_columns_rows_and_row_limit() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(17);
    let rows: Vec<String> = (0..4)
        .map(|i| {
            format!(
                "({i},'{}',{},_binary '\u{1}\u{2}',0xDEADBEEF,NULL)",
                synth::resident_id(&mut rng),
                synth::mobile(&mut rng)
            )
        })
        .collect();
    let dump = format!(
        "-- MySQL dump 10.13\n/*!40101 SET NAMES utf8mb4 */;\nCREATE TABLE `users` (\n  `id` int,\n  `id_no` char(18),\n  `phone` bigint,\n  `pic` blob,\n  `hash` varbinary(4),\n  `note` text,\n  PRIMARY KEY (`id`)\n);\nINSERT INTO `users` VALUES {};\n",
        rows.join(",")
    );
    fs::write(dir.path().join("dump.sql"), &dump).unwrap();
    let found = findings(&dir);
    let got: Vec<(&str, u64, &str, &str)> = found
        .iter()
        .map(|f| {
            (
                f["table"].as_str().unwrap(),
                f["row"].as_u64().unwrap(),
                f["field"].as_str().unwrap(),
                f["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), 8);
    assert_eq!(got[0], ("users", 1, "id_no", "cn_resident_id"));
    assert_eq!(
        got[1],
        ("users", 1, "phone", "cn_mobile"),
        "BIGINT phone found"
    );
    assert_eq!(got[7], ("users", 4, "phone", "cn_mobile"));

    let out = Command::cargo_bin("piscan")
        .unwrap()
        .args(["scan", "--format", "jsonl", "--max-rows-per-table", "2"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().lines().count(),
        4,
        "first 2 rows only"
    );

    let out = Command::cargo_bin("piscan")
        .unwrap()
        .args(["scan", "--format", "table", "--color", "never"])
        .arg(dir.path())
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("users.id_no — cn_resident_id — sensitive — 100.0 % of 4 rows"),
        "{table}"
    );
}
