//! Sources: which files to scan.
//!
//! [`walk`] turns the PATH arguments into a stream of [`Entry`] values on
//! all cores, using `ignore`'s parallel walker with file-share semantics:
//! hidden files are scanned, `.gitignore` is honoured only on request, and
//! `.piscanignore` always is. Every path that is not scanned becomes an
//! `Entry::Skipped` with a reason, so the summary can account for it; the
//! walk never stops on an error. [`sniff`] decides from a file's first bytes
//! whether it is text worth scanning.

pub mod sniff;

use std::path::{Path, PathBuf};

use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};

/// What to walk and how.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Files and directories to scan.
    pub paths: Vec<PathBuf>,
    /// Honour `.gitignore`, `.ignore` and git excludes.
    pub respect_ignore: bool,
    /// Follow symbolic links.
    pub follow: bool,
    /// Gitignore-style globs of paths to leave out.
    pub excludes: Vec<String>,
    /// Files larger than this are skipped.
    pub max_filesize: Option<u64>,
    /// Worker threads (0 = one per core).
    pub threads: usize,
}

/// One path the walk produced.
#[derive(Debug)]
pub enum Entry {
    /// A regular file to scan.
    File {
        /// Path as walked (the PATH argument joined with the relative path).
        path: PathBuf,
        /// Size from the file's metadata, when the walk read it (only to
        /// enforce `--max-filesize`: the reader takes it from the open
        /// file otherwise, without resolving the path again).
        len: Option<u64>,
    },
    /// A path that is not scanned, and why.
    Skipped {
        /// Path as walked.
        path: PathBuf,
        /// Human-readable reason, e.g. `larger than --max-filesize`.
        reason: String,
    },
}

/// Builds the walker; fails only on invalid `--exclude` globs.
fn builder(opts: &WalkOptions) -> Result<WalkBuilder, ignore::Error> {
    let (first, rest) = opts
        .paths
        .split_first()
        .map_or((Path::new("."), &[][..]), |(f, r)| (f.as_path(), r));
    let mut b = WalkBuilder::new(first);
    for p in rest {
        b.add(p);
    }
    let respect = opts.respect_ignore;
    b.hidden(false)
        .ignore(respect)
        .git_ignore(respect)
        .git_global(respect)
        .git_exclude(respect)
        .parents(respect)
        .require_git(false)
        .follow_links(opts.follow)
        .threads(opts.threads)
        .add_custom_ignore_filename(".piscanignore");
    if !opts.excludes.is_empty() {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let mut ov = OverrideBuilder::new(cwd);
        for glob in &opts.excludes {
            ov.add(&format!("!{glob}"))?;
        }
        b.overrides(ov.build()?);
    }
    Ok(b)
}

/// Walks `opts.paths` in parallel. Each walker thread gets its own visitor
/// from `make` and calls it for every entry it finds; the visitor is
/// dropped when its thread is done (so it can hold per-thread state, such
/// as a batch of reports to send).
///
/// Directories are not reported. Special files (FIFOs, sockets, devices)
/// are skipped without being opened, so a FIFO never blocks the scan.
pub fn walk<M, V>(opts: &WalkOptions, make: M) -> Result<(), ignore::Error>
where
    M: Fn() -> V + Sync,
    V: FnMut(Entry) + Send,
{
    let walker = builder(opts)?.build_parallel();
    let make = &make;
    walker.run(|| {
        let mut visit = make();
        Box::new(move |result| {
            match result {
                Ok(entry) => classify(entry, opts, &mut visit),
                Err(err) => visit(skipped_by_error(err)),
            }
            WalkState::Continue
        })
    });
    Ok(())
}

fn classify(entry: ignore::DirEntry, opts: &WalkOptions, visit: &mut impl FnMut(Entry)) {
    let Some(ft) = entry.file_type() else {
        // Only stdin has no file type, and the walker is never given "-".
        return;
    };
    if ft.is_dir() {
        return;
    }
    let reason = if ft.is_symlink() {
        "symbolic link not followed (use -L/--follow)".to_string()
    } else if !ft.is_file() {
        "not a regular file (FIFO, socket or device)".to_string()
    } else if let Some(max) = opts.max_filesize {
        match entry.metadata() {
            Ok(md) if md.len() > max => "larger than --max-filesize".to_string(),
            Ok(md) => {
                let len = Some(md.len());
                return visit(Entry::File {
                    path: entry.into_path(),
                    len,
                });
            }
            Err(err) => format!("unreadable: {}", io_message(&err)),
        }
    } else {
        return visit(Entry::File {
            path: entry.into_path(),
            len: None,
        });
    };
    visit(Entry::Skipped {
        path: entry.into_path(),
        reason,
    });
}

/// Turns a walk error (permission denied, loop, vanished path) into a skip.
fn skipped_by_error(err: ignore::Error) -> Entry {
    let mut path = PathBuf::new();
    let mut e = &err;
    loop {
        match e {
            ignore::Error::WithPath { path: p, err } => {
                path = p.clone();
                e = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                e = err;
            }
            ignore::Error::Loop { child, .. } => {
                return Entry::Skipped {
                    path: child.clone(),
                    reason: "symbolic link loop".to_string(),
                }
            }
            _ => break,
        }
    }
    Entry::Skipped {
        path,
        reason: format!("unreadable: {}", io_message(e)),
    }
}

/// Why reading a file failed: `unreadable: …` for an I/O error, or the
/// message itself for bad content found while reading it (an
/// [`std::io::ErrorKind::InvalidData`] error, such as a corrupt gzip
/// stream read on the fly).
pub fn read_failure(err: &std::io::Error) -> String {
    if err.kind() == std::io::ErrorKind::InvalidData {
        err.to_string()
    } else {
        format!("unreadable: {}", io_message(err))
    }
}

/// An error message without the path (the path is reported beside it).
pub fn io_message(err: &dyn std::error::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_lowercase(),
        None => text,
    }
}
