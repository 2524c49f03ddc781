"""Write the demo model folder (HF Chameleon layout + VQ-GAN decoder + tiny CLIP + memory bank).

    python3 export.py --vq runs/vq.pt --lm runs/lm.pt --clip runs/clip.pt --eval runs/eval.json \
        --out ../demo-model
"""
import argparse, io, json, os, shutil, struct

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import torch
from PIL import Image

import world
import texttok
from texttok import BOS, EOS, PAD, BOI, EOI, SEP, IMAGE, SENT0, SENT_END, IMG0
from lm import ChameleonLM
from vqgan import VQModel, preprocess, postprocess
from clip import ClipTokenizer, clip_words, MEAN, STD
from train_lm import load_checkpoint
import train_lm

TOK = train_lm.TOK

DEFAULTS = {"cfg_scale": 2.0, "temperature": 1.0, "top_p": 0.9, "clip_rerank_samples": 8, "caption_decoding": "greedy",
            "note": "CFG 1.5-2 beats no guidance (3 and more hurt); re-ranking samples by the CLIP score raises it further; "
                    "for names only the memory bank shows (held-out stickers) and for captions never trained on, retrieve "
                    "(this bank keeps near-copies, memory/retrieval.json) and re-rank 16 to 64 samples; see evaluation"}


# ---------------------------------------------------------------- safetensors
def write_safetensors(path, tensors, bf16=()):
    """tensors: name -> torch tensor.  Names in `bf16` are stored as BF16 (round to nearest even), others as F32."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        if name in bf16:
            raw = t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
            dt = "BF16"
        else:
            raw = t.float().numpy().astype("<f4").tobytes()
            dt = "F32"
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        raw = b[8 + n + s:8 + n + e]
        if v["dtype"] == "BF16":
            a = np.frombuffer(raw, dtype="<i2").astype(np.int32) << 16
            t = torch.from_numpy(a.astype(np.int32).view(np.float32).copy())
        else:
            t = torch.from_numpy(np.frombuffer(raw, dtype="<f4").copy())
        out[k] = t.reshape(v["shape"])
    return out


def png_bytes(u8):
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def dumpj(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


# ---------------------------------------------------------------- main folder
def export_main(out, vq_ck, lm_ck, eval_res):
    lm_sd, vq_sd = lm_ck["state_dict"], vq_ck["state_dict"]
    c, vc = lm_ck["config"], vq_ck["config"]
    tensors = dict(lm_sd)
    bf16 = set(lm_sd)
    for k, v in vq_sd.items():
        tensors["model.vqmodel." + k] = v
    write_safetensors(os.path.join(out, "model.safetensors"), tensors, bf16=bf16)
    cfg = {
        "architectures": ["ChameleonForConditionalGeneration"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": BOS,
        "eos_token_id": EOS,
        "pad_token_id": PAD,
        "hidden_act": "silu",
        "hidden_size": c["hidden_size"],
        "image_token_id": IMAGE,
        "initializer_range": 0.02,
        "intermediate_size": c["intermediate_size"],
        "max_position_embeddings": c["max_position_embeddings"],
        "mlp_bias": False,
        "model_parallel_size": 1,
        "model_type": "chameleon",
        "num_attention_heads": c["num_attention_heads"],
        "num_hidden_layers": c["num_hidden_layers"],
        "num_key_value_heads": c["num_key_value_heads"],
        "rms_norm_eps": c["rms_norm_eps"],
        "rope_scaling": None,
        "rope_theta": c["rope_theta"],
        "swin_norm": False,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": c["vocab_size"],
        "vocabulary_map": dict(sorted(TOK.vocab.items(), key=lambda kv: kv[1])),
        "vq_config": dict(vc),
    }
    dumpj(cfg, os.path.join(out, "config.json"))
    dumpj({"bos_token_id": BOS, "eos_token_id": EOS, "pad_token_id": PAD}, os.path.join(out, "generation_config.json"))
    dumpj({
        "crop_size": {"height": 32, "width": 32}, "do_center_crop": True, "do_convert_rgb": True,
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [1.0, 1.0, 1.0],
        "image_processor_type": "ChameleonImageProcessor", "image_std": [1.0, 1.0, 1.0], "resample": 1,
        "rescale_factor": 0.0078, "size": {"shortest_edge": 32},
    }, os.path.join(out, "preprocessor_config.json"))
    dumpj(TOK.to_json(), os.path.join(out, "tokenizer.json"))
    dumpj({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
        "unk_token": "<unk>", "model_max_length": c["max_position_embeddings"], "clean_up_tokenization_spaces": False,
    }, os.path.join(out, "tokenizer_config.json"))
    demo = {
        "description": "A tiny CM3Leon-style model of a synthetic 32x32 shapes world (see examples/train).",
        "special_tokens": {"bos": "<s>", "eos": "</s>", "pad": "<pad>", "boi": "<racm3:break>", "eoi": "<eoss>",
                           "image": "<image>", "sep": "<reserved08706>", "mask": "<sentinel:0>",
                           "mask_end": "<sentinel:end>"},
        "image_tokens": {"grid": [8, 8], "count": 64, "first_id": IMG0, "codebook": 256,
                         "name": "IMGIMG + decimal digits of the code mapped 0->A .. 9->J + Z"},
        "tasks": {
            "text_to_image": "<s> T(caption) <racm3:break> 64 image tokens <eoss> </s>",
            "unconditional (CFG)": "<s> <racm3:break> ...",
            "image_to_text": "<s> <racm3:break> 64 image tokens <eoss> T(caption) </s>",
            "retrieval_augmented": "<s> T(c1) IMG1 <reserved08706> [T(c2) IMG2 <reserved08706>] T(caption) IMG </s>",
            "vqa": "<s> IMG T(question) <reserved08706> T(answer) </s>",
            "edit": "<s> IMG T(instruction) <reserved08706> IMG' </s>",
            "infill": "<s> ... <sentinel:0> ... <sentinel:0> span <sentinel:end> </s>",
            "vqa_questions": list(world.VQA.values()),
            "edit_instructions": ["make it {colour}", "make it a {shape}", "move it to the {left|right|top|bottom}",
                                  "make it {large|small}"],
        },
        "decoding_defaults": DEFAULTS,
        "world": {
            "size": 32, "background": [255, 255, 255],
            "shapes": world.SHAPES, "colours": {k: list(v) for k, v in world.COLOURS.items()},
            "rows": world.ROWS, "columns": world.COLS,
            "centre": "6.5 + 9.5 * index (+ uniform jitter in [-0.5, 0.5]) pixels",
            "sizes": {k: list(v) for k, v in world.RADIUS.items()},
            "masks": {"u,v": "u = (x + 0.5 - cx) / r, v = (y + 0.5 - cy) / r",
                      "circle": "u^2 + v^2 <= 1", "square": "|u| <= 0.9 and |v| <= 0.9",
                      "triangle": "-1 <= v <= 0.9 and |u| <= (v + 1) / 1.7",
                      "cross": "(|u| <= 0.4 and |v| <= 1) or (|v| <= 0.4 and |u| <= 1)"},
            "caption": "a {size} {colour} {shape} at the {row} {column}  |  a {size} {sticker} at the {row} {column}",
            "stickers": {k: list(v) for k, v in world.STICKERS.items()},
            "stickers_seen_in_training": world.SEEN_STICKERS,
            "stickers_held_out": world.HELDOUT_STICKERS,
        },
        "evaluation": eval_res,
    }
    dumpj(demo, os.path.join(out, "demo.json"))


# ---------------------------------------------------------------- memory bank
def export_memory(out):
    d = os.path.join(out, "memory")
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(os.path.join(d, "images"))
    docs = world.memory_scenes()
    with open(os.path.join(d, "documents.jsonl"), "w") as f:
        for did, sc in docs:
            open(os.path.join(d, "images", did + ".png"), "wb").write(png_bytes(sc.render()))
            f.write(json.dumps({"id": did, "caption": sc.caption(), "image": f"images/{did}.png"}) + "\n")
    # prompts repeat these captions word for word: the near-copy rule would drop the very document that matches
    dumpj({"keep_near_copies": True}, os.path.join(d, "retrieval.json"))
    return docs


# ---------------------------------------------------------------- CLIP folder
def export_clip(out, clip_ck):
    d = os.path.join(out, "clip")
    os.makedirs(d, exist_ok=True)
    tok = ClipTokenizer(clip_words())
    cfg = dict(clip_ck["config"])
    cfg["transformers_version"] = "4.47.0.dev0"
    write_safetensors(os.path.join(d, "model.safetensors"), clip_ck["state_dict"])
    dumpj(cfg, os.path.join(d, "config.json"))
    dumpj(tok.vocab, os.path.join(d, "vocab.json"))
    with open(os.path.join(d, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n")
        for a, b in tok.merges:
            f.write(f"{a} {b}\n")
    dumpj({
        "crop_size": {"height": 32, "width": 32}, "do_center_crop": True, "do_convert_rgb": True,
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": MEAN,
        "image_processor_type": "CLIPImageProcessor", "image_std": STD, "resample": 3,
        "rescale_factor": 1 / 255, "size": {"shortest_edge": 32},
    }, os.path.join(d, "preprocessor_config.json"))
    sp = {"content": None, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    dumpj({
        "added_tokens_decoder": {str(tok.bos): dict(sp, content="<|startoftext|>", special=True),
                                 str(tok.eos): dict(sp, content="<|endoftext|>", special=True)},
        "bos_token": "<|startoftext|>", "clean_up_tokenization_spaces": False, "eos_token": "<|endoftext|>",
        "errors": "replace", "model_max_length": cfg["text_config"]["max_position_embeddings"],
        "pad_token": "<|endoftext|>", "tokenizer_class": "CLIPTokenizer", "unk_token": "<|endoftext|>",
    }, os.path.join(d, "tokenizer_config.json"))
    dumpj({"bos_token": dict(sp, content="<|startoftext|>"), "eos_token": dict(sp, content="<|endoftext|>"),
           "pad_token": "<|endoftext|>", "unk_token": dict(sp, content="<|endoftext|>")},
          os.path.join(d, "special_tokens_map.json"))


# ---------------------------------------------------------------- reference values for the Java engine
def export_reference(out, memory_docs):
    """Reload the written checkpoint (bf16 LM weights) and compute float32 reference outputs."""
    cfg = json.load(open(os.path.join(out, "config.json")))
    st = read_safetensors(os.path.join(out, "model.safetensors"))
    lm_c = {k: cfg[k] for k in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                                "num_key_value_heads", "rms_norm_eps", "rope_theta", "max_position_embeddings",
                                "vocab_size")}
    lm = ChameleonLM(lm_c)
    lm.load_state_dict({k: v for k, v in st.items() if not k.startswith("model.vqmodel.")})
    lm.eval()
    vq = VQModel(cfg["vq_config"])
    vq.load_state_dict({k[len("model.vqmodel."):]: v for k, v in st.items() if k.startswith("model.vqmodel.")})
    vq.eval()
    torch.set_grad_enabled(False)

    scene = world.Scene("triangle", "blue", "middle", "right", "large", 0.25, -0.25, 5.6)
    u8 = scene.render()
    open(os.path.join(out, "reference_image.png"), "wb").write(png_bytes(u8))
    codes = vq.encode(preprocess(u8[None]))[0].reshape(-1)
    img = [BOI] + [IMG0 + int(c) for c in codes] + [EOI]
    sticker_doc = next(sc for did, sc in memory_docs if did == "sticker-modi-0")
    sticker_codes = vq.encode(preprocess(sticker_doc.render()[None]))[0].reshape(-1)
    prompts = {
        "text_to_image": [BOS] + TOK.encode("a large red circle at the top left") + [BOI],
        "image_to_text": [BOS] + img,
        "retrieval_text_to_image": [BOS] + TOK.encode(sticker_doc.caption()) + [BOI] + [IMG0 + int(c) for c in sticker_codes]
                         + [EOI, SEP] + TOK.encode("a small modi at the bottom left") + [BOI],
    }
    ref = {"note": "float32 forward on the bf16 weights of model.safetensors (VQ in float32); raw lm_head logits "
                   "of the last position (no image-token suppression).", "prompts": {}}
    for name, ids in prompts.items():
        lg = lm(torch.tensor([ids]))[0, -1]
        img_lg = lg[IMG0:IMG0 + 256]
        ref["prompts"][name] = {"input_ids": ids, "logits_first16": [float(x) for x in lg[:16]],
                                "argmax": int(lg.argmax()), "image_token_argmax": IMG0 + int(img_lg.argmax()),
                                "max_logit": float(lg.max()),
                                "top2_margin": float(lg.topk(2).values[0] - lg.topk(2).values[1])}
    # greedy 64 image tokens (argmax over image-token ids), no CFG, full recompute each step
    seq = list(prompts["text_to_image"])
    margins = []
    for _ in range(64):
        lg = lm(torch.tensor([seq]))[0, -1, IMG0:IMG0 + 256]
        top = lg.topk(2).values
        margins.append(float(top[0] - top[1]))
        seq.append(IMG0 + int(lg.argmax()))
    gen_codes = torch.tensor([t - IMG0 for t in seq[-64:]])
    dec = postprocess(vq.decode_codes(gen_codes.reshape(1, 8, 8)))[0]
    open(os.path.join(out, "reference_greedy.png"), "wb").write(png_bytes(dec))
    ref["greedy_text_to_image"] = {"caption": "a large red circle at the top left",
                                   "prompt_ids": prompts["text_to_image"], "output_ids": seq[-64:],
                                   "codes": gen_codes.tolist(), "min_top2_margin": min(margins),
                                   "decoded_png": "reference_greedy.png",
                                   "decoded_u8_sum": int(dec.astype(np.int64).sum()),
                                   "detected": world.detect(dec)}
    ref["vq_encode"] = {"image": "reference_image.png", "scene": {k: getattr(scene, k) for k in scene.__slots__},
                        "pixel_rule": "float32(u8 * 0.0078) - 1", "codes_rowmajor": codes.tolist(),
                        "bpe_ids": [IMG0 + int(c) for c in codes]}
    dec2 = postprocess(vq.decode_codes(codes.reshape(1, 8, 8)))[0]
    ref["vq_encode"]["decoded_u8_sum"] = int(dec2.astype(np.int64).sum())
    ref["vq_encode"]["decoded_u8_first16"] = dec2.reshape(-1)[:16].tolist()
    dumpj(ref, os.path.join(out, "reference.json"))
    return ref


def verify_tokenizer(out):
    """Re-read tokenizer.json and encode with an independent BPE over its own vocab/merges."""
    tj = json.load(open(os.path.join(out, "tokenizer.json")))
    vocab = tj["model"]["vocab"]
    ranks = {tuple(m.split(" ")): i for i, m in enumerate(tj["model"]["merges"])}
    b2u = texttok.bytes_to_unicode()

    def enc(text):
        ids = []
        for piece in texttok._PAT.findall(text):
            sym = [b2u[b] for b in piece.encode()]
            while True:
                pairs = [(ranks.get((sym[i], sym[i + 1]), 1 << 30), i) for i in range(len(sym) - 1)]
                if not pairs or min(pairs)[0] == 1 << 30:
                    break
                _, i = min(pairs)
                sym = sym[:i] + [sym[i] + sym[i + 1]] + sym[i + 2:]
            ids += [vocab[s] for s in sym]
        return ids

    for w in texttok.words():
        assert "Ġ" + w in vocab and w in vocab, w
        assert len(enc(w)) == 1 and len(enc(" " + w)) == 1, w
    rng = np.random.default_rng(0)
    texts = [world.random_scene(rng).caption() for _ in range(50)] + list(world.VQA.values()) + \
        ["make it a square", "move it to the left", "a large modi at the top left", "Hello, world! 123"]
    for t in texts:
        assert enc(t) == TOK.encode(t), t
    specials = {a["content"]: a["id"] for a in tj["added_tokens"]}
    assert all(vocab[k] == v for k, v in specials.items())
    assert sorted(vocab.values()) == list(range(len(vocab)))
    return len(texts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vq", default="runs/vq.pt")
    ap.add_argument("--lm", default="runs/lm.pt")
    ap.add_argument("--clip", default="runs/clip.pt")
    ap.add_argument("--eval", default="runs/eval.json")
    ap.add_argument("--out", default="../demo-model")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    vq_ck, lm_ck = load_checkpoint(args.vq), load_checkpoint(args.lm)
    ev = json.load(open(args.eval)) if os.path.exists(args.eval) else {"quick_eval_100_prompts": lm_ck.get("eval")}
    export_main(args.out, vq_ck, lm_ck, ev)
    docs = export_memory(args.out)
    export_clip(args.out, load_checkpoint(args.clip))
    print("tokenizer verified on", verify_tokenizer(args.out), "strings")
    ref = export_reference(args.out, docs)
    print(json.dumps(ref["greedy_text_to_image"]["detected"]), ref["greedy_text_to_image"]["min_top2_margin"])
    tot = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(args.out) for f in fs)
    print(f"folder {tot / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
