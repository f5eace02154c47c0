//! The `piscan` command line: parses arguments into a [`Config`] and hands
//! it to the library. No scanning logic lives here.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use piscan::classify::classify;
use piscan::config::{Config, FailOn};
use piscan::detect::{Confidence, Kind};
use piscan::exit_codes;
use piscan::extract::Limits;
use piscan::report::Format;
use piscan::source::WalkOptions;

/// Find personal information (GB/T 35273) in files, dumps and logs, and
/// tell which of it is sensitive.
#[derive(Parser, Debug)]
#[command(name = "piscan", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan files and directories ("-" reads stdin) and report what is found.
    Scan(Box<ScanArgs>),
    /// List the detectors: kind, category, sensitivity, description
    /// (custom kinds of piscan.toml and --patterns included).
    Kinds(SettingsArgs),
}

/// Where settings and custom kinds are read from.
#[derive(Parser, Debug)]
struct SettingsArgs {
    /// Read settings from FILE [default: ./piscan.toml when it exists].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Read custom kinds from every *.toml file in DIR ([[custom]] tables).
    #[arg(long, value_name = "DIR")]
    patterns: Option<PathBuf>,
}

impl SettingsArgs {
    fn load(&self) -> Result<piscan::settings::Settings, piscan::settings::Error> {
        piscan::settings::load_with_patterns(self.config.as_deref(), self.patterns.as_deref())
    }
}

#[derive(Parser, Debug)]
struct ScanArgs {
    /// Files or directories to scan; "-" reads standard input.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,

    /// Report format [default: table on a terminal, jsonl otherwise].
    #[arg(long, value_enum)]
    format: Option<FormatArg>,

    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    /// Exit with status 1 when findings violate this policy.
    #[arg(long, value_enum, default_value = "none")]
    fail_on: FailOnArg,

    /// Drop findings below this confidence.
    #[arg(long, value_enum, default_value = "medium")]
    min_confidence: ConfidenceArg,

    /// Print matched values unmasked (off by default: reports mask values).
    #[arg(long)]
    show_values: bool,

    /// Honour .gitignore, .ignore and git excludes (.piscanignore always is).
    #[arg(long)]
    respect_ignore: bool,

    /// Leave out paths matching this gitignore-style glob (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,

    /// Follow symbolic links.
    #[arg(short = 'L', long)]
    follow: bool,

    /// Skip files larger than this (bytes, or with K, M, G suffix).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_filesize: Option<u64>,

    /// Order the whole report by path (buffers it until the scan ends).
    #[arg(long, value_enum, default_value = "none")]
    sort: SortArg,

    /// The path reported for standard input.
    #[arg(long, value_name = "NAME", default_value = "-")]
    stdin_name: String,

    /// Worker threads [default: one per core].
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    threads: usize,

    /// When to colour the table format.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorArg,

    /// No progress display on stderr.
    #[arg(long)]
    no_progress: bool,

    /// No messages on stderr except fatal errors.
    #[arg(long, short = 'q')]
    quiet: bool,

    /// Say on stderr what each file was: its encoding, or why it was skipped.
    #[arg(long, short = 'v')]
    verbose: bool,

    /// How deep archives may nest inside each other.
    #[arg(long, value_name = "N", default_value_t = 3)]
    max_archive_depth: u32,

    /// Uncompressed bytes one archive may hold in memory or write to
    /// temporary files, members read whole or spilled (K, M, G suffixes);
    /// members streamed (line-based, tar, gzip over 16 MiB) are not counted.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "1G")]
    max_archive_size: u64,

    /// Largest uncompressed/compressed ratio of an archive member (bomb guard).
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_compression_ratio: u64,

    /// Read only the first N rows of each database table.
    #[arg(long, value_name = "N")]
    max_rows_per_table: Option<u64>,

    /// Share of a column's values (0-1) that must hold a kind for the
    /// column to be classified as holding it.
    #[arg(long, value_name = "RATIO", default_value_t = 0.5, value_parser = parse_ratio)]
    column_threshold: f64,

    /// Report only findings that are not in this baseline file.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,

    /// Write the fingerprints of this scan's findings to FILE (a baseline).
    #[arg(long, value_name = "FILE")]
    baseline_write: Option<PathBuf>,

    #[command(flatten)]
    settings: SettingsArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum FormatArg {
    Table,
    Jsonl,
    Json,
    Sarif,
    Csv,
    Md,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum FailOnArg {
    Sensitive,
    Any,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ConfidenceArg {
    High,
    Medium,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq)]
enum SortArg {
    Path,
    None,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not a size: {text:?} (use e.g. 500K, 10M, 1G)"))?;
    let scale: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("unknown size unit in {text:?} (use K, M or G)")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("size too large: {text:?}"))
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("not a ratio between 0 and 1: {text:?}")),
    }
}

impl ScanArgs {
    fn into_config(self) -> Result<Config, piscan::settings::Error> {
        let settings = self.settings.load()?;
        let stdout_tty = std::io::stdout().is_terminal() && self.output.is_none();
        let format = match self.format {
            Some(FormatArg::Table) => Format::Table,
            Some(FormatArg::Jsonl) => Format::Jsonl,
            Some(FormatArg::Json) => Format::Json,
            Some(FormatArg::Sarif) => Format::Sarif,
            Some(FormatArg::Csv) => Format::Csv,
            Some(FormatArg::Md) => Format::Markdown,
            None if stdout_tty => Format::Table,
            None => Format::Jsonl,
        };
        let color = match self.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                stdout_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let stdin = self.paths.iter().any(|p| p.as_os_str() == "-");
        let paths: Vec<PathBuf> = self
            .paths
            .into_iter()
            .filter(|p| p.as_os_str() != "-")
            .collect();
        Ok(Config {
            walk: WalkOptions {
                paths,
                respect_ignore: self.respect_ignore,
                follow: self.follow,
                excludes: self.exclude.into_iter().chain(settings.excludes).collect(),
                max_filesize: self.max_filesize,
                threads: self.threads,
            },
            stdin,
            stdin_name: self.stdin_name,
            format,
            output: self.output,
            color,
            show_values: self.show_values,
            fail_on: match self.fail_on {
                FailOnArg::Sensitive => FailOn::Sensitive,
                FailOnArg::Any => FailOn::Any,
                FailOnArg::None => FailOn::None,
            },
            min_confidence: match self.min_confidence {
                ConfidenceArg::High => Confidence::High,
                ConfidenceArg::Medium => Confidence::Medium,
            },
            sort_by_path: self.sort == SortArg::Path,
            progress: !self.no_progress && !self.quiet && std::io::stderr().is_terminal(),
            quiet: self.quiet,
            verbose: self.verbose,
            limits: Limits {
                max_depth: self.max_archive_depth,
                max_archive_bytes: self.max_archive_size,
                max_ratio: self.max_compression_ratio,
                max_rows_per_table: self.max_rows_per_table,
            },
            column_threshold: self.column_threshold,
            baseline: self.baseline,
            baseline_write: self.baseline_write,
            filter: settings.filter,
            custom: settings.custom,
        })
    }
}

fn print_kinds() {
    println!(
        "{:<15} {:<26} {:<9} description",
        "kind", "category", "sensitive"
    );
    for kind in Kind::all() {
        let class = classify(kind);
        println!(
            "{:<15} {:<26} {:<9} {} ({})",
            kind.id(),
            class.category,
            if class.sensitive { "yes" } else { "no" },
            class.description,
            class.label_zh,
        );
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Kinds(settings) => match settings.load() {
            Ok(_) => {
                print_kinds();
                exit_codes::SUCCESS
            }
            Err(err) => {
                eprintln!("piscan: {err}");
                exit_codes::ERROR
            }
        },
        Command::Scan(args) => match args
            .into_config()
            .map_err(anyhow::Error::from)
            .and_then(|config| piscan::scan::run(&config))
        {
            Ok(code) => code,
            Err(err) => {
                eprintln!("piscan: {err:#}");
                exit_codes::ERROR
            }
        },
    };
    ExitCode::from(code as u8)
}
