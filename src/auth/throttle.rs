//! Throttling of failed authentications, before any secret is checked:
//! governor's keyed GCRA limiter counts the failures of each client name and
//! of each address; once one of them has used up its allowance, it is
//! refused for a cool-down, even with the right secret.
//!
//! Each instance counts its own failures.

use std::borrow::Borrow;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// When a client name or an address is refused for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failures of one client name within a cool-down that refuse it.
    pub client_failures: u32,
    /// Failures from one address within a cool-down that refuse it.
    pub address_failures: u32,
    pub cooldown: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            client_failures: 5,
            address_failures: 20,
            cooldown: Duration::from_secs(60),
        }
    }
}

/// The failures of one kind of key.
struct Failures<K: Hash + Eq + Clone> {
    counted: DefaultKeyedRateLimiter<K, StateInformationMiddleware>,
    locked_until: DashMap<K, Instant>,
    cooldown: Duration,
}

impl<K: Hash + Eq + Clone> Failures<K> {
    fn new(allowed: u32, cooldown: Duration) -> Self {
        let allowed = NonZeroU32::new(allowed.max(1)).expect("at least one");
        // `allowed` failures at once; the allowance is back in full after
        // one cool-down.
        let period = (cooldown / allowed.get()).max(Duration::from_millis(1));
        let quota = Quota::with_period(period)
            .expect("a period above zero")
            .allow_burst(allowed);
        Self {
            counted: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            locked_until: DashMap::new(),
            cooldown,
        }
    }

    fn is_locked<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.locked_until.is_empty() {
            return false;
        }
        let now = Instant::now();
        match self.locked_until.get(key).map(|until| *until) {
            Some(until) if until > now => true,
            Some(_) => {
                self.locked_until.remove_if(key, |_, until| *until <= now);
                false
            }
            None => false,
        }
    }

    fn failed(&self, key: &K) {
        let used_up = match self.counted.check_key(key) {
            Ok(state) => state.remaining_burst_capacity() == 0,
            Err(_) => true,
        };
        if used_up {
            self.locked_until
                .insert(key.clone(), Instant::now() + self.cooldown);
        }
    }

    fn forget_old(&self) {
        let now = Instant::now();
        self.locked_until.retain(|_, until| *until > now);
        self.counted.retain_recent();
    }
}

pub(super) struct Throttle {
    by_client: Failures<String>,
    by_address: Failures<IpAddr>,
}

impl Throttle {
    pub(super) fn new(settings: ThrottleSettings) -> Self {
        Self {
            by_client: Failures::new(settings.client_failures, settings.cooldown),
            by_address: Failures::new(settings.address_failures, settings.cooldown),
        }
    }

    /// Whether the name or the address is cooling down.
    pub(super) fn is_locked(&self, name: &str, address: Option<IpAddr>) -> bool {
        address.is_some_and(|a| self.by_address.is_locked(&a)) || self.by_client.is_locked(name)
    }

    pub(super) fn failed(&self, name: &str, address: Option<IpAddr>) {
        self.by_client.failed(&name.to_owned());
        if let Some(address) = address {
            self.by_address.failed(&address);
        }
    }

    /// Drops what no longer counts, so that memory stays bounded.
    pub(super) fn forget_old(&self) {
        self.by_client.forget_old();
        self.by_address.forget_old();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_locked_after_its_failures_and_not_another() {
        let throttle = Throttle::new(ThrottleSettings {
            client_failures: 3,
            address_failures: 100,
            cooldown: Duration::from_millis(300),
        });
        let here = Some("127.0.0.1".parse().unwrap());
        for _ in 0..2 {
            throttle.failed("bus", here);
            assert!(!throttle.is_locked("bus", here));
        }
        throttle.failed("bus", here);
        assert!(throttle.is_locked("bus", here));
        assert!(!throttle.is_locked("other", here));
        std::thread::sleep(Duration::from_millis(350));
        throttle.forget_old();
        assert!(!throttle.is_locked("bus", here));
    }

    #[test]
    fn an_address_is_locked_after_its_failures_whatever_the_names() {
        let throttle = Throttle::new(ThrottleSettings {
            client_failures: 100,
            address_failures: 4,
            cooldown: Duration::from_secs(60),
        });
        let one = Some("127.0.0.1".parse().unwrap());
        let two = Some("127.0.0.2".parse().unwrap());
        for i in 0..4 {
            throttle.failed(&format!("name-{i}"), one);
        }
        assert!(throttle.is_locked("fresh", one));
        assert!(!throttle.is_locked("fresh", two));
    }
}
