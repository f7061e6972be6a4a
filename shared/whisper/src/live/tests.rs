//! The chunker on synthetic signals: tones for speech, zeros and noise for silence.

use super::*;

const RATE: usize = SAMPLE_RATE as usize;

/// `ms` of a 220 Hz tone whose frames are `db` loud (mean square, full scale 0 dB).
fn tone(ms: usize, db: f32) -> Vec<i16> {
    let amplitude = 10f32.powf(db / 20.0) * std::f32::consts::SQRT_2;
    (0..ms * RATE / 1000)
        .map(|i| {
            let t = i as f32 / RATE as f32;
            (amplitude * (t * 220.0 * std::f32::consts::TAU).sin() * 32_767.0) as i16
        })
        .collect()
}

fn silence(ms: usize) -> Vec<i16> {
    vec![0; ms * RATE / 1000]
}

/// `ms` of white noise `db` loud, from `seed`.
fn noise(ms: usize, db: f32, seed: &mut u32) -> Vec<i16> {
    // Uniform in ±a has mean square a²/3.
    let amplitude = 10f32.powf(db / 20.0) * 3f32.sqrt();
    (0..ms * RATE / 1000)
        .map(|_| {
            *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let unit = f32::from((*seed >> 16) as u16) / 32_767.5 - 1.0;
            (unit * amplitude * 32_767.0) as i16
        })
        .collect()
}

fn mix(a: &[i16], b: &[i16]) -> Vec<i16> {
    a.iter().zip(b).map(|(x, y)| x.saturating_add(*y)).collect()
}

/// Pushed in the web client's 8,192-byte frames (4,096 samples), then finished.
fn chunks_of(chunker: &mut PauseChunker, pcm: &[i16]) -> Vec<Chunk> {
    let mut out = Vec::new();
    for frame in pcm.chunks(4_096) {
        out.extend(chunker.push(frame));
        assert!(
            chunker.buffered_ms() <= i64::from(chunker.settings().max_ms) + FRAME_MS,
            "{} ms buffered",
            chunker.buffered_ms()
        );
    }
    out.extend(chunker.finish());
    out
}

fn spans(chunks: &[Chunk]) -> Vec<(i64, i64, Cut)> {
    chunks
        .iter()
        .map(|c| (c.start_ms, c.end_ms(), c.cut))
        .collect()
}

#[test]
fn bursts_are_cut_at_the_first_pause_past_the_shortest_chunk() {
    let pcm = [
        silence(300),
        tone(1_200, -20.0),
        silence(500),
        tone(1_200, -20.0),
        silence(500),
        tone(1_500, -20.0),
        silence(600),
    ]
    .concat();
    let chunks = chunks_of(&mut PauseChunker::default(), &pcm);
    // The first pause comes 1.7 s in: too short a chunk. The second, 3.4 s in, cuts it
    // 340 ms into the pause; 200 ms of pre-roll before the first burst.
    assert_eq!(
        spans(&chunks),
        vec![(100, 3_540, Cut::Pause), (3_540, 5_540, Cut::Pause)]
    );
    assert_eq!(chunks[0].speech_ms, 2_400);
    assert_eq!(chunks[1].speech_ms, 1_500);
    assert_eq!(chunks[0].samples.len(), 3_440 * RATE / 1000);
    // The samples are the input's, scaled to -1..1.
    let first = f32::from(pcm[100 * RATE / 1000 + 200 * RATE / 1000 + 5]) / 32_768.0;
    assert_eq!(chunks[0].samples[200 * RATE / 1000 + 5], first);
}

#[test]
fn any_push_sizes_give_the_same_chunks_and_bytes_the_same_samples() {
    let mut seed = 7;
    let pcm = [
        noise(700, -60.0, &mut seed),
        tone(2_500, -25.0),
        silence(400),
        tone(3_000, -25.0),
        silence(200),
        tone(900, -25.0),
    ]
    .concat();
    let whole = {
        let mut c = PauseChunker::default();
        let mut out = c.push(&pcm);
        out.extend(c.finish());
        out
    };
    assert_eq!(whole.len(), 2, "{:?}", spans(&whole));
    let mut sizes = [1usize, 7, 320, 319, 4_096, 5_000, 13].iter().cycle();
    let mut c = PauseChunker::default();
    let mut pieces = Vec::new();
    let mut rest = &pcm[..];
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap_or(&1)).min(rest.len());
        pieces.extend(c.push(&rest[..n]));
        rest = &rest[n..];
    }
    pieces.extend(c.finish());
    assert_eq!(pieces, whole);

    let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut c = PauseChunker::default();
    let mut from_bytes = Vec::new();
    // Odd splits: a sample's two bytes in two calls.
    for part in bytes.chunks(8_191) {
        from_bytes.extend(c.push_pcm16le(part));
    }
    from_bytes.extend(c.finish());
    assert_eq!(from_bytes, whole);
    assert_eq!(c.position_ms(), pcm.len() as i64 * 1000 / RATE as i64);
}

#[test]
fn silence_and_steady_noise_give_no_chunks_and_hold_only_the_pre_roll() {
    let mut seed = 1;
    for (what, pcm) in [
        ("digital silence", silence(60_000)),
        ("room noise", noise(60_000, -55.0, &mut seed)),
        ("loud steady noise", noise(60_000, -25.0, &mut seed)),
    ] {
        let mut c = PauseChunker::default();
        let chunks = chunks_of(&mut c, &pcm);
        assert_eq!(spans(&chunks), vec![], "{what}");
        assert_eq!(c.position_ms(), 60_000, "{what}");
        assert_eq!(c.buffered_ms(), 0, "{what}: finished");
    }
    // Noise that starts mid-session is speech until the floor has risen to it (5 s): one
    // chunk at most, and nothing after.
    let pcm = [silence(10_000), noise(60_000, -25.0, &mut seed)].concat();
    let chunks = chunks_of(&mut PauseChunker::default(), &pcm);
    assert!(chunks.len() <= 1, "{:?}", spans(&chunks));
    for c in &chunks {
        assert!(
            c.start_ms >= 9_800 && c.end_ms() <= 16_000,
            "{:?}",
            spans(&chunks)
        );
    }
}

#[test]
fn a_click_is_dropped_and_the_clock_goes_on() {
    let pcm = [
        silence(1_000),
        tone(40, -10.0),
        silence(3_000),
        tone(2_500, -20.0),
        silence(1_000),
    ]
    .concat();
    let chunks = chunks_of(&mut PauseChunker::default(), &pcm);
    // The click opens a chunk of 2 s of which 40 ms is speech: dropped. The words start at
    // 4,040 ms; 200 ms of pre-roll before them.
    assert_eq!(spans(&chunks), vec![(3_840, 6_880, Cut::Pause)]);
}

#[test]
fn a_talker_without_pauses_is_cut_every_max_ms_at_the_quietest_point() {
    // Syllables of 180 ms with 60 ms dips (20 dB down): never a pause. Every 0.7 to 0.94 s,
    // a 100 ms gap between words (40 dB down): one in every second searched.
    let mut pcm = Vec::new();
    let mut gaps: Vec<i64> = Vec::new();
    let mut seed = 3;
    while pcm.len() < 60 * RATE {
        let at_ms = (pcm.len() * 1000 / RATE) as i64;
        if gaps.last().is_none_or(|g| at_ms - g >= 700) {
            pcm.extend(noise(100, -60.0, &mut seed));
            gaps.push(at_ms + 50);
        }
        pcm.extend(mix(&tone(180, -20.0), &noise(180, -40.0, &mut seed)));
        pcm.extend(noise(60, -40.0, &mut seed));
    }
    let chunks = chunks_of(&mut PauseChunker::default(), &pcm);
    let forced: Vec<_> = chunks.iter().filter(|c| c.cut == Cut::Forced).collect();
    assert!(forced.len() >= 7, "{:?}", spans(&chunks));
    for pair in chunks.windows(2) {
        assert_eq!(pair[0].end_ms(), pair[1].start_ms, "nothing lost");
    }
    for c in &chunks {
        assert!(c.duration_ms() <= 8_000, "{:?}", spans(&chunks));
    }
    for c in &forced {
        let end = c.end_ms();
        assert!(end - c.start_ms >= 7_000, "within the last second");
        // In the middle of a gap, give or take a frame.
        assert!(
            gaps.iter().any(|g| (end - g).abs() <= FRAME_MS),
            "cut at {end}: {:?} {gaps:?}",
            spans(&chunks)
        );
    }
}

#[test]
fn speech_over_a_noise_bed_is_cut_at_its_pauses() {
    let mut seed = 11;
    let words = [
        tone(1_200, -30.0),
        silence(450),
        tone(1_800, -30.0),
        silence(450),
        tone(2_200, -30.0),
        silence(800),
    ]
    .concat();
    let bed = noise(words.len() * 1000 / RATE + 6_000, -45.0, &mut seed);
    let pcm = mix(&[silence(6_000), words].concat(), &bed);
    let chunks = chunks_of(&mut PauseChunker::default(), &pcm);
    // 15 dB over the bed: pauses found as in silence (the bed's first 5 s set the floor).
    // The words start at 6,000 ms; the first pause (7,200 ms) comes too soon, the second
    // (9,450 ms, in the middle of a frame) cuts at 9,800 ms; the last at 12,100 + 340 ms.
    assert_eq!(
        spans(&chunks),
        vec![(5_800, 9_800, Cut::Pause), (9_800, 12_440, Cut::Pause)]
    );
}

#[test]
fn finish_keeps_the_part_of_a_frame_and_settings_are_fitted() {
    let pcm = [silence(500), tone(1_000, -20.0)].concat();
    let mut c = PauseChunker::default();
    assert!(c.push(&pcm).is_empty());
    assert!(c.push(&[1_000; 10]).is_empty());
    let chunk = c.finish().expect("the last words");
    assert_eq!((chunk.start_ms, chunk.cut), (300, Cut::End));
    assert_eq!(chunk.samples.len(), 1_200 * RATE / 1000 + 10);
    assert_eq!(c.finish(), None);
    // The clock goes on after a finish, mid-frame.
    assert_eq!(c.position_ms(), 1_500);

    let c = PauseChunker::new(ChunkerSettings {
        min_ms: 3_000,
        max_ms: 1_000,
        search_ms: 60_000,
        pause_ms: 0,
        ..ChunkerSettings::default()
    });
    assert_eq!(c.max_frames, 151);
    assert_eq!(c.search_frames, 151);
    assert_eq!(c.pause_frames, 1);
}
