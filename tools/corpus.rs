//! Corpus generator for throughput comparisons (see `benches/compare.sh`).
//!
//! ```text
//! cargo run --release --example corpus -- logs DIR --size 1G --files 64
//! cargo run --release --example corpus -- onefile FILE --size 2G
//! ```
//!
//! Writes realistic application log lines (ISO timestamps, levels, 19-digit
//! request ids, 13-digit millisecond timestamps, UUIDs, SHA-256 hashes, URLs,
//! `key=value` pairs, Chinese messages), the same shape as the `detect`
//! benchmark's log buffer. About 2 % of lines carry one value of a random
//! kind from [`piscan::synth`]. Output is deterministic: the same arguments
//! give the same bytes. `logs` writes its files on one thread per core, each
//! file from its own seed.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use piscan::synth::{self, Rng};

/// Base seed; file `i` uses `SEED + i`.
const SEED: u64 = 0x5EED_C04B_0005;

/// Percentage of lines that carry one personal-data value.
const PII_PERCENT: u64 = 2;

const SERVICES: &[&str] = &[
    "order-service",
    "user-center",
    "payment-gateway",
    "inventory",
    "notify-worker",
    "auth",
];

const LEVELS: &[&str] = &[
    "INFO", "INFO", "INFO", "INFO", "DEBUG", "DEBUG", "WARN", "ERROR",
];

const MESSAGES: &[&str] = &[
    "订单已创建",
    "用户登录成功",
    "支付回调处理完成",
    "库存扣减失败，准备重试",
    "request completed",
    "cache miss, loading from db",
    "upstream responded slowly",
    "token refreshed",
    "消息已投递到队列",
    "retrying after backoff",
];

const HOSTS: &[&str] = &[
    "https://api.shop-internal.cn",
    "http://user-center.svc.cluster.local:8080",
    "https://pay.gateway-prod.com",
    "https://cdn.static-assets.net",
];

const PATHS: &[&str] = &[
    "/v2/orders",
    "/api/v1/users",
    "/callback/notify",
    "/items/sku",
    "/static/img/banner",
];

const STATUS: &[u32] = &[200, 200, 201, 204, 400, 404, 500];

/// Appends `n` random lowercase hex digits.
fn hex(rng: &mut Rng, n: usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bits = 0u64;
    for i in 0..n {
        if i % 16 == 0 {
            bits = rng.next_u64();
        }
        out.push(HEX[(bits & 15) as usize]);
        bits >>= 4;
    }
}

fn uuid(rng: &mut Rng, out: &mut Vec<u8>) {
    for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 {
            out.push(b'-');
        }
        hex(rng, n, out);
    }
}

/// One value of a random kind, with the key a log would print it under.
fn planted_value(rng: &mut Rng, line: &mut Vec<u8>) -> io::Result<()> {
    match rng.below(8) {
        0 => write!(line, " 身份证号:{}", synth::resident_id(rng)),
        1 => write!(line, " card_no={}", synth::bank_card(rng)),
        2 => write!(line, " phone={}", synth::mobile(rng)),
        3 => write!(line, " imei={}", synth::imei(rng)),
        4 => write!(line, " passport_no={}", synth::passport(rng)),
        5 => write!(line, " email={}", synth::email(rng)),
        6 => write!(line, " client_ip={}", synth::ipv4(rng)),
        _ => write!(line, " mac={}", synth::mac(rng)),
    }
}

/// Writes log lines from `seed` to `path` until at least `size` bytes.
fn write_log(path: &Path, size: u64, seed: u64) -> io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut rng = Rng::new(seed);
    let mut line: Vec<u8> = Vec::with_capacity(512);
    let mut written = 0u64;
    // Millisecond clock around 2024-05-17, advancing a little each line.
    let mut ms: u64 = 1_715_912_625_123 + (seed % 1000) * 3_600_000;
    while written < size {
        line.clear();
        ms += rng.below(50);
        let secs_of_day = (ms / 1000 + 8 * 3600) % 86_400;
        write!(
            line,
            "2024-05-17T{:02}:{:02}:{:02}.{:03}+08:00 {:<5} [{}] req_id={} ts={} trace_id=",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60,
            ms % 1000,
            rng.pick(LEVELS),
            rng.pick(SERVICES),
            // Snowflake-style 19-digit id.
            1_790_000_000_000_000_000 + rng.below(9_000_000_000_000_000),
            ms,
        )?;
        uuid(&mut rng, &mut line);
        write!(line, " msg=\"{}\"", rng.pick(MESSAGES))?;
        match rng.below(4) {
            0 => write!(
                line,
                " url={}{}/{}?page={}&size=20",
                rng.pick(HOSTS),
                rng.pick(PATHS),
                rng.below(100_000),
                1 + rng.below(50),
            )?,
            1 => {
                line.extend_from_slice(b" sha256=");
                hex(&mut rng, 64, &mut line);
            }
            2 => write!(
                line,
                " method=POST status={} latency_ms={} bytes={} retries={}",
                rng.pick(STATUS),
                rng.below(2_000),
                rng.below(100_000),
                rng.below(3),
            )?,
            _ => write!(
                line,
                " 用户ID={} 耗时={}.{:02}ms version=3.{}.{}",
                rng.below(10_000_000),
                rng.below(500),
                rng.below(100),
                rng.below(20),
                rng.below(10),
            )?,
        }
        if rng.below(100) < PII_PERCENT {
            planted_value(&mut rng, &mut line)?;
        }
        line.push(b'\n');
        out.write_all(&line)?;
        written += line.len() as u64;
    }
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

const USAGE: &str =
    "usage: corpus logs DIR [--size 1G] [--files 64]\n       corpus onefile FILE [--size 2G]";

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
        "onefile" => {
            if let Some(dir) = args.target.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir)?;
            }
            write_log(&args.target, args.size, SEED)
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
