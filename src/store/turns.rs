//! How long a request waits for its turn at a busy database (README,
//! "Timeouts and limits"): all of `--max-database-wait-ms` when the
//! database emptied the queue, by serving it, within that time (a burst,
//! or a stall, which drains); a tenth of it when it has not (the database
//! is given more work than it can do, and a longer wait would only make
//! every served request slower by as much). Requests that give up do not
//! count as emptying it: a queue kept short only by refusals still stands.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The share of the wait a request gets when the queue is standing.
const STANDING_SHARE: u32 = 10;

pub(super) struct TurnClock {
    max_wait: Duration,
    queue: Mutex<Queue>,
}

struct Queue {
    /// Requests waiting for a turn now.
    waiting: usize,
    /// Whether the last to leave, leaving it empty, was given its turn.
    drained: bool,
    /// Since when the database has not emptied the queue.
    since: Instant,
}

/// A request in the queue; it leaves when this is dropped, having given up
/// unless [`Waiting::served`] said otherwise.
pub(super) struct Waiting {
    clock: Arc<TurnClock>,
    served: bool,
}

impl TurnClock {
    pub fn new(max_wait: Duration) -> Self {
        Self {
            max_wait,
            queue: Mutex::new(Queue {
                waiting: 0,
                drained: true,
                since: Instant::now(),
            }),
        }
    }

    /// A request joins the queue now; it stops waiting at the instant
    /// returned.
    pub fn join(self: &Arc<Self>) -> (Waiting, Instant) {
        let now = Instant::now();
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.waiting == 0 && queue.drained {
            queue.since = now;
            queue.drained = false;
        }
        queue.waiting += 1;
        let wait = match now.duration_since(queue.since) > self.max_wait {
            true => self.max_wait / STANDING_SHARE,
            false => self.max_wait,
        };
        let waiting = Waiting {
            clock: self.clone(),
            served: false,
        };
        (waiting, now + wait)
    }
}

impl Waiting {
    /// The request got its turn.
    pub fn served(mut self) {
        self.served = true;
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut queue = self
            .clock
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        queue.waiting -= 1;
        if queue.waiting == 0 && self.served {
            queue.drained = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_the_database_emptied_lately_gets_the_whole_wait_a_standing_one_a_tenth() {
        let wait = Duration::from_millis(40);
        let clock = Arc::new(TurnClock::new(wait));
        let within = |(_, by): &(Waiting, Instant)| by.duration_since(Instant::now());
        let first = clock.join();
        assert!(within(&first) > wait / 2, "an empty queue: the whole wait");
        std::thread::sleep(wait + Duration::from_millis(10));
        let second = clock.join();
        assert!(within(&second) <= wait / 10, "a standing queue: a tenth");
        // Both give up: the queue is empty, but only refusals emptied it.
        drop((first, second));
        let third = clock.join();
        assert!(
            within(&third) <= wait / 10,
            "emptied by refusals: still a tenth"
        );
        // The database serves it, emptying the queue: the whole wait again.
        third.0.served();
        let fourth = clock.join();
        assert!(
            within(&fourth) > wait / 2,
            "emptied by the database: the whole wait"
        );
    }
}
