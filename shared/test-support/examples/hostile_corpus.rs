//! Writes the hostile corpus (`meetin_test_support::hostile`) to a folder, one file per case
//! named after it with its container's extension, for uploading to a running stack
//! (infra/local/hostile-run.sh). Usage: hostile_corpus <folder>
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "hostile".into()));
    std::fs::create_dir_all(&out)?;
    for (i, case) in meetin_test_support::hostile::corpus().iter().enumerate() {
        let slug: String = case
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let path = out.join(format!("{i:03}-{slug}.{}", case.file_type().0));
        std::fs::write(&path, &case.bytes)?;
    }
    println!("{}", out.display());
    Ok(())
}
