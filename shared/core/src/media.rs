//! What a recording upload may be (contract §2.4, "Upload validation lists") and whether its
//! first bytes are what it claims to be: one implementation for every way a recording comes
//! in (the `meetings` function's presigned and small direct uploads, the streaming ingress).
//!
//! Magic bytes come from the `infer` crate where it recognizes the format: RIFF/WAVE
//! (`infer::audio::is_wav`), OGG (`is_ogg`), FLAC (`is_flac`), EBML, the WebM/Matroska header
//! (`infer::video::is_webm`) and QuickTime's `moov`/`mdat`-first files (`is_mov`). Our own
//! checks cover what it lacks: MP3 frames of every MPEG version and with or without CRC
//! (infer knows only `FF FB`, MPEG-1 without CRC, besides ID3), AAC ADTS with a CRC (infer
//! knows only `FF F1`/`FF F9`) and any ISO-BMFF `ftyp` brand (infer lists some MP4 brands and
//! `M4A `, not e.g. `M4B `, `3gp4` or `qt  `).

use std::path::Path;

/// The largest recording, in bytes: 500 MiB (the `recordings.size_bytes` CHECK).
pub const MAX_RECORDING_BYTES: i64 = 524_288_000;

/// Allowed extensions (lowercase, with the dot), in the contract's message order.
pub const EXTENSIONS: [&str; 10] = [
    ".aac", ".flac", ".m4a", ".mkv", ".mov", ".mp3", ".mp4", ".ogg", ".wav", ".webm",
];

/// Allowed MIME types (the contract's list).
pub const MIME_TYPES: [&str; 18] = [
    "audio/webm",
    "audio/wav",
    "audio/x-wav",
    "audio/mpeg",
    "audio/mp3",
    "audio/mp4",
    "audio/m4a",
    "audio/x-m4a",
    "audio/ogg",
    "audio/flac",
    "audio/aac",
    "audio/x-aac",
    "audio/x-flac",
    "video/webm",
    "video/mp4",
    "video/quicktime",
    "video/x-matroska",
    "application/octet-stream",
];

/// How many leading bytes the content check reads.
pub const SNIFF_BYTES: usize = 1024;

pub const TOO_LARGE: &str = "File too large. Maximum size is 500MB.";

/// An upload of zero bytes (declared at `initiate`, or found at `complete` or `upload/`):
/// Django's `FileField` message.
pub const EMPTY: &str = "The submitted file is empty.";

/// `Invalid file type. Allowed: .aac, .flac, ...` (the contract's string).
pub fn invalid_extension() -> String {
    format!("Invalid file type. Allowed: {}", EXTENSIONS.join(", "))
}

/// `Invalid MIME type: <type>`.
pub fn invalid_mime(mime: &str) -> String {
    format!("Invalid MIME type: {mime}")
}

/// `File content does not match its type (<ext>, <mime>)`.
pub fn content_mismatch(ext: &str, mime: &str) -> String {
    format!("File content does not match its type ({ext}, {mime})")
}

/// A container or stream format, as told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// EBML header `1A 45 DF A3` (WebM is Matroska).
    Matroska,
    /// `RIFF....WAVE`.
    Wave,
    /// An ID3v2 tag or an MPEG audio Layer III frame header.
    Mp3,
    /// ISO base media (`....ftyp`), or QuickTime starting with `moov`/`mdat`.
    IsoMedia,
    /// `OggS`.
    Ogg,
    /// `fLaC`.
    Flac,
    /// An AAC ADTS frame header.
    Aac,
}

/// The lowercase last extension of `filename`, with its dot (`.webm`), if it has one.
pub fn extension(filename: &str) -> Option<String> {
    Path::new(filename)
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy().to_lowercase()))
}

/// The format an allowed extension names.
pub fn format_of_extension(ext: &str) -> Option<Format> {
    Some(match ext {
        ".webm" | ".mkv" => Format::Matroska,
        ".wav" => Format::Wave,
        ".mp3" => Format::Mp3,
        ".m4a" | ".mp4" | ".mov" => Format::IsoMedia,
        ".ogg" => Format::Ogg,
        ".flac" => Format::Flac,
        ".aac" => Format::Aac,
        _ => return None,
    })
}

/// The format an allowed MIME type names; `None` for `application/octet-stream` (any) and
/// for types not on the list.
pub fn format_of_mime(mime: &str) -> Option<Format> {
    Some(match mime {
        "audio/webm" | "video/webm" | "video/x-matroska" => Format::Matroska,
        "audio/wav" | "audio/x-wav" => Format::Wave,
        "audio/mpeg" | "audio/mp3" => Format::Mp3,
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "video/mp4" | "video/quicktime" => {
            Format::IsoMedia
        }
        "audio/ogg" => Format::Ogg,
        "audio/flac" | "audio/x-flac" => Format::Flac,
        "audio/aac" | "audio/x-aac" => Format::Aac,
        _ => return None,
    })
}

/// The MIME type's essence (`audio/webm;codecs=opus` → `audio/webm`), lowercase.
pub fn essence(mime: &str) -> String {
    mime.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The MIME type to store for an extension when the client named none.
pub fn default_mime(ext: &str) -> &'static str {
    match ext {
        ".webm" => "audio/webm",
        ".mkv" => "video/x-matroska",
        ".wav" => "audio/wav",
        ".mp3" => "audio/mpeg",
        ".m4a" => "audio/mp4",
        ".mp4" => "video/mp4",
        ".mov" => "video/quicktime",
        ".ogg" => "audio/ogg",
        ".flac" => "audio/flac",
        ".aac" => "audio/aac",
        _ => "application/octet-stream",
    }
}

/// MPEG audio Layer III frame sync: 11 set bits, a version that is not reserved, layer `01`.
fn is_mp3_frame(buf: &[u8]) -> bool {
    buf.len() > 2
        && buf[0] == 0xFF
        && buf[1] & 0xE0 == 0xE0
        && buf[1] & 0x18 != 0x08
        && buf[1] & 0x06 == 0x02
}

/// ADTS: 12 set bits, layer `00`, with or without CRC.
fn is_adts(buf: &[u8]) -> bool {
    buf.len() > 1 && buf[0] == 0xFF && buf[1] & 0xF6 == 0xF0
}

/// Any ISO-BMFF file: a `ftyp` box first.
fn is_ftyp(buf: &[u8]) -> bool {
    buf.len() > 11 && &buf[4..8] == b"ftyp"
}

/// Whether the first bytes of a file are `format`.
pub fn bytes_are(format: Format, head: &[u8]) -> bool {
    match format {
        Format::Matroska => infer::video::is_webm(head),
        Format::Wave => infer::audio::is_wav(head),
        Format::Mp3 => head.starts_with(b"ID3") || is_mp3_frame(head),
        Format::IsoMedia => is_ftyp(head) || infer::video::is_mov(head),
        Format::Ogg => infer::audio::is_ogg(head),
        Format::Flac => infer::audio::is_flac(head),
        Format::Aac => is_adts(head),
    }
}

/// A declared upload, checked in the contract's order: size, extension, MIME type. Answers
/// the extension, the MIME essence to store and the format the bytes must have, or the
/// contract's error string.
pub fn check_declared(
    size_bytes: Option<i64>,
    filename: &str,
    mime: Option<&str>,
) -> Result<Declared, String> {
    if size_bytes.is_some_and(|s| s > MAX_RECORDING_BYTES) {
        return Err(TOO_LARGE.to_owned());
    }
    let ext = extension(filename).unwrap_or_default();
    let Some(format) = format_of_extension(&ext) else {
        return Err(invalid_extension());
    };
    let mime = match mime.map(essence).filter(|m| !m.is_empty()) {
        Some(m) => m,
        None => default_mime(&ext).to_owned(),
    };
    if !MIME_TYPES.contains(&mime.as_str()) {
        return Err(invalid_mime(&mime));
    }
    // A specific type must name the extension's format; octet-stream defers to the extension.
    if format_of_mime(&mime).is_some_and(|f| f != format) {
        return Err(content_mismatch(&ext, &mime));
    }
    Ok(Declared { ext, mime, format })
}

/// A declared upload that passed [`check_declared`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// `.webm`, ...
    pub ext: String,
    /// The MIME essence, e.g. `audio/webm`.
    pub mime: String,
    pub format: Format,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_first_bytes() {
        let wav = b"RIFF\x24\x00\x00\x00WAVEfmt ";
        assert!(bytes_are(Format::Wave, wav));
        assert!(!bytes_are(Format::Mp3, wav));
        assert!(bytes_are(
            Format::Matroska,
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81"
        ));
        assert!(bytes_are(Format::Mp3, b"ID3\x04\x00\x00"));
        // MPEG-1 with CRC, MPEG-2 without: infer knows neither.
        assert!(bytes_are(Format::Mp3, b"\xff\xfa\x90\x00"));
        assert!(bytes_are(Format::Mp3, b"\xff\xf3\x90\x00"));
        // ADTS, not Layer III.
        assert!(!bytes_are(Format::Mp3, b"\xff\xf1\x50\x80"));
        assert!(bytes_are(Format::Aac, b"\xff\xf1\x50\x80"));
        assert!(bytes_are(Format::Aac, b"\xff\xf0\x50\x80"));
        assert!(bytes_are(
            Format::IsoMedia,
            b"\x00\x00\x00\x20ftypM4B \x00\x00"
        ));
        assert!(bytes_are(
            Format::IsoMedia,
            b"\x00\x00\x00\x20ftypM4A \x00\x00"
        ));
        assert!(bytes_are(Format::Ogg, b"OggS\x00\x02"));
        assert!(bytes_are(Format::Flac, b"fLaC\x00\x00"));
        assert!(!bytes_are(Format::Flac, b"not audio at all"));
    }

    #[test]
    fn declared_checks_in_the_contracts_order() {
        assert_eq!(
            check_declared(Some(MAX_RECORDING_BYTES + 1), "a.exe", Some("x/y")),
            Err(TOO_LARGE.into())
        );
        assert_eq!(
            check_declared(None, "a.exe", Some("x/y")),
            Err(invalid_extension())
        );
        assert_eq!(
            check_declared(None, "a.WAV", Some("text/plain")),
            Err(invalid_mime("text/plain"))
        );
        assert_eq!(
            check_declared(None, "a.wav", Some("audio/mpeg")),
            Err(content_mismatch(".wav", "audio/mpeg"))
        );
        let ok = check_declared(Some(10), "talk.Webm", None).expect("webm");
        assert_eq!((ok.ext.as_str(), ok.mime.as_str()), (".webm", "audio/webm"));
        let any = check_declared(None, "a.ogg", Some("application/octet-stream")).expect("ogg");
        assert_eq!(any.format, Format::Ogg);
        assert!(invalid_extension().ends_with(".ogg, .wav, .webm"));
    }
}
