#!/usr/bin/env python3
"""faster-whisper (CTranslate2) on the same audio and Whisper weights as the embedded engine's
benchmark (shared/whisper/examples/rtf.rs; docs/benchmarks.md, "Whisper (offline
transcription)"; `make bench-whisper`).

Usage: faster_whisper_bench.py [--model-dir DIR] [--compute-type int8] [--threads 2]
           [--word-timestamps] [--results TSV] [--compare TSV] FILE...

Run with any Python 3: it makes its own virtual environment, outside the repository, in
${XDG_CACHE_HOME:-~/.cache}/meetin/bench-venv (MEETIN_BENCH_VENV overrides), installs the
pinned packages below from PyPI into it the first time (and whenever the pins change), and
runs itself there.

The model is the CTranslate2 directory whisper-model.sh keeps, ct2-base (Systran's
faster-whisper-base: the weights ggml-base.bin is converted from), loaded from that local
directory, so nothing is fetched from a hub; `--compute-type int8` quantizes it on load, as
faster-whisper's CPU users do. Decoding is set as the engine's: English, greedy (beam 1,
best_of 1, the same temperature fallback as whisper.cpp's defaults), no previous-text
prompt (the engine's no_context), no VAD, segment timestamps (`--word-timestamps` adds
faster-whisper's cross-attention word alignment).

For each FILE: audio length, wall time (decoding the file, transcribing, reading every
segment), the real-time factor (wall / audio), the peak RSS of this process during that
run (VmHWM, reset through /proc/self/clear_refs, as rtf.rs does), its CPU time (all threads),
the segment count, and the
word error rate against the `.txt` beside the file (the text after the last `|` of each
line), with the same word normalisation as meetin-test-support's `word_error_rate`.
`--results` appends the rows as rtf.rs's `--results` does; `--compare` reads such a file
(rtf.rs's) and prints, for each input both ran, the ratio of wall times.
"""

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

# faster-whisper and everything it pulls in, pinned (pip freeze of a clean install).
PINNED = """
faster-whisper==1.2.1
ctranslate2==4.8.5
tokenizers==0.23.3
av==18.1.1
onnxruntime==1.32.0
huggingface_hub==2.5.0
numpy==2.4.6
anyio==4.16.0
filelock==4.3.2
flatbuffers==25.12.19
fsspec==2026.9.0
h11==0.16.0
hf-xet==1.8.0
httpcore2==2.17.0
httpx2==2.17.0
idna==3.21
packaging==26.4
protobuf==7.36.2
PyYAML==6.0.4
tqdm==4.70.1
truststore==0.10.5
typing_extensions==4.16.0
""".split()

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "meetin"


def ensure_venv():
    """Re-runs this script in the pinned virtual environment, making it when needed."""
    venv = Path(os.environ.get("MEETIN_BENCH_VENV") or CACHE / "bench-venv")
    python = venv / "bin" / "python"
    if Path(sys.prefix).resolve() == venv.resolve():
        return
    stamp = venv / "meetin-pins.sha256"
    pins = hashlib.sha256("\n".join(PINNED).encode()).hexdigest()
    if not (python.exists() and stamp.exists() and stamp.read_text() == pins):
        print(f"[faster-whisper] installing {PINNED[0]} (pinned) into {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PINNED],
            check=True,
        )
        stamp.write_text(pins)
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


def words(text):
    """meetin-test-support's speech::words: lower case, punctuation dropped but apostrophes
    inside words, "mr"/"mrs" spelled out."""
    out = []
    for w in text.split():
        w = "".join(c for c in w if c.isalnum() or c == "'").strip("'").lower()
        if w:
            out.append({"mr": "mister", "mrs": "missus"}.get(w, w))
    return out


def word_error_rate(reference, hypothesis):
    r, h = words(reference), words(hypothesis)
    if not r:
        return 0.0 if not h else 1.0
    previous = list(range(len(h) + 1))
    for i, rw in enumerate(r):
        current = [i + 1] * (len(h) + 1)
        for j, hw in enumerate(h):
            current[j + 1] = min(previous[j] + (rw != hw), previous[j + 1] + 1, current[j] + 1)
        previous = current
    return previous[len(h)] / len(r)


def reference(audio):
    lines = Path(audio).with_suffix(".txt").read_text(encoding="utf-8").splitlines()
    return "\n".join(t for t in (l.rsplit("|", 1)[-1].strip() for l in lines) if t)


def rss_mb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) // 1024
    return 0


def reset_peak_rss():
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=str(CACHE / "whisper" / "ct2-base"))
    ap.add_argument("--compute-type", default="int8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--language", default="en")
    ap.add_argument("--word-timestamps", action="store_true")
    ap.add_argument("--results")
    ap.add_argument("--compare")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    ensure_venv()

    import faster_whisper
    from faster_whisper import WhisperModel

    started = time.monotonic()
    model = WhisperModel(
        args.model_dir,
        device="cpu",
        compute_type=args.compute_type,
        cpu_threads=args.threads,
        num_workers=1,
        local_files_only=True,
    )
    name = (
        f"faster-whisper {faster_whisper.__version__} {Path(args.model_dir).name} "
        f"{args.compute_type}, {args.threads} threads"
        + (", word timestamps" if args.word_timestamps else "")
    )
    print(f"{name}: loaded in {time.monotonic() - started:.2f} s; RSS {rss_mb('VmRSS')} MB", file=sys.stderr)
    print("| engine | input | audio (s) | wall (s) | CPU (s) | RTF | x real time | peak RSS (MB) | segments | WER |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = []
    for path in args.files:
        text = reference(path)
        reset_peak_rss()
        cpu_before = sum(os.times()[:2])
        started = time.monotonic()
        segments, info = model.transcribe(
            path,
            language=args.language,
            task="transcribe",
            beam_size=1,
            best_of=1,
            condition_on_previous_text=False,
            vad_filter=False,
            word_timestamps=args.word_timestamps,
            without_timestamps=False,
        )
        segments = list(segments)
        wall = time.monotonic() - started
        cpu = sum(os.times()[:2]) - cpu_before
        audio = info.duration
        wer = word_error_rate(text, " ".join(s.text for s in segments))
        peak = rss_mb("VmHWM")
        label = Path(path).name
        print(
            f"| {name} | {label} | {audio:.1f} | {wall:.2f} | {cpu:.1f} | {wall / audio:.3f} | "
            f"{audio / wall:.1f} | {peak} | {len(segments)} | {wer:.3f} |",
            flush=True,
        )
        rows.append((label, wall, wall / audio))
        if args.results:
            with open(args.results, "a", encoding="utf-8") as out:
                out.write(f"{name}\t{label}\t{audio:.1f}\t{wall:.2f}\t{wall / audio:.4f}\t{peak}\t{wer:.4f}\n")
    if args.compare:
        theirs = {}
        for line in Path(args.compare).read_text(encoding="utf-8").splitlines():
            engine, label, _audio, wall, rtf, _peak, _wer = line.split("\t")
            if not engine.startswith("faster-whisper"):
                theirs.setdefault(label, []).append((engine, float(wall), float(rtf)))
        print()
        print(f"| input | engine | RTF | {name} RTF | speed-up (faster-whisper wall / engine wall) |")
        print("|---|---|---:|---:|---:|")
        for label, wall, rtf in rows:
            for engine, their_wall, their_rtf in theirs.get(label, []):
                print(f"| {label} | {engine} | {their_rtf:.3f} | {rtf:.3f} | {wall / their_wall:.2f} |")


if __name__ == "__main__":
    main()
