//! Corpus generator for throughput comparisons (see `benches/compare.sh`).
//!
//! ```text
//! cargo run --release --example corpus -- logs DIR --size 1G --files 64
//! cargo run --release --example corpus -- onefile FILE --size 2G
//! cargo run --release --example corpus -- dump FILE --size 1G
//! cargo run --release --example corpus -- appdump FILE --size 1G
//! ```
//!
//! Writes realistic application log lines (ISO timestamps, levels, 19-digit
//! request ids, 13-digit millisecond timestamps, UUIDs, SHA-256 hashes, URLs,
//! `key=value` pairs, Chinese messages), the same shape as the `detect`
//! benchmark's log buffer. About 2 % of lines carry one value of a random
//! kind from [`piscan::synth`]. Output is deterministic: the same arguments
//! give the same bytes. `logs` writes its files on one thread per core, each
//! file from its own seed.
//!
//! `dump` writes a MySQL 8 style dump whose whole `users` table is one
//! extended `INSERT` line ([`piscan::synth::user_row`]: every row holds a
//! resident ID, a BIGINT phone and a card, beside a 19-digit order id), the
//! densest input there is.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use piscan::detect::Kind;
use piscan::synth::{self, LogLines, Rng};

/// Base seed; file `i` uses `SEED + i`.
const SEED: u64 = 0x5EED_C04B_0005;

/// Percentage of lines that carry one personal-data value.
const PII_PERCENT: u64 = 2;

/// Writes log lines from `seed` to `path` until at least `size` bytes.
fn write_log(path: &Path, size: u64, seed: u64) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut rng = Rng::new(seed);
    let mut line: Vec<u8> = Vec::with_capacity(512);
    let mut written = 0u64;
    // Millisecond clock around 2024-05-17, a different hour per seed.
    let mut lines = LogLines::new(1_715_912_625_123 + (seed % 1000) * 3_600_000);
    while written < size {
        line.clear();
        let plant = (rng.below(100) < PII_PERCENT).then(|| *rng.pick(&Kind::BUILTIN));
        lines.write(&mut rng, plant, &mut line);
        out.write_all(&line)?;
        written += line.len() as u64;
    }
    out.flush()?;
    Ok(written)
}

/// Writes a one-line-INSERT dump from `seed` to `path` until at least
/// `size` bytes.
fn write_dump(path: &Path, size: u64, seed: u64) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut rng = Rng::new(seed);
    let mut tuple = Vec::with_capacity(256);
    out.write_all(synth::DUMP_HEAD.as_bytes())?;
    let mut written = synth::DUMP_HEAD.len() as u64;
    let mut i = 0;
    while written < size {
        tuple.clear();
        synth::dump_tuple(&synth::user_row(&mut rng, i), i == 0, &mut tuple);
        out.write_all(&tuple)?;
        written += tuple.len() as u64;
        i += 1;
    }
    out.write_all(b";\n")?;
    out.flush()?;
    Ok(written + 2)
}

/// Writes an application dump ([`synth::app_dump`]) from `seed` to `path`
/// until at least `size` bytes.
fn write_app_dump(path: &Path, size: u64, seed: u64) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let written = synth::app_dump(&mut out, size, seed)?;
    out.flush()?;
    Ok(written)
}

/// Parses `512M`, `1G`, `100K`, `1.5G` or a plain byte count (binary units).
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()?.to_ascii_uppercase() {
        'K' => (&s[..s.len() - 1], 1u64 << 10),
        'M' => (&s[..s.len() - 1], 1 << 20),
        'G' => (&s[..s.len() - 1], 1 << 30),
        'T' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let n: f64 = num.parse().ok()?;
    (n >= 0.0).then_some((n * mult as f64) as u64)
}

struct Args {
    mode: String,
    target: PathBuf,
    size: u64,
    files: usize,
}

const USAGE: &str = "usage: corpus logs DIR [--size 1G] [--files 64]\n       \
corpus onefile FILE [--size 2G]\n       corpus dump FILE [--size 2G]\n       \
corpus appdump FILE [--size 2G]";

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mode = it.next().ok_or("missing mode")?;
    let target = PathBuf::from(it.next().ok_or("missing target path")?);
    let mut size = None;
    let mut files = 64usize;
    while let Some(arg) = it.next() {
        let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--size" => size = Some(parse_size(&value).ok_or("bad --size")?),
            "--files" => files = value.parse().map_err(|_| "bad --files")?,
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    let size = match (mode.as_str(), size) {
        (_, Some(s)) => s,
        ("logs", None) => 1 << 30,
        (_, None) => 2 << 30,
    };
    if files == 0 {
        return Err("--files must be at least 1".into());
    }
    Ok(Args {
        mode,
        target,
        size,
        files,
    })
}

fn run(args: Args) -> io::Result<u64> {
    match args.mode.as_str() {
        mode @ ("onefile" | "dump" | "appdump") => {
            if let Some(dir) = args.target.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir)?;
            }
            match mode {
                "dump" => write_dump(&args.target, args.size, SEED),
                "appdump" => write_app_dump(&args.target, args.size, SEED),
                _ => write_log(&args.target, args.size, SEED),
            }
        }
        "logs" => {
            fs::create_dir_all(&args.target)?;
            let per_file = args.size.div_ceil(args.files as u64);
            let next = AtomicUsize::new(0);
            let threads = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(args.files);
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        scope.spawn(|| -> io::Result<u64> {
                            let mut total = 0;
                            loop {
                                let i = next.fetch_add(1, Ordering::Relaxed);
                                if i >= args.files {
                                    return Ok(total);
                                }
                                let name = format!("app-{i:04}.log");
                                total +=
                                    write_log(&args.target.join(name), per_file, SEED + i as u64)?;
                            }
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().expect("writer thread panicked"))
                    .sum()
            })
        }
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown mode {other:?}"),
        )),
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("corpus: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let target = args.target.clone();
    let start = Instant::now();
    match run(args) {
        Ok(bytes) => {
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "corpus: wrote {bytes} bytes to {} in {secs:.1} s ({:.0} MiB/s)",
                target.display(),
                bytes as f64 / secs / (1 << 20) as f64
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("corpus: {}: {err}", target.display());
            ExitCode::FAILURE
        }
    }
}
