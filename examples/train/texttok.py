"""The demo's Chameleon-style byte-level BPE tokenizer (HF ``tokenizers`` JSON format) and a reference encoder.

Ids: 0 <s>, 1 <pad>, 2 </s>, 3 <unk>, 4..259 image tokens IMGIMG..Z for codebook 0..255, then
<eoss> (end of image), <racm3:break> (begin of image), <image>, <reserved08706> (separator),
<sentinel:0..3>, <sentinel:end>, then the 256 byte tokens (GPT-2 byte-to-unicode alphabet), then one
token per merge.  The merges make every word of the demo's language a single token, both with its
leading-space form (``Ġword``) and without.
"""
import json
import re

import world

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
BOS, PAD, EOS, UNK = 0, 1, 2, 3
IMG0 = 4
N_IMG = 256
EXTRA = ["<eoss>", "<racm3:break>", "<image>", "<reserved08706>",
         "<sentinel:0>", "<sentinel:1>", "<sentinel:2>", "<sentinel:3>", "<sentinel:end>"]
EOI, BOI, IMAGE, SEP = 260, 261, 262, 263
SENT0, SENT_END = 264, 268
FIRST_BYTE = 269


def image_token_name(i):
    return "IMGIMG" + "".join(chr(ord("A") + int(d)) for d in str(i)) + "Z"


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def words():
    ws = ["a", "at", "the"] + world.SIZES + world.COLOUR_NAMES + world.SHAPES + world.ROWS + world.COLS
    ws += world.STICKER_NAMES + world.ANON_NAMES
    for q in world.VQA.values():
        ws += re.findall(r"[a-z]+", q)
    ws += ["make", "it", "move", "to"]
    out = []
    for w in ws:
        if w not in out:
            out.append(w)
    return out


# GPT-2 pre-tokenisation, restricted to what this demo's ASCII text needs (letters, digits, punctuation, spaces).
_PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+""")


def _bpe_word(symbols, ranks):
    symbols = list(symbols)
    while len(symbols) > 1:
        best, bi = None, -1
        for i in range(len(symbols) - 1):
            r = ranks.get((symbols[i], symbols[i + 1]))
            if r is not None and (best is None or r < best):
                best, bi = r, i
        if best is None:
            break
        symbols = symbols[:bi] + [symbols[bi] + symbols[bi + 1]] + symbols[bi + 2:]
    return symbols


class Tokenizer:
    def __init__(self):
        self.ranks = {}
        merges = []
        targets = []
        for w in words():
            targets += [w, " " + w]
        targets = ["".join(B2U[b] for b in t.encode()) for t in targets]
        changed = True
        while changed:  # append merges until every target word is one token (earlier words stay intact)
            changed = False
            for t in targets:
                sym = _bpe_word(t, self.ranks)
                while len(sym) > 1:
                    pair = (sym[0], sym[1])
                    self.ranks[pair] = len(merges)
                    merges.append(pair)
                    sym = _bpe_word(t, self.ranks)
                    changed = True
        self.merges = merges
        vocab = {s: i for i, s in enumerate(SPECIALS)}
        for i in range(N_IMG):
            vocab[image_token_name(i)] = IMG0 + i
        for j, s in enumerate(EXTRA):
            vocab[s] = EOI + j
        for b in range(256):
            vocab[B2U[b]] = FIRST_BYTE + b
        for a, b in merges:
            if a + b not in vocab:
                vocab[a + b] = len(vocab)
        self.vocab = vocab
        self.inv = {i: s for s, i in vocab.items()}
        self.specials = SPECIALS + [image_token_name(i) for i in range(N_IMG)] + EXTRA
        for t in targets:
            assert len(_bpe_word(t, self.ranks)) == 1, t

    def __len__(self):
        return len(self.vocab)

    def encode(self, text):
        """Ids of ``text`` without specials (reference byte-level BPE)."""
        ids = []
        for piece in _PAT.findall(text):
            u = "".join(B2U[b] for b in piece.encode())
            ids += [self.vocab[s] for s in _bpe_word(u, self.ranks)]
        return ids

    def decode(self, ids):
        out = []
        for i in ids:
            s = self.inv[int(i)]
            if s in self.specials:
                continue
            out.append(bytes(U2B[c] for c in s).decode("utf-8", "replace") if all(c in U2B for c in s) else "")
        return "".join(out)

    def to_json(self):
        added = []
        for s in self.specials:
            added.append({"id": self.vocab[s], "content": s, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True})
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}},
            },
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {
                "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                "vocab": self.vocab, "merges": [f"{a} {b}" for a, b in self.merges],
            },
        }


if __name__ == "__main__":
    t = Tokenizer()
    print(len(t), "tokens,", len(t.merges), "merges")
    for s in ["a large red circle at the top left", "what colour is the shape?", "make it a square", "a small modi at the middle center"]:
        ids = t.encode(s)
        print(s, ids, repr(t.decode(ids)))
