"""PyTorch side of benchmarks/gpu-check.sh, on the same card as the Java figures.

- attention: torch's scaled_dot_product_attention, causal, bf16, [1, heads, T, D] (the kernel our prefill
  attention is compared with);
- generation: HF transformers' Chameleon with random weights of the shape GpuCheck wrote to config.json, one
  1024-token image with 2-stream classifier-free guidance (cond and uncond prompts in one left-padded batch, KV
  cache, u + s·(c − u) over image tokens, temperature 1, top-p 0.9), timed end to end like GpuCheck's.

Prints "RESULT name value" lines. Each part reports itself skipped (and why) instead of failing the others.
"""
import argparse
import sys
import time
import traceback


def result(name, value):
    print(f"RESULT {name} {value:.4f}", flush=True)


def sdpa(tokens, heads, head_dim, runs=10):
    import torch
    import torch.nn.functional as F

    q, k, v = (torch.randn(1, heads, tokens, head_dim, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    for _ in range(3):
        F.scaled_dot_product_attention(q, k, v, is_causal=True)
    best = float("inf")
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        F.scaled_dot_product_attention(q, k, v, is_causal=True)
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end))
    flops = 2.0 * tokens * tokens * head_dim * heads  # causal half of 4·T²·D·H, as GpuCheck counts
    result(f"sdpa_{tokens}_ms", best)
    result(f"sdpa_{tokens}_tflops", flops / (best / 1e3) / 1e12)


def top_p_sample(logits, top_p, generator):
    import torch

    probs = torch.softmax(logits, dim=-1)
    sorted_probs, order = torch.sort(probs, descending=True, dim=-1)
    cumulative = sorted_probs.cumsum(dim=-1)
    sorted_probs[(cumulative - sorted_probs) >= top_p] = 0.0  # keep the smallest top set reaching top_p
    choice = torch.multinomial(sorted_probs, 1, generator=generator)
    return order.gather(-1, choice)


def generate(config_path, image_tokens, scale, prompt_tokens=32):
    import torch
    from transformers import ChameleonConfig, ChameleonForConditionalGeneration

    config = ChameleonConfig.from_json_file(config_path)
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    t0 = time.time()
    with torch.device("cuda"):
        model = ChameleonForConditionalGeneration(config)
    model.eval()
    torch.set_default_dtype(torch.float32)
    print(f"HF model built in {time.time() - t0:.1f} s ({sum(p.numel() for p in model.parameters()) / 1e9:.2f} B parameters)", flush=True)

    vocab = config.vocab_size
    image_ids = torch.tensor(sorted(i for name, i in config.vocabulary_map.items() if name.startswith("IMGIMG")), device="cuda")
    not_image = torch.full((vocab,), float("-inf"), device="cuda")
    not_image[image_ids] = 0.0
    boi = config.vocabulary_map["<racm3:break>"]
    gen = torch.Generator(device="cuda").manual_seed(99)
    cond = torch.randint(8800, 58800, (prompt_tokens,), device="cuda")
    cond[0], cond[-1] = 0, boi
    uncond = torch.tensor([0, boi], device="cuda")
    pad = config.pad_token_id
    ids = torch.full((2, prompt_tokens), pad, device="cuda", dtype=torch.long)
    ids[0] = cond
    ids[1, -2:] = uncond
    mask = torch.zeros((2, prompt_tokens), device="cuda", dtype=torch.long)
    mask[0] = 1
    mask[1, -2:] = 1

    def run(n):
        nonlocal mask
        m = mask.clone()
        with torch.inference_mode():
            out = model.model(input_ids=ids, attention_mask=m, use_cache=True)
            past = out.past_key_values
            tokens = []
            for step in range(n):
                logits = model.lm_head(out.last_hidden_state[:, -1]).float()
                mixed = logits[1] + scale * (logits[0] - logits[1]) + not_image
                token = top_p_sample(mixed.unsqueeze(0), 0.9, gen)  # [1, 1]
                tokens.append(token)
                if step + 1 == n:
                    break
                m = torch.cat([m, torch.ones((2, 1), device="cuda", dtype=m.dtype)], dim=1)
                out = model.model(input_ids=token.expand(2, 1), attention_mask=m, past_key_values=past, use_cache=True)
                past = out.past_key_values
            torch.cuda.synchronize()
            return torch.cat(tokens)

    run(8)  # warm-up: kernels, allocator
    t0 = time.time()
    run(image_tokens)
    seconds = time.time() - t0
    result(f"hf_generate_{image_tokens}_cfg_s", seconds)
    result(f"hf_generate_{image_tokens}_cfg_tokens_per_s", image_tokens / seconds)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True, help="config.json written by GpuCheck --hf-config")
    parser.add_argument("--tokens", type=int, default=4096)
    parser.add_argument("--image-tokens", type=int, default=1024)
    parser.add_argument("--scale", type=float, default=3.0)
    args = parser.parse_args()
    try:
        import torch
        print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
    except Exception as e:  # noqa: BLE001
        print(f"SKIPPED pytorch: {e}")
        return 1
    status = 0
    for name, part in (("sdpa", lambda: sdpa(args.tokens, 32, 128)),
                       ("hf_generate", lambda: generate(args.config, args.image_tokens, args.scale))):
        try:
            part()
        except Exception:  # noqa: BLE001
            print(f"SKIPPED {name}:\n{traceback.format_exc()}", flush=True)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
