//! Running a streaming extractor on a thread of its own.
//!
//! A large dump is one file, read by one walker thread: tokenizing it and
//! scanning its values would share one core. [`relay`] runs the extractor
//! (the SQL tokenizer, the CSV or JSON-lines reader) on a second thread,
//! whose sink records the calls it gets (units, skips, the encoding) in
//! batches: the units' texts in one buffer, their places with owned names.
//! The calling thread replays each batch, in order, into the real sink (the
//! file's collector), so detection runs beside tokenizing while the
//! collector sees exactly the calls, in the order, it would have seen.
//!
//! Memory stays bounded: a batch is sent at about [`BATCH_BYTES`] of text
//! or [`BATCH_CALLS`] calls, and at most [`BATCHES`] wait in the channel.
//! Replayed batches go back to the extracting thread, emptied, to be
//! filled again: a fresh batch grows its buffers from nothing, and each
//! megabyte of new memory costs page faults and copies.
//! A unit longer than a batch (a SQL value of tens of MB) is not copied
//! at all: the extracting thread waits until every call before it has
//! been replayed, then makes the call itself, holding the sink's lock (the
//! sink is behind a mutex that the replaying thread takes per batch). So
//! the calls stay in order, and such a value is in memory once, in the
//! extractor's window, as without a relay.

use super::Names;
use crate::extract::{sql::Rows, Place, Sink, Unit};
use std::io;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Mutex, PoisonError};

/// Text of the units in a batch before it is sent.
const BATCH_BYTES: usize = 1 << 20;
/// Calls in a batch before it is sent (a dump's values are short).
const BATCH_CALLS: usize = 8192;
/// Names entries of a batch looked through for a unit's names.
const MAX_NAMES: usize = 64;
/// Batches waiting for the replaying thread.
const BATCHES: usize = 4;

/// A sink call, recorded.
enum Call {
    /// A unit: where its text ends, its names (an index into the batch's
    /// names) and position.
    Unit {
        end: usize,
        names: usize,
        line: Option<u64>,
        col: u64,
        cell: Option<(u32, u32)>,
        row: Option<u64>,
    },
    /// A block of rows: where its text ends, its table (an index into the
    /// batch's tables), where its counts are in the batch's `sent`, and
    /// the rest of [`Rows`].
    Rows {
        end: usize,
        table: usize,
        sent: std::ops::Range<usize>,
        first_row: u64,
        rows: u64,
        line: u64,
        col: u64,
        backslash: bool,
    },
    Skip(String, String),
    Encoding(&'static str),
    /// Every call before this one has been replayed: said on the channel.
    Barrier(SyncSender<()>),
}

/// Recorded calls; each unit's text ends at its `end` in `text`, starting
/// where the previous one ended.
#[derive(Default)]
struct Batch {
    text: Vec<u8>,
    calls: Vec<Call>,
    /// The names of the units, each entry as long as they stay the same.
    names: Vec<Names>,
    /// The tables of the blocks of rows and their columns, likewise.
    tables: Vec<(String, Vec<String>)>,
    /// The counts of the blocks of rows ([`Rows::sent`]), one after another.
    sent: Vec<u64>,
}

impl Batch {
    /// Empties the batch, keeping its buffers.
    fn clear(&mut self) {
        self.text.clear();
        self.calls.clear();
        self.names.clear();
        self.tables.clear();
        self.sent.clear();
    }
}

/// The sink the calls are replayed into, shared with the extracting
/// thread for the calls it makes itself.
type Shared<'s> = Mutex<&'s mut (dyn Sink + Send)>;

/// The sink of the extracting thread.
struct Recorder<'r, 's> {
    /// The real sink, for units too long to record.
    sink: &'r Shared<'s>,
    batch: Batch,
    /// The names entry of the last unit.
    last: usize,
    out: SyncSender<Batch>,
    /// Replayed batches, emptied, to fill next.
    recycled: Receiver<Batch>,
    /// The replaying side has gone: calls are dropped.
    gone: bool,
}

impl Recorder<'_, '_> {
    /// Sends the batch when it is full.
    fn send_if_full(&mut self) {
        if self.batch.text.len() >= BATCH_BYTES || self.batch.calls.len() >= BATCH_CALLS {
            self.send();
        }
    }

    fn send(&mut self) {
        let next = self.recycled.try_recv().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, next);
        if !self.gone && !batch.calls.is_empty() {
            self.gone = self.out.send(batch).is_err();
        }
    }

    /// Makes `call` on the real sink on this thread, once every call
    /// recorded before it has been replayed.
    fn direct(&mut self, call: impl FnOnce(&mut dyn Sink)) {
        let (done, replayed) = sync_channel(1);
        self.batch.calls.push(Call::Barrier(done));
        self.send();
        // The replaying side is gone when it drops the batch unread.
        if self.gone || replayed.recv().is_err() {
            self.gone = true;
            return;
        }
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        call(&mut **sink);
    }
}

impl Sink for Recorder<'_, '_> {
    fn unit(&mut self, unit: &Unit<'_>) {
        if self.gone {
            return;
        }
        if unit.text.len() > BATCH_BYTES {
            self.direct(|sink| sink.unit(unit));
            return;
        }
        let p = unit.place;
        let (line, col) = match p.start() {
            Some((line, col)) => (Some(line), col),
            None => (None, p.col),
        };
        // Rows repeat their columns: the names after the last ones, or
        // any of the batch's few, usually match.
        let names = &mut self.batch.names;
        let next = (self.last + 1) % names.len().max(1);
        let found = [next]
            .into_iter()
            .chain(0..names.len().min(MAX_NAMES))
            .find(|&i| names.get(i).is_some_and(|n| n.are(&p)));
        let names = found.unwrap_or_else(|| {
            let mut new = Names::default();
            new.update(&p);
            names.push(new);
            names.len() - 1
        });
        self.last = names;
        self.batch.text.extend_from_slice(unit.text);
        self.batch.calls.push(Call::Unit {
            end: self.batch.text.len(),
            names,
            line,
            col,
            cell: p.cell,
            row: p.row,
        });
        self.send_if_full();
    }

    fn rows(&mut self, rows: &Rows<'_>) {
        if self.gone {
            return;
        }
        let batch = &mut self.batch;
        let same = |(table, columns): &(String, Vec<String>)| {
            table == rows.table && columns[..] == *rows.columns
        };
        if !batch.tables.last().is_some_and(same) {
            batch
                .tables
                .push((rows.table.to_string(), rows.columns.to_vec()));
        }
        batch.text.extend_from_slice(rows.raw);
        let from = batch.sent.len();
        batch.sent.extend_from_slice(rows.sent);
        batch.calls.push(Call::Rows {
            end: batch.text.len(),
            table: batch.tables.len() - 1,
            sent: from..batch.sent.len(),
            first_row: rows.first_row,
            rows: rows.rows,
            line: rows.line,
            col: rows.col,
            backslash: rows.backslash,
        });
        self.send_if_full();
    }

    fn skip(&mut self, what: &str, reason: &str) {
        self.batch
            .calls
            .push(Call::Skip(what.to_string(), reason.to_string()));
    }

    fn encoding(&mut self, name: &'static str) {
        self.batch.calls.push(Call::Encoding(name));
    }
}

/// Replays a batch's calls into `sink`.
fn replay(batch: &Batch, sink: &mut dyn Sink) {
    let mut start = 0;
    for call in &batch.calls {
        match call {
            Call::Unit {
                end,
                names,
                line,
                col,
                cell,
                row,
            } => {
                let names = &batch.names[*names];
                sink.unit(&Unit {
                    text: &batch.text[start..*end],
                    place: Place {
                        member: names.member.as_deref(),
                        line: *line,
                        col: *col,
                        origin: None,
                        sheet: names.sheet.as_deref(),
                        cell: *cell,
                        table: names.table.as_deref(),
                        row: *row,
                        field: names.field.as_deref(),
                    },
                });
                start = *end;
            }
            Call::Rows {
                end,
                table,
                sent,
                first_row,
                rows,
                line,
                col,
                backslash,
            } => {
                let (table, columns) = &batch.tables[*table];
                sink.rows(&Rows {
                    raw: &batch.text[start..*end],
                    table,
                    columns,
                    first_row: *first_row,
                    rows: *rows,
                    sent: &batch.sent[sent.clone()],
                    line: *line,
                    col: *col,
                    backslash: *backslash,
                });
                start = *end;
            }
            Call::Skip(what, reason) => sink.skip(what, reason),
            Call::Encoding(name) => sink.encoding(name),
            Call::Barrier(replayed) => {
                // The extracting thread waits for this.
                let _ = replayed.send(());
            }
        }
    }
}

/// Runs `extract` on `input` on a thread of its own and replays its sink
/// calls into `sink` on this one (see the module docs); returns what
/// `extract` returned.
pub(super) fn relay<I, E>(input: I, extract: E, sink: &mut (dyn Sink + Send)) -> io::Result<()>
where
    I: Send,
    E: FnOnce(I, &mut dyn Sink) -> io::Result<()> + Send,
{
    let (out, batches) = sync_channel(BATCHES);
    // Room for every batch there can be: returning one never waits.
    let (recycle, recycled) = sync_channel(BATCHES + 2);
    let shared: Shared<'_> = Mutex::new(sink);
    std::thread::scope(|scope| {
        let shared = &shared;
        let extracting = scope.spawn(move || {
            let mut recorder = Recorder {
                sink: shared,
                batch: Batch::default(),
                last: 0,
                out,
                recycled,
                gone: false,
            };
            let result = extract(input, &mut recorder);
            recorder.send();
            result
        });
        for mut batch in batches {
            let mut sink = shared.lock().unwrap_or_else(PoisonError::into_inner);
            replay(&batch, &mut **sink);
            drop(sink);
            batch.clear();
            // Dropped instead when the extracting thread is done.
            let _ = recycle.try_send(batch);
        }
        extracting
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the extracting thread panicked")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::sql;
    use crate::extract::testing::Recorder as Record;

    #[test]
    fn replays_what_the_extractor_sends_in_order() {
        let mut dump = String::from("-- MySQL dump\nSET NAMES utf8mb4;\n");
        dump.push_str("INSERT INTO `users` (`id`,`phone`) VALUES ");
        for row in 0..50_000 {
            if row > 0 {
                dump.push(',');
            }
            dump.push_str(&format!("({row},'138{row:08}')"));
        }
        // A value longer than a batch, passed on directly, between
        // recorded ones.
        let long = "x".repeat(3 * BATCH_BYTES / 2);
        dump.push_str(&format!(",(-1,'{long} 13812345678'),(-2,'after')"));
        dump.push_str(";\nINSERT INTO `t` VALUES ('unterminated);\n");
        let mut direct = Record::default();
        sql::extract_reader(&mut dump.as_bytes(), &[], None, &mut direct).unwrap();
        let mut relayed = Record::default();
        let mut input = dump.as_bytes();
        relay(
            &mut input,
            |input: &mut &[u8], sink: &mut dyn Sink| sql::extract_reader(input, &[], None, sink),
            &mut relayed,
        )
        .unwrap();
        assert!(direct.units.len() > 100_000);
        assert!(direct.units.iter().any(|u| u.text.len() > BATCH_BYTES));
        assert_eq!(relayed.units, direct.units);
        assert_eq!(relayed.skips, direct.skips);
        assert_eq!(relayed.encodings, direct.encodings);
    }
}
