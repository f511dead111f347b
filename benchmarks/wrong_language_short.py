"""How short a text langid can judge: false wrong-language flags on short human fragments.

``wrong_language`` flags a translation when langid.py's best language is not the target with
probability >= 0.9. On short texts (questions, titles, names) langid is often confidently wrong
(a German question full of names comes out English at 0.99), so texts with fewer than
``min_letters`` letters are left unjudged ("too short to judge"). This script measures, per
length band, how often correct human text would be flagged: fragments are the first 1..N words
of NTREX-128 human translations (each fragment is in the right language by construction).

The minimum is chosen on the tuning languages (de, es, fr, ro): the smallest length from which
every longer band's false-flag rate is at most ``--max-rate``. The rate above that minimum is then
reported on held-out languages that no choice looked at (English source, Vietnamese, Ukrainian,
Greek by default).

Usage: python benchmarks/wrong_language_short.py [--data ../shared/data] [--max-rate 0.01]
The last line is ``false_flag_rate_heldout <rate at and above the chosen minimum>``.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import regex

from curate.text.langid import detect_batch

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = {
    "de": "newstest2019-ref.deu.txt",
    "es": "newstest2019-ref.spa.txt",
    "fr": "newstest2019-ref.fra.txt",
    "ro": "newstest2019-ref.ron.txt",
    "en": "newstest2019-src.eng.txt",
    "vi": "newstest2019-ref.vie.txt",
    "uk": "newstest2019-ref.ukr.txt",
    "el": "newstest2019-ref.ell.txt",
}
BANDS = [0, 10, 15, 20, 25, 30, 35, 40, 50, 60, 80, 120, 10_000]
THRESHOLD = 0.9  # the detector's default
LETTER = regex.compile(r"\p{L}")


def fragments(path: Path, max_words: int, every: int) -> list[str]:
    """The first 1..max_words words of every ``every``-th line (plus the whole line)."""
    out = []
    lines = path.read_text(encoding="utf-8").splitlines()[::every]
    for line in lines:
        words = line.split()
        out += [" ".join(words[:k]) for k in range(1, min(max_words, len(words)) + 1)]
        out.append(line)
    return out


def flags(texts: list[str], lang: str) -> tuple[np.ndarray, np.ndarray]:
    """(letters, falsely flagged) per text."""
    found = detect_batch(texts)
    letters = np.array([len(LETTER.findall(t)) for t in texts])
    flagged = np.array([code != lang and prob >= THRESHOLD for code, prob in found])
    return letters, flagged


def band_table(letters: np.ndarray, flagged: np.ndarray) -> list[tuple[int, int, int, int]]:
    rows = []
    for lo, hi in itertools.pairwise(BANDS):
        inside = (letters >= lo) & (letters < hi)
        rows.append((lo, hi, int(inside.sum()), int(flagged[inside].sum())))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--tune", default="de,es,fr,ro")
    parser.add_argument("--heldout", default="en,vi,uk,el")
    parser.add_argument("--max-rate", type=float, default=0.01)
    parser.add_argument("--max-words", type=int, default=12)
    parser.add_argument("--every", type=int, default=4, help="use every n-th NTREX line")
    args = parser.parse_args()
    ntrex = args.data / "ntrex128"

    def measure(langs: str) -> tuple[np.ndarray, np.ndarray]:
        all_letters, all_flags = [], []
        for lang in langs.split(","):
            letters, flagged = flags(
                fragments(ntrex / FILES[lang], args.max_words, args.every), lang
            )
            print(f"{lang}: {len(letters)} fragments")
            for lo, hi, n, f in band_table(letters, flagged):
                if n:
                    print(f"  letters [{lo:>3}, {hi:>5}): {n:5d} fragments, {f / n:6.3f} flagged")
            all_letters.append(letters)
            all_flags.append(flagged)
        return np.concatenate(all_letters), np.concatenate(all_flags)

    letters, flagged = measure(args.tune)
    table = band_table(letters, flagged)
    chosen = BANDS[-2]
    for k in range(len(table)):
        if all(n == 0 or f / n <= args.max_rate for _, _, n, f in table[k:]):
            chosen = table[k][0]
            break
    tune_rate = flagged[letters >= chosen].mean()
    below = flagged[(letters >= 20) & (letters < chosen)].mean() if chosen > 20 else 0.0
    print(
        f"\nchosen on {args.tune}: min_letters {chosen} (false flags at >= {chosen}: "
        f"{tune_rate:.4f}; between the old 20 and {chosen}: {below:.4f})"
    )
    held_letters, held_flags = measure(args.heldout)
    held = held_flags[held_letters >= chosen].mean()
    held_old = held_flags[held_letters >= 20].mean()
    print(
        f"held out ({args.heldout}): false flags at >= {chosen} letters {held:.4f} "
        f"(with the old minimum of 20: {held_old:.4f}; tuned languages {tune_rate:.4f})"
    )
    print(f"false_flag_rate_heldout {held:.4f}")


if __name__ == "__main__":
    main()
