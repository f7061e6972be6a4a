//! Speaker diarization on real speech (tests/fixtures/audio, made by make.sh): two voices
//! told apart, one voice kept one speaker, and silence, noise or nothing without a panic.
//! Accuracy is the share of the scripted speech time (NAME.turns.txt) whose speaker, as
//! `Turns::speaker_in` gives it for each 10 ms, is the right one once labels are mapped to
//! the script's speakers by the best one-to-one assignment.

use std::alloc::System;
use std::time::Instant;

use meetin_test_support::speech::{audio_fixture_bytes, fixture_turns};
use meetin_whisper::decode;
use meetin_whisper::diarize::{Diarizer, Turns, label};

/// Counts live heap bytes (for the long-recording test's memory).
#[global_allocator]
static ALLOCATOR: cap::Cap<System> = cap::Cap::new(System, usize::MAX);

/// Pieces of an odd size, as decoding hands them over.
const PIECE: usize = 4099;

fn diarize(samples: &[f32]) -> Turns {
    let mut d = Diarizer::new();
    for piece in samples.chunks(PIECE) {
        d.push(piece);
    }
    d.finish()
}

/// (samples, turns, seconds spent diarizing).
fn diarize_fixture(name: &str) -> (Vec<f32>, Turns, f64) {
    let samples = decode(&audio_fixture_bytes(name)).expect("decode");
    let started = Instant::now();
    let turns = diarize(&samples);
    let spent = started.elapsed().as_secs_f64();
    (samples, turns, spent)
}

/// The best total of `confusion[truth][predicted]` with each truth speaker given a distinct
/// predicted one (or none).
fn best_assignment(confusion: &[Vec<i64>], used: &mut Vec<bool>, t: usize) -> i64 {
    if t == confusion.len() {
        return 0;
    }
    let mut best = best_assignment(confusion, used, t + 1);
    for p in 0..used.len() {
        if !used[p] {
            used[p] = true;
            best = best.max(confusion[t][p] + best_assignment(confusion, used, t + 1));
            used[p] = false;
        }
    }
    best
}

/// (share of the script's speech time labelled right, share of its lines whose whole span
/// gets the right speaker).
fn accuracy(turns: &Turns, script: &[(i64, i64, usize)]) -> (f64, f64) {
    let speakers = script.iter().map(|t| t.2).max().map_or(0, |m| m + 1);
    let predicted = (turns.speakers() as usize).max(1);
    let mut time = vec![vec![0i64; predicted]; speakers];
    let mut lines = vec![vec![0i64; predicted]; speakers];
    let mut total = 0;
    for &(start, end, who) in script {
        let mut t = start;
        while t < end {
            if let Some(p) = turns.speaker_in(t, t + 10) {
                time[who][p as usize] += 10;
            }
            total += 10;
            t += 10;
        }
        if let Some(p) = turns.speaker_in(start, end) {
            lines[who][p as usize] += 1;
        }
    }
    let right = best_assignment(&time, &mut vec![false; predicted], 0);
    let right_lines = best_assignment(&lines, &mut vec![false; predicted], 0);
    (
        right as f64 / total.max(1) as f64,
        right_lines as f64 / script.len().max(1) as f64,
    )
}

fn report(name: &str, samples: &[f32], turns: &Turns, spent: f64) {
    let minutes = samples.len() as f64 / 16_000.0 / 60.0;
    println!(
        "{name}: {} speakers, {} turns, {:.1} ms per minute of audio",
        turns.speakers(),
        turns.as_slice().len(),
        spent * 1000.0 / minutes.max(1e-9)
    );
    for t in turns.as_slice() {
        println!("  {:>6} {:>6} {}", t.start_ms, t.end_ms, label(t.speaker));
    }
}

/// Turns in time order, each non-empty, none overlapping the next, speakers numbered by
/// first appearance from 0.
fn assert_well_formed(turns: &Turns) {
    let mut next_new = 0;
    let mut prev_end = i64::MIN;
    for t in turns.as_slice() {
        assert!(t.start_ms < t.end_ms, "{t:?}");
        assert!(t.start_ms >= prev_end && t.start_ms >= 0, "{t:?}");
        prev_end = t.end_ms;
        assert!(t.speaker <= next_new, "{t:?} before speaker {next_new}");
        if t.speaker == next_new {
            next_new += 1;
        }
    }
    assert_eq!(turns.speakers(), next_new);
}

fn two_voices(name: &str) {
    let (samples, turns, spent) = diarize_fixture(&format!("{name}.webm"));
    report(name, &samples, &turns, spent);
    assert_well_formed(&turns);
    let (time, lines) = accuracy(&turns, &fixture_turns(&format!("{name}.turns.txt")));
    println!(
        "{name}: {:.1} % of speech time, {:.0} % of lines right",
        time * 100.0,
        lines * 100.0
    );
    assert_eq!(turns.speakers(), 2, "{name}");
    assert!(time >= 0.9, "{name}: {:.1} % right", time * 100.0);
}

#[test]
fn a_man_and_a_woman_are_two_speakers() {
    two_voices("two-voices-mf");
}

#[test]
fn two_men_are_two_speakers() {
    two_voices("two-voices-mm");
}

#[test]
fn one_voice_reading_is_one_speaker() {
    let (samples, turns, spent) = diarize_fixture("librivox-0870.flac");
    report("librivox-0870", &samples, &turns, spent);
    assert_well_formed(&turns);
    assert_eq!(turns.speakers(), 1);
    assert_eq!(turns.speaker_in(0, 7_000), Some(0));
}

#[test]
fn one_voice_talking_for_45_seconds_is_one_speaker() {
    let (samples, turns, spent) = diarize_fixture("monologue.webm");
    report("monologue", &samples, &turns, spent);
    assert_well_formed(&turns);
    assert_eq!(turns.speakers(), 1);
    let (time, _) = accuracy(&turns, &fixture_turns("monologue.turns.txt"));
    assert!(time >= 0.99, "{:.1} % labelled", time * 100.0);
}

/// en-us and en-gb are one synthesizer with one voice and two accents: reported, not judged.
#[test]
fn the_two_accent_meeting_is_reported() {
    let (samples, turns, spent) = diarize_fixture("meeting.webm");
    report("meeting", &samples, &turns, spent);
    assert_well_formed(&turns);
    assert!((1..=2).contains(&turns.speakers()));
}

#[test]
fn nothing_silence_and_noise_are_no_speaker_or_one() {
    let empty = Diarizer::new().finish();
    assert_eq!(empty.speakers(), 0);
    assert!(empty.as_slice().is_empty());
    assert_eq!(empty.speaker_in(0, 1000), None);

    let mut d = Diarizer::new();
    d.push(&[]);
    d.push(&[0.5; 7]);
    let short = d.finish();
    assert_well_formed(&short);
    assert!(short.speakers() <= 1);

    // A word's worth of speech (0.3 s) and a second of it: one speaker at most.
    let speech = decode(&audio_fixture_bytes("librivox-0870.flac")).expect("decode");
    for len in [4_800, 16_000] {
        let short = diarize(&speech[..len]);
        assert_well_formed(&short);
        assert!(short.speakers() <= 1, "{short:?}");
    }

    let silence = diarize(&vec![0.0; 16_000 * 30]);
    assert_well_formed(&silence);
    assert_eq!(silence.speakers(), 0);

    // White noise, 30 s at about -20 dBFS.
    let noisy = diarize(&noise(16_000 * 30, 0.17));
    assert_well_formed(&noisy);
    assert!(noisy.speakers() <= 1, "{noisy:?}");
}

#[test]
fn broken_samples_do_not_panic() {
    let mut samples = decode(&audio_fixture_bytes("librivox-0870.flac")).expect("decode");
    for (i, s) in samples.iter_mut().enumerate() {
        *s = match i % 997 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            _ => *s * 40.0, // clipped far past full scale
        };
    }
    let turns = diarize(&samples);
    assert_well_formed(&turns);
    assert!(turns.speakers() <= 1);
    let square = diarize(
        &(0..16_000 * 5)
            .map(|i| if i % 80 < 40 { 1.0 } else { -1.0 })
            .collect::<Vec<f32>>(),
    );
    assert_well_formed(&square);
}

#[test]
fn the_pieces_pushed_do_not_change_the_turns() {
    let samples = decode(&audio_fixture_bytes("two-voices-mf.webm")).expect("decode");
    let whole = {
        let mut d = Diarizer::new();
        d.push(&samples);
        d.finish()
    };
    let mut d = Diarizer::new();
    let mut at = 0;
    for size in [1, 159, 160, 161, 400, 16_000].iter().cycle() {
        if at >= samples.len() {
            break;
        }
        let end = (at + size).min(samples.len());
        d.push(&samples[at..end]);
        at = end;
    }
    assert_eq!(d.finish(), whole);
}

/// The en-us voice of all three espeak-ng fixtures (the monologue, then each meeting's
/// speaker 0 alone), 1.5 minutes of one voice saying different things: one speaker.
#[test]
fn one_voice_across_fixtures_is_one_speaker() {
    let mut samples = decode(&audio_fixture_bytes("monologue.webm")).expect("decode");
    for name in ["two-voices-mf", "two-voices-mm"] {
        let meeting = decode(&audio_fixture_bytes(&format!("{name}.webm"))).expect("decode");
        for (start, end, who) in fixture_turns(&format!("{name}.turns.txt")) {
            let (a, b) = (start as usize * 16, (end as usize * 16).min(meeting.len()));
            if who == 0 && a < b {
                samples.extend_from_slice(&meeting[a..b]);
                samples.extend(std::iter::repeat_n(0.0, 8_000));
            }
        }
    }
    let turns = diarize(&samples);
    report("en-us alone", &samples, &turns, 0.0);
    assert_well_formed(&turns);
    assert_eq!(turns.speakers(), 1);
}

/// A human reader for 25 s (the five LibriVox clips, librivox-reader.webm): one speaker.
#[test]
fn one_human_voice_for_25_seconds_is_one_speaker() {
    let (samples, turns, spent) = diarize_fixture("librivox-reader.webm");
    report("librivox-reader", &samples, &turns, spent);
    assert_well_formed(&turns);
    assert_eq!(turns.speakers(), 1);
}

/// xorshift white noise, fixed seed, in -amplitude..amplitude.
fn noise(len: usize, amplitude: f32) -> Vec<f32> {
    let mut x: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32 * 2.0 - 1.0) * amplitude
        })
        .collect()
}

fn rms(samples: &[f32]) -> f32 {
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32).sqrt()
}

/// Steady noise 20 dB under the speech (a fan, a hum) does not add or lose a speaker.
#[test]
fn two_voices_in_noise_are_still_two() {
    for name in ["two-voices-mf", "two-voices-mm"] {
        let mut samples = decode(&audio_fixture_bytes(&format!("{name}.webm"))).expect("decode");
        // Uniform noise of amplitude a has an RMS of a/√3.
        let a = rms(&samples) * 0.1 * 3f32.sqrt();
        let hiss = noise(samples.len(), a);
        for (s, n) in samples.iter_mut().zip(hiss) {
            *s += n;
        }
        let turns = diarize(&samples);
        report(&format!("{name} in noise"), &samples, &turns, 0.0);
        let (time, _) = accuracy(&turns, &fixture_turns(&format!("{name}.turns.txt")));
        println!(
            "{name} in noise: {:.1} % of speech time right",
            time * 100.0
        );
        assert_well_formed(&turns);
        assert_eq!(turns.speakers(), 2, "{name}");
        assert!(time >= 0.9, "{name}: {:.1} %", time * 100.0);
    }
}

/// One voice now loud, now 20 dB quieter (moving away from the microphone): one speaker.
#[test]
fn a_voice_getting_quieter_is_one_speaker() {
    let mut samples = decode(&audio_fixture_bytes("monologue.webm")).expect("decode");
    for (i, chunk) in samples.chunks_mut(16_000 * 8).enumerate() {
        if i % 2 == 1 {
            chunk.iter_mut().for_each(|s| *s *= 0.1);
        }
    }
    let turns = diarize(&samples);
    report("monologue, louder and quieter", &samples, &turns, 0.0);
    assert_well_formed(&turns);
    assert_eq!(turns.speakers(), 1);
}

/// Four hours (the longest recording accepted) of the man and the woman over and over: the
/// diarizer's memory stays flat past MAX_SEGMENTS, and its time is reported. Alone, as it
/// measures the process's heap: `cargo test --release -p meetin-whisper --test diarize --
/// --ignored --nocapture`.
#[test]
#[ignore = "4 hours of audio: about a minute; measures the whole heap, so run it alone"]
fn four_hours_in_flat_memory() {
    let samples = decode(&audio_fixture_bytes("two-voices-mf.webm")).expect("decode");
    let hour = 16_000 * 3600;
    let before = ALLOCATOR.allocated();
    let started = Instant::now();
    let mut d = Diarizer::new();
    let (mut pushed, mut at_hours) = (0usize, Vec::new());
    while pushed < 4 * hour {
        for piece in samples.chunks(PIECE) {
            d.push(piece);
        }
        pushed += samples.len();
        if at_hours.len() < pushed / hour {
            at_hours.push(ALLOCATOR.allocated() - before);
        }
    }
    let pushing = started.elapsed().as_secs_f64();
    let turns = d.finish();
    let total = started.elapsed().as_secs_f64();
    let minutes = pushed as f64 / 16_000.0 / 60.0;
    println!(
        "4 h: push {:.2} s, finish {:.2} s ({:.1} ms per minute of audio); heap after each hour {:?} bytes; {} speakers, {} turns",
        pushing,
        total - pushing,
        total * 1000.0 / minutes,
        at_hours,
        turns.speakers(),
        turns.as_slice().len()
    );
    assert!(turns.speakers() >= 1);
    assert!(
        at_hours[3] <= at_hours[1] + (64 << 10),
        "memory grew from {} to {} bytes",
        at_hours[1],
        at_hours[3]
    );
}

/// A neural TTS (Kokoro-82M, meeting-fr.webm): a French woman and a man, four lines
/// alternating, 0.6 s apart: two speakers, in the script's order.
#[test]
fn kokoro_woman_and_man_in_french_are_two_speakers() {
    let (samples, turns, spent) = diarize_fixture("meeting-fr.webm");
    report("meeting-fr", &samples, &turns, spent);
    assert_well_formed(&turns);
    assert_eq!(turns.speakers(), 2);
    let order: Vec<u32> = turns.as_slice().iter().map(|t| t.speaker).collect();
    assert_eq!(order, [0, 1, 0, 1]);
}
