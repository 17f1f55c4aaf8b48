"""Embeds long captions and a few images with a CLIP model folder, and matches them.

    python examples/python/encode.py [MODEL_FOLDER]      (default: fixtures/folders/hf_ts)

The fixture folders hold tiny models with random weights, so their scores mean nothing; the calls
are the point. Give a real export (e.g. an optimum or immich CLIP folder) to see real matches.
"""

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
# Run from a checkout, use its binding (which loads the checkout's .build/release/libgoal.so)
# rather than an installed copy that may be older. Outside a checkout this changes nothing.
sys.path.insert(0, str(REPO / "bindings" / "python"))
import goal  # noqa: E402  (after the path is set)

# Long, detailed captions: the kind a 77-token context cuts short.
CAPTIONS = [
    "An astronaut in a white suit with an American flag patch stands in front of a rocket model. "
    "She holds her helmet under one arm and smiles at the camera. Behind her, a pale blue wall and "
    "a few pieces of equipment are slightly out of focus, and the light comes from the left. "
    "Her hair is short and dark, the suit has zippers and pockets on the chest and sleeves, and a "
    "name tag is sewn above the patch. The photograph looks like an official portrait.",
    "A cup of black coffee on a saucer, seen from above, on a wooden table. A small spoon rests "
    "on the saucer next to the cup, and the surface of the coffee reflects a bright window.",
    "A black and white photograph of a man with a camera on a tripod, standing on a lawn. He wears "
    "a dark coat and looks into the viewfinder; buildings fill the horizon behind him.",
    "A tabby cat with green eyes looks straight at the camera. Its striped fur is brown, grey and "
    "black, its whiskers are white, and the background is a plain, warm, blurred surface.",
]
IMAGES = ["astronaut_wide.jpg", "coffee_tall_444.jpg", "camera_gray.png", "chelsea_422.jpg",
          "rocket_progressive.jpg"]


def main(argv: list) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else REPO / "fixtures" / "folders" / "hf_ts"
    images = [REPO / "fixtures" / "images" / name for name in IMAGES]

    # long_text="sentences": a caption longer than the context is split into sentences, each is
    # encoded, and their embeddings are averaged -- nothing past the 77th token is thrown away.
    with goal.Model(folder, long_text="sentences") as model:
        info = model.info
        print(f"{folder}: dim {info.dim}, context {info.context_length} tokens, "
              f"{info.image_size} px images, convention {info.convention}")
        for i, caption in enumerate(CAPTIONS):
            tokens = len(model.tokenize(caption, truncate=False))
            note = "fits" if tokens <= info.context_length else "split into sentences"
            print(f"  caption {i}: {tokens} tokens with start and end ({note})")

        # One row per input, float32, each row of unit length.
        text = model.encode_text(CAPTIONS)
        image = model.encode_image(images)  # paths; encoded bytes or uint8 arrays work too
        print(f"\ntext embeddings {text.shape}, image embeddings {image.shape}")

        # Rows are L2-normalised, so a dot product is the cosine similarity.
        similarity = text @ image.T
        print_matrix(similarity, IMAGES)

        for i, row in enumerate(similarity):
            best = int(np.argmax(row))
            print(f"caption {i} -> {IMAGES[best]} ({row[best]:+.3f})")

        # Token-level embeddings: one row per text token (start and end included), one per image
        # patch. These are what local matching (LISM) works on.
        tokens = model.text_tokens(CAPTIONS[0])
        print(f"\ntext_tokens(caption 0): ids {tokens.ids.shape}, embeddings {tokens.embeddings.shape}")
        for token_id, (start, end) in list(zip(tokens.ids, tokens.spans))[:4]:
            print(f"  token {int(token_id):>5} covers {CAPTIONS[0][start:end]!r}")
        patches = model.image_tokens(images[0])
        print(f"image_tokens({IMAGES[0]}): grid {patches.grid}, embeddings {patches.embeddings.shape}")
    return 0


def print_matrix(similarity: np.ndarray, columns: list) -> None:
    names = [Path(name).stem[:12] for name in columns]
    print("\ncosine      " + " ".join(f"{name:>12}" for name in names))
    for i, row in enumerate(similarity):
        print(f"caption {i:<3} " + " ".join(f"{value:>+12.3f}" for value in row))
    print()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except goal.GoalError as error:
        # Every library failure is a GoalError subclass (ModelNotFoundError, ReadError, ...)
        # carrying the library's own message.
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
