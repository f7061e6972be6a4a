//! The recording worker's measure pass over files (docs/hostile-input.md, "The measure's
//! cost"): for each FILE, the length `meetin_whisper::measure_file` finds (or its refusal),
//! the wall time and the process's peak RSS (VmHWM).
//!
//! ```text
//! cargo run --release -p meetin-whisper --example measure -- FILE...
//! ```

use std::time::Instant;

fn main() {
    for path in std::env::args().skip(1) {
        let started = Instant::now();
        let measured =
            meetin_whisper::measure_file(path.as_ref(), meetin_whisper::DEFAULT_MAX_DURATION_MS);
        let wall = started.elapsed();
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let peak = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .unwrap_or("VmHWM: ?");
        let what = match measured {
            Ok(m) => format!("{:.1} min", m.duration_ms as f64 / 60_000.0),
            Err(e) => e.to_string(),
        };
        println!("{path}: {what} in {:.2} s; {peak}", wall.as_secs_f64());
    }
}
