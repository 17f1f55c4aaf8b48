"""Checks libgoal on full-size CLIP towers it has never seen, against PyTorch and onnxruntime.

Builds Hugging Face CLIP towers at their real sizes with random weights (ViT-B/32 and ViT-B/16
vision, the 77-token text tower and a 248-token one as in Long-CLIP/GOAL) and open_clip's
ViT-B-32 and RN50, exports each with torch's TorchScript and dynamo exporters into a scratch folder, and
prints, per export: the relative error (max |diff| / max |ref|) of every output against PyTorch,
and the median time per call of libgoal and onnxruntime at batch 1 with the same thread count.

Run by hand (not in CI; it needs torch, transformers, open_clip_torch, onnxscript, onnxruntime):

    python3 tools/check_full_size.py [--out /tmp/goal-full-size] [--threads 2] [--repeat 5]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bindings" / "python"))
import goal  # noqa: E402


def hf_vision(patch):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(patch_size=patch, projection_dim=512)  # ViT-B: 768 wide, 12 layers, 224 px
    return CLIPVisionModelWithProjection(config).eval()


def hf_text(positions):
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    config = CLIPTextConfig(max_position_embeddings=positions, projection_dim=512)
    return CLIPTextModelWithProjection(config).eval()


class OpenClipImage(torch.nn.Module):
    def __init__(self, architecture):
        super().__init__()
        import open_clip

        self.model = open_clip.create_model(architecture, pretrained=None).eval()

    def forward(self, *args):
        return self.model.encode_image(args[0])


class HFOutputs(torch.nn.Module):
    """The first two outputs of an HF tower as a plain tuple, for the exporters."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args):
        out = self.model(*args)
        return out[0], out[1]


def text_inputs(batch, positions):
    rng = np.random.default_rng(0)
    ids = np.full((batch, positions), 49407, dtype=np.int64)
    mask = np.zeros((batch, positions), dtype=np.int64)
    for row in range(batch):
        length = [12, 40, 120, 60][row % 4] if positions > 77 else [12, 40, 70, 25][row % 4]
        ids[row, 0] = 49406
        ids[row, 1:length - 1] = rng.integers(0, 49405, length - 2)
        mask[row, :length] = 1
    return {"input_ids": ids, "attention_mask": mask}


def export(module, example, names, outputs, path, dynamo):
    dynamic = {name: {0: "batch"} for name in names}
    if dynamo:
        batch = torch.export.Dim("batch", min=1, max=64)
        # The wrappers take *args, so the dynamic shapes are one tuple for that one parameter.
        shapes = (tuple({0: batch} for _ in names),)
        program = torch.onnx.export(module, example, dynamo=True, dynamic_shapes=shapes, input_names=names,
                                    output_names=outputs, external_data=True)
        program.save(str(path), external_data=True)
    else:
        torch.onnx.export(module, example, str(path), dynamo=False, input_names=names, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=17)


ONLY = None


def median_time(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def check(name, make_module, feeds, outputs, folder, threads, repeat):
    if ONLY and ONLY not in name:
        return
    # Each model from its own seed, so that a cached export always matches a rebuilt module.
    torch.manual_seed(0)
    module = make_module()
    names = list(feeds)
    example = tuple(torch.from_numpy(v) for v in feeds.values())
    with torch.no_grad():
        expected = [t.numpy() for t in (module(*example) if isinstance(module(*example), tuple) else (module(*example),))]
    for dynamo in (False, True):
        path = folder / f"{name}-{'dynamo' if dynamo else 'ts'}" / "model.onnx"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            export(module, example, names, outputs, path, dynamo)
        graph = goal.Graph(path, threads=threads)
        ours = graph.run(feeds)
        errors = []
        for key, want in zip(outputs, expected):
            got = ours[key].astype(np.float64)
            errors.append(f"{key} {np.abs(got - want).max() / np.abs(want).max():.1e}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        one = {k: v[:1] for k, v in feeds.items()}
        t_goal = median_time(lambda: graph.run(one), repeat)
        t_ort = median_time(lambda: session.run(None, one), repeat)
        graph.close()
        print(f"{path.parent.name:28} {'  '.join(errors):60} goal {t_goal * 1e3:7.1f} ms  ort {t_ort * 1e3:7.1f} ms"
              f"  ratio {t_ort / t_goal:4.2f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="/tmp/goal-full-size")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", help="run only the exports whose name contains this")
    args = parser.parse_args()
    global ONLY
    ONLY = args.only
    folder = Path(args.out)
    pixels = {"pixel_values": np.random.default_rng(1).random((2, 3, 224, 224), dtype=np.float32)}
    check("hf-vit-b32", lambda: HFOutputs(hf_vision(32)), pixels, ["image_embeds", "last_hidden_state"], folder,
          args.threads, args.repeat)
    check("hf-vit-b16", lambda: HFOutputs(hf_vision(16)), pixels, ["image_embeds", "last_hidden_state"], folder,
          args.threads, args.repeat)
    check("hf-text-77", lambda: HFOutputs(hf_text(77)), text_inputs(4, 77), ["text_embeds", "last_hidden_state"], folder,
          args.threads, args.repeat)
    check("hf-text-248", lambda: HFOutputs(hf_text(248)), text_inputs(4, 248), ["text_embeds", "last_hidden_state"], folder,
          args.threads, args.repeat)
    for architecture in ("ViT-B-32", "RN50", "MobileCLIP-S1"):
        check(f"openclip-{architecture.lower()}", lambda: OpenClipImage(architecture), {"image": pixels["pixel_values"]},
              ["image_features"], folder, args.threads, args.repeat)


if __name__ == "__main__":
    main()
