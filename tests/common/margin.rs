//! Timing margins that grow with the machine's load: how long a test waits for something
//! that must happen (a process to go, a file to appear, a child to be reaped) is a base
//! margin times [`slowdown`], the factor by which this machine runs slower right now than an
//! idle one.
//!
//! It must never be used to weaken a bound the product promises: a deadline of the product
//! is asserted as "within the deadline plus a scaled margin" (`deadline + margin(slack)`),
//! never as a scaled deadline, and lower bounds ("waited at least the deadline") are never
//! scaled.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The factor is never below 1 (an idle machine) nor above this (a machine so loaded that
/// longer waits would only hide hangs).
const LARGEST_FACTOR: f64 = 4.0;
/// A measured factor is reused for this long (the calibration costs a few milliseconds of CPU).
const REUSE_FOR: Duration = Duration::from_secs(1);
/// CPU time the calibration spins for.
const CALIBRATION_CPU: Duration = Duration::from_millis(8);

/// `base` scaled by [`slowdown`]: use it for every wait for something that must happen.
pub fn margin(base: Duration) -> Duration {
    base.mul_f64(slowdown())
}

/// How many times slower than an idle machine this one runs now, from 1 to 4:
/// `UCW_TEST_SLOWDOWN` when set (a number ≥ 1, for emulators or very slow machines), else the
/// larger of the 1-minute load average per core (`/proc/loadavg`) and the CPU contention
/// measured right now (a short spin; the time this thread waited for a CPU, from
/// `/proc/thread-self/schedstat`, against the time it ran: the load average lags a load that
/// has just begun). Measured at most once a second.
pub fn slowdown() -> f64 {
    if let Some(forced) = std::env::var("UCW_TEST_SLOWDOWN")
        .ok()
        .and_then(|text| text.parse::<f64>().ok())
    {
        return forced.max(1.0);
    }
    static LAST: Mutex<Option<(Instant, f64)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((measured, factor)) = *last {
        if measured.elapsed() < REUSE_FOR {
            return factor;
        }
    }
    let factor = load_per_core().max(contention()).clamp(1.0, LARGEST_FACTOR);
    *last = Some((Instant::now(), factor));
    factor
}

/// The 1-minute load average divided by the number of CPUs this process may use.
fn load_per_core() -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |count| count.get()) as f64;
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(1.0, |load| load / cores)
}

/// Spins for a few milliseconds of CPU time and returns (time on a CPU + time waiting for
/// one) ÷ time on a CPU: 1 on an idle machine, about N + 1 when N other tasks want this CPU.
/// 1 when the kernel has no scheduler statistics.
fn contention() -> f64 {
    let Some((ran_before, waited_before)) = schedule_statistics() else {
        return 1.0;
    };
    let mut spins: u64 = 0;
    loop {
        for _ in 0..10_000 {
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
        let Some((ran, waited)) = schedule_statistics() else {
            return 1.0;
        };
        let ran = ran.saturating_sub(ran_before);
        if ran >= CALIBRATION_CPU.as_nanos() as u64 {
            let waited = waited.saturating_sub(waited_before);
            return (ran + waited) as f64 / ran as f64;
        }
    }
}

/// Nanoseconds this thread has run on a CPU and has waited on a run queue.
fn schedule_statistics() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut fields = text.split_whitespace();
    let ran = fields.next()?.parse().ok()?;
    let waited = fields.next()?.parse().ok()?;
    Some((ran, waited))
}
