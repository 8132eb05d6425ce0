//! Where log lines go: stderr, in batches (README, "Logs"). A line is
//! added to a batch in memory; a thread of its own ("log-flush") writes the
//! batch with one `write` when it reaches 64 KiB, at once when a line of
//! level WARN or more severe joins it (so a warning, an error or a panic's
//! report is out at once, after every line before it), every
//! `--log-flush-ms` (100 by default), and when the process ends. One
//! `write` per line was 5 % of the server's time serving Gets (README,
//! "Performance").
//!
//! No request waits for stderr: a log reader that stops reading (a stalled
//! journald, a container's log driver) fills the pipe and stops the writer,
//! not the service. Lines then wait in memory, up to 8 MiB; beyond that they
//! are dropped and counted, and once stderr takes lines again a warning
//! says how many were lost (and `/metrics` counts them).
//!
//! Lines keep their order: batches are taken in turn and written by one
//! thread.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// A batch this big is written at once.
const BATCH_BYTES: usize = 64 * 1024;
/// Lines waiting beyond this, while stderr takes none, are dropped.
const MAX_PENDING_BYTES: usize = 8 * 1024 * 1024;
/// How long the end of the process waits for its last lines to be written.
const LAST_LINES_WAIT: Duration = Duration::from_secs(2);

/// Lines dropped since the process started (`/metrics`).
static DROPPED_LINES: AtomicU64 = AtomicU64::new(0);

/// The lines dropped so far because stderr took none (see the module).
pub fn dropped_lines() -> u64 {
    DROPPED_LINES.load(Ordering::Relaxed)
}

/// The lines not written yet, and the output they go to.
pub struct Batches {
    state: Mutex<State>,
    /// Wakes the writer: a batch is due now.
    due: Condvar,
    /// A batch was written.
    written: Condvar,
    output: Mutex<Output>,
    /// Each line is written at once, by the thread that logs it (no
    /// interval was given: the one-shot commands).
    unbatched: bool,
    max_pending: usize,
}

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    /// A warning or a full batch waits: the writer is (being) woken.
    urgent: bool,
    /// Lines dropped since the writer last said so.
    dropped: u64,
    /// Batches taken by the writer, and written, so far.
    taken: u64,
    done: u64,
}

struct Output {
    out: Box<dyn Write + Send>,
    /// The batch being written; emptied, the buffer of a later one.
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
        Self::with_bound(out, interval, MAX_PENDING_BYTES)
    }

    fn with_bound(
        out: Box<dyn Write + Send>,
        interval: Option<Duration>,
        max_pending: usize,
    ) -> Arc<Self> {
        let batches = Arc::new(Self {
            state: Mutex::new(State {
                pending: Vec::with_capacity(BATCH_BYTES),
                ..State::default()
            }),
            due: Condvar::new(),
            written: Condvar::new(),
            output: Mutex::new(Output {
                out,
                spare: Vec::with_capacity(BATCH_BYTES),
            }),
            unbatched: interval.is_none(),
            max_pending,
        });
        if let Some(interval) = interval {
            let weak = Arc::downgrade(&batches);
            let started = std::thread::Builder::new()
                .name("log-flush".into())
                .spawn(move || write_while_alive(&weak, interval));
            if let Err(error) = started {
                // Without the thread, no line would ever be written.
                eprintln!("log lines are written one by one: no thread to write them ({error})");
                let out = lock(&batches.output).take_out();
                return Self::with_bound(out, None, max_pending);
            }
        }
        batches
    }

    /// Adds a whole line, or drops it if too many wait; wakes the writer
    /// when a batch is due. Never waits for the output.
    fn add(&self, line: &[u8], urgent: bool) -> io::Result<()> {
        let mut state = lock(&self.state);
        if self.unbatched {
            state.pending.extend_from_slice(line);
            return self.write_out(state);
        }
        if state.pending.len() + line.len() > self.max_pending {
            state.dropped += 1;
            DROPPED_LINES.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        state.pending.extend_from_slice(line);
        if (urgent || state.pending.len() >= BATCH_BYTES) && !state.urgent {
            state.urgent = true;
            self.due.notify_one();
        }
        Ok(())
    }

    /// Adds a whole line of level INFO (or below) that did not come
    /// through a layer's writer.
    pub fn add_line(&self, line: &[u8]) {
        // A failure to write is the log's own: nowhere to report it.
        let _ = self.add(line, false);
    }

    /// Writes what is pending. Taking the output's lock before letting go
    /// of the pending lines keeps batches in order; lines may be added to
    /// the next batch while this one is written.
    fn write_out(&self, mut state: MutexGuard<'_, State>) -> io::Result<()> {
        let mut output = lock(&self.output);
        let output = &mut *output;
        std::mem::swap(&mut state.pending, &mut output.spare);
        state.taken += 1;
        let taken = state.taken;
        drop(state);
        let result = write_batch(output.out.as_mut(), &output.spare);
        output.spare.clear();
        // What a stall made grow is given back.
        if output.spare.capacity() > 16 * BATCH_BYTES {
            output.spare.shrink_to(2 * BATCH_BYTES);
        }
        lock(&self.state).done = taken;
        self.written.notify_all();
        result
    }

    /// The writer's turn: waits up to `interval` for a batch to be due,
    /// then writes what is pending, and says if lines were dropped.
    fn write_next(&self, interval: Duration) {
        let state = lock(&self.state);
        let (mut state, _) = self
            .due
            .wait_timeout_while(state, interval, |state| !state.urgent)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.urgent = false;
        let dropped = std::mem::take(&mut state.dropped);
        if !state.pending.is_empty() {
            // Nowhere to report a failure to write the log.
            let _ = self.write_out(state);
        } else {
            drop(state);
        }
        if dropped > 0 {
            // Through the log itself, so that it has the log's format.
            tracing::warn!(
                dropped,
                "log lines dropped: stderr took none while {} MiB of them waited",
                self.max_pending / (1024 * 1024)
            );
        }
    }

    /// Has what is pending written, waiting at most `LAST_LINES_WAIT` for
    /// it: at the end of the process.
    pub fn flush(&self) {
        self.flush_within(LAST_LINES_WAIT);
    }

    fn flush_within(&self, wait: Duration) {
        let mut state = lock(&self.state);
        if self.unbatched || (state.pending.is_empty() && state.done == state.taken) {
            return;
        }
        // The batch that takes what is pending now, or the one being
        // written.
        let last = state.taken + u64::from(!state.pending.is_empty());
        state.urgent = true;
        self.due.notify_one();
        let _ = self
            .written
            .wait_timeout_while(state, wait, |state| state.done < last);
    }

    /// As `flush`, but gives up rather than wait for a lock: for a panic,
    /// which may have come while this thread held one.
    fn flush_if_free(&self) {
        let Ok(mut state) = self.state.try_lock() else {
            return;
        };
        if state.pending.is_empty() {
            return;
        }
        let Ok(mut output) = self.output.try_lock() else {
            return;
        };
        let _ = write_batch(output.out.as_mut(), &state.pending);
        state.pending.clear();
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

fn write_while_alive(batches: &Weak<Batches>, interval: Duration) {
    while let Some(batches) = batches.upgrade() {
        batches.write_next(interval);
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

    /// Waits (up to 10 s) until `writes` has `count` writes; them.
    fn written(writes: &Writes, count: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while writes.taken().len() < count {
            assert!(
                std::time::Instant::now() < deadline,
                "not written: {:?}",
                writes.taken()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        writes.taken()
    }

    #[test]
    fn lines_wait_for_the_batch_and_a_warning_takes_them_out_in_order() {
        let writes = Writes::default();
        let batches = Batches::new(Box::new(writes.clone()), Some(Duration::from_secs(3600)));
        info_line(&batches, "one\n");
        info_line(&batches, "two\n");
        std::thread::sleep(Duration::from_millis(50));
        assert!(writes.taken().is_empty());
        batches.add(b"WARN three\n", true).unwrap();
        assert_eq!(written(&writes, 1), ["one\ntwo\nWARN three\n"]);
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
        std::thread::sleep(Duration::from_millis(50));
        assert!(writes.taken().is_empty());
        info_line(&batches, &line);
        let written = written(&writes, 1);
        assert_eq!(written.len(), 1);
        assert!(written[0].len() >= BATCH_BYTES, "{}", written[0].len());
        assert!(written[0].split_terminator('\n').all(|l| l.len() == 999));
    }

    /// An output whose writes wait until it is opened, as a pipe nobody
    /// reads does.
    #[derive(Clone, Default)]
    struct Stalled {
        writes: Writes,
        open: Arc<(Mutex<bool>, Condvar)>,
        entered: Arc<Mutex<bool>>,
    }

    impl Write for Stalled {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            *self.entered.lock().unwrap() = true;
            let (open, opened) = &*self.open;
            let guard = open.lock().unwrap();
            drop(opened.wait_while(guard, |open| !*open).unwrap());
            self.writes.write(bytes)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Stalled {
        fn open(&self) {
            *self.open.0.lock().unwrap() = true;
            self.open.1.notify_all();
        }
    }

    #[test]
    fn a_stalled_output_holds_up_no_line_and_bounds_what_waits() {
        let output = Stalled::default();
        let max = 256 * 1024;
        let batches = Batches::with_bound(
            Box::new(output.clone()),
            Some(Duration::from_millis(1)),
            max,
        );
        batches.add(b"first\n", true).unwrap();
        while !*output.entered.lock().unwrap() {
            std::thread::sleep(Duration::from_millis(1));
        }
        // 1 MB of lines while the writer is stuck: each is added or
        // dropped at once.
        let (done, finished) = std::sync::mpsc::channel();
        let adding = batches.clone();
        std::thread::spawn(move || {
            for n in 0..10_000 {
                adding
                    .add(format!("{n:099}\n").as_bytes(), n % 100 == 0)
                    .unwrap();
            }
            done.send(()).unwrap();
        });
        finished
            .recv_timeout(Duration::from_secs(10))
            .expect("adding a line waited for the output");
        let kept = max / 100;
        {
            let state = lock(&batches.state);
            assert_eq!(state.pending.len(), kept * 100);
            assert_eq!(state.dropped, (10_000 - kept) as u64);
        }
        assert!(dropped_lines() >= (10_000 - kept) as u64);
        let started = std::time::Instant::now();
        batches.flush_within(Duration::from_millis(50));
        assert!(started.elapsed() < Duration::from_secs(5), "flush waited");

        output.open();
        batches.flush();
        let all = output.writes.taken().concat();
        let expected: String = std::iter::once("first\n".to_owned())
            .chain((0..kept).map(|n| format!("{n:099}\n")))
            .collect();
        assert!(
            all == expected,
            "{} bytes, {} expected",
            all.len(),
            expected.len()
        );
        assert_eq!(lock(&batches.state).dropped, 0, "said by the writer");
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
