//! Turns at a busy database (README, "Timeouts and limits"): how long a
//! request waits for one, and who gets the next.
//!
//! While the database keeps up, a request waits up to all of
//! `--max-database-wait-ms`, and turns go to the longest waiting: a burst,
//! or a stall, drains in the order it came. When the database is given
//! more work than it can do, it is *behind* for as long as it takes the
//! refused to come back (`Retry-After`: clients that honour it come back
//! together then) and a whole wait more: a request waits only
//! `--max-database-wait-behind-ms` (10 ms by default), since a longer wait
//! would only make every served request slower by as much, and turns go to
//! the newest, which has the most of its client's patience left, while the
//! oldest are about to be refused anyway (the adaptive LIFO, with a short
//! wait in a standing queue as CoDel's, of Facebook's "Fail at Scale", ACM
//! Queue 13(8), 2015). Then the whole wait is back, in order, and the next
//! sign starts it again. The signs:
//!
//! - a request that joined with the whole wait had to give up;
//! - a request was refused by `--max-database-requests`;
//! - the queue *grows* while turns keep being handed out, for two windows
//!   of a tenth of the wait, 50 ms at least ([`TurnClock::served`]):
//!   requests come faster than they are served. A stall hands out no
//!   turns, so it is never taken for one and keeps the whole wait. The
//!   requests that were waiting then, with the whole wait, are refused the
//!   behind wait later ([`TurnClock::order`]) rather than served as late
//!   as the whole wait when the newest run out.
//!
//! An overload seen again by its growth soon after being behind for one
//! ended had not ended: being behind lasts four times as long as the last
//! time, up to 32 times its usual length (48 s by default), so that a
//! sustained overload is served with the short wait but for a moment in
//! a minute, not one in every 1.5 s (each time, the queue grows in order
//! for two windows before it is seen again). A stall or a refusal starts
//! the usual length.
//!
//! Not a sign: a request that joined while the database was behind gave
//! up. Newest first, a fixed population of clients that outnumber the
//! turns and send their next request as soon as they are answered (refused
//! or not) always has some oldest starving, and their refusals would keep
//! the database behind for as long as they run (seen: 64 such clients on
//! PostgreSQL, after one stall longer than the wait, were refused 500 times
//! a second for as long as they ran). Nor a queue that is merely long
//! (tried: newest first once the oldest had waited a tenth of the wait):
//! the same population keeps its queue the same length, however long, and
//! in the order they came each waits its turn.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// The share of the whole wait that the queue may take to serve before its
/// growth counts (see [`TurnClock::served`]).
const GROWTH_SHARE: u32 = 10;

/// How many times as long as the last time being behind lasts when an
/// overload is seen again soon after it ended.
const BEHIND_GROWTH: u32 = 4;

/// How many times its usual length being behind lasts at most.
const LONGEST_BEHIND: u32 = 32;

/// Windows in a row in which the queue grew past what a tenth of the wait
/// serves before the database counts as behind (see [`TurnClock::served`]).
const GROWING_WINDOWS: u32 = 2;

/// The shortest window: a short wait's tenth is too short a time to tell
/// clients that are still connecting from an overload.
const MIN_WINDOW: Duration = Duration::from_millis(50);

/// Whether the database is behind, and so how long a request waits and
/// who goes first.
pub(super) struct TurnClock {
    max_wait: Duration,
    /// How long a request waits while the database is behind.
    behind_wait: Duration,
    /// How long being behind lasts: until the refused come back, and a
    /// whole wait more.
    behind_for: Duration,
    behind: Mutex<Behind>,
    /// The turns handed out lately, against the queue they leave.
    window: Mutex<Window>,
}

/// When the database was last behind, and why; one lock, so that an
/// overload and the being behind it starts are seen together.
#[derive(Clone, Copy)]
struct Behind {
    /// When being behind (newest first, the behind wait) ends.
    until: Option<Instant>,
    /// When the queue was seen growing into the overload that started it,
    /// if that did: requests waiting since before then wait the behind
    /// wait from then, no longer.
    overloaded_at: Option<Instant>,
    /// How long it lasts (or lasted).
    length: Duration,
}

impl Behind {
    /// Whether the database is behind at `now`.
    fn at(&self, now: Instant) -> bool {
        self.until.is_some_and(|until| now < until)
    }
}

/// How the queue's owner hands out turns now ([`TurnClock::order`]).
pub(super) struct Order {
    /// Turns go to the newest.
    pub newest_first: bool,
    /// Requests that asked before this are refused: they joined with the
    /// whole wait before the overload was seen and have waited the behind
    /// wait since; newest first they would only be served when the newest
    /// run out, as late as the whole wait.
    pub refuse_asked_before: Option<Instant>,
}

/// Turns handed out since `start`, one window ago at most.
struct Window {
    start: Instant,
    /// Requests waiting when it started.
    queue_at_start: usize,
    served: usize,
    /// Windows in a row that ended with a queue that grew and would take
    /// longer than a tenth of the wait to serve.
    growing: u32,
}

impl TurnClock {
    /// `behind_wait`: how long a request waits while the database is
    /// behind (at most `max_wait`); `come_back_after`: when a refused
    /// request is told to come back.
    pub fn new(max_wait: Duration, behind_wait: Duration, come_back_after: Duration) -> Self {
        let behind_for = come_back_after + max_wait;
        Self {
            max_wait,
            behind_wait: behind_wait.min(max_wait),
            behind_for,
            behind: Mutex::new(Behind {
                until: None,
                overloaded_at: None,
                length: behind_for,
            }),
            window: Mutex::new(Window {
                start: Instant::now(),
                queue_at_start: 0,
                served: 0,
                growing: 0,
            }),
        }
    }

    fn behind(&self) -> std::sync::MutexGuard<'_, Behind> {
        self.behind.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn tenth(&self) -> Duration {
        self.max_wait / GROWTH_SHARE
    }

    /// Whether the database is behind now: turns go to the newest, and a
    /// request joining waits the behind wait.
    pub fn newest_first(&self, now: Instant) -> bool {
        self.behind().at(now)
    }

    /// How turns go now.
    pub fn order(&self, now: Instant) -> Order {
        let behind = *self.behind();
        let newest_first = behind.at(now);
        Order {
            newest_first,
            refuse_asked_before: behind
                .overloaded_at
                .filter(|at| newest_first && now >= *at + self.behind_wait),
        }
    }

    /// When a request joining the queue now stops waiting.
    pub fn turn_by(&self, now: Instant) -> Instant {
        match self.newest_first(now) {
            true => now + self.behind_wait,
            false => now + self.max_wait,
        }
    }

    /// `count` requests got their turn at `now`, and `queue` still wait.
    ///
    /// The start of an overload, seen before anyone has waited the whole
    /// wait: turns keep being handed out (a stall hands out none, so it is
    /// never taken for one), yet the queue grows, in each of
    /// [`GROWING_WINDOWS`] windows of a tenth of the wait (at least
    /// [`MIN_WINDOW`]) by more than an eighth of the turns handed out, and
    /// ends each longer than a tenth of the wait serves. Then the database
    /// is behind as if a request had been refused. A fixed population of
    /// clients that send their next request when answered keeps its queue
    /// the same length, however long; only arrivals beyond what is served
    /// make it grow. Windows that start while the database is behind, or
    /// within a window of its end, do not count: such a population, refused
    /// while behind, fills the queue once when the whole wait is back.
    pub fn served(&self, count: usize, queue: usize, now: Instant) {
        let tenth = self.tenth();
        let window_length = tenth.max(MIN_WINDOW);
        let overloaded = {
            // The window's lock, then (below) the behind lock: never the
            // other way round.
            let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
            window.served += count;
            let elapsed = now.saturating_duration_since(window.start);
            if elapsed < window_length {
                return;
            }
            let served = window.served;
            let grew = queue > window.queue_at_start + served / 8;
            // The queue takes longer than a tenth at this window's pace.
            let long = queue as f64 * elapsed.as_secs_f64() > served as f64 * tenth.as_secs_f64();
            // A window much longer than its length had a pause (idle, or a
            // stall): its pace says nothing of the load.
            let paced = elapsed < 2 * window_length;
            // While behind, and for a window after: clients refused while
            // behind that send again at once fill the queue once when the
            // whole wait is back, which is not an overload.
            let settled = self
                .behind()
                .until
                .is_none_or(|until| window.start >= until + window_length);
            window.growing = match grew && long && paced && settled {
                true => window.growing + 1,
                false => 0,
            };
            window.start = now;
            window.queue_at_start = queue;
            window.served = 0;
            window.growing >= GROWING_WINDOWS
        };
        if overloaded {
            self.fall_behind(now, now, true);
        }
    }

    /// A request that asked for its turn at `asked` was refused (it gave
    /// up waiting, or there were too many at the database): the database
    /// falls behind, unless it was behind when the request asked. Such a
    /// refusal says nothing new: it was starved by the order, or what it
    /// would start is on already. Whether it started being behind.
    pub fn refused(&self, asked: Instant) -> bool {
        self.fall_behind(asked, Instant::now(), false)
    }

    /// Falls behind at `now` for a sign seen by a request that asked at
    /// `asked` (an overload: at `asked`), unless the database was behind
    /// then; whether it did. Later in being behind, the requests that
    /// joined have the behind wait already, so an overload seen again
    /// refuses nobody more.
    /// An overload seen within a whole `behind_for` of the end of being
    /// behind for one had not ended: this time it lasts [`BEHIND_GROWTH`]
    /// times as long as the last, up to [`LONGEST_BEHIND`] times the usual.
    fn fall_behind(&self, asked: Instant, now: Instant, overloaded: bool) -> bool {
        let length = {
            let mut behind = self.behind();
            if behind.until.is_some_and(|until| asked < until) {
                return false;
            }
            let length = match behind.until {
                Some(until)
                    if overloaded
                        && behind.overloaded_at.is_some()
                        && asked < until + self.behind_for =>
                {
                    (behind.length * BEHIND_GROWTH).min(self.behind_for * LONGEST_BEHIND)
                }
                _ => self.behind_for,
            };
            *behind = Behind {
                until: Some(now + length),
                overloaded_at: overloaded.then_some(asked),
                length,
            };
            length
        };
        // Not under the lock every request reads.
        log::info!(
            "the database is behind for {} ms ({}): requests wait {} ms, the newest first",
            length.as_millis(),
            match overloaded {
                true => "requests come faster than they are served",
                false => "a request was refused as busy",
            },
            self.behind_wait.as_millis()
        );
        true
    }
}

/// A fixed number of turns at the database, handed out to the longest
/// waiting, or, while the database is behind, to the newest.
pub(super) struct Turns {
    clock: Arc<TurnClock>,
    queue: Mutex<Queue>,
}

struct Queue {
    /// Turns nobody holds.
    free: usize,
    /// Requests waiting, oldest first; a request that gave up has dropped
    /// its receiver.
    waiting: VecDeque<(Instant, oneshot::Sender<Turn>)>,
}

/// A turn at the database; the next request gets it when this is dropped.
pub(super) struct Turn {
    /// `None` once handed on (or never handed out).
    turns: Option<Arc<Turns>>,
}

impl Turns {
    pub fn new(count: usize, clock: Arc<TurnClock>) -> Arc<Self> {
        Arc::new(Self {
            clock,
            queue: Mutex::new(Queue {
                free: count,
                waiting: VecDeque::new(),
            }),
        })
    }

    /// A turn, at once if one is free and nobody waits; otherwise when its
    /// order gives it one, if that is within the clock's wait.
    /// `Err(waited)` when it is not: the request must not run.
    pub async fn take(self: &Arc<Self>) -> Result<Turn, Duration> {
        let queued_at = Instant::now();
        // Read before the queue's lock: the clock's is never taken under it.
        let turn_by = self.clock.turn_by(queued_at);
        let given = {
            let mut queue = self.lock();
            if queue.free > 0 && queue.waiting.is_empty() {
                queue.free -= 1;
                drop(queue);
                self.clock.served(1, 0, queued_at);
                return Ok(self.turn());
            }
            queue.forget_given_up();
            let (given, turn) = oneshot::channel();
            queue.waiting.push_back((queued_at, given));
            turn
        };
        match tokio::time::timeout_at(turn_by.into(), given).await {
            Ok(Ok(turn)) => Ok(turn),
            // `give_back` sends to every sender it takes, so a sender is
            // never dropped unsent; were it, the request had no turn.
            Ok(Err(_)) | Err(_) => {
                self.clock.refused(queued_at);
                Err(queued_at.elapsed())
            }
        }
    }

    /// A request was refused as busy elsewhere (too many at the database):
    /// the database is behind as much as when one gives up waiting.
    pub fn refused(&self) {
        self.clock.refused(Instant::now());
    }

    fn turn(self: &Arc<Self>) -> Turn {
        Turn {
            turns: Some(self.clone()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a turn given back to the longest waiting, or the newest while
    /// the database is behind; keeps it free if nobody waits.
    fn give_back(self: &Arc<Self>) {
        let now = Instant::now();
        let order = self.clock.order(now);
        let still_waiting = {
            let mut queue = self.lock();
            if let Some(before) = order.refuse_asked_before {
                // Their senders dropped unsent: refused.
                while queue.waiting.front().is_some_and(|(at, _)| *at < before) {
                    queue.waiting.pop_front();
                }
            }
            loop {
                let next = match order.newest_first {
                    true => queue.waiting.pop_back(),
                    false => queue.waiting.pop_front(),
                };
                let Some((_, next)) = next else {
                    queue.free += 1;
                    return;
                };
                match next.send(self.turn()) {
                    Ok(()) => break queue.waiting.len(),
                    // It gave up: the turn goes to the next (and must not
                    // be given back again from here, under the lock).
                    Err(mut unwanted) => unwanted.turns = None,
                }
            }
        };
        // The clock's lock is never taken under the queue's.
        self.clock.served(1, still_waiting, now);
    }
}

impl Queue {
    /// The oldest waiting have mostly given up: their places go.
    fn forget_given_up(&mut self) {
        while self.waiting.front().is_some_and(|(_, w)| w.is_closed()) {
            self.waiting.pop_front();
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(turns) = self.turns.take() {
            turns.give_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_lasts_until_the_refused_come_back_and_a_whole_wait_more_and_the_starved_do_not_prolong_it()
     {
        let wait = Duration::from_millis(40);
        // Behind for 400 + 40 ms.
        let clock = TurnClock::new(wait, wait / 10, Duration::from_millis(400));
        let within = |clock: &TurnClock| clock.turn_by(Instant::now()) - Instant::now();
        let newest_first = |clock: &TurnClock| clock.newest_first(Instant::now());
        assert!(within(&clock) > wait / 2, "nobody refused: the whole wait");
        assert!(!newest_first(&clock), "nobody refused: in order");

        assert!(clock.refused(Instant::now()), "one refused: behind");
        let asked_behind = Instant::now();
        assert!(within(&clock) <= wait / 10, "behind: the behind wait");
        assert!(newest_first(&clock), "behind: newest first");
        assert!(
            clock
                .order(Instant::now() + wait)
                .refuse_asked_before
                .is_none(),
            "behind for a refusal, not an overload: those waiting keep their wait"
        );
        std::thread::sleep(Duration::from_millis(80));
        assert!(
            newest_first(&clock),
            "later than a whole wait: still newest first"
        );
        // Starved by the order: does not make it last longer.
        assert!(!clock.refused(asked_behind));

        std::thread::sleep(Duration::from_millis(400));
        assert!(!newest_first(&clock), "then in order");
        assert!(within(&clock) > wait / 2, "with the whole wait");
        assert!(
            !clock.refused(asked_behind),
            "asked while behind: nothing new"
        );
        assert!(!newest_first(&clock));
        assert!(clock.refused(Instant::now()), "refused with the whole wait");
        assert!(newest_first(&clock), "behind again");
    }

    #[test]
    fn a_queue_that_grows_while_turns_are_handed_out_is_an_overload_and_a_stall_is_not() {
        let wait = Duration::from_secs(1);
        let window = wait / 10;
        // `queues`: the queue left at the end of each window of 10 turns;
        // whether the database is newest first then, and when those waiting
        // since are refused.
        let run = |queues: &[usize]| {
            let clock = TurnClock::new(wait, wait / 10, Duration::from_secs(1));
            // The clock's first window starts no later than this.
            let mut at = Instant::now();
            for &queue in queues {
                for _ in 0..10 {
                    at += window / 10;
                    clock.served(1, queue, at);
                }
            }
            (
                clock.newest_first(at),
                clock.order(at).refuse_asked_before,
                clock.order(at + window).refuse_asked_before,
            )
        };
        let (newest_first, cut_now, cut_later) = run(&[12, 24]);
        assert!(
            newest_first,
            "two windows growing past their turns: overloaded"
        );
        assert!(
            cut_now.is_none(),
            "those waiting since: not refused at once"
        );
        assert!(cut_later.is_some(), "but the behind wait later");
        assert!(
            run(&[12, 24, 36, 48]).1.is_some(),
            "growth seen again later in the phase does not put the refusals off"
        );
        assert!(!run(&[12]).0, "one window of growth is not yet an overload");
        assert!(
            !run(&[60, 60, 60, 60]).0,
            "a long queue that does not grow: a population that waits its turns"
        );
        assert!(
            !run(&[2, 4, 6, 8, 10]).0,
            "a growing queue that a window serves: keeping up"
        );
        assert!(!run(&[12, 11, 24]).0, "growth must be in windows in a row");

        // A stall: no turns for a second while the queue grows; then the
        // queue it left is served, shrinking.
        let clock = TurnClock::new(wait, wait / 10, Duration::from_secs(1));
        let mut at = Instant::now();
        clock.served(1, 0, at);
        at += Duration::from_secs(1);
        clock.served(1, 300, at);
        for left in (0..290).rev().step_by(10) {
            at += window / 10;
            clock.served(10, left, at);
        }
        assert!(!clock.newest_first(at), "a stall is not an overload");
    }

    #[test]
    fn while_behind_a_request_waits_the_behind_wait_whatever_the_whole_wait() {
        let clock = TurnClock::new(
            Duration::from_secs(2),
            Duration::from_millis(10),
            Duration::from_secs(1),
        );
        let now = Instant::now();
        assert_eq!(clock.turn_by(now) - now, Duration::from_secs(2));
        assert!(clock.refused(now));
        let now = Instant::now();
        assert_eq!(clock.turn_by(now) - now, Duration::from_millis(10));
        // Never longer than the whole wait.
        let clock = TurnClock::new(
            Duration::from_millis(4),
            Duration::from_millis(10),
            Duration::from_secs(1),
        );
        assert!(clock.refused(Instant::now()));
        let now = Instant::now();
        assert_eq!(clock.turn_by(now) - now, Duration::from_millis(4));
    }

    #[test]
    fn an_overload_seen_again_soon_after_being_behind_for_it_makes_the_next_time_longer() {
        let wait = Duration::from_millis(500);
        let window = wait / 10;
        // Behind for 1 s + 500 ms.
        let usual = Duration::from_millis(1500);
        let clock = TurnClock::new(wait, Duration::from_millis(10), Duration::from_secs(1));
        let mut at = Instant::now();
        // Windows of 10 turns, each leaving the queue 12 longer, until the
        // clock is behind; how long it is then behind for.
        let overload = |at: &mut Instant| {
            let mut queue = 0;
            'windows: for _ in 0..8 {
                queue += 12;
                for _ in 0..10 {
                    *at += window / 10;
                    clock.served(1, queue, *at);
                    if clock.newest_first(*at) {
                        break 'windows;
                    }
                }
            }
            assert!(clock.newest_first(*at), "overloaded");
            let from = *at;
            while clock.newest_first(*at) {
                *at += Duration::from_millis(10);
            }
            *at - from
        };
        let near = |length: Duration, expected: Duration| {
            assert!(
                length >= expected && length <= expected + Duration::from_millis(20),
                "behind for {length:?}, not {expected:?}"
            );
        };
        near(overload(&mut at), usual);
        // Seen again as soon as it can be (a window after the end, then
        // two): four times as long each time, up to 32 times.
        near(overload(&mut at), usual * 4);
        near(overload(&mut at), usual * 16);
        near(overload(&mut at), usual * 32);
        near(overload(&mut at), usual * 32);
        // Seen again only after a whole usual length in order: it had ended.
        at += usual;
        near(overload(&mut at), usual);
        near(overload(&mut at), usual * 4);
        // A refusal (a stall) starts the usual length, and an overload seen
        // after it is not taken for one going on.
        assert!(clock.fall_behind(at, at, false));
        while clock.newest_first(at) {
            at += Duration::from_millis(10);
        }
        near(overload(&mut at), usual);
    }

    /// Until `count` requests wait in `turns`; a test failure after 5 s.
    async fn queued(turns: &Turns, count: usize) {
        let waited = tokio::time::timeout(Duration::from_secs(5), async {
            while turns.lock().waiting.len() < count {
                tokio::task::yield_now().await;
            }
        });
        waited.await.expect("the requests queue for the turn");
    }

    /// Three requests wait for the one turn, given back `after` they came;
    /// the order they get it in.
    async fn order(clock: Arc<TurnClock>, after: Duration) -> Vec<usize> {
        let turns = Turns::new(1, clock);
        let held = turns.take().await.expect("a free turn");
        let (served, mut order) = tokio::sync::mpsc::unbounded_channel();
        let mut waiting = Vec::new();
        for n in 0..3 {
            let (request, served) = (turns.clone(), served.clone());
            waiting.push(tokio::spawn(async move {
                let turn = request.take().await.expect("a turn in time");
                served.send(n).unwrap();
                drop(turn);
            }));
            // Each is in the queue before the next comes.
            queued(&turns, n + 1).await;
        }
        tokio::time::sleep(after).await;
        drop(held);
        for request in waiting {
            request.await.unwrap();
        }
        drop(served);
        let mut got = Vec::new();
        while let Some(n) = order.recv().await {
            got.push(n);
        }
        got
    }

    #[tokio::test]
    async fn turns_go_to_the_oldest_while_the_database_keeps_up_and_to_the_newest_when_behind() {
        let clock = Arc::new(TurnClock::new(
            Duration::from_secs(2),
            Duration::from_millis(200),
            Duration::from_secs(1),
        ));
        let later = Duration::from_millis(80);
        assert_eq!(order(clock.clone(), later).await, [0, 1, 2], "oldest first");
        clock.refused(Instant::now());
        assert_eq!(order(clock, later).await, [2, 1, 0], "behind: newest first");
    }

    #[tokio::test]
    async fn a_request_that_gave_up_is_passed_over_and_its_turn_is_not_lost() {
        let clock = Arc::new(TurnClock::new(
            Duration::from_secs(60),
            Duration::from_secs(6),
            Duration::from_secs(1),
        ));
        clock.refused(Instant::now());
        let turns = Turns::new(1, clock);
        let held = turns.take().await.expect("a free turn");
        let queue = |turns: &Arc<Turns>| {
            let turns = turns.clone();
            tokio::spawn(async move { turns.take().await.map(drop) })
        };
        let live = queue(&turns);
        queued(&turns, 1).await;
        // The newest, first in line while the database is behind, gives up.
        let gave_up = queue(&turns);
        queued(&turns, 2).await;
        gave_up.abort();
        assert!(gave_up.await.unwrap_err().is_cancelled());
        drop(held);
        assert!(live.await.unwrap().is_ok(), "the live request is served");
        assert_eq!(turns.lock().free, 1, "and the turn is free again");
    }
}
