//! The CPU time of the calling thread: what `maxCpuMs` limits.
//!
//! A check runs `init` and `check` on one thread, start to end, so the CPU time that
//! thread spends between the two readings is exactly what the guard (and the host calls
//! it makes) cost, whatever else the machine is doing and however fast it is. Fuel, the
//! mechanism this replaces, counted WebAssembly operations at a rate measured on one
//! machine: a slower or busier host, or baseline-compiled code, got more CPU per budget.

use std::time::{Duration, Instant};

/// The calling thread's CPU time so far, or `None` where the platform cannot say.
#[allow(unsafe_code)] // clock_gettime; SAFETY note at the block
pub fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; clock_gettime only writes through the
    // pointer, and CLOCK_THREAD_CPUTIME_ID names the calling thread's clock.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// CPU spent by the calling thread since [`CpuMeter::start`]. Read it on the thread that
/// started it (the epoch callback of a store runs on the thread running its guest).
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    cpu: Option<Duration>,
    wall: Instant,
}

impl CpuMeter {
    /// Start measuring on the calling thread.
    pub fn start() -> Self {
        CpuMeter {
            cpu: thread_cpu_time(),
            wall: Instant::now(),
        }
    }

    /// CPU time used since the start. Where the thread clock is missing, wall-clock
    /// time stands in: never less than the CPU time, so the budget still holds.
    pub fn used(&self) -> Duration {
        match (self.cpu, thread_cpu_time()) {
            (Some(start), Some(now)) => now.saturating_sub(start),
            _ => self.wall.elapsed(),
        }
    }

    /// Wall-clock time since the start.
    pub fn elapsed(&self) -> Duration {
        self.wall.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spinning_uses_cpu_and_sleeping_does_not() {
        let meter = CpuMeter::start();
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            meter.used() < Duration::from_millis(15),
            "{:?}",
            meter.used()
        );
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(meter.used() > Duration::ZERO);
        assert!(meter.elapsed() >= Duration::from_millis(50));
    }
}
