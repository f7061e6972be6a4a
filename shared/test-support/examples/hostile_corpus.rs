//! Writes the hostile corpus (`meetin_test_support::hostile`) to a folder, one file per case
//! named after it with its container's extension, for uploading to a running stack
//! (infra/local/hostile-run.sh). Usage: hostile_corpus <folder>
use std::path::PathBuf;

fn extension(case: &str) -> &'static str {
    match case.split(':').next().unwrap_or_default() {
        n if n.starts_with("wav") || n.ends_with(".wav") => "wav",
        n if n.starts_with("flac") || n.ends_with(".flac") => "flac",
        n if n.starts_with("ogg") || n.ends_with(".ogg") || n.ends_with(".opus") => "ogg",
        n if n.starts_with("m4a") || n.ends_with(".m4a") => "m4a",
        n if n.ends_with(".mp4") => "mp4",
        n if n.starts_with("webm") || n.ends_with(".webm") => "webm",
        n if n.starts_with("adts") || n.ends_with(".aac") => "aac",
        _ => "mp3",
    }
}

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "hostile".into()));
    std::fs::create_dir_all(&out)?;
    for (i, case) in meetin_test_support::hostile::corpus().iter().enumerate() {
        let slug: String = case
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let path = out.join(format!("{i:03}-{slug}.{}", extension(&case.name)));
        std::fs::write(&path, &case.bytes)?;
    }
    println!("{}", out.display());
    Ok(())
}
