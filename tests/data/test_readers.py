import pickle

import decord
import numpy as np
import pytest
from PIL import Image

from glad_hf.data import readers
from glad_hf.data.readers import (
    FrameReadError,
    RawFrameReader,
    VideoFileReader,
    decoder_available,
    read_frames,
)

# torchcodec needs FFmpeg's shared libraries, which `make` installs (apt-get) where it can.
needs_torchcodec = pytest.mark.skipif(
    not decoder_available("torchcodec"), reason="torchcodec cannot load FFmpeg's libraries here"
)
VIDEO_DECODERS = [pytest.param("torchcodec", marks=needs_torchcodec), "decord", "pyav", "auto"]


@pytest.fixture
def mp4_40(tmp_path, media):
    """40 frames, a keyframe every 8."""
    return media.write_mp4(tmp_path / "clip.mp4", 40, gop=8)


def test_rawframes_read_in_order_with_repeats_decoding_each_once(tmp_path, media, monkeypatch):
    folder = media.write_rawframes(tmp_path / "frames", range(1, 31))
    opened = []
    original_open = Image.open
    monkeypatch.setattr(
        readers.Image, "open", lambda path, *a, **k: opened.append(path) or original_open(path)
    )
    reader = RawFrameReader(backend="pil")
    frames = reader.read(folder, [7, 3, 7, 30, 3])
    assert frames.shape == (5, 32, 32, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(media.frame_number_of(frames), [7, 3, 7, 30, 3])
    assert reader.frames_decoded == 3
    assert sorted(str(p).rsplit("/", 1)[-1] for p in opened) == [
        "img_00003.jpg",
        "img_00007.jpg",
        "img_00030.jpg",
    ]


def test_rawframes_missing_and_corrupt_files(tmp_path, media):
    folder = media.write_rawframes(tmp_path / "frames", range(1, 6))
    with pytest.raises(FrameReadError, match=r"missing frame file .*img_00009\.jpg"):
        RawFrameReader().read(folder, [1, 9])
    (folder / "img_00002.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(FrameReadError, match=r"cannot decode frame file .*img_00002\.jpg"):
        RawFrameReader().read(folder, [2])


@pytest.mark.parametrize("backend", VIDEO_DECODERS)
def test_video_reads_requested_frames(mp4_40, media, backend):
    reader = VideoFileReader(backend)
    assert reader.num_frames(mp4_40) == 40
    frames = reader.read(mp4_40, [33, 5, 5, 39, 0])
    assert frames.shape == (5, 32, 32, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(media.frame_number_of(frames), [33, 5, 5, 39, 0])


def test_decord_is_asked_for_unique_frames_only(mp4_40, monkeypatch):
    batches = []
    original = decord.VideoReader.get_batch
    monkeypatch.setattr(
        decord.VideoReader, "get_batch", lambda self, i: batches.append(i) or original(self, i)
    )
    reader = VideoFileReader("decord")
    reader.read(mp4_40, [20, 4, 20, 4, 12])
    assert batches == [[4, 12, 20]]
    assert reader.frames_decoded == 3


def test_pyav_seeks_and_decodes_only_from_the_keyframe_before_the_first_frame(mp4_40, media):
    reader = VideoFileReader("pyav")
    frames = reader.read(mp4_40, [26, 30])
    np.testing.assert_array_equal(media.frame_number_of(frames), [26, 30])
    # The keyframe before frame 26 is frame 24: frames 24..30 are decoded, not 0..30.
    assert reader.frames_decoded == 7


def test_pyav_skips_the_gops_between_wanted_frames(mp4_40, media):
    reader = VideoFileReader("pyav")
    frames = reader.read(mp4_40, [35, 3, 34])
    np.testing.assert_array_equal(media.frame_number_of(frames), [35, 3, 34])
    assert reader.frames_decoded == 4 + 4  # frames 0-3, then a seek to keyframe 32 and frames 32-35


def test_video_reader_pickles_without_its_open_file(mp4_40):
    reader = VideoFileReader("decord")
    reader.read(mp4_40, [1])
    copy = pickle.loads(pickle.dumps(reader))
    assert copy.backend == "decord" and copy.frames_decoded == 1
    assert copy.read(mp4_40, [2]).shape == (1, 32, 32, 3)


@needs_torchcodec
def test_auto_prefers_the_fastest_installed_decoder():
    assert VideoFileReader("auto").backend == "torchcodec"  # CI installs FFmpeg's libraries (Makefile)
    assert RawFrameReader(backend="auto").backend == "torchcodec"


@needs_torchcodec
def test_auto_falls_back_to_pyav_when_its_decoder_cannot_open(mp4_40, media, monkeypatch):
    import torchcodec.decoders

    def refuse(*args, **kwargs):
        raise RuntimeError("torchcodec cannot open this file")

    monkeypatch.setattr(torchcodec.decoders, "VideoDecoder", refuse)
    reader = VideoFileReader("auto")
    assert reader.num_frames(mp4_40) == 40
    np.testing.assert_array_equal(media.frame_number_of(reader.read(mp4_40, [9])), [9])
    with pytest.raises(FrameReadError, match="with torchcodec"):
        VideoFileReader("torchcodec").read(mp4_40, [9])


@needs_torchcodec
def test_torchcodec_is_asked_for_unique_frames_only(mp4_40, monkeypatch):
    import torchcodec.decoders

    asked = []
    original = torchcodec.decoders.VideoDecoder.get_frames_at
    monkeypatch.setattr(
        torchcodec.decoders.VideoDecoder,
        "get_frames_at",
        lambda self, indices: asked.append(indices) or original(self, indices),
    )
    reader = VideoFileReader("torchcodec")
    reader.read(mp4_40, [20, 4, 20, 4, 12])
    assert asked == [[4, 12, 20]] and reader.frames_decoded == 3


@pytest.mark.parametrize(
    "backend", [pytest.param("torchcodec", marks=needs_torchcodec), "torchvision", "pil"]
)
def test_every_jpeg_decoder_reads_the_same_frames(tmp_path, media, backend):
    folder = media.write_rawframes(tmp_path / "frames", range(1, 6))
    frames = RawFrameReader(backend=backend).read(folder, [5, 1, 5])
    np.testing.assert_array_equal(frames, RawFrameReader(backend="pil").read(folder, [5, 1, 5]))
    (folder / "img_00003.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(FrameReadError, match=r"cannot decode frame file .*img_00003\.jpg"):
        RawFrameReader(backend=backend).read(folder, [1, 3])


@pytest.mark.parametrize("backend", VIDEO_DECODERS)
def test_frames_beyond_the_end(mp4_40, backend):
    with pytest.raises(FrameReadError, match="beyond the end of .*clip.mp4, which has 40 frames"):
        VideoFileReader(backend).read(mp4_40, [10, 40])


@pytest.mark.parametrize("backend", VIDEO_DECODERS)
@pytest.mark.parametrize("damage", ["truncated", "truncated_faststart", "garbage", "missing"])
def test_corrupt_truncated_or_missing_videos(tmp_path, media, backend, damage):
    path = tmp_path / "bad.mp4"
    if damage != "missing":
        media.write_mp4(tmp_path / "good.mp4", 40, faststart=damage == "truncated_faststart")
        data = (tmp_path / "good.mp4").read_bytes()
        path.write_bytes(b"not a video at all" * 20 if damage == "garbage" else data[: len(data) // 2])
    with pytest.raises(FrameReadError, match="bad.mp4"):
        VideoFileReader(backend).read(path, [0, 35])


def test_read_frames_dispatches_on_media(tmp_path, media):
    folder = media.write_rawframes(tmp_path / "frames", range(0, 4))
    video = media.write_mp4(tmp_path / "clip.mp4", 12)
    np.testing.assert_array_equal(media.frame_number_of(read_frames(folder, "rawframes", [2, 0])), [2, 0])
    np.testing.assert_array_equal(media.frame_number_of(read_frames(video, "video", [11])), [11])
    with pytest.raises(ValueError, match="media"):
        read_frames(folder, "gif", [0])


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="backend"):
        VideoFileReader("opencv")
    with pytest.raises(ValueError, match="no frame numbers"):
        RawFrameReader().read(tmp_path, [])
    with pytest.raises(ValueError, match=">= 0"):
        RawFrameReader().read(tmp_path, [-1])


def test_decoded_video_cache_decodes_each_video_once_and_evicts_by_bytes(tmp_path, media):
    paths = [media.write_mp4(tmp_path / f"clip{i}.mp4", 20 + i, gop=8) for i in range(3)]
    reader = VideoFileReader("pyav")
    frame_bytes = 32 * 32 * 3
    cache = readers.DecodedVideoCache(max_bytes=45 * frame_bytes)
    frames = cache.read(reader, paths[0], [5, 3, 3, 19])
    assert media.frame_number_of(frames).tolist() == [5, 3, 3, 19]
    decoded = reader.frames_decoded
    assert decoded == 20  # the whole video, once
    assert media.frame_number_of(cache.read(reader, paths[0], [0, 1])).tolist() == [0, 1]
    assert cache.num_frames(reader, paths[0]) == 20 and reader.frames_decoded == decoded
    cache.read(reader, paths[1], [0])  # 20 + 21 frames fit
    assert list(cache.videos) == [str(paths[0]), str(paths[1])]
    cache.read(reader, paths[2], [0])  # 22 more do not: the least recently used goes
    assert list(cache.videos) == [str(paths[1]), str(paths[2])] and cache.bytes == 43 * frame_bytes
    with pytest.raises(FrameReadError, match="clip2.mp4"):
        cache.read(reader, paths[2], [22])
    with pytest.raises(ValueError, match="max_bytes"):
        readers.DecodedVideoCache(0)


def test_one_video_extension_list_read_by_every_part_of_the_data_side(tmp_path):
    """`VIDEO_EXTENSIONS` (no dots) is the one list: `is_video_file` (the folders layout's scan, prepare's report
    filter) matches it in any case, and the background extractor finds a row's video of each extension."""
    from glad_hf.data.background import resolve_video_source
    from glad_hf.data.readers import VIDEO_EXTENSIONS, is_video_file

    assert VIDEO_EXTENSIONS[0] == "mp4" and not [e for e in VIDEO_EXTENSIONS if e.startswith(".")]
    assert is_video_file("class/x.MP4") and is_video_file(tmp_path / "b.webm")
    assert not is_video_file("x.mp4.part") and not is_video_file("img_00001.jpg") and not is_video_file("mp4")
    for extension in VIDEO_EXTENSIONS:
        video = tmp_path / f"clip_{extension}.{extension}"
        video.touch()
        assert is_video_file(video)
        assert resolve_video_source(tmp_path, f"clip_{extension}") == (video, "video")
