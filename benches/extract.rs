//! Throughput of the extractors that turn containers into text units: a SQL
//! dump (one extended `INSERT` line per table, as MySQL 8 writes it), a CSV
//! export and a JSON-lines export, each scanned end to end through
//! [`piscan::scan::scan_buffer`] (extraction, detection, masking, per-column
//! counts). Compare with `detect_scan/log` in the `detect` bench: the aim is
//! the same MB/s as plain text.
//!
//! The dump is 200 MB by default (`PISCAN_BENCH_DUMP_MB` changes it), built
//! once from a fixed seed with synthetic values from [`piscan::synth`].

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use piscan::scan::{scan_buffer, ScanOptions};
use piscan::synth::{self, Rng};

/// One synthetic user row's values: id, name, resident ID, BIGINT phone,
/// card, 19-digit order id, note.
fn row(rng: &mut Rng, i: u64) -> [String; 7] {
    [
        i.to_string(),
        "张三".to_string(),
        synth::resident_id(rng),
        synth::mobile(rng),
        synth::bank_card(rng),
        format!(
            "{}",
            1_000_000_000_000_000_000 + rng.below(8_000_000_000_000_000_000)
        ),
        "it''s a \\\"note\\\" 备注".to_string(),
    ]
}

fn dump(mb: usize) -> Vec<u8> {
    let mut rng = Rng::new(2024);
    let mut out = b"-- MySQL dump 10.13\n/*!40101 SET NAMES utf8mb4 */;\nCREATE TABLE `users` (\n  `id` int,\n  `name` varchar(32),\n  `id_no` char(18),\n  `phone` bigint,\n  `card_no` varchar(19),\n  `order_seq` bigint,\n  `note` text\n);\nINSERT INTO `users` VALUES ".to_vec();
    let mut i = 0;
    while out.len() < mb << 20 {
        let r = row(&mut rng, i);
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(
            format!(
                "({},'{}','{}',{},'{}',{},'{}')",
                r[0], r[1], r[2], r[3], r[4], r[5], r[6]
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.extend_from_slice(b";\n");
    out
}

fn csv(mb: usize) -> Vec<u8> {
    let mut rng = Rng::new(2025);
    let mut out = "id,姓名,身份证号,手机,卡号,订单号,备注\n"
        .as_bytes()
        .to_vec();
    let mut i = 0;
    while out.len() < mb << 20 {
        out.extend_from_slice(row(&mut rng, i).join(",").as_bytes());
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
        let r = row(&mut rng, i);
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

fn bench(c: &mut Criterion) {
    let dump_mb = std::env::var("PISCAN_BENCH_DUMP_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let inputs = [
        ("sql_dump", "dump.sql", dump(dump_mb)),
        ("csv", "export.csv", csv(32)),
        ("jsonl", "export.jsonl", jsonl(32)),
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
