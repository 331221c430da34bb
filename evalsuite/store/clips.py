"""Clips on disk: each written twice, atomically, beside its poster frame.

* ``<key>.npz``: the lossless copy, a ``frames`` array (``F x H x W x 3`` uint8) and the
  ``fps`` it plays at, which paired and temporal metrics read (:func:`read_clip`);
* ``<key>.mp4``: H.264 (yuv420p, CRF 18) through PyAV's bundled FFmpeg, for people
  (browsers play it; it is lossy, so no metric reads it);
* ``<key>.png``: the poster, the middle frame (the ``image`` column, which image-only readers
  such as thumbnails keep using).

Each file is written to a temporary name in the same folder, fsynced and renamed over its
final name, and the worker commits the sample's row only after all three are in place: a
``kill -9`` at any moment leaves at most the clip in flight, whose files are overwritten when
the run resumes. PyAV is imported where a clip is written or read, so suites validate without it.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# H.264 at near-visually-lossless quality; yuv420p is what every browser decodes.
MP4_OPTIONS = {"crf": "18", "preset": "medium"}


def clip_paths(rel_png: str) -> tuple[str, str]:
    """The lossless and the MP4 copy of the clip whose poster is ``rel_png`` (same stem)."""
    stem = rel_png.removesuffix(".png")
    return f"{stem}.npz", f"{stem}.mp4"


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp{os.getpid()}{path.suffix}")


def _commit(tmp: Path, path: Path) -> None:
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_npz_atomically(frames: np.ndarray, fps: int, path: Path) -> None:
    """The lossless copy: ``frames`` (uint8) and ``fps``, uncompressed ``.npz``."""
    import numpy as np

    tmp = _tmp(path)
    with open(tmp, "wb") as fh:
        np.savez(fh, frames=np.ascontiguousarray(frames, dtype=np.uint8), fps=np.int64(fps))
    _commit(tmp, path)


def write_mp4_atomically(frames: np.ndarray, fps: int, path: Path) -> None:
    """An H.264 MP4 of ``frames`` at ``fps`` (odd sides are padded by one pixel for yuv420p)."""
    tmp = _tmp(path)
    encode_mp4(frames, fps, str(tmp))
    _commit(tmp, path)


def mp4_bytes(frames: np.ndarray, fps: int) -> bytes:
    """The MP4 :func:`write_mp4_atomically` writes, in memory (``evalsuite serve`` sends it)."""
    buf = io.BytesIO()
    encode_mp4(frames, fps, buf)
    return buf.getvalue()


def encode_mp4(frames: np.ndarray, fps: int, target: str | io.BytesIO) -> None:
    """Encode ``frames`` as H.264 at ``fps`` into ``target`` (a path or a seekable buffer)."""
    import av
    import numpy as np

    height, width = frames.shape[1:3]
    even = np.pad(frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    with av.open(target, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options=dict(MP4_OPTIONS))
        stream.width, stream.height, stream.pix_fmt = even.shape[2], even.shape[1], "yuv420p"
        for index, pixels in enumerate(even):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = index  # in 1/fps units: the stream's time base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())  # flush the encoder


def write_clip_atomically(frames: np.ndarray, fps: int, poster: Any, run_dir: Path, rel_png: str) -> None:
    """Write a clip's lossless copy, its MP4 and its poster (``rel_png``), each atomically."""
    from evalsuite.store.atomic import write_png_atomically

    npz, mp4 = clip_paths(rel_png)
    write_npz_atomically(frames, fps, run_dir / npz)
    write_mp4_atomically(frames, fps, run_dir / mp4)
    write_png_atomically(poster, run_dir / rel_png)


@dataclass(frozen=True)
class StoredClip:
    """A clip read back from its lossless copy."""

    frames: np.ndarray  # F x H x W x 3 uint8
    fps: int


def read_clip(path: Path) -> StoredClip:
    """The lossless copy at ``path`` (a ``.npz`` written by :func:`write_npz_atomically`)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        frames, fps = data["frames"], int(data["fps"])
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"{path}: not a clip (frames {frames.shape} {frames.dtype})")
    return StoredClip(frames, fps)


def mp4_frame_count(path: Path) -> int:
    """How many frames the MP4 at ``path`` decodes to (a check that it plays)."""
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))
