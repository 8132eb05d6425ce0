//! Where log lines go: stderr, in batches (README, "Logs"). A line is
//! added to a batch in memory; the batch is written with one `write` when
//! it reaches 64 KiB, when a line of level WARN or more severe joins it
//! (so a warning, an error or a panic's report is out at once, after every
//! line before it), every `--log-flush-ms` (100 by default), and when the
//! process ends. One `write` per line was 5 % of the server's time serving
//! Gets (README, "Performance"); a batch of 64 KiB holds hundreds of lines.
//!
//! Lines keep their order: a batch is taken and written under one lock, so
//! a later batch is never written before an earlier one.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// A batch this big is written at once.
const BATCH_BYTES: usize = 64 * 1024;

/// The lines not written yet, and the output they go to.
pub struct Batches {
    pending: Mutex<Vec<u8>>,
    output: Mutex<Output>,
    /// Write each line at once (no interval was given).
    unbatched: bool,
}

struct Output {
    out: Box<dyn Write + Send>,
    /// The last batch's buffer, emptied, for the next one.
    spare: Vec<u8>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A thread that panicked while holding it left whole lines behind.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Batches {
    /// Lines for `out`, written every `interval` (by a thread of its own,
    /// while the batches live) or, with `None`, each at once.
    pub fn new(out: Box<dyn Write + Send>, interval: Option<Duration>) -> Arc<Self> {
        let batches = Arc::new(Self {
            pending: Mutex::new(Vec::with_capacity(BATCH_BYTES)),
            output: Mutex::new(Output {
                out,
                spare: Vec::with_capacity(BATCH_BYTES),
            }),
            unbatched: interval.is_none(),
        });
        if let Some(interval) = interval {
            let weak = Arc::downgrade(&batches);
            let started = std::thread::Builder::new()
                .name("log-flush".into())
                .spawn(move || flush_while_alive(&weak, interval));
            if let Err(error) = started {
                // Without the thread, lines would wait for a full batch.
                eprintln!("log lines are written one by one: no thread to flush them ({error})");
                let out = lock(&batches.output).take_out();
                return Self::new(out, None);
            }
        }
        batches
    }

    /// Adds a whole line; writes the batch when it is due.
    fn add(&self, line: &[u8], urgent: bool) -> io::Result<()> {
        let mut pending = lock(&self.pending);
        pending.extend_from_slice(line);
        if urgent || self.unbatched || pending.len() >= BATCH_BYTES {
            self.write_out(pending)
        } else {
            Ok(())
        }
    }

    /// Writes what is pending. Taking the output's lock before letting go
    /// of the pending lines keeps batches in order; lines may be added to
    /// the next batch while this one is written.
    fn write_out(&self, mut pending: MutexGuard<'_, Vec<u8>>) -> io::Result<()> {
        let mut output = lock(&self.output);
        let output = &mut *output;
        std::mem::swap(&mut *pending, &mut output.spare);
        drop(pending);
        let result = write_batch(output.out.as_mut(), &output.spare);
        output.spare.clear();
        result
    }

    /// Writes whatever is pending.
    pub fn flush(&self) {
        let pending = lock(&self.pending);
        if !pending.is_empty() {
            // Nowhere to report a failure to write the log.
            let _ = self.write_out(pending);
        }
    }

    /// As `flush`, but gives up rather than wait for a lock: for a panic,
    /// which may have come while this thread held one.
    fn flush_if_free(&self) {
        let Ok(mut pending) = self.pending.try_lock() else {
            return;
        };
        if pending.is_empty() {
            return;
        }
        let Ok(mut output) = self.output.try_lock() else {
            return;
        };
        let _ = write_batch(output.out.as_mut(), &pending);
        pending.clear();
    }

    /// Makes a panic's report follow the lines logged before it.
    pub fn flush_on_panic(self: &Arc<Self>) {
        let batches = Arc::downgrade(self);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Some(batches) = batches.upgrade() {
                batches.flush_if_free();
            }
            previous(info);
        }));
    }
}

fn write_batch(out: &mut dyn Write, batch: &[u8]) -> io::Result<()> {
    out.write_all(batch).and_then(|()| out.flush())
}

impl Output {
    fn take_out(&mut self) -> Box<dyn Write + Send> {
        std::mem::replace(&mut self.out, Box::new(io::sink()))
    }
}

fn flush_while_alive(batches: &Weak<Batches>, interval: Duration) {
    loop {
        std::thread::sleep(interval);
        match batches.upgrade() {
            Some(batches) => batches.flush(),
            None => return,
        }
    }
}

/// The writer of one line (tracing-subscriber formats a whole line, then
/// writes it with one `write_all`).
pub struct LineWriter<'a> {
    batches: &'a Batches,
    urgent: bool,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.batches.add(line, self.urgent)?;
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What the log layers write with.
#[derive(Clone)]
pub struct BatchedWriter(pub Arc<Batches>);

impl<'a> MakeWriter<'a> for BatchedWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            batches: &self.0,
            urgent: true,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            batches: &self.0,
            urgent: *meta.level() <= Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where a test's batches go: each `write_all` as one entry.
    #[derive(Clone, Default)]
    struct Writes(Arc<Mutex<Vec<Vec<u8>>>>);

    impl Write for Writes {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().push(bytes.to_vec());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Writes {
        fn taken(&self) -> Vec<String> {
            self.0
                .lock()
                .unwrap()
                .iter()
                .map(|w| String::from_utf8(w.clone()).unwrap())
                .collect()
        }
    }

    fn info_line(batches: &Batches, line: &str) {
        batches.add(line.as_bytes(), false).unwrap();
    }

    #[test]
    fn lines_wait_for_the_batch_and_a_warning_takes_them_out_in_order() {
        let writes = Writes::default();
        let batches = Batches::new(Box::new(writes.clone()), Some(Duration::from_secs(3600)));
        info_line(&batches, "one\n");
        info_line(&batches, "two\n");
        assert!(writes.taken().is_empty());
        batches.add(b"WARN three\n", true).unwrap();
        assert_eq!(writes.taken(), ["one\ntwo\nWARN three\n"]);
        info_line(&batches, "four\n");
        batches.flush();
        assert_eq!(writes.taken(), ["one\ntwo\nWARN three\n", "four\n"]);
        batches.flush();
        assert_eq!(writes.taken().len(), 2, "nothing pending, nothing written");
    }

    #[test]
    fn a_full_batch_is_written_at_once() {
        let writes = Writes::default();
        let batches = Batches::new(Box::new(writes.clone()), Some(Duration::from_secs(3600)));
        let line = format!("{}\n", "x".repeat(999));
        for _ in 0..(BATCH_BYTES / line.len()) {
            info_line(&batches, &line);
        }
        assert!(writes.taken().is_empty());
        info_line(&batches, &line);
        let written = writes.taken();
        assert_eq!(written.len(), 1);
        assert!(written[0].len() >= BATCH_BYTES, "{}", written[0].len());
        assert!(written[0].split_terminator('\n').all(|l| l.len() == 999));
    }

    #[test]
    fn the_interval_writes_what_is_pending() {
        let writes = Writes::default();
        let batches = Batches::new(Box::new(writes.clone()), Some(Duration::from_millis(20)));
        info_line(&batches, "soon\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while writes.taken().is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(writes.taken(), ["soon\n"]);
    }

    #[test]
    fn without_an_interval_each_line_is_written_at_once() {
        let writes = Writes::default();
        let batches = Batches::new(Box::new(writes.clone()), None);
        info_line(&batches, "one\n");
        info_line(&batches, "two\n");
        assert_eq!(writes.taken(), ["one\n", "two\n"]);
    }

    #[test]
    fn lines_of_many_threads_stay_whole_and_in_each_threads_order() {
        let writes = Writes::default();
        let batches = Batches::new(Box::new(writes.clone()), Some(Duration::from_millis(1)));
        std::thread::scope(|scope| {
            for thread in 0..4 {
                let batches = &batches;
                scope.spawn(move || {
                    for n in 0..5_000 {
                        let line = format!("{thread} {n:05} {}\n", "y".repeat(n % 300));
                        batches.add(line.as_bytes(), n % 1000 == 0).unwrap();
                    }
                });
            }
        });
        batches.flush();
        let all = writes.taken().concat();
        let mut next = [0usize; 4];
        for line in all.lines() {
            let mut parts = line.split(' ');
            let thread: usize = parts.next().unwrap().parse().unwrap();
            let n: usize = parts.next().unwrap().parse().unwrap();
            assert_eq!(n, next[thread], "{line}");
            assert_eq!(parts.next().unwrap().len(), n % 300);
            next[thread] += 1;
        }
        assert_eq!(next, [5_000; 4]);
    }
}
