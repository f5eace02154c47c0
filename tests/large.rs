//! End-to-end tests of large inputs: files scanned as streams of blocks
//! (in parallel, with findings moved to their exact lines) and files whose
//! findings are sent on in batches. Sizes are kept just above the
//! thresholds (4 MiB, 4 096 findings) so the suite stays fast.

use std::fmt::Write as _;
use std::fs;

use assert_cmd::Command;
use piscan::synth::{self, Rng};
use serde_json::Value;
use tempfile::TempDir;

/// Runs `piscan scan ARGS --format json` and returns the document.
fn scan_json(args: &[&str]) -> Value {
    let out = Command::cargo_bin("piscan")
        .expect("binary built")
        .arg("scan")
        .args(args)
        .args(["--format", "json", "--no-progress"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

/// A log of about `mb` MB whose every 997th line holds a phone number after
/// a context word, and one line of 200 KB without a break; returns the text
/// and the lines (1-based) and columns of the planted values.
fn big_log(seed: u64, mb: usize) -> (String, Vec<(u64, u64)>) {
    let mut rng = Rng::new(seed);
    let mut text = String::new();
    let mut planted = Vec::new();
    let mut line = 1u64;
    while text.len() < mb << 20 {
        if line.is_multiple_of(997) {
            let prefix = format!("2024-05-17T10:00:00 INFO 用户 {line} 手机 ");
            planted.push((line, prefix.chars().count() as u64 + 1));
            writeln!(text, "{prefix}{}", synth::mobile(&mut rng)).unwrap();
        } else if line == 5000 {
            text.push_str(&"word ".repeat(40_000));
            text.push('\n');
        } else {
            writeln!(
                text,
                "2024-05-17T10:00:00.{:03} DEBUG request_id={} took {}ms",
                line % 1000,
                1_700_000_000_000_000_000u64 + line,
                line % 97
            )
            .unwrap();
        }
        line += 1;
    }
    (text, planted)
}

#[test]
fn large_logs_are_streamed_with_exact_lines_in_file_order() {
    let dir = TempDir::new().unwrap();
    let (a, planted_a) = big_log(1, 9);
    let (b, planted_b) = big_log(2, 6);
    fs::write(dir.path().join("a.log"), &a).unwrap();
    fs::write(dir.path().join("b.log"), &b).unwrap();
    for threads in ["1", "3"] {
        let doc = scan_json(&[dir.path().to_str().unwrap(), "-j", threads]);
        for (name, planted) in [("a.log", &planted_a), ("b.log", &planted_b)] {
            let found: Vec<(u64, u64)> = doc["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["path"].as_str().unwrap().ends_with(name))
                .map(|f| {
                    assert_eq!(f["kind"], "cn_mobile");
                    (f["line"].as_u64().unwrap(), f["col"].as_u64().unwrap())
                })
                .collect();
            assert_eq!(&found, planted, "{name} with -j {threads}");
        }
        let s = &doc["summary"];
        assert_eq!(s["files_scanned"], 2);
        assert_eq!(s["files_with_findings"], 2);
        assert_eq!(s["bytes_scanned"], (a.len() + b.len()) as u64);
        assert_eq!(
            s["findings"].as_u64().unwrap(),
            (planted_a.len() + planted_b.len()) as u64
        );
    }
}

/// About `mb` MB of log lines with a card-like number (a UnionPay prefix,
/// Luhn-valid one time in three) every 3 000 lines: chance, judged by how
/// few of a block's candidates pass, so what is reported depends on where
/// blocks are cut.
fn chance_cards(seed: u64, mb: usize) -> String {
    let mut rng = Rng::new(seed);
    let mut text = String::new();
    let mut line = 1u64;
    while text.len() < mb << 20 {
        if line.is_multiple_of(3000) {
            let payload = format!("62{:013}", rng.below(10_000_000_000_000));
            let mut card = synth::luhn_complete(&payload);
            if rng.below(3) > 0 {
                let last = (card.pop().unwrap() as u8 - b'0' + 1) % 10;
                card.push((b'0' + last) as char);
            }
            writeln!(text, "2024-05-17T10:00:00 INFO ref {card} ok").unwrap();
        } else {
            writeln!(
                text,
                "2024-05-17T10:00:00.{:03} DEBUG took {}ms",
                line % 1000,
                line % 97
            )
            .unwrap();
        }
        line += 1;
    }
    text
}

#[test]
fn findings_do_not_depend_on_how_many_threads_scan_large_files() {
    let dir = TempDir::new().unwrap();
    for (seed, name) in [(11, "a.log"), (12, "b.log"), (13, "c.log")] {
        fs::write(dir.path().join(name), chance_cards(seed, 9)).unwrap();
    }
    let found = |threads: &str| -> Vec<(String, u64, u64, String)> {
        let doc = scan_json(&[dir.path().to_str().unwrap(), "-j", threads]);
        let mut found: Vec<_> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap().to_string(),
                    f["line"].as_u64().unwrap(),
                    f["col"].as_u64().unwrap(),
                    f["kind"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        found.sort();
        found
    };
    let one = found("1");
    // Some chance cards are reported (their block held too few
    // candidates to judge), others not: the cut matters.
    assert!(!one.is_empty());
    for threads in ["2", "3", "8"] {
        assert_eq!(found(threads), one, "-j {threads}");
    }
}

#[test]
fn a_file_with_many_findings_reports_them_all_and_counts_its_columns() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(3);
    let rows = 6000;
    let mut csv = String::from("name,id_no,mobile,note\n");
    for i in 0..rows {
        writeln!(
            csv,
            "user{i},{},{},ok",
            synth::resident_id(&mut rng),
            synth::mobile(&mut rng)
        )
        .unwrap();
    }
    fs::write(dir.path().join("users.csv"), csv).unwrap();
    let doc = scan_json(&[dir.path().to_str().unwrap()]);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2 * rows);
    // Still in file order across the batches they were sent in.
    let lines: Vec<u64> = findings
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(lines.last(), Some(&(rows as u64 + 1)));
    let s = &doc["summary"];
    assert_eq!(s["files_scanned"], 1);
    assert_eq!(s["files_with_findings"], 1);
    let columns = s["columns"].as_array().unwrap();
    for (field, kind) in [("id_no", "cn_resident_id"), ("mobile", "cn_mobile")] {
        let column = columns.iter().find(|c| c["field"] == field).unwrap();
        assert_eq!(column["values"], rows as u64, "{field}");
        assert_eq!(column["kinds"][0]["kind"], kind);
        assert_eq!(column["kinds"][0]["count"], rows as u64, "{field}");
        assert_eq!(column["kinds"][0]["holds"], true);
    }
}

#[test]
fn a_large_dump_is_tokenized_as_it_is_read() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(4);
    let mut dump = synth::DUMP_HEAD.as_bytes().to_vec();
    let mut ids = Vec::new();
    while dump.len() < 5 << 20 {
        let row = synth::user_row(&mut rng, ids.len() as u64);
        synth::dump_tuple(&row, ids.is_empty(), &mut dump);
        ids.push(row[2].clone());
    }
    dump.extend_from_slice(b";\nINSERT INTO `audit` VALUES (1,'ok');\n");
    fs::write(dir.path().join("prod.sql"), &dump).unwrap();
    let doc = scan_json(&[dir.path().to_str().unwrap(), "--show-values"]);
    let findings = doc["findings"].as_array().unwrap();
    let id_rows: Vec<(u64, &str)> = findings
        .iter()
        .filter(|f| f["field"] == "id_no")
        .map(|f| {
            assert_eq!(f["table"], "users");
            assert_eq!(f["kind"], "cn_resident_id");
            (f["row"].as_u64().unwrap(), f["match"].as_str().unwrap())
        })
        .collect();
    let expected: Vec<(u64, &str)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (i as u64 + 1, id.as_str()))
        .collect();
    assert_eq!(id_rows, expected);
    for field in ["phone", "card_no"] {
        let n = findings.iter().filter(|f| f["field"] == field).count();
        assert_eq!(n, ids.len(), "{field}");
    }
    let s = &doc["summary"];
    assert_eq!(s["files_scanned"], 1);
    assert_eq!(s["bytes_scanned"], dump.len() as u64);
    let columns = s["columns"].as_array().unwrap();
    let id_no = columns.iter().find(|c| c["field"] == "id_no").unwrap();
    assert_eq!(id_no["values"], ids.len() as u64);
}

#[test]
fn gzipped_dumps_and_logs_are_decompressed_as_they_are_scanned() {
    use std::io::Write as _;
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::new(8);
    let mut dump = synth::DUMP_HEAD.as_bytes().to_vec();
    let mut rows = 0u64;
    while dump.len() < 2 << 20 {
        synth::dump_tuple(&synth::user_row(&mut rng, rows), rows == 0, &mut dump);
        rows += 1;
    }
    dump.extend_from_slice(b";\n");
    let (log, planted) = big_log(5, 3);
    // A TSV (told by its name inside the `.gz`) of 5 MB, a phone per row.
    let mut tsv = String::from("name\tmobile\tnote\n");
    let mut phones = 0;
    while tsv.len() < 5 << 20 {
        writeln!(tsv, "user{phones}\t{}\tsome, note", synth::mobile(&mut rng)).unwrap();
        phones += 1;
    }
    // A JSON document of 5 MB, stored uncompressed in its `.gz`: a gzip
    // file over 4 MiB whose content is read as a document, not as lines.
    let mut json = String::from("[");
    let mut people = 0;
    while json.len() < 5 << 20 {
        let phone = synth::mobile(&mut rng);
        write!(json, r#"{{"name":"user{people}","mobile":"{phone}"}},"#).unwrap();
        people += 1;
    }
    json.push_str("{}]");
    for (name, data) in [
        ("prod.sql", &dump[..]),
        ("app.log", log.as_bytes()),
        ("users.tsv", tsv.as_bytes()),
        ("users.json", json.as_bytes()),
    ] {
        fs::write(dir.path().join(name), data).unwrap();
        let level = match name {
            "users.json" => flate2::Compression::none(),
            _ => flate2::Compression::fast(),
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), level);
        gz.write_all(data).unwrap();
        fs::write(dir.path().join(format!("{name}.gz")), gz.finish().unwrap()).unwrap();
    }
    let doc = scan_json(&[dir.path().to_str().unwrap()]);
    let of = |suffix: &str| -> Vec<String> {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["path"].as_str().unwrap().ends_with(suffix))
            .map(|f| {
                let mut f = f.clone();
                f.as_object_mut().unwrap().remove("path");
                f.to_string()
            })
            .collect()
    };
    // Every row's ID, phone and card (and a rare order id with a bank's BIN
    // that passes Luhn by chance).
    assert!((3 * rows..3 * rows + 10).contains(&(of("prod.sql").len() as u64)));
    assert_eq!(of("prod.sql"), of("prod.sql.gz"));
    assert_eq!(of("app.log").len(), planted.len());
    assert_eq!(of("app.log"), of("app.log.gz"));
    let gzipped_json = fs::metadata(dir.path().join("users.json.gz")).unwrap();
    assert!(gzipped_json.len() > 4 << 20);
    // Each phone under its field, the CSV column or the JSON key.
    for (name, count) in [("users.tsv", phones), ("users.json", people)] {
        let found = of(name);
        assert_eq!(found.len(), count, "{name}");
        assert!(found[0].contains(r#""field":"mobile""#), "{}", found[0]);
        assert_eq!(found, of(&format!("{name}.gz")));
    }
    assert_eq!(doc["summary"]["files_skipped"], 0);
    assert_eq!(doc["summary"]["parts_skipped"], 0);
}

/// A JSON array of records with a phone each, over `bytes` long, the
/// phones numbered from `first`; returns it and its number of phones.
fn phone_records(bytes: usize, first: u64) -> (String, u64) {
    let mut json = String::from("[");
    let mut phones = 0u64;
    while json.len() <= bytes {
        if phones > 0 {
            json.push(',');
        }
        phones += 1;
        write!(
            json,
            r#"{{"id":{phones},"phone":"138{:08}","note":"lorem ipsum dolor sit amet"}}"#,
            10_000_000 + first + phones
        )
        .unwrap();
    }
    json.push(']');
    (json, phones)
}

/// JSON documents over 16 MiB are held whole by one worker at a time
/// (memory stays bounded with every core busy); files and archive members
/// alike are still read with their key paths, none waiting forever.
#[test]
fn large_json_documents_are_held_one_at_a_time() {
    use std::io::Write as _;
    let dir = TempDir::new().unwrap();
    let mut expected = 0;
    for (k, name) in ["a.json", "b.json", "c.json"].into_iter().enumerate() {
        let (json, phones) = phone_records(17 << 20, k as u64 * 1_000_000);
        fs::write(dir.path().join(name), json).unwrap();
        expected += phones;
    }
    let (json, phones) = phone_records(17 << 20, 3_000_000);
    expected += phones;
    let mut zip = zip::ZipWriter::new(fs::File::create(dir.path().join("d.zip")).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("export.json", options).unwrap();
    zip.write_all(json.as_bytes()).unwrap();
    zip.finish().unwrap();
    let doc = scan_json(&[dir.path().to_str().unwrap(), "-j", "3"]);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len() as u64, expected);
    assert!(findings
        .iter()
        .all(|f| f["field"] == "phone" && f["kind"] == "cn_mobile"));
}

/// A JSON document over 64 MiB is not held whole: it is scanned as text,
/// streamed, and the report says its key paths were left out. Every value
/// is still found, in order, with its context (`"phone":`) at high
/// confidence.
#[test]
fn a_json_document_over_64_mib_is_scanned_as_text() {
    let dir = TempDir::new().unwrap();
    let (json, phones) = phone_records(65 << 20, 0);
    fs::write(dir.path().join("export.json"), json).unwrap();
    let doc = scan_json(&[dir.path().to_str().unwrap()]);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len() as u64, phones);
    assert!(findings
        .iter()
        .all(|f| f["field"].is_null() && f["line"] == 1));
    let high = findings
        .iter()
        .filter(|f| f["confidence"] == "high")
        .count() as u64;
    assert!(high * 1000 >= phones * 999, "{high} of {phones}");
    let skipped = doc["summary"]["skipped"].to_string();
    assert!(
        skipped.contains("scanned as text, without key paths"),
        "{skipped}"
    );
}

/// A SQLite database over 16 MiB is opened where it is (not read into
/// memory): every phone is found under its table and column, and nothing
/// is written beside the file. A truncated one is read from a repaired
/// temporary copy.
#[test]
fn a_large_sqlite_database_is_read_in_place() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("app.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, phone TEXT, note TEXT)")
        .unwrap();
    let rows = 90_000u64;
    let tx = conn.unchecked_transaction().unwrap();
    for i in 1..=rows {
        tx.execute(
            "INSERT INTO users VALUES (?1, ?2, ?3)",
            rusqlite::params![
                i as i64,
                format!("138{:08}", 10_000_000 + i),
                "x".repeat(200)
            ],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    drop(conn);
    assert!(fs::metadata(&path).unwrap().len() > 16 << 20);
    let doc = scan_json(&[dir.path().to_str().unwrap()]);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len() as u64, rows);
    assert!(findings
        .iter()
        .all(|f| f["table"] == "users" && f["field"] == "phone"));
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["app.db"]);

    // Cut inside a page (a copy taken while it was written): copied to a
    // temporary file, repaired and read there, never held in memory; the
    // rows on the pages present are found, the cut is reported, and the
    // scanned file is left as it was.
    let cut_dir = TempDir::new().unwrap();
    let cut_path = cut_dir.path().join("app.db");
    let bytes = fs::read(&path).unwrap();
    let cut = &bytes[..bytes.len() * 2 / 3 + 100];
    fs::write(&cut_path, cut).unwrap();
    let doc = scan_json(&[cut_dir.path().to_str().unwrap()]);
    let found = doc["findings"].as_array().unwrap().len() as u64;
    assert!(found > rows / 2 && found < rows, "{found} of {rows}");
    let skipped = doc["summary"]["skipped"].to_string();
    assert!(skipped.contains("truncated SQLite database"), "{skipped}");
    assert_eq!(fs::read(&cut_path).unwrap(), cut);
    // Without a temporary file, it is read into memory, as before.
    let out = Command::cargo_bin("piscan")
        .unwrap()
        .env("TMPDIR", "/nonexistent/piscan-test")
        .args(["scan", "--format", "json", "--no-progress"])
        .arg(cut_dir.path())
        .output()
        .unwrap();
    let held: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(held["findings"], doc["findings"]);
    assert_eq!(held["summary"]["skipped"], doc["summary"]["skipped"]);
    let names: Vec<_> = fs::read_dir(cut_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["app.db"]);
}

/// Archives over 4 MiB are read from their files one member at a time,
/// and a member over 16 MiB in a line-based format is streamed: a zip, a
/// tar and a `.tar.gz` holding a 17 MiB log and a dump report exactly the
/// findings of the same files scanned on their own, under their member
/// names.
#[test]
fn large_archives_are_read_member_by_member() {
    use std::io::Write as _;
    let dir = TempDir::new().unwrap();
    let plain = dir.path().join("plain");
    let packed = dir.path().join("packed");
    fs::create_dir_all(&plain).unwrap();
    fs::create_dir_all(&packed).unwrap();
    let (log, planted) = big_log(9, 17);
    let mut rng = Rng::new(10);
    let mut dump = synth::DUMP_HEAD.as_bytes().to_vec();
    for row in 0..2000 {
        synth::dump_tuple(&synth::user_row(&mut rng, row), row == 0, &mut dump);
    }
    dump.extend_from_slice(b";\n");
    // Incompressible bytes, so that the compressed archives are large too
    // (a binary member is passed over silently).
    let noise: Vec<u8> = (0..(5 << 20) / 8)
        .flat_map(|_| rng.next_u64().to_le_bytes())
        .collect();
    // Text short enough to be held whole, and charged: 2 MiB of random
    // letters (no values, and no bomb-like compression ratio).
    let notes: String = (1..=2 << 20)
        .map(|i| match i % 64 {
            0 => '\n',
            _ => char::from(b'a' + (rng.next_u64() % 26) as u8),
        })
        .collect();
    let members: [(&str, &[u8]); 4] = [
        ("logs/app.log", log.as_bytes()),
        ("db/prod.sql", &dump),
        ("noise.bin", &noise),
        ("notes.txt", notes.as_bytes()),
    ];
    fs::create_dir_all(plain.join("logs")).unwrap();
    fs::create_dir_all(plain.join("db")).unwrap();
    for (name, data) in &members[..2] {
        fs::write(plain.join(name), data).unwrap();
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in &members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(data).unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, name, *data).unwrap();
    }
    let tar = tar.into_inner().unwrap();
    let mut tgz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    tgz.write_all(&tar).unwrap();
    fs::write(
        packed.join("bundle.zip"),
        zip.finish().unwrap().into_inner(),
    )
    .unwrap();
    fs::write(packed.join("bundle.tar"), &tar).unwrap();
    fs::write(packed.join("bundle.tar.gz"), tgz.finish().unwrap()).unwrap();
    for name in ["bundle.zip", "bundle.tar", "bundle.tar.gz"] {
        assert!(fs::metadata(packed.join(name)).unwrap().len() > 4 << 20);
    }

    // Findings without the path, by member (or file) name.
    let strip = |doc: &Value, archive: Option<&str>| -> Vec<String> {
        let mut found: Vec<String> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| archive.is_none_or(|a| f["path"].as_str().unwrap().ends_with(a)))
            .map(|f| {
                let mut f = f.as_object().unwrap().clone();
                let path = f.remove("path").unwrap();
                let name = match f.remove("member") {
                    Some(member) => member.as_str().unwrap().to_string(),
                    None => path
                        .as_str()
                        .unwrap()
                        .split("plain/")
                        .nth(1)
                        .unwrap()
                        .to_string(),
                };
                format!("{name} {}", Value::Object(f))
            })
            .collect();
        found.sort();
        found
    };
    let alone = scan_json(&[plain.to_str().unwrap()]);
    let expected = strip(&alone, None);
    let in_log = expected
        .iter()
        .filter(|f| f.starts_with("logs/app.log "))
        .count();
    assert_eq!(in_log, planted.len());
    assert!(
        expected
            .iter()
            .filter(|f| f.starts_with("db/prod.sql "))
            .count()
            >= 3 * 2000
    );
    // A budget far under the log's size: the streamed members hold nothing
    // and are not charged, nor is the 5 MiB binary member, told by its
    // head and passed over; the 2 MiB text member would be held, and is
    // refused.
    let doc = scan_json(&[packed.to_str().unwrap(), "--max-archive-size", "1M"]);
    for name in ["bundle.zip", "bundle.tar", "bundle.tar.gz"] {
        assert_eq!(strip(&doc, Some(name)), expected, "{name}");
    }
    let s = &doc["summary"];
    assert_eq!(s["files_scanned"], 3);
    assert_eq!(s["files_skipped"], 0);
    let mut skipped: Vec<String> = s["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {} {}",
                p["path"].as_str().unwrap().rsplit('/').next().unwrap(),
                p["member"],
                p["reason"]
            )
        })
        .collect();
    skipped.sort();
    let reason = "\"archive size limit reached (1 MiB uncompressed)\"";
    assert_eq!(
        skipped,
        ["bundle.tar", "bundle.tar.gz", "bundle.zip"]
            .map(|a| format!("{a} \"notes.txt\" {reason}"))
    );
}
