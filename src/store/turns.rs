//! How long a request waits for its turn at a busy database (README,
//! "Timeouts and limits"): all of `--max-database-wait-ms` when the queue
//! it joins is empty or has been waiting for less than that (a burst, or a
//! stall, which drains), a tenth of it when the queue has stood longer
//! without emptying (the database is given more work than it can do, and a
//! longer wait would only make every served request slower by as much).

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
    /// Since when the queue has not been empty.
    since: Instant,
}

/// A request in the queue; it leaves when this is dropped.
pub(super) struct Waiting(Arc<TurnClock>);

impl TurnClock {
    pub fn new(max_wait: Duration) -> Self {
        Self {
            max_wait,
            queue: Mutex::new(Queue {
                waiting: 0,
                since: Instant::now(),
            }),
        }
    }

    /// A request joins the queue now; it stops waiting at the instant
    /// returned.
    pub fn join(self: &Arc<Self>) -> (Waiting, Instant) {
        let now = Instant::now();
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let standing = queue.waiting > 0 && now.duration_since(queue.since) > self.max_wait;
        if queue.waiting == 0 {
            queue.since = now;
        }
        queue.waiting += 1;
        let wait = match standing {
            true => self.max_wait / STANDING_SHARE,
            false => self.max_wait,
        };
        (Waiting(self.clone()), now + wait)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut queue = self.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.waiting -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_that_emptied_lately_gets_the_whole_wait_a_standing_one_a_tenth() {
        let wait = Duration::from_millis(40);
        let clock = Arc::new(TurnClock::new(wait));
        let within = |(_, by): &(Waiting, Instant)| by.duration_since(Instant::now());
        let first = clock.join();
        assert!(within(&first) > wait / 2, "an empty queue: the whole wait");
        std::thread::sleep(wait + Duration::from_millis(10));
        let second = clock.join();
        assert!(within(&second) <= wait / 10, "a standing queue: a tenth");
        drop((first, second));
        let third = clock.join();
        assert!(within(&third) > wait / 2, "emptied: the whole wait again");
    }
}
