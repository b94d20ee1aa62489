#!/usr/bin/env python3
"""Checks the layering of the source tree: a file of one layer includes only headers of its own
layer or of the layers below it, include/vae/<layer>/ and src/<layer>/ name the same layers, and
the LibTorch-free layers include no LibTorch header. Prints one line per violation; exit 1 if any.
Usage: check_layers.py [repository root]"""
import pathlib
import re
import sys

# Bottom to top, as CMakeLists.txt lists them.
LAYERS = ["base", "io", "logs", "config", "tensor", "data", "model", "train", "analysis", "cli"]
WITHOUT_TORCH = {"base", "io", "logs", "config"}
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)


def layer_of_header(name):
    parts = name.split("/")
    if len(parts) >= 3 and parts[0] == "vae":
        return parts[1]
    if len(parts) >= 2 and parts[0] in LAYERS:  # private headers: "io/scaled_decode.h", "cli/..."
        return parts[0]
    return None


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent)
    problems = []
    header_layers = {p.name for p in (root / "include" / "vae").iterdir() if p.is_dir()}
    source_layers = {p.name for p in (root / "src").iterdir() if p.is_dir()}
    for name in sorted(header_layers - set(LAYERS)):
        problems.append(f"include/vae/{name}: not a declared layer ({', '.join(LAYERS)})")
    for name in sorted(source_layers - set(LAYERS)):
        problems.append(f"src/{name}: not a declared layer ({', '.join(LAYERS)})")
    for loose in sorted((root / "include" / "vae").glob("*.h")):
        problems.append(f"{loose.relative_to(root)}: outside any layer folder")
    for loose in sorted((root / "src").glob("*.cpp")):
        problems.append(f"{loose.relative_to(root)}: outside any layer folder")
    files = list((root / "include" / "vae").rglob("*.h")) + list((root / "src").rglob("*.[ch]*"))
    for path in sorted(files):
        relative = path.relative_to(root)
        own = relative.parts[2] if relative.parts[0] == "include" else relative.parts[1]
        if own not in LAYERS:
            continue
        for included in INCLUDE.findall(path.read_text()):
            if own in WITHOUT_TORCH and re.match(r"(torch|ATen|c10)/", included):
                problems.append(f"{relative}: the {own} layer is LibTorch-free but includes <{included}>")
            other = layer_of_header(included)
            if other is None or other not in LAYERS:
                continue
            if LAYERS.index(other) > LAYERS.index(own):
                problems.append(f"{relative}: the {own} layer includes {included} of the higher {other} layer")
    for line in problems:
        print(line)
    if problems:
        return 1
    print(f"layers: {len(files)} files follow {' < '.join(LAYERS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
