"""Train the small English -> Synthetic (``qsy``) translation model that ships with curate.

    python -m curate.synth.train --out datasets/models/en-qsy

Steps: generate training pairs (``curate.synth.generate``, a quarter with ``[ ]`` entity
markers), train one SentencePiece BPE model shared by both sides, train a small Marian
transformer (``transformers.MarianMTModel``) on the CPU with a fixed seed, evaluate exact match
on held-out pairs (another seed) with CTranslate2 every ``--eval-every`` steps, stop once it
reaches ``--target-exact`` (or at ``--max-minutes``, keeping the best), and write the best
checkpoint converted to CTranslate2 int8. The output folder holds:

- ``model.bin``, ``config.json``, ``shared_vocabulary.json``: the CTranslate2 model;
- ``source.spm``, ``target.spm``: the SentencePiece model of each side (here the same model);
- ``curate_model.json``: ``name``, ``family`` ("marian"), ``source_langs``, ``target_langs``,
  ``max_input_tokens`` (SentencePiece pieces, ``</s>`` included), ``version`` (training seed
  and a hash of the training data and options), ``tokenizer`` (``source``/``target`` file
  names), ``source_suffix`` (tokens to append to each tokenised source: ``["</s>"]``, as
  Marian expects), and ``training`` (options and measured figures).

The shipped model was made in two stages (the plateau of the first schedule near 0.93-0.96 is
broken by a short linear decay of the learning rate with a new optimizer)::

    python -m curate.synth.train --out /tmp/en-qsy-stage1 --max-steps 3000 \
        --checkpoint /tmp/synth_step3000
    python -m curate.synth.train --out datasets/models/en-qsy --init-from /tmp/synth_step3000 \
        --reset-optimizer --skip-steps 3000 --lr 6e-4 --decay-steps 1500 --rewarmup 50 \
        --eval-every 150 --target-exact 0.98 --max-minutes 35 --checkpoint /tmp/synth_ckpt

Usage of the result: ``ctranslate2.Translator(out, device="cpu", compute_type="int8")``;
source tokens are ``sp.encode(text, out_type=str) + ["</s>"]``; ``sp.decode(hypothesis)``.
Training is reproducible for the same seed, options and thread count (``--threads``; one
thread is the default because a shared machine makes torch's multi-threaded kernels crawl).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sentencepiece as spm

from curate.synth import LANG_CODE, SynthPair, generate
from curate.text.subwords import train_sentencepiece_model

EOS, UNK, PAD = "</s>", "<unk>", "<pad>"


def train_sentencepiece(texts: list[str], vocab_size: int) -> bytes:
    """A BPE model with ``</s>``=0, ``<unk>``=1 and no ``<pad>`` (Marian adds it last)."""
    return train_sentencepiece_model(
        texts,
        vocab_size,
        model_type="bpe",
        split_digits=True,
        normalization_rule_name="identity",
        eos_id=0,
        unk_id=1,
        bos_id=-1,
        pad_id=-1,
        num_threads=2,
    )


def data_hash(pairs: list[SynthPair], options: dict[str, Any]) -> str:
    h = hashlib.blake2b(digest_size=8)
    h.update(json.dumps(options, sort_keys=True).encode())
    for p in pairs:
        h.update(p.src.encode())
        h.update(b"\t")
        h.update(p.tgt.encode())
        h.update(b"\n")
    return h.hexdigest()


def exact_match(model_dir: Path, sp: spm.SentencePieceProcessor, pairs: list[SynthPair]) -> float:
    """Share of ``pairs`` whose greedy CTranslate2 translation equals the reference."""
    import ctranslate2

    translator = ctranslate2.Translator(
        str(model_dir), device="cpu", compute_type="int8", intra_threads=1
    )
    sources = [[*sp.encode(p.src, out_type=str), EOS] for p in pairs]
    results = translator.translate_batch(
        sources, max_batch_size=64, beam_size=1, max_decoding_length=160
    )
    hyps = [sp.decode(r.hypotheses[0]) for r in results]
    return sum(h == p.tgt for h, p in zip(hyps, pairs, strict=True)) / len(pairs)


def convert(model, tokenizer_dir: Path, spm_bytes: bytes, out: Path) -> None:
    """Save ``model`` with the tokenizer and convert it to CTranslate2 int8 in ``out``."""
    from ctranslate2.converters import TransformersConverter

    with tempfile.TemporaryDirectory() as tmp:
        hf = Path(tmp) / "hf"
        shutil.copytree(tokenizer_dir, hf)
        model.save_pretrained(hf)
        TransformersConverter(str(hf)).convert(str(out), quantization="int8", force=True)
    (out / "source.spm").write_bytes(spm_bytes)
    (out / "target.spm").write_bytes(spm_bytes)


def batches(
    src: list[list[int]], tgt: list[list[int]], max_tokens: int, rng: random.Random
) -> list[list[int]]:
    """Index batches of similar length, about ``max_tokens`` padded target tokens each."""
    order = list(range(len(src)))
    rng.shuffle(order)
    out: list[list[int]] = []
    chunk = 200 * max(1, max_tokens // 16)
    for c in range(0, len(order), chunk):
        part = sorted(order[c : c + chunk], key=lambda i: (len(tgt[i]), len(src[i])))
        batch: list[int] = []
        longest = 0
        for i in part:
            longest_new = max(longest, len(tgt[i]), len(src[i]))
            if batch and longest_new * (len(batch) + 1) > max_tokens:
                out.append(batch)
                batch, longest_new = [], max(len(tgt[i]), len(src[i]))
            batch.append(i)
            longest = longest_new
        if batch:
            out.append(batch)
    rng.shuffle(out)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Train the shipped en-qsy model.")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--eval-seed", type=int, default=2)
    ap.add_argument("--train-pairs", type=int, default=400_000)
    ap.add_argument("--markers", type=float, default=0.25)
    ap.add_argument("--vocab-size", type=int, default=6000)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=512)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--batch-tokens", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--eval-every", type=int, default=300)
    ap.add_argument("--eval-pairs", type=int, default=400)
    ap.add_argument("--target-exact", type=float, default=0.97)
    ap.add_argument("--max-minutes", type=float, default=95.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--checkpoint", type=Path, help="save a resumable checkpoint here at every evaluation"
    )
    ap.add_argument(
        "--init-from",
        type=Path,
        help="continue from a checkpoint (its weights and tokenizer; its optimizer if saved)",
    )
    ap.add_argument("--skip-steps", type=int, default=0, help="batches already trained on")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this step (0: no limit)")
    ap.add_argument(
        "--reset-optimizer", action="store_true", help="with --init-from, start a new optimizer"
    )
    ap.add_argument("--rewarmup", type=int, default=200, help="warm-up when the optimizer is new")
    ap.add_argument(
        "--decay-steps",
        type=int,
        default=0,
        help="decay the learning rate linearly from --lr to 0 over this many steps (after"
        " --skip-steps) and stop there, instead of the inverse square root schedule",
    )
    args = ap.parse_args(argv)

    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t0 = time.time()
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    for key in (
        "out",
        "checkpoint",
        "init_from",
        "skip_steps",
        "rewarmup",
        "decay_steps",
        "max_steps",
        "reset_optimizer",
    ):
        options.pop(key)

    def log(msg: str) -> None:
        print(f"[{(time.time() - t0) / 60:6.1f} min] {msg}", flush=True)

    pairs = generate(args.train_pairs, args.seed, markers=args.markers)
    held = generate(args.eval_pairs, args.eval_seed, markers=0.3)
    version = f"seed{args.seed}-{data_hash(pairs, options)}"
    log(f"generated {len(pairs)} training pairs, version {version}")

    if args.init_from:
        spm_bytes = (args.init_from / "source.spm").read_bytes()
    else:
        spm_texts = [t for p in pairs[:100_000] for t in (p.src, p.tgt)]
        spm_bytes = train_sentencepiece(spm_texts, args.vocab_size)
    sp = spm.SentencePieceProcessor(model_proto=spm_bytes)
    n_pieces = sp.get_piece_size()
    pad_id = n_pieces
    eos_id = sp.piece_to_id(EOS)

    work = Path(tempfile.mkdtemp(prefix="synth_train_"))
    tok_dir = work / "tokenizer"
    tok_dir.mkdir()
    (work / "spm.model").write_bytes(spm_bytes)
    vocab = {sp.id_to_piece(i): i for i in range(n_pieces)} | {PAD: pad_id}
    (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = MarianTokenizer(
        source_spm=str(work / "spm.model"),
        target_spm=str(work / "spm.model"),
        vocab=str(work / "vocab.json"),
        model_max_length=256,
    )
    tokenizer.save_pretrained(tok_dir)

    src_ids = [[*ids, eos_id] for ids in sp.encode([p.src for p in pairs])]
    tgt_ids = [[*ids, eos_id] for ids in sp.encode([p.tgt for p in pairs])]
    max_len = max(max(map(len, src_ids)), max(map(len, tgt_ids)))
    mean_len = sum(map(len, tgt_ids)) / len(tgt_ids)
    log(f"sentencepiece: {n_pieces} pieces, target mean {mean_len:.1f} / max {max_len} pieces")

    config = MarianConfig(
        vocab_size=n_pieces + 1,
        decoder_vocab_size=n_pieces + 1,
        d_model=args.d_model,
        encoder_layers=args.layers,
        decoder_layers=args.layers,
        encoder_attention_heads=args.heads,
        decoder_attention_heads=args.heads,
        encoder_ffn_dim=args.ffn,
        decoder_ffn_dim=args.ffn,
        max_position_embeddings=256,
        dropout=args.dropout,
        attention_dropout=0.0,
        activation_dropout=0.0,
        activation_function="swish",
        pad_token_id=pad_id,
        eos_token_id=eos_id,
        decoder_start_token_id=pad_id,
        forced_eos_token_id=eos_id,
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True,
    )
    model = (
        MarianMTModel.from_pretrained(args.init_from) if args.init_from else MarianMTModel(config)
    )
    shared = model.get_input_embeddings().weight

    def zero_pad() -> None:
        # CTranslate2 starts Marian decoding from a zero embedding: keep the <pad> row at zero.
        with torch.no_grad():
            shared[pad_id].zero_()

    zero_pad()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params / 1e6:.2f}M parameters")

    opt = torch.optim.AdamW(
        model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.0
    )

    fresh_optimizer = True
    if args.init_from and (args.init_from / "optimizer.pt").exists() and not args.reset_optimizer:
        opt.load_state_dict(torch.load(args.init_from / "optimizer.pt"))
        fresh_optimizer = False

    def lr_at(step: int) -> float:
        if args.decay_steps:
            lr = args.lr * max(0.0, 1.0 - (step - args.skip_steps) / args.decay_steps)
        else:
            lr = args.lr * min(step / args.warmup, math.sqrt(args.warmup / max(step, 1)))
        if args.init_from and fresh_optimizer:
            lr *= min(1.0, (step - args.skip_steps) / args.rewarmup)
        return lr

    def save_checkpoint(step: int) -> None:
        ckpt = args.checkpoint
        ckpt.mkdir(parents=True, exist_ok=True)
        for f in tok_dir.iterdir():
            shutil.copy2(f, ckpt / f.name)
        model.save_pretrained(ckpt)
        torch.save(opt.state_dict(), ckpt / "optimizer.pt")
        (ckpt / "step.json").write_text(json.dumps({"step": step}), encoding="utf-8")

    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=args.label_smoothing)
    rng = random.Random(args.seed)
    out = Path(args.out)
    best = (-1.0, 0)
    best_dir = work / "best"
    step, seen, stop = 0, 0, False
    history: list[dict[str, float]] = []
    for epoch in range(args.epochs):
        for batch in batches(src_ids, tgt_ids, args.batch_tokens, rng):
            step += 1
            if step <= args.skip_steps:
                seen += len(batch)
                continue
            model.train()
            s_len = max(len(src_ids[i]) for i in batch)
            t_len = max(len(tgt_ids[i]) for i in batch)
            inp = torch.full((len(batch), s_len), pad_id, dtype=torch.long)
            lab = torch.full((len(batch), t_len), -100, dtype=torch.long)
            dec = torch.full((len(batch), t_len), pad_id, dtype=torch.long)
            for r, i in enumerate(batch):
                s, t = src_ids[i], tgt_ids[i]
                inp[r, : len(s)] = torch.tensor(s)
                lab[r, : len(t)] = torch.tensor(t)
                dec[r, 1 : len(t)] = torch.tensor(t[:-1])
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            logits = model(
                input_ids=inp, attention_mask=inp.ne(pad_id), decoder_input_ids=dec
            ).logits
            loss = loss_fn(logits.view(-1, logits.size(-1)), lab.view(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            zero_pad()
            seen += len(batch)
            if step % 50 == 0:
                log(f"epoch {epoch} step {step} seen {seen} loss {loss.item():.3f}")
            out_of_time = (
                (time.time() - t0) / 60 > args.max_minutes
                or (args.decay_steps > 0 and step >= args.skip_steps + args.decay_steps)
                or (args.max_steps > 0 and step >= args.max_steps)
            )
            if step % args.eval_every == 0 or out_of_time:
                model.eval()
                ct2_dir = work / "ct2"
                convert(model, tok_dir, spm_bytes, ct2_dir)
                if args.checkpoint:
                    save_checkpoint(step)
                em = exact_match(ct2_dir, sp, held)
                minutes = round((time.time() - t0) / 60, 1)
                history.append({"step": step, "minutes": minutes, "exact": em})
                log(f"eval step {step}: exact match {em:.3f} on {len(held)} held-out pairs")
                if em > best[0]:
                    best = (em, step)
                    shutil.rmtree(best_dir, ignore_errors=True)
                    shutil.copytree(ct2_dir, best_dir)
                if em >= args.target_exact or out_of_time:
                    stop = True
                    break
        if stop:
            break
    minutes = (time.time() - t0) / 60
    out.mkdir(parents=True, exist_ok=True)
    for f in best_dir.iterdir():
        shutil.copy2(f, out / f.name)
    meta = {
        "name": "synth-en-qsy",
        "family": "marian",
        "source_langs": ["en"],
        "target_langs": [LANG_CODE],
        "max_input_tokens": 128,
        "version": version,
        "tokenizer": {"source": "source.spm", "target": "target.spm"},
        "source_suffix": [EOS],
        "training": {
            "command": " ".join(["python -m curate.synth.train", *(argv or sys.argv[1:])]),
            "options": options,
            "parameters": n_params,
            "init_from": str(args.init_from) if args.init_from else None,
            "skip_steps": args.skip_steps,
            "best_step": best[1],
            "held_out_exact_match": best[0],
            "minutes": round(minutes, 1),
            "history": history,
        },
    }
    (out / "curate_model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    log(f"done: best exact match {best[0]:.3f} at step {best[1]}, wrote {out}")


if __name__ == "__main__":
    main()
