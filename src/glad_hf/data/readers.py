"""Frame readers that decode only the frames asked for.

Frames are addressed by *frame number*: a JPEG's file number for rawframe folders (`img_{:05d}.jpg`), a
0-based frame index for video files. Every reader returns uint8 RGB frames `[F, H, W, 3]` in the order
asked (repeated numbers are decoded once) and counts what it decoded in `frames_decoded`.
"""

from __future__ import annotations

import bisect
import os
from collections import OrderedDict
from collections.abc import Sequence

import av
import numpy as np
from PIL import Image

FRAME_FILENAME_TEMPLATE = "img_{:05d}.jpg"
# The video files the data side reads (lowercase, without the dot), in the order a row's video is looked for when
# its path has no extension (`glad_hf.data.background.resolve_video_source`).
VIDEO_EXTENSIONS = ("mp4", "webm", "mkv", "avi", "mov")
VIDEO_BACKENDS = ("auto", "torchcodec", "decord", "pyav")
# "auto" tries the installed decoders in this order, the fastest first as measured by scripts/benchmark_decoding.py
# (docs/data_path.md, "Decoders"); PyAV, a dependency, is the fallback that always works.
AUTO_VIDEO_BACKENDS = ("torchcodec", "decord", "pyav")
JPEG_BACKENDS = ("auto", "torchcodec", "torchvision", "pil")
# "auto" for rawframes, likewise by measurement; torchvision's image decoders are deprecated (0.29) for torchcodec's.
AUTO_JPEG_BACKENDS = ("torchcodec", "torchvision", "pil")
# Readers a process inherited through fork (DataLoader workers): destroying a decord reader there waits forever
# on decoding threads that stayed in the parent, so they are kept here, unused, for the process's lifetime.
_READERS_FROM_PARENT = []


def is_video_file(path: str | os.PathLike) -> bool:
    """Whether a file name ends with one of `VIDEO_EXTENSIONS`, in any case ("a/x.MP4" is a video)."""
    return os.path.splitext(path)[1][1:].lower() in VIDEO_EXTENSIONS


class FrameReadError(RuntimeError):
    """A frame could not be read: missing frame file, corrupt or truncated video, frame beyond the end."""


def _unique_frame_numbers(frame_numbers: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    numbers = np.asarray(frame_numbers, dtype=np.int64).reshape(-1)
    if numbers.size == 0:
        raise ValueError("no frame numbers to read")
    if numbers.min() < 0:
        raise ValueError(f"frame numbers must be >= 0, got {numbers.min()}")
    return np.unique(numbers, return_inverse=True)


def decoder_available(backend: str) -> bool:
    """Whether a decoder of `VIDEO_BACKENDS` or `JPEG_BACKENDS` can be used here (torchcodec also needs FFmpeg's
    shared libraries)."""
    if backend in ("pyav", "pil", "torchvision"):
        return True
    try:
        if backend == "torchcodec":
            from torchcodec.decoders import VideoDecoder  # noqa: F401  (loads FFmpeg's libraries)
        elif backend == "decord":
            import decord  # noqa: F401
        else:
            raise ValueError(
                f"unknown decoder {backend!r}; expected one of {VIDEO_BACKENDS} or {JPEG_BACKENDS}"
            )
    except (ImportError, OSError, RuntimeError):
        return False
    return True


class RawFrameReader:
    """Reads JPEG frames `img_{:05d}.jpg` (or `filename_template`) from a frame folder.

    backend: "torchcodec" or "torchvision" (their `decode_jpeg`, a list of files per call), "pil", or "auto" (the
    first usable of `AUTO_JPEG_BACKENDS`, fastest first as measured, docs/data_path.md "Decoders"). Frames that are not JPEG (a
    `.png` template) go through the backend's `decode_image` (PIL for "pil").
    """

    def __init__(self, filename_template: str = FRAME_FILENAME_TEMPLATE, backend: str = "auto"):
        if backend not in JPEG_BACKENDS:
            raise ValueError(f"backend must be one of {JPEG_BACKENDS}, got {backend!r}")
        if backend == "auto":
            backend = next(name for name in AUTO_JPEG_BACKENDS if decoder_available(name))
        elif not decoder_available(backend):
            raise ImportError(
                f"JPEG backend {backend!r} is not usable here (torchcodec needs FFmpeg's libraries)"
            )
        self.filename_template = filename_template
        self.backend = backend
        self.frames_decoded = 0

    def read(
        self, frame_dir: str | os.PathLike, frame_numbers: Sequence[int], filename_template: str | None = None
    ) -> np.ndarray:
        """uint8 `[F, H, W, 3]` frames `frame_numbers` (file numbers) of `frame_dir`.

        filename_template: this folder's file names (default: the reader's `filename_template`).
        """
        template = filename_template or self.filename_template
        unique, inverse = _unique_frame_numbers(frame_numbers)
        paths = [os.path.join(frame_dir, template.format(number)) for number in unique]
        for number, path in zip(unique, paths, strict=True):
            if not os.path.isfile(path):
                raise FrameReadError(f"missing frame file {path} (frame {number} of {frame_dir})")
        if self.backend == "pil":
            frames = [_read_pil(path) for path in paths]
        else:
            frames = _read_with_decode_jpeg(paths, self.backend)
        self.frames_decoded += len(frames)
        shapes = {frame.shape for frame in frames}
        if len(shapes) > 1:
            raise FrameReadError(f"frames of {frame_dir} differ in size: {sorted(shapes)}")
        return _in_asked_order(np.stack(frames), inverse)


def _in_asked_order(frames: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """`frames[inverse]`, without the copy when the numbers were asked sorted and once each (what datasets ask)."""
    if len(inverse) == len(frames) and (inverse == np.arange(len(frames))).all():
        return frames
    return frames[inverse]


def _read_pil(path: str) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except OSError as error:
        raise FrameReadError(f"cannot decode frame file {path}: {error}") from error


def _read_with_decode_jpeg(paths: list[str], backend: str) -> list[np.ndarray]:
    if backend == "torchcodec":
        from torchcodec.decoders import decode_image, decode_jpeg

        read, rgb = (lambda path: path), "RGB"
    else:
        from torchvision.io import ImageReadMode, decode_image, decode_jpeg, read_file

        read, rgb = read_file, ImageReadMode.RGB
    data = [read(path) for path in paths]
    try:
        if all(path.lower().endswith((".jpg", ".jpeg")) for path in paths):
            images = decode_jpeg(data, mode=rgb)
        else:
            images = [decode_image(item, mode=rgb) for item in data]
    except (RuntimeError, ValueError):
        # A batch call names no file: find the one that fails.
        for path, item in zip(paths, data, strict=True):
            try:
                decode_image(item, mode=rgb)
            except (RuntimeError, ValueError) as error:
                raise FrameReadError(f"cannot decode frame file {path}: {error}") from error
        raise
    return [image.permute(1, 2, 0).numpy() for image in images]


class VideoFileReader:
    """Reads frames of a video file with torchcodec, decord or PyAV.

    backend: one of `VIDEO_BACKENDS`; "auto" uses the first installed of `AUTO_VIDEO_BACKENDS` (torchcodec, decord,
    PyAV: fastest first, as measured) and falls back to PyAV on a file that decoder cannot read.
    num_threads: decoding threads (1 suits DataLoader workers).
    Each seeks to the keyframe before a wanted frame unless already decoding in its GOP, so only the GOPs that hold
    wanted frames are decoded (up to the last wanted frame of each); only wanted frames are converted to RGB.
    """

    def __init__(self, backend: str = "auto", num_threads: int = 1):
        if backend not in VIDEO_BACKENDS:
            raise ValueError(f"backend must be one of {VIDEO_BACKENDS}, got {backend!r}")
        if backend == "auto":
            backend = next(name for name in AUTO_VIDEO_BACKENDS if decoder_available(name))
            self.fallback = backend != "pyav"
        else:
            if not decoder_available(backend):
                raise ImportError(
                    f"video backend {backend!r} is not usable here: install it (pip install glad_hf[{backend}]; "
                    "torchcodec also needs FFmpeg's shared libraries, docs/data_path.md 'Decoders')"
                )
            self.fallback = False
        self.backend = backend
        self.num_threads = num_threads
        self.frames_decoded = 0
        self._reader = None
        self._reader_key = None  # (process id, path) of the open torchcodec/decord reader

    def __getstate__(self) -> dict:
        # Open readers are not picklable (DataLoader workers started with "spawn" pickle datasets).
        return {**self.__dict__, "_reader": None, "_reader_key": None}

    def _open(self, path: str):
        # One open reader is kept, so that `num_frames` then `read` on the same file parse it once.
        if self._reader_key != (os.getpid(), path):
            self._close()
            if self.backend == "torchcodec":
                from torchcodec.decoders import VideoDecoder

                self._reader = VideoDecoder(path, dimension_order="NHWC", num_ffmpeg_threads=self.num_threads)
            else:
                import decord

                self._reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=self.num_threads)
            self._reader_key = (os.getpid(), path)
        return self._reader

    def _close(self) -> None:
        if self._reader_key is not None and self._reader_key[0] != os.getpid():
            _READERS_FROM_PARENT.append(self._reader)
        self._reader = None
        self._reader_key = None

    def _with_backend(self, path: str, open_fn, pyav_fn):
        if not os.path.isfile(path):
            raise FrameReadError(f"missing video file {path}")
        if self.backend == "pyav":
            return pyav_fn(path)
        try:
            return open_fn(path)
        except FrameReadError:
            raise
        except (
            Exception
        ) as error:  # decord / torchcodec raise RuntimeError or their own errors on unreadable files
            self._close()
            if not self.fallback:
                raise FrameReadError(f"cannot read video {path} with {self.backend}: {error}") from error
            try:
                return pyav_fn(path)
            except FrameReadError as pyav_error:
                raise FrameReadError(f"{pyav_error} ({self.backend} failed too: {error})") from pyav_error

    def num_frames(self, path: str | os.PathLike) -> int:
        """Frame count from the container (the decoder's frame index, or PyAV's stream metadata/packets)."""
        return self._with_backend(os.fspath(path), lambda p: len(self._open(p)), _pyav_num_frames)

    def read(self, path: str | os.PathLike, frame_numbers: Sequence[int]) -> np.ndarray:
        """uint8 `[F, H, W, 3]` frames `frame_numbers` (0-based indices) of the video at `path`."""
        unique, inverse = _unique_frame_numbers(frame_numbers)
        frames = self._with_backend(
            os.fspath(path), lambda p: self._read_indexed(p, unique), lambda p: self._read_pyav(p, unique)
        )
        return _in_asked_order(frames, inverse)

    def _read_indexed(self, path: str, unique: np.ndarray) -> np.ndarray:
        reader = self._open(path)
        _check_in_range(path, unique, len(reader))
        if self.backend == "torchcodec":
            frames = reader.get_frames_at(indices=unique.tolist()).data.numpy()
        else:
            frames = reader.get_batch(unique.tolist()).asnumpy()
        self.frames_decoded += len(unique)
        return frames

    def _read_pyav(self, path: str, unique: np.ndarray) -> np.ndarray:
        frames, decoded = _pyav_read(path, unique, self.num_threads)
        self.frames_decoded += decoded
        return frames


class DecodedVideoCache:
    """Whole decoded videos kept in memory (this process), least recently used dropped beyond `max_bytes`.

    For datasets that fit in memory, such as the synthetic benchmark's: a video is decoded once, in one sequential
    pass (as fast per video as a selective read of its views), and every later sample indexes into it. torch and
    `functools.lru_cache` have no byte-bounded array cache, hence this small one.
    """

    def __init__(self, max_bytes: int):
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.max_bytes = max_bytes
        self.bytes = 0
        self.videos: OrderedDict[str, np.ndarray] = OrderedDict()

    def num_frames(self, reader: VideoFileReader, path: str | os.PathLike) -> int:
        return len(self._video(reader, os.fspath(path)))

    def read(
        self, reader: VideoFileReader, path: str | os.PathLike, frame_numbers: Sequence[int]
    ) -> np.ndarray:
        """`reader.read(path, frame_numbers)`, from the whole video decoded once."""
        path = os.fspath(path)
        frames = self._video(reader, path)
        numbers = np.asarray(frame_numbers, dtype=np.int64)
        _check_in_range(path, np.unique(numbers), len(frames))
        return frames[numbers]

    def _video(self, reader: VideoFileReader, path: str) -> np.ndarray:
        frames = self.videos.get(path)
        if frames is None:
            frames = reader.read(path, np.arange(reader.num_frames(path)))
            self.videos[path] = frames
            self.bytes += frames.nbytes
            while self.bytes > self.max_bytes and len(self.videos) > 1:
                self.bytes -= self.videos.popitem(last=False)[1].nbytes
        else:
            self.videos.move_to_end(path)
        return frames


def _check_in_range(path: str, unique: np.ndarray, num_frames: int) -> None:
    if unique[-1] >= num_frames:
        raise FrameReadError(
            f"frame {unique[-1]} requested beyond the end of {path}, which has {num_frames} frames "
            f"(frames 0-{num_frames - 1})"
        )


def _open_pyav(path: str):
    try:
        return av.open(path)
    except (av.FFmpegError, OSError) as error:
        raise FrameReadError(f"cannot open video {path} (corrupt or truncated?): {error}") from error


def _pyav_num_frames(path: str) -> int:
    with _open_pyav(path) as container:
        if not container.streams.video:
            raise FrameReadError(f"{path} holds no video stream")
        stream = container.streams.video[0]
        if stream.frames > 0:
            return stream.frames
        try:
            return sum(1 for packet in container.demux(stream) if packet.size > 0)
        except av.FFmpegError as error:
            raise FrameReadError(f"cannot demux video {path} (corrupt or truncated?): {error}") from error


def _pyav_read(path: str, unique: np.ndarray, num_threads: int) -> tuple[np.ndarray, int]:
    # PyAV has no random access. One demuxing pass (packets only, nothing decoded) gives the keyframes; each
    # wanted frame is then reached by seeking to its keyframe unless the decoder is already in that GOP, and
    # only wanted frames are converted to RGB. Frame indices come from timestamps.
    out: list[np.ndarray | None] = [None] * len(unique)
    decoded = 0
    with _open_pyav(path) as container:
        if not container.streams.video:
            raise FrameReadError(f"{path} holds no video stream")
        stream = container.streams.video[0]
        stream.codec_context.thread_count = num_threads
        rate, time_base, start = (
            stream.average_rate or stream.guessed_rate,
            stream.time_base,
            stream.start_time or 0,
        )
        if not rate or not time_base:
            raise FrameReadError(f"{path}: the video stream has no frame rate, cannot locate frame indices")
        if stream.frames > 0:
            _check_in_range(path, unique, stream.frames)

        def index_of(pts: int) -> int:
            return round((pts - start) * time_base * rate)

        try:
            keyframe_pts = sorted(
                p.pts for p in container.demux(stream) if p.is_keyframe and p.pts is not None
            )
            keyframes = [index_of(pts) for pts in keyframe_pts]
            position, frames = -1, None
            for slot, wanted in enumerate(unique.tolist()):
                k = bisect.bisect_right(keyframes, wanted) - 1
                if frames is None or position < (keyframes[k] if k >= 0 else 0):
                    container.seek(keyframe_pts[k] if k >= 0 else start, stream=stream, backward=True)
                    frames = container.decode(stream)
                while position < wanted:
                    frame = next(frames, None)
                    if frame is None:
                        break
                    if frame.pts is None:
                        raise FrameReadError(
                            f"{path}: frames carry no timestamps, cannot locate frame indices"
                        )
                    decoded += 1
                    position = index_of(frame.pts)
                    if position == wanted:
                        out[slot] = frame.to_ndarray(format="rgb24")
        except av.FFmpegError as error:
            raise FrameReadError(f"cannot decode video {path} (corrupt or truncated?): {error}") from error
    missing = [int(n) for n, frame in zip(unique, out, strict=True) if frame is None]
    if missing:
        raise FrameReadError(
            f"could not decode frames {missing[:10]} of {path} ({len(missing)} missing; truncated video or "
            f"frames beyond its end?)"
        )
    return np.stack(out), decoded


def read_frames(path: str | os.PathLike, media: str, frame_numbers: Sequence[int]) -> np.ndarray:
    """uint8 `[F, H, W, 3]` frames of a frame folder (`media="rawframes"`) or video file (`"video"`)."""
    if media == "rawframes":
        return RawFrameReader().read(path, frame_numbers)
    if media == "video":
        return VideoFileReader().read(path, frame_numbers)
    raise ValueError(f"media must be 'rawframes' or 'video', got {media!r}")
