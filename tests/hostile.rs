//! Hostile inputs: bombs, damaged containers, special files, loops, odd
//! names and encodings. The scan must never panic, never hang (every run of
//! the binary has a timeout, so a hang fails instead of blocking), never
//! write anything, and account for every file and part it did not scan.

#![cfg(unix)]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use piscan::extract::{self, Limits};
use piscan::synth::{self, Rng};
use serde_json::Value;
use tempfile::TempDir;

use common::Recorder;

/// Longest any single run of the binary may take here.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `piscan scan ARGS` in `cwd` with a timeout: (exit code, stdout,
/// stderr). A timeout or a signal fails the test.
fn scan_in(cwd: &Path, args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::cargo_bin("piscan")
        .unwrap()
        .current_dir(cwd)
        .arg("scan")
        .args(args)
        .timeout(TIMEOUT)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("killed (timeout or signal): {stderr}"));
    assert!(!stderr.contains("panicked"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    (code, stdout, stderr)
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
}

/// Every path under `root` (not following links) with its content hash,
/// for "nothing was written" checks.
fn listing(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p.clone());
            }
            out.insert(p);
        }
    }
    out
}

/// A zip whose members nest `levels` deep, `fanout` per level, around
/// `leaf` (a classic nested bomb when `leaf` compresses well).
fn nested_zip(leaf: &[u8], levels: usize, fanout: usize) -> Vec<u8> {
    let names: Vec<String> = (0..fanout).map(|i| format!("m{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), leaf)).collect();
    let mut data = common::zip(&entries);
    for level in 0..levels {
        let names: Vec<String> = (0..fanout).map(|i| format!("l{level}_{i}.zip")).collect();
        let entries: Vec<(&str, &[u8])> = names
            .iter()
            .map(|n| (n.as_str(), data.as_slice()))
            .collect();
        data = common::zip(&entries);
    }
    data
}

/// The hostile tree: what each file is, and the one good value in it.
struct Tree {
    dir: TempDir,
    id: String,
    /// Names of entries that must be listed as skipped files.
    skipped_files: Vec<&'static str>,
}

fn hostile_tree() -> Tree {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let mut rng = Rng::new(8);
    let id = synth::resident_id(&mut rng);
    let w = |name: &str, data: &[u8]| fs::write(d.join(name), data).unwrap();

    w("good.txt", format!("身份证号 {id}\n").as_bytes());
    // Bombs: flat (many members at a high ratio), nested, gzip.
    let zeros = vec![b'0'; 8 << 20];
    let flat: Vec<(String, &[u8])> = (0..8).map(|i| (format!("z{i}.txt"), &zeros[..])).collect();
    let flat: Vec<(&str, &[u8])> = flat.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    w("flat-bomb.zip", &common::zip(&flat));
    w("nested-bomb.zip", &nested_zip(&vec![b' '; 2 << 20], 4, 4));
    w("bomb.gz", &common::gz(&vec![b' '; 64 << 20]));
    w("bomb.xlsx", &common::xlsx(&[], &"a".repeat(200), 40_000));
    w("bomb.docx", &common::docx(&vec![" ".repeat(1000); 8_000]));
    // Damaged containers of every kind: cut in half, and bytes flipped.
    let text = format!("note,phone\nx,{}\n", synth::mobile(&mut rng)).repeat(200);
    let people: Vec<(String, String)> = (0..300)
        .map(|i| (format!("p{i}"), synth::mobile(&mut rng)))
        .collect();
    let samples: Vec<(&str, Vec<u8>)> = vec![
        ("gz", common::gz(text.as_bytes())),
        ("zip", common::zip(&[("r.csv", text.as_bytes())])),
        ("tar", common::tar(&[("r.csv", text.as_bytes())])),
        ("xlsx", common::xlsx(std::slice::from_ref(&text), "", 0)),
        (
            "xls",
            synth::xls_roster("S", &[vec![text.clone()], vec![synth::mobile(&mut rng)]]),
        ),
        (
            "xlsb",
            synth::xlsb_roster("S", &[vec![text.clone()], vec![synth::mobile(&mut rng)]]),
        ),
        (
            "ods",
            common::ods(&format!(
                r#"<table:table table:name="S"><table:table-row><table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell></table:table-row></table:table>"#
            )),
        ),
        ("docx", common::docx(std::slice::from_ref(&text))),
        ("db", common::sqlite_bytes(&people)),
    ];
    for (ext, data) in &samples {
        w(&format!("cut.{ext}"), &data[..data.len() / 2]);
        let mut flipped = data.clone();
        for i in (data.len() / 3..data.len()).step_by(97) {
            flipped[i] ^= 0x5a;
        }
        w(&format!("flipped.{ext}"), &flipped);
        // 0-byte files of every extension.
        w(&format!("empty.{ext}"), b"");
    }
    for ext in ["txt", "csv", "json", "jsonl", "sql"] {
        w(&format!("empty.{ext}"), b"");
    }
    // A member that names a path outside the tree.
    w(
        "slip.zip",
        &common::zip(&[("../../etc/passwd", format!("root {id}\n").as_bytes())]),
    );
    w(
        "slip.tar",
        &common::tar(&[("../../../tmp/x.csv", b"a,b\n1,2\n")]),
    );
    // Encodings: invalid UTF-8, and UTF-8 mixed with GBK in one file.
    w(
        "invalid.txt",
        b"\xc3\x28 \xa0\xa1 \xf0\x28\x8c\x28 \xff tail\n",
    );
    let mut mixed = "身份证号 ".as_bytes().to_vec();
    mixed.extend(encoding_rs::GBK.encode("手机 姓名 ").0.iter());
    mixed.extend(b"\xff\xfe plain\n");
    w("mixed.log", &mixed);
    // Deep nesting, unterminated strings.
    w(
        "deep.json",
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).as_bytes(),
    );
    w(
        "deep-object.json",
        format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000)).as_bytes(),
    );
    w("deep-open.jsonl", "[{".repeat(100_000).as_bytes());
    w("unterminated.sql", b"INSERT INTO t VALUES ('abc 138");
    w(
        "unterminated-escape.sql",
        format!("INSERT INTO t (a) VALUES ('x\\'{}", "y".repeat(100_000)).as_bytes(),
    );
    // Special files, a link loop, a dangling link.
    mkfifo(&d.join("fifo"));
    let _socket = std::os::unix::net::UnixListener::bind(d.join("socket")).unwrap();
    fs::create_dir(d.join("sub")).unwrap();
    symlink("..", d.join("sub/loop")).unwrap();
    symlink("missing", d.join("dangling")).unwrap();
    Tree {
        dir,
        id,
        skipped_files: vec!["fifo", "socket", "sub/loop", "dangling"],
    }
}

#[test]
fn hostile_tree_is_scanned_without_panic_hang_or_write() {
    let tree = hostile_tree();
    let root = tree.dir.path();
    let cwd = TempDir::new().unwrap();
    let before = listing(root);
    let started = Instant::now();
    let (code, out, err) = scan_in(
        cwd.path(),
        &[
            root.as_os_str(),
            os("-L"),
            os("--format"),
            os("json"),
            os("-v"),
        ],
    );
    let elapsed = started.elapsed();
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).expect("one JSON document");
    let s = &doc["summary"];

    // Nothing was written: not in the tree, not in the working directory.
    assert_eq!(listing(root), before);
    assert!(listing(cwd.path()).is_empty());

    // The good file and the zip-slip member are scanned like any other.
    let findings = doc["findings"].as_array().unwrap();
    let path_of = |f: &Value| f["path"].as_str().unwrap().to_string();
    let good = root.join("good.txt").to_str().unwrap().to_string();
    assert!(findings.iter().any(|f| path_of(f) == good));
    assert!(findings
        .iter()
        .any(|f| f["member"] == "../../etc/passwd" && f["kind"] == "cn_resident_id"));
    assert!(!out.contains(&tree.id), "masked");

    // Every file is either scanned or listed as skipped, with a reason.
    let skipped = s["skipped"].as_array().unwrap();
    let reason_of = |name: &str, member: Option<&str>| -> Vec<String> {
        let path = root.join(name).to_str().unwrap().to_string();
        skipped
            .iter()
            .filter(|e| e["path"] == path.as_str() && e["member"].as_str() == member)
            .map(|e| e["reason"].as_str().unwrap().to_string())
            .collect()
    };
    for name in &tree.skipped_files {
        assert_eq!(reason_of(name, None).len(), 1, "{name} listed once: {s}");
    }
    assert_eq!(
        reason_of("fifo", None),
        ["not a regular file (FIFO, socket or device)"]
    );
    assert_eq!(
        reason_of("socket", None),
        ["not a regular file (FIFO, socket or device)"]
    );
    assert_eq!(reason_of("sub/loop", None), ["symbolic link loop"]);
    let files = before
        .iter()
        .filter(|p| !p.is_dir() || p.is_symlink())
        .count() as u64;
    assert_eq!(
        s["files_scanned"].as_u64().unwrap() + s["files_skipped"].as_u64().unwrap(),
        files,
        "every file accounted for: {s}"
    );
    let whole: Vec<&Value> = skipped
        .iter()
        .filter(|e| {
            e.get("member").is_none() && !e["reason"].as_str().unwrap().contains("truncated")
        })
        .collect();
    assert_eq!(
        s["files_skipped"].as_u64().unwrap(),
        tree.skipped_files.len() as u64,
        "{whole:#?}"
    );

    // The bombs were stopped by the limits, with the reason. A gzip file of
    // text is decompressed as it is scanned, so it is cut where it passes
    // the ratio: the part skipped is the rest of it.
    let gz_rest = skipped
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with("/bomb.gz"))
        .expect("the gz bomb is reported");
    assert!(gz_rest["member"]
        .as_str()
        .unwrap()
        .starts_with("the rest, after byte"));
    assert_eq!(gz_rest["reason"], "compression ratio above 100:1");
    assert_eq!(
        reason_of("bomb.xlsx", Some("xl/sharedStrings.xml")),
        ["compression ratio above 100:1; the document was not scanned"]
    );
    assert_eq!(
        reason_of("bomb.docx", Some("word/document.xml")),
        ["compression ratio above 100:1; the document was not scanned"]
    );
    assert_eq!(
        reason_of("flat-bomb.zip", Some("z0.txt")),
        ["compression ratio above 100:1"]
    );
    assert!(skipped.iter().any(|e| e["member"]
        .as_str()
        .is_some_and(|m| m.starts_with("l3_0.zip!l2_0.zip!l1_0.zip"))
        && e["reason"] == "nested deeper than 3 archives"));
    // Damaged containers: each reported (cut files always are).
    for ext in [
        "gz", "zip", "tar", "xlsx", "xls", "xlsb", "ods", "docx", "db",
    ] {
        let path = root
            .join(format!("cut.{ext}"))
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            skipped.iter().any(|e| e["path"] == path.as_str()),
            "cut.{ext} has a skipped part: {s}"
        );
    }
    for name in ["unterminated.sql", "unterminated-escape.sql"] {
        let path = root.join(name).to_str().unwrap().to_string();
        assert!(skipped.iter().any(|e| e["path"] == path.as_str()
            && e["reason"]
                .as_str()
                .unwrap()
                .contains("unterminated string")));
    }
    // Every skip is in the per-reason counts.
    let by_reason: u64 = s["skipped_by_reason"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(by_reason, skipped.len() as u64);
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
}

#[test]
fn a_fifo_never_blocks_and_nothing_scanned_exits_2() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    mkfifo(&d.join("fifo"));
    let _socket = std::os::unix::net::UnixListener::bind(d.join("socket")).unwrap();
    fs::write(d.join("bin.dat"), b"\x00\x01binary 13812345678").unwrap();
    symlink("fifo", d.join("to-fifo")).unwrap();
    // In a directory, named directly, and through a link with -L; devices
    // too (/dev/zero would never end, /dev/null never block).
    let fifo = d.join("fifo");
    for args in [
        vec![d.as_os_str(), os("-L")],
        vec![fifo.as_os_str()],
        vec![os("/dev/zero"), os("/dev/null")],
    ] {
        let mut all = args.clone();
        all.extend([os("--format"), os("json")]);
        let (code, out, err) = scan_in(d, &all);
        assert_eq!(code, 2, "nothing could be scanned: {err}");
        let doc: Value = serde_json::from_str(&out).unwrap();
        let s = &doc["summary"];
        assert_eq!(s["files_scanned"], 0);
        let skipped = s["skipped"].as_array().unwrap();
        assert_eq!(skipped.len() as u64, s["files_skipped"].as_u64().unwrap());
        assert!(skipped
            .iter()
            .all(|e| !e["reason"].as_str().unwrap().is_empty()));
        assert!(
            skipped
                .iter()
                .any(|e| e["reason"] == "not a regular file (FIFO, socket or device)"),
            "{s}"
        );
    }
    // One scannable file among them: exit 0.
    fs::write(d.join("ok.txt"), b"hello\n").unwrap();
    let (code, _, _) = scan_in(d, &[d.as_os_str(), os("-L")]);
    assert_eq!(code, 0);
}

#[test]
fn permission_denied_files_and_directories_are_skips() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    fs::write(d.join("ok.txt"), b"hello\n").unwrap();
    fs::create_dir(d.join("locked")).unwrap();
    fs::write(d.join("locked/inside.txt"), b"13812345678\n").unwrap();
    fs::write(d.join("locked.txt"), b"13812345678\n").unwrap();
    fs::set_permissions(d.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(d.join("locked.txt"), fs::Permissions::from_mode(0o000)).unwrap();
    let denied = fs::read_dir(d.join("locked")).is_err();
    let (code, out, err) = scan_in(d, &[d.as_os_str(), os("--format"), os("json")]);
    fs::set_permissions(d.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    if !denied {
        eprintln!("note: running as root, chmod 000 does not deny reading; not asserted");
        return;
    }
    let skipped = doc["summary"]["skipped"].as_array().unwrap();
    for name in ["locked", "locked.txt"] {
        let path = d.join(name).to_str().unwrap().to_string();
        assert!(
            skipped
                .iter()
                .any(|e| e["path"] == path.as_str()
                    && e["reason"] == "unreadable: permission denied"),
            "{name}: {skipped:?}"
        );
        assert!(err.contains(&format!("{path}: unreadable: permission denied")));
    }
}

#[test]
fn non_utf8_names_stay_valid_json_with_exact_bytes() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let id = synth::resident_id(&mut Rng::new(3));
    let sub = d.join(std::ffi::OsStr::from_bytes(b"dir-\xb2\xe2"));
    fs::create_dir(&sub).unwrap();
    let file = sub.join(std::ffi::OsStr::from_bytes(b"\xc9\xed\xb7\xdd-\xff.txt"));
    fs::write(&file, format!("身份证号 {id}\n")).unwrap();
    let fifo = d.join(std::ffi::OsStr::from_bytes(b"pipe-\xfe"));
    mkfifo(&fifo);
    fs::write(d.join("plain.txt"), format!("身份证号 {id}\n")).unwrap();
    let b64 = |p: &Path| piscan::report::base64(p.as_os_str().as_bytes());

    let (_, out, _) = scan_in(d, &[d.as_os_str(), os("--format"), os("jsonl")]);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for f in &lines {
        let path = f["path"].as_str().unwrap();
        if path.ends_with("plain.txt") {
            assert!(f.get("path_b64").is_none(), "only for non-UTF-8 paths");
        } else {
            assert!(path.contains('\u{fffd}'));
            assert_eq!(f["path_b64"], b64(&file).as_str());
        }
    }

    let (_, out, _) = scan_in(d, &[d.as_os_str(), os("--format"), os("json")]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let skipped = &doc["summary"]["skipped"][0];
    assert_eq!(skipped["path_b64"], b64(&fifo).as_str());

    let (_, out, _) = scan_in(d, &[file.as_os_str(), os("--format"), os("sarif")]);
    let doc: Value = serde_json::from_str(&out).unwrap();
    let uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .as_str()
        .unwrap();
    assert!(uri.ends_with("/dir-%B2%E2/%C9%ED%B7%DD-%FF.txt"), "{uri}");

    for format in ["table", "csv", "md"] {
        let (code, _, _) = scan_in(d, &[d.as_os_str(), os("--format"), os(format)]);
        assert_eq!(code, 0, "{format}: stdout stays UTF-8");
    }
}

/// A file of one line of `len` bytes with an ID at its end.
fn one_line_file(dir: &Path, len: usize) -> (PathBuf, String) {
    use std::io::Write;
    let id = synth::resident_id(&mut Rng::new(5));
    let path = dir.join("one-line.log");
    let mut f = std::io::BufWriter::new(fs::File::create(&path).unwrap());
    let chunk = "word ".repeat(1 << 16);
    let mut written = 0;
    while written + chunk.len() <= len {
        f.write_all(chunk.as_bytes()).unwrap();
        written += chunk.len();
    }
    write!(f, "{} 身份证号 {id}", "x".repeat(len - written)).unwrap();
    f.flush().unwrap();
    (path, id)
}

fn scan_one_line(len: usize) {
    let dir = TempDir::new().unwrap();
    let (path, id) = one_line_file(dir.path(), len);
    let (code, out, err) = scan_in(dir.path(), &[path.as_os_str(), os("--format"), os("jsonl")]);
    assert_eq!(code, 0, "{err}");
    let f: Value = serde_json::from_str(out.lines().next().expect("a finding")).unwrap();
    assert_eq!(f["line"], 1);
    assert_eq!(
        f["col"].as_u64().unwrap(),
        len as u64 + " 身份证号 ".chars().count() as u64 + 1
    );
    assert!(!out.contains(&id));
}

/// A file that is one 32 MiB line (scaled down for CI; see the ignored
/// full-size variant below).
#[test]
fn one_long_line() {
    scan_one_line(32 << 20);
}

/// The full-size variant: one 3 GiB line. Needs about 3 GiB of disk and
/// 3.5 GiB of memory (a file is read whole); run it with
/// `cargo test --release --test hostile -- --ignored`.
#[test]
#[ignore]
fn one_multi_gigabyte_line() {
    scan_one_line(3 << 30);
}

/// Office documents are checked against the bomb guards before calamine
/// or the XML reader decompress them (regression: a 1.3 MB xlsx with a
/// 360 MB `sharedStrings.xml` was read whole, 24 s and 530 MB of memory),
/// and a declared size that lies does not get a member past the check.
#[test]
fn office_bombs_are_refused_before_their_reader_runs() {
    let id = synth::resident_id(&mut Rng::new(9));
    let cell = format!("身份证号 {id}");
    let honest = common::xlsx(std::slice::from_ref(&cell), &"a".repeat(100), 60_000);
    let mut liar = honest.clone();
    common::lie_about_size(&mut liar, "xl/sharedStrings.xml", 1000);
    let docx = common::docx(&[cell.clone(), " ".repeat(4 << 20)]);
    let mut docx_liar = docx.clone();
    common::lie_about_size(&mut docx_liar, "word/document.xml", 1000);
    for (name, data) in [
        ("bomb.xlsx", &honest),
        ("liar.xlsx", &liar),
        ("bomb.docx", &docx),
        ("liar.docx", &docx_liar),
    ] {
        let mut r = Recorder::default();
        let started = Instant::now();
        extract::extract(name, data, &Limits::default(), 0, &mut r);
        assert!(r.units.is_empty(), "{name}: not read");
        assert_eq!(r.skips.len(), 1, "{name}: {:?}", r.skips);
        assert_eq!(
            r.skips[0].1,
            "compression ratio above 100:1; the document was not scanned"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        // Within relaxed limits the same documents are read.
        let relaxed = Limits {
            max_ratio: 1_000_000,
            ..Limits::default()
        };
        let mut r = Recorder::default();
        extract::extract(name, data, &relaxed, 0, &mut r);
        if !name.starts_with("liar") {
            assert!(r.saw(&id), "{name} within limits: {:?}", r.skips);
        }
    }
    // The archive budget applies too, and is shared with an enclosing zip.
    let tight = Limits {
        max_archive_bytes: 1 << 20,
        max_ratio: 1_000_000,
        ..Limits::default()
    };
    let mut r = Recorder::default();
    extract::extract("x.xlsx", &honest, &tight, 0, &mut r);
    assert!(r.units.is_empty());
    assert!(r.skips[0]
        .1
        .starts_with("archive size limit reached (1 MiB uncompressed)"));
    let outer = common::zip(&[("in/x.xlsx", &honest)]);
    let mut r = Recorder::default();
    extract::extract("outer.zip", &outer, &tight, 0, &mut r);
    assert!(r.units.is_empty());
    assert_eq!(r.skips[0].0, "in/x.xlsx!xl/sharedStrings.xml");
    // A normal workbook still scans.
    let mut r = Recorder::default();
    extract::extract(
        "ok.xlsx",
        &common::xlsx(&[cell], "", 0),
        &Limits::default(),
        0,
        &mut r,
    );
    assert!(r.saw(&id) && r.skips.is_empty(), "{:?}", r.skips);
}

/// Files that vanish or change size between the walk, the sniff and the
/// read: the read path reports what it could read, or why not, and never
/// panics.
#[test]
fn files_that_vanish_or_shrink_while_read() {
    use piscan::report::Outcome;
    use piscan::scan::{scan_file, ScanOptions};
    let dir = TempDir::new().unwrap();
    let opts = ScanOptions::default();
    // The reports of one file: partial ones (every 4096 findings), then the last.
    // With `stat`, the size as the walker gives it under --max-filesize;
    // without, the reader takes it from the open file.
    let scan = |path: &std::path::Path, name: &str, stat: bool| {
        let mut reports = Vec::new();
        let len = fs::metadata(path).ok().filter(|_| stat).map(|m| m.len());
        scan_file(path, name.into(), len, &opts, &mut |r| {
            reports.push(r);
            true
        });
        let last = reports.pop().expect("a file gets a report");
        assert!(reports
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Partial { .. })));
        last
    };
    let gone = dir.path().join("gone.txt");
    let r = scan(&gone, "gone.txt", false);
    assert!(
        matches!(&r.outcome, Outcome::Skipped { reason } if reason == "unreadable: no such file or directory"),
        "{:?}",
        r.outcome
    );
    // A writer thread truncates and regrows the file while it is read.
    let path = dir.path().join("flux.csv");
    let id = synth::resident_id(&mut Rng::new(4));
    let full = format!("name,id\n{}", format!("x,{id}\n").repeat(20_000));
    fs::write(&path, &full).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (path, full, stop) = (path.clone(), full.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
                f.set_len((n * 7919 % full.len()) as u64).unwrap();
                n += 1;
                if n.is_multiple_of(3) {
                    fs::write(&path, &full).unwrap();
                }
            }
        })
    };
    for i in 0..300 {
        let r = scan(&path, "flux.csv", i % 2 == 0);
        match r.outcome {
            Outcome::Scanned { bytes, .. } => assert!(bytes <= full.len() as u64),
            Outcome::Skipped { .. } => {}
            Outcome::Partial { .. } => panic!("the last report is never partial"),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
}
