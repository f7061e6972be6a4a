//! (Over 400 lines: test support, never deployed; each lie the corpus tells is built beside the container it corrupts.)
//! A corpus of hostile recordings (issue 16): the phrase fixtures of every container the
//! Whisper engine reads, with their headers made to lie — sample rates of 0, 1, 8, 1,000,003
//! and 4,294,967,295 Hz, 0 and 65,535 (or 255) channels, 0 and 64 bits per sample, chunk,
//! element and table sizes past the file, files cut short — plus duration bombs. Each case
//! says what a careful decoder must do with it.
//!
//! The cases are made from the committed fixtures at run time by patching fields found by
//! their markers (Ogg pages get their CRC recomputed, or the reader would only skip them).

use crate::speech::audio_fixture_bytes;

/// What a decoder must do with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Refuse it with a bad-audio error.
    Refused,
    /// Either refuse it or decode the audio that is really there (the field is informational,
    /// or a decoder rightly reads the value from elsewhere): at most `max_ms` of audio.
    RefusedOrAtMost { max_ms: u64 },
}

/// One hostile recording.
#[derive(Debug, Clone)]
pub struct Case {
    /// `container: the lie`, for messages.
    pub name: String,
    pub bytes: Vec<u8>,
    pub expect: Expect,
    /// The longest a measure of it (packet durations, no decoding) may answer, in ms.
    pub measure_max_ms: u64,
}

impl Case {
    /// The extension and content type a browser gives a file of this case's container, e.g.
    /// `("wav", "audio/wav")`, for uploading it.
    pub fn file_type(&self) -> (&'static str, &'static str) {
        match self.name.split(':').next().unwrap_or_default() {
            n if n.starts_with("wav") || n.ends_with(".wav") => ("wav", "audio/wav"),
            n if n.starts_with("flac") || n.ends_with(".flac") => ("flac", "audio/flac"),
            n if n.starts_with("ogg") || n.ends_with(".ogg") || n.ends_with(".opus") => {
                ("ogg", "audio/ogg")
            }
            n if n.starts_with("m4a") || n.ends_with(".m4a") => ("m4a", "audio/mp4"),
            n if n.ends_with(".mp4") => ("mp4", "video/mp4"),
            n if n.starts_with("webm") || n.ends_with(".webm") => ("webm", "audio/webm"),
            n if n.starts_with("adts") || n.ends_with(".aac") => ("aac", "audio/aac"),
            _ => ("mp3", "audio/mpeg"),
        }
    }
}

/// The phrase fixtures last about 4.1 s; a decoder reading what is really there stays under
/// this.
const PHRASE_MAX_MS: u64 = 5_000;

fn find(bytes: &[u8], marker: &[u8]) -> usize {
    bytes
        .windows(marker.len())
        .position(|w| w == marker)
        .unwrap_or_else(|| panic!("marker {marker:02x?} not in the fixture"))
}

fn put_u16_le(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32_le(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u16_be(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
fn put_u32_be(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// The Ogg page CRC (polynomial 0x04c11db7, not reflected, initial 0; RFC 3533).
fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in data {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Recomputes the CRC of every Ogg page in `b` (after a patch inside one).
fn fix_ogg_crcs(b: &mut [u8]) {
    let mut at = 0;
    while at + 27 <= b.len() && &b[at..at + 4] == b"OggS" {
        let segments = b[at + 26] as usize;
        let body: usize = b[at + 27..at + 27 + segments]
            .iter()
            .map(|&s| s as usize)
            .sum();
        let end = (at + 27 + segments + body).min(b.len());
        b[at + 22..at + 26].fill(0);
        let crc = ogg_crc(&b[at..end]);
        b[at + 22..at + 26].copy_from_slice(&crc.to_le_bytes());
        at = end;
    }
}

fn case(name: &str, bytes: Vec<u8>, expect: Expect) -> Case {
    Case {
        name: name.to_owned(),
        bytes,
        expect,
        measure_max_ms: PHRASE_MAX_MS,
    }
}

const RATES: [u32; 5] = [0, 1, 8, 1_000_003, 4_294_967_295];

fn wav(out: &mut Vec<Case>) {
    let base = audio_fixture_bytes("phrase.wav");
    // RIFF(12) then "fmt " at 12: channels 22, rate 24, byte rate 28, block align 32, bits 34.
    for rate in RATES {
        let mut b = base.clone();
        put_u32_le(&mut b, 24, rate);
        out.push(case(&format!("wav: {rate} Hz"), b, Expect::Refused));
    }
    for channels in [0u16, 65_535] {
        let mut b = base.clone();
        put_u16_le(&mut b, 22, channels);
        out.push(case(
            &format!("wav: {channels} channels"),
            b,
            Expect::Refused,
        ));
    }
    for bits in [0u16, 64] {
        let mut b = base.clone();
        put_u16_le(&mut b, 34, bits);
        out.push(case(&format!("wav: {bits} bits"), b, Expect::Refused));
    }
    // 4 GiB of data declared in a 64 KB file: only what is there.
    let mut b = base.clone();
    let data = find(&b, b"data");
    put_u32_le(&mut b, data + 4, u32::MAX);
    out.push(case(
        "wav: data size past the file",
        b,
        Expect::RefusedOrAtMost {
            max_ms: PHRASE_MAX_MS,
        },
    ));
    let mut b = base.clone();
    put_u32_le(&mut b, 4, u32::MAX);
    put_u32_le(&mut b, 16, u32::MAX); // the fmt chunk's size too
    out.push(case("wav: chunk sizes past the file", b, Expect::Refused));
    // The bomb: 8 Hz makes 64 KB last 68 minutes.
    let mut b = base.clone();
    put_u32_le(&mut b, 24, 8);
    put_u32_le(&mut b, 28, 16);
    out.push(case("wav: 8 Hz duration bomb", b, Expect::Refused));
    // A block align that does not match the channels and bits (PCM is read by its bits).
    let mut b = base;
    put_u16_le(&mut b, 32, 65_535);
    out.push(case(
        "wav: block align 65,535",
        b,
        Expect::RefusedOrAtMost {
            max_ms: PHRASE_MAX_MS,
        },
    ));
}

fn flac(out: &mut Vec<Case>) {
    let base = audio_fixture_bytes("phrase.flac");
    // "fLaC", block header (4), STREAMINFO: min/max block (2+2), min/max frame (3+3), then
    // rate (20 bits), channels − 1 (3), bits − 1 (5), total samples (36) from byte 18.
    let set = |rate: u32, channels_minus_1: u8, bits_minus_1: u8| {
        let mut b = base.clone();
        let total_hi = b[21] & 0x0f;
        b[18] = (rate >> 12) as u8;
        b[19] = (rate >> 4) as u8;
        b[20] = ((rate as u8 & 0x0f) << 4) | (channels_minus_1 << 1) | (bits_minus_1 >> 4);
        b[21] = ((bits_minus_1 & 0x0f) << 4) | total_hi;
        b
    };
    let (channels, bits) = (0u8, 15u8); // the fixture: mono, 16 bits
    for rate in [0u32, 1, 8, 1_000_003] {
        out.push(case(
            &format!("flac: {rate} Hz"),
            set(rate, channels, bits),
            // Frames carry their own rate code; a decoder may trust them over STREAMINFO.
            Expect::RefusedOrAtMost {
                max_ms: PHRASE_MAX_MS,
            },
        ));
    }
    out.push(case(
        "flac: 8 channels declared for mono frames",
        set(16_000, 7, bits),
        Expect::RefusedOrAtMost {
            max_ms: PHRASE_MAX_MS,
        },
    ));
    out.push(case(
        "flac: 32 bits declared for 16-bit frames",
        set(16_000, channels, 31),
        Expect::RefusedOrAtMost {
            max_ms: PHRASE_MAX_MS,
        },
    ));
    // Total samples: 2^36 − 1 declared (about 50 days at 16 kHz).
    let mut b = base.clone();
    b[21] |= 0x0f;
    b[22..26].fill(0xff);
    out.push(case(
        "flac: 2^36 samples declared",
        b,
        Expect::RefusedOrAtMost {
            max_ms: PHRASE_MAX_MS,
        },
    ));
    // Block sizes of 65,535 declared for blocks of 1,152 frames. symphonia gives each packet
    // the declared block size as its duration, so the measure overestimates (57 packets ×
    // 65,535 frames at 16 kHz: 233 s): a lying file is refused sooner, never later.
    let mut b = base;
    put_u16_be(&mut b, 8, 65_535);
    put_u16_be(&mut b, 10, 65_535);
    let mut lying = case(
        "flac: block sizes 65,535",
        b,
        Expect::RefusedOrAtMost {
            max_ms: PHRASE_MAX_MS,
        },
    );
    lying.measure_max_ms = 240_000;
    out.push(lying);
}

fn vorbis(out: &mut Vec<Case>) {
    let base = audio_fixture_bytes("phrase.ogg");
    // "\x01vorbis", version (4), channels (1), rate (4), bitrates (12), block sizes (1).
    let id = find(&base, b"\x01vorbis");
    let patched = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = base.clone();
        f(&mut b);
        fix_ogg_crcs(&mut b);
        b
    };
    for rate in RATES {
        out.push(case(
            &format!("ogg vorbis: {rate} Hz"),
            patched(&|b| put_u32_le(b, id + 12, rate)),
            Expect::Refused,
        ));
    }
    for channels in [0u8, 255] {
        out.push(case(
            &format!("ogg vorbis: {channels} channels"),
            patched(&|b| b[id + 11] = channels),
            Expect::Refused,
        ));
    }
    out.push(case(
        "ogg vorbis: block sizes 2^15",
        patched(&|b| b[id + 28] = 0xff),
        Expect::Refused,
    ));
}

fn opus(out: &mut Vec<Case>, fixture: &str, ogg: bool) {
    let base = audio_fixture_bytes(fixture);
    // "OpusHead", version (1), channels (1), pre-skip (2), input rate (4), gain (2), mapping (1).
    let head = find(&base, b"OpusHead");
    let patched = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = base.clone();
        f(&mut b);
        if ogg {
            fix_ogg_crcs(&mut b);
        }
        b
    };
    for channels in [0u8, 255] {
        out.push(case(
            &format!("{fixture}: OpusHead {channels} channels"),
            patched(&|b| b[head + 9] = channels),
            Expect::RefusedOrAtMost {
                max_ms: PHRASE_MAX_MS,
            },
        ));
    }
    // The input rate is informational (RFC 7845 §5.1): Opus always decodes at 48 kHz.
    out.push(case(
        &format!("{fixture}: OpusHead input rate 4,294,967,295 Hz"),
        patched(&|b| put_u32_le(b, head + 12, u32::MAX)),
        Expect::RefusedOrAtMost {
            max_ms: PHRASE_MAX_MS,
        },
    ));
    out.push(case(
        &format!("{fixture}: OpusHead pre-skip 65,535"),
        patched(&|b| put_u16_le(b, head + 10, u16::MAX)),
        Expect::RefusedOrAtMost {
            max_ms: PHRASE_MAX_MS,
        },
    ));
}

fn mp4(out: &mut Vec<Case>) {
    let base = audio_fixture_bytes("phrase.m4a");
    // The mp4a sample entry: channel count +20, sample size +22, rate (16.16) +28.
    let entry = find(&base, b"mp4a");
    let mdhd = find(&base, b"mdhd");
    let patched = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = base.clone();
        f(&mut b);
        b
    };
    let lenient = Expect::RefusedOrAtMost {
        max_ms: PHRASE_MAX_MS,
    };
    for channels in [0u16, 65_535] {
        out.push(case(
            &format!("m4a: {channels} channels"),
            patched(&|b| put_u16_be(b, entry + 20, channels)),
            lenient,
        ));
    }
    for bits in [0u16, 64] {
        out.push(case(
            &format!("m4a: {bits} bits"),
            patched(&|b| put_u16_be(b, entry + 22, bits)),
            lenient,
        ));
    }
    for rate in [0u32, 1, 8, 65_535] {
        out.push(case(
            &format!("m4a: {rate} Hz"),
            patched(&|b| put_u32_be(b, entry + 28, rate << 16)),
            lenient,
        ));
    }
    // mdhd: version/flags (4), times (4 + 4), timescale (4), duration (4).
    for timescale in [0u32, 1, u32::MAX] {
        out.push(case(
            &format!("m4a: timescale {timescale}"),
            patched(&|b| put_u32_be(b, mdhd + 16, timescale)),
            lenient,
        ));
    }
    // Tables declaring 4 billion entries in a 24 KB file.
    for table in [&b"stsz"[..], b"stts", b"stco", b"stsc"] {
        let at = find(&base, table);
        // stsz: version/flags (4), sample size (4), count (4); the others: flags, count.
        let count_at = if table == b"stsz" { at + 12 } else { at + 8 };
        out.push(case(
            &format!(
                "m4a: {} of 4,294,967,295 entries",
                String::from_utf8_lossy(table)
            ),
            patched(&|b| put_u32_be(b, count_at, u32::MAX)),
            Expect::Refused,
        ));
    }
    // A box whose size runs past the file.
    out.push(case(
        "m4a: moov size past the file",
        patched(&|b| {
            let moov = find(b, b"moov");
            put_u32_be(b, moov - 4, u32::MAX);
        }),
        lenient,
    ));
}

fn webm(out: &mut Vec<Case>) {
    let base = audio_fixture_bytes("phrase.webm");
    // The Audio element: Channels (9F 81 n), SamplingFrequency (B5 88 f64), BitDepth (62 64 81 n).
    let channels_at = find(&base, &[0x9f, 0x81]) + 2;
    let rate_at = find(&base, &[0xb5, 0x88]) + 2;
    let bits_at = find(&base, &[0x62, 0x64, 0x81]) + 3;
    let patched = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = base.clone();
        f(&mut b);
        b
    };
    for rate in [
        0.0f64,
        1.0,
        8.0,
        1_000_003.0,
        4_294_967_295.0,
        f64::NAN,
        -48_000.0,
    ] {
        out.push(case(
            &format!("webm: {rate} Hz"),
            patched(&|b| b[rate_at..rate_at + 8].copy_from_slice(&rate.to_be_bytes())),
            // Opus decodes at 48 kHz whatever the container says.
            Expect::RefusedOrAtMost {
                max_ms: PHRASE_MAX_MS,
            },
        ));
    }
    for channels in [0u8, 255] {
        out.push(case(
            &format!("webm: {channels} channels"),
            patched(&|b| b[channels_at] = channels),
            Expect::RefusedOrAtMost {
                max_ms: PHRASE_MAX_MS,
            },
        ));
    }
    for bits in [0u8, 64] {
        out.push(case(
            &format!("webm: {bits} bits"),
            patched(&|b| b[bits_at] = bits),
            Expect::RefusedOrAtMost {
                max_ms: PHRASE_MAX_MS,
            },
        ));
    }
    opus(out, "phrase.webm", false);
    // A SimpleBlock (A3) claiming 2^56 bytes.
    out.push(case(
        "webm: a block of 2^56 bytes",
        patched(&|b| {
            let block = find(b, &[0xa3]);
            b[block + 1] = 0x01;
            b.splice(block + 2..block + 2, [0xff; 7]);
        }),
        Expect::RefusedOrAtMost {
            max_ms: PHRASE_MAX_MS,
        },
    ));
}

fn adts(out: &mut Vec<Case>) {
    let base = audio_fixture_bytes("phrase.aac");
    // Byte 2: profile (2 bits), sampling frequency index (4), private (1), channels high bit.
    for index in [13u8, 14, 15] {
        let mut b = base.clone();
        b[2] = (b[2] & 0b1100_0011) | (index << 2);
        out.push(case(
            &format!("adts: sampling index {index}"),
            b,
            Expect::RefusedOrAtMost {
                max_ms: PHRASE_MAX_MS,
            },
        ));
    }
    for channels in [0u8, 7] {
        let mut b = base.clone();
        b[2] = (b[2] & 0b1111_1110) | (channels >> 2);
        b[3] = (b[3] & 0b0011_1111) | ((channels & 0b11) << 6);
        out.push(case(
            &format!("adts: channel configuration {channels}"),
            b,
            Expect::RefusedOrAtMost {
                max_ms: PHRASE_MAX_MS,
            },
        ));
    }
}

fn mp3(out: &mut Vec<Case>) {
    let base = audio_fixture_bytes("phrase.mp3");
    // ID3v2 at the start: a tag size (syncsafe, bytes 6..10) of 256 MB.
    let mut b = base.clone();
    b[6..10].copy_from_slice(&[0x7f; 4]);
    // The reader finds the first frame by its sync word instead.
    out.push(case(
        "mp3: ID3 tag of 256 MB",
        b,
        Expect::RefusedOrAtMost {
            max_ms: PHRASE_MAX_MS,
        },
    ));
    // The Info (Xing) header: flags (4), then a frame count of 4 billion.
    let info = find(&base, b"Info");
    let mut b = base.clone();
    put_u32_be(&mut b, info + 4, 0x0f);
    put_u32_be(&mut b, info + 8, u32::MAX);
    out.push(case(
        "mp3: 4 billion frames declared",
        b,
        Expect::RefusedOrAtMost {
            max_ms: PHRASE_MAX_MS,
        },
    ));
}

/// Every case: each container's header lies, then each fixture cut short (its first 64 bytes,
/// 1 KiB and half).
pub fn corpus() -> Vec<Case> {
    let mut out = Vec::new();
    wav(&mut out);
    flac(&mut out);
    vorbis(&mut out);
    opus(&mut out, "phrase.opus", true);
    mp4(&mut out);
    webm(&mut out);
    adts(&mut out);
    mp3(&mut out);
    for fixture in [
        "phrase.wav",
        "phrase.flac",
        "phrase.ogg",
        "phrase.opus",
        "phrase.m4a",
        "phrase.webm",
        "phrase.aac",
        "phrase.mp3",
        "phrase.mp4",
    ] {
        let bytes = audio_fixture_bytes(fixture);
        for cut in [64, 1024, bytes.len() / 2] {
            out.push(case(
                &format!("{fixture}: cut to {cut} bytes"),
                bytes[..cut].to_vec(),
                Expect::RefusedOrAtMost {
                    max_ms: PHRASE_MAX_MS,
                },
            ));
        }
    }
    out
}
