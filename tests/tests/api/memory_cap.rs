//! The whole test binary runs under a cap on live heap memory: the hostile-input tests feed
//! crafted recordings to the worker in this process, and an allocation past the cap fails
//! (the test run aborts) instead of the machine swapping, as the issue-16 resampler did when
//! it asked for 3.4 GB. whisper.cpp's own buffers (C) are not counted.

use std::alloc::System;

/// Live Rust heap bytes allowed to the whole binary, all tests together (its normal peak is
/// a few hundred MiB).
pub const CAP: usize = 3 << 30;

#[global_allocator]
static ALLOCATOR: cap::Cap<System> = cap::Cap::new(System, CAP);
