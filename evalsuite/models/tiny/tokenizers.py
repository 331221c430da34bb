"""Tokenizers written locally for the tiny built-ins: nothing is downloaded.

Each helper writes its files into ``folder`` and loads them back through transformers' own
tokenizer class, so the saved pipeline's tokenizer folder is what the real model ships.
Size a text model's vocabulary as ``max(len(tok), tok.vocab_size)``: in transformers 5
added special tokens may sit past ``vocab_size``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def byte_chars() -> list[str]:
    """GPT-2's byte-to-unicode table: every byte as one printable character (CLIP, Qwen2)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def clip_tokenizer(folder: Path, model_max_length: int = 77) -> Any:
    """A CLIP BPE tokenizer over single bytes (no merges), from ``vocab.json`` + ``merges.txt``."""
    from transformers import CLIPTokenizer

    chars = byte_chars()
    vocab: dict[str, int] = {}
    for piece in chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]:
        vocab.setdefault(piece, len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer.from_pretrained(str(folder), model_max_length=model_max_length)


def t5_tokenizer(folder: Path) -> Any:
    """A T5 Unigram tokenizer over single characters, saved as ``tokenizer.json``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import T5TokenizerFast

    pieces = ["<pad>", "</s>", "<unk>"]
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"-()&/ "
    for ch in alphabet:
        for piece in (ch, "▁" + ch):
            if piece not in pieces:  # duplicate pieces break the Unigram model
                pieces.append(piece)
    tok = Tokenizer(models.Unigram([(p, -1.0) for p in pieces], unk_id=2))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    return T5TokenizerFast(
        tokenizer_file=str(folder / "tokenizer.json"),
        eos_token="</s>", unk_token="<unk>", pad_token="<pad>", extra_ids=0, model_max_length=512,
    )


# Qwen3's chat template, cut to what the pipelines use: user/assistant turns, the generation
# prompt, and the empty thinking block Qwen3 writes when ``enable_thinking=False``.
QWEN_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)
# Beside <|endoftext|> (Qwen2Tokenizer's own end, padding and unknown token).
QWEN_SPECIALS = (
    "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<think>", "</think>",
)


def qwen2_tokenizer() -> Any:
    """A byte-level Qwen2 BPE (every byte one token, no merges) with Qwen's special tokens.

    Serves Qwen2.5-VL (Qwen-Image) and Qwen3 (Z-Image, FLUX.2-klein), whose pipelines also
    apply the chat template. Built from ``vocab`` in memory: transformers 5 silently ignores
    ``vocab_file`` arguments.
    """
    from transformers import Qwen2Tokenizer

    vocab = {c: i for i, c in enumerate(byte_chars())}
    tok = Qwen2Tokenizer(vocab=vocab, merges=[], model_max_length=32768)
    tok.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIALS)})
    tok.chat_template = QWEN_CHAT_TEMPLATE
    return tok


def gemma_tokenizer() -> Any:
    """A Gemma tokenizer: printable ASCII pieces plus Gemma's byte fallback (``<0x00>``...).

    Gemma's own special tokens come first, in Gemma's order, then the 256 byte tokens, so
    every string encodes (bytes outside the pieces fall back) and decodes back.
    """
    from transformers import GemmaTokenizer

    vocab: dict[str, int] = {}
    pieces = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"]
    pieces += [f"<0x{b:02X}>" for b in range(256)] + ["▁"] + [chr(c) for c in range(33, 127)]
    for piece in pieces:
        vocab.setdefault(piece, len(vocab))
    # add_bos_token is Gemma's default, but a tokenizer built from a vocab leaves it off.
    return GemmaTokenizer(vocab=vocab, merges=[], add_bos_token=True, model_max_length=8192)


def llama3_tokenizer() -> Any:
    """A Llama 3 tokenizer: byte-level BPE (every byte one token, no merges), ``<|begin_of_text|>``
    before every sequence, as Meta's ``PreTrainedTokenizerFast`` (HiDream's fourth encoder)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    bos, eos = "<|begin_of_text|>", "<|end_of_text|>"
    tok = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(byte_chars())}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([bos, eos, "<|eot_id|>"])
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, tok.token_to_id(bos))])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, model_max_length=131072)
