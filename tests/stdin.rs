//! `piscan scan -` streams stdin: findings per block, line numbers across
//! blocks, stdin counted as one file.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command as StdCommand, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::Command;
use piscan::synth::{self, Rng};
use serde_json::Value;

const MIB: usize = 1 << 20;

/// A log of more than 3 MiB and the phone numbers in it, as
/// (line, col, value). One number straddles the 1 MiB block boundary, one
/// line starts exactly at 2 MiB, and some lines have Chinese text before
/// the number (columns count characters).
fn big_log() -> (Vec<u8>, Vec<(u64, u64, String)>) {
    let mut rng = Rng::new(20240517);
    let mut log = String::new();
    let mut expected = Vec::new();
    let mut line = 0u64;
    let mut push = |log: &mut String, text: String, phone: Option<(usize, String)>| {
        line += 1;
        if let Some((prefix_chars, phone)) = phone {
            expected.push((line, prefix_chars as u64 + 1, phone));
        }
        log.push_str(&text);
        log.push('\n');
    };
    let phone_line = |rng: &mut Rng, seq: usize| {
        let phone = synth::mobile(rng);
        let prefix = if seq.is_multiple_of(2) {
            format!("2024-05-17T10:00:{:02}.123 INFO login tel ", seq % 60)
        } else {
            format!("2024-05-17T10:00:{:02}.123 INFO 用户手机 ", seq % 60)
        };
        (prefix.clone(), phone)
    };
    let ordinary = |seq: usize| format!("2024-05-17T10:00:00.123 INFO request handled seq={seq}");
    let (mut straddled, mut at_two) = (false, false);
    let mut seq = 0;
    while log.len() < 3 * MIB + MIB / 2 {
        seq += 1;
        let (prefix, phone) = phone_line(&mut rng, seq);
        // The phone starts 5 bytes before 1 MiB: its digits straddle it.
        let straddle_start = MIB - 5 - prefix.len();
        if !straddled && log.len() + 200 > straddle_start {
            let pad = straddle_start - log.len();
            if pad > 0 {
                push(&mut log, "x".repeat(pad - 1), None);
            }
            assert_eq!(log.len() + prefix.len(), MIB - 5);
            push(
                &mut log,
                format!("{prefix}{phone}"),
                Some((prefix.chars().count(), phone)),
            );
            straddled = true;
        } else if !at_two && log.len() + 200 > 2 * MIB {
            let pad = 2 * MIB - log.len();
            if pad > 0 {
                push(&mut log, "y".repeat(pad - 1), None);
            }
            assert_eq!(log.len(), 2 * MIB);
            push(
                &mut log,
                format!("{prefix}{phone}"),
                Some((prefix.chars().count(), phone)),
            );
            at_two = true;
        } else if seq % 997 == 0 {
            push(
                &mut log,
                format!("{prefix}{phone} done"),
                Some((prefix.chars().count(), phone)),
            );
        } else {
            push(&mut log, ordinary(seq), None);
        }
    }
    assert!(straddled && at_two);
    (log.into_bytes(), expected)
}

fn piscan() -> Command {
    let mut cmd = Command::cargo_bin("piscan").expect("binary built");
    cmd.env_remove("NO_COLOR");
    cmd
}

fn located(findings: &[Value]) -> Vec<(u64, u64, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["col"].as_u64().unwrap(),
                f["match"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn line_numbers_continue_across_blocks_and_stdin_is_one_file() {
    let (log, expected) = big_log();
    assert!(expected.len() > 10);
    // From a file, each read is a whole 1 MiB block.
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("app.log");
    std::fs::write(&file, &log).unwrap();
    let out = piscan()
        .args(["scan", "-", "--format", "json", "--show-values"])
        .pipe_stdin(&file)
        .unwrap()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["path"] == "-"));
    assert_eq!(located(findings), expected);
    let summary = &report["summary"];
    assert_eq!(summary["files_scanned"], 1);
    assert_eq!(summary["files_with_findings"], 1);
    assert_eq!(summary["files_skipped"], 0);
    assert_eq!(summary["bytes_scanned"], log.len() as u64);
    assert_eq!(summary["kinds"][0]["count"], expected.len() as u64);
}

#[test]
fn a_pipe_streams_the_same_findings_under_stdin_name() {
    let (log, expected) = big_log();
    let out = piscan()
        .args(["scan", "-", "--stdin-name", "app.log", "--format", "jsonl"])
        .args(["--show-values"])
        .write_stdin(log.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let findings: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(findings.iter().all(|f| f["path"] == "app.log"));
    assert_eq!(located(&findings), expected);

    // The table groups the blocks of stdin under one header.
    let out = piscan()
        .args(["scan", "-", "--stdin-name", "app.log", "--format", "table"])
        .args(["--color", "never"])
        .write_stdin(log)
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(table.lines().filter(|l| *l == "app.log").count(), 1);
    assert_eq!(
        table.lines().filter(|l| l.contains("cn_mobile")).count(),
        expected.len() + 1,
        "one line per finding, and the inventory's"
    );
}

#[test]
fn findings_appear_before_stdin_is_closed() {
    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_piscan"))
        .args(["scan", "-", "--format", "jsonl", "--show-values"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    stdin
        .write_all("line one\n手机 13812345678\n".as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    let first = rx.recv_timeout(Duration::from_secs(10));
    let first: Value = match first {
        Ok(line) => serde_json::from_str(&line).unwrap(),
        Err(err) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no finding while stdin is open: {err}");
        }
    };
    assert_eq!(first["path"], "-");
    assert_eq!(first["line"], 2);
    assert_eq!(first["col"], 4);
    assert_eq!(first["match"], "13812345678");

    stdin.write_all(b"x\n13912345678 tel\n").unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let rest: Vec<String> = rx.try_iter().collect();
    assert_eq!(rest.len(), 1, "{rest:?}");
    let second: Value = serde_json::from_str(&rest[0]).unwrap();
    assert_eq!(
        (second["line"].as_u64(), second["col"].as_u64()),
        (Some(4), Some(1))
    );
    assert_eq!(status.code(), Some(0));
}

#[test]
fn binary_stdin_is_skipped_with_the_reason() {
    let out = piscan()
        .args(["scan", "-", "--format", "json"])
        .write_stdin(b"abc\x00def 13812345678\n".to_vec())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["files_scanned"], 0);
    assert_eq!(report["summary"]["files_skipped"], 1);
    assert_eq!(
        report["summary"]["skipped"][0]["reason"],
        "binary data (NUL bytes)"
    );
}

/// A `.tar.gz` of zips nested four deep, each level holding an ID.
fn nested_archive(ids: &[String]) -> Vec<u8> {
    let zip = |members: &[(&str, &[u8])]| {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, data) in members {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    };
    let line = |id: &String| format!("id {id}\n").into_bytes();
    let z3 = zip(&[("d.txt", &line(&ids[3]))]);
    let z2 = zip(&[("c.txt", &line(&ids[2])), ("z3.zip", &z3)]);
    let z1 = zip(&[("b.txt", &line(&ids[1])), ("z2.zip", &z2)]);
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in [("a.txt", line(&ids[0])), ("z1.zip", z1)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, name, &data[..]).unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

/// An archive piped in is read as the same file would be (members, their
/// chains, the nesting limit), not held whole: the same findings and
/// skips.
#[test]
fn an_archive_on_stdin_is_read_as_the_file_is() {
    let mut rng = Rng::new(7);
    let ids: Vec<String> = (0..4).map(|_| synth::resident_id(&mut rng)).collect();
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("nest.tar.gz");
    let data = nested_archive(&ids);
    std::fs::write(&path, &data).unwrap();
    let path = path.to_str().unwrap();
    let run = |args: &[&str], stdin: Vec<u8>| -> Value {
        let out = piscan()
            .arg("scan")
            .args(args)
            .args(["--format", "json"])
            .write_stdin(stdin)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let file = run(&[path], Vec::new());
    let piped = run(&["-", "--stdin-name", path], data);
    let members: Vec<&str> = file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["member"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["a.txt", "z1.zip!b.txt", "z1.zip!z2.zip!c.txt"]);
    assert_eq!(
        file["summary"]["skipped"][0]["reason"],
        "nested deeper than 3 archives"
    );
    assert_eq!(piped["findings"], file["findings"]);
    assert_eq!(piped["summary"]["skipped"], file["summary"]["skipped"]);
    assert_eq!(piped["summary"]["files_scanned"], 1);
}
