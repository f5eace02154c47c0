//! Throughput of the extractors that turn containers into text units: a SQL
//! dump (one extended `INSERT` line per table, as MySQL 8 writes it), a CSV
//! export and a JSON-lines export, each scanned end to end through
//! [`piscan::scan::scan_buffer`] (extraction, detection, masking, per-column
//! counts). Compare with `detect_scan/log` in the `detect` bench: the aim is
//! the same MB/s as plain text.
//!
//! The dump is 200 MB by default (`PISCAN_BENCH_DUMP_MB` changes it), built
//! once from a fixed seed with synthetic values from [`piscan::synth`].
//! Every row of it holds values; `app_dump` is an application's dump
//! ([`piscan::synth::app_dump`]), most of whose rows hold none and are
//! passed over in blocks. `xlsx`, `xlsb`, `xls` and `ods` are the CSV's
//! rows as workbooks of text cells (shared strings in the first three),
//! `docx` as a Word document of one paragraph per row, `sqlite` as a
//! database table, `json` as one JSON document (an array of the JSON-lines
//! records), and `csv_zip` and `csv_gz` are the CSV compressed: each
//! throughput is counted in the input's (compressed) bytes.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use piscan::scan::{scan_buffer, ScanOptions};
use piscan::synth::{self, Rng};

fn dump(mb: usize) -> Vec<u8> {
    let mut rng = Rng::new(2024);
    let mut out = synth::DUMP_HEAD.as_bytes().to_vec();
    let mut i = 0;
    while out.len() < mb << 20 {
        synth::dump_tuple(&synth::user_row(&mut rng, i), i == 0, &mut out);
        i += 1;
    }
    out.extend_from_slice(b";\n");
    out
}

fn app_dump(mb: u64) -> Vec<u8> {
    let mut out = Vec::new();
    synth::app_dump(&mut out, mb << 20, 2027).expect("writes to memory");
    out
}

fn csv(mb: usize) -> Vec<u8> {
    let mut rng = Rng::new(2025);
    let mut out = "id,姓名,身份证号,手机,卡号,订单号,备注\n"
        .as_bytes()
        .to_vec();
    let mut i = 0;
    while out.len() < mb << 20 {
        out.extend_from_slice(synth::user_row(&mut rng, i).join(",").as_bytes());
        out.push(b'\n');
        i += 1;
    }
    out
}

fn jsonl(mb: usize) -> Vec<u8> {
    let mut rng = Rng::new(2026);
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < mb << 20 {
        let r = synth::user_row(&mut rng, i);
        out.extend_from_slice(
            format!(
                "{{\"id\":{},\"user\":{{\"name\":\"{}\",\"id_no\":\"{}\",\"phone\":{},\"card\":\"{}\"}},\"order\":\"{}\"}}\n",
                r[0], r[1], r[2], r[3], r[4], r[5]
            )
            .as_bytes(),
        );
        i += 1;
    }
    out
}

/// A header and `rows` rows of [`synth::user_row`], the CSV's rows.
fn roster(rows: u64) -> Vec<[String; 7]> {
    let mut rng = Rng::new(2028);
    let header = ["id", "姓名", "身份证号", "手机", "卡号", "订单号", "备注"];
    (0..=rows)
        .map(|i| match i {
            0 => header.map(String::from),
            i => synth::user_row(&mut rng, i),
        })
        .collect()
}

fn xlsx(rows: u64) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (row, cells) in (0u32..).zip(roster(rows)) {
        for (col, cell) in (0u16..).zip(&cells) {
            sheet.write_string(row, col, cell).expect("a valid cell");
        }
    }
    book.save_to_buffer().expect("writes to memory")
}

fn xlsb(rows: u64) -> Vec<u8> {
    let rows: Vec<Vec<String>> = roster(rows).into_iter().map(Vec::from).collect();
    synth::xlsb_roster("Sheet1", &rows)
}

/// The JSON-lines records as one JSON array.
fn json(mb: usize) -> Vec<u8> {
    let lines = jsonl(mb);
    let mut out = b"[".to_vec();
    for (i, line) in lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b"]\n");
    out
}

/// One zip member `name` holding `data`, deflated.
fn zipped(name: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(name, options).expect("a member");
    zip.write_all(data).expect("writes to memory");
    zip.finish().expect("writes to memory").into_inner()
}

fn gzipped(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).expect("writes to memory");
    gz.finish().expect("writes to memory")
}

/// The roster as a Word document, a paragraph per row.
fn docx(rows: u64) -> Vec<u8> {
    let mut body = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#,
    );
    for cells in roster(rows) {
        body += "<w:p><w:r><w:t>";
        body += &cells.join(" ");
        body += "</w:t></w:r></w:p>";
    }
    body += "</w:body></w:document>";
    zipped("word/document.xml", body.as_bytes())
}

/// The roster as a table of a SQLite database, its file's bytes.
fn sqlite(rows: u64) -> Vec<u8> {
    let conn = rusqlite::Connection::open_in_memory().expect("an in-memory database");
    conn.execute_batch("CREATE TABLE users (id, name, id_no, phone, card, order_no, note);")
        .expect("a table");
    let tx = conn.unchecked_transaction().expect("a transaction");
    {
        let mut insert = tx
            .prepare("INSERT INTO users VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .expect("a statement");
        for cells in roster(rows).iter().skip(1) {
            insert
                .execute(rusqlite::params_from_iter(cells))
                .expect("a row");
        }
    }
    tx.commit().expect("commits");
    conn.serialize("main").expect("serializes").to_vec()
}

fn xls(rows: u64) -> Vec<u8> {
    let rows: Vec<Vec<String>> = roster(rows).into_iter().map(Vec::from).collect();
    synth::xls_roster("Sheet1", &rows)
}

/// The roster as an OpenDocument spreadsheet of text cells, each row
/// padded to 1 024 columns with one repeated empty cell, as LibreOffice
/// writes.
fn ods(rows: u64) -> Vec<u8> {
    use std::io::Write as _;
    let mut content = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="Sheet1">"#,
    );
    for cells in roster(rows) {
        content += "<table:table-row>";
        for cell in &cells {
            content += r#"<table:table-cell office:value-type="string"><text:p>"#;
            content += cell;
            content += "</text:p></table:table-cell>";
        }
        content += r#"<table:table-cell table:number-columns-repeated="1017"/></table:table-row>"#;
    }
    content += "</table:table></office:spreadsheet></office:body></office:document-content>";
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("content.xml", options).expect("a member");
    zip.write_all(content.as_bytes()).expect("writes to memory");
    zip.finish().expect("writes to memory").into_inner()
}

fn bench(c: &mut Criterion) {
    let dump_mb = std::env::var("PISCAN_BENCH_DUMP_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let inputs = [
        ("sql_dump", "dump.sql", dump(dump_mb)),
        ("app_dump", "app.sql", app_dump(64)),
        ("csv", "export.csv", csv(32)),
        ("jsonl", "export.jsonl", jsonl(32)),
        ("json", "export.json", json(32)),
        ("csv_zip", "export.zip", zipped("export.csv", &csv(32))),
        ("csv_gz", "export.csv.gz", gzipped(&csv(32))),
        ("xlsx", "roster.xlsx", xlsx(100_000)),
        ("xlsb", "roster.xlsb", xlsb(100_000)),
        ("xls", "roster.xls", xls(60_000)),
        ("ods", "roster.ods", ods(100_000)),
        ("docx", "roster.docx", docx(100_000)),
        ("sqlite", "users.db", sqlite(100_000)),
    ];
    let mut group = c.benchmark_group("extract_scan");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (id, name, data) in &inputs {
        let findings = scan_buffer(data, name.to_string(), &ScanOptions::default())
            .findings
            .len();
        eprintln!("{id}: {} MB, {findings} findings", data.len() >> 20);
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function(*id, |b| {
            b.iter(|| scan_buffer(black_box(data), name.to_string(), &ScanOptions::default()))
        });
    }
    group.finish();
}

criterion_group!(extract_benches, bench);
criterion_main!(extract_benches);
