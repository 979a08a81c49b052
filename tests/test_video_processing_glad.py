import av
import numpy as np
import pytest
import torch
from transformers import AutoVideoProcessor, pipeline

from glad_hf import GladForVideoClassification, GladVideoProcessor
from glad_hf.frame_sampling import sample_frames
from glad_hf.labels import IMAGE_MEAN, IMAGE_STD
from helpers import tiny_config, write_mp4


def write_gray_levels(path, levels, size=(48, 64)):
    """A video whose frame i is a flat grey of brightness levels[i] (survives lossy coding)."""
    container = av.open(str(path), "w")
    stream = container.add_stream("mpeg4", rate=25)
    stream.height, stream.width = size
    stream.pix_fmt = "yuv420p"
    stream.options = {"qscale": "1"}
    for level in levels:
        frame = np.full((*size, 3), level, dtype=np.uint8)
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


@pytest.mark.parametrize(
    "num_frames, first_offsets",
    [
        (300, [17, 53, 89, 124]),  # avg = 285 / 8 = 35.625; offsets int(avg / 2 + k * avg)
        (54, [2, 7, 12, 17]),  # avg = 39 / 8 = 4.875
        (15, [0, 0, 0, 0]),  # shorter than the 16-frame span: every clip starts at 0
    ],
)
def test_test_mode_grid(num_frames, first_offsets):
    grid = sample_frames(num_frames, clip_len=8, frame_interval=2, num_clips=8, test_mode=True)
    assert grid.shape == (8, 8)
    assert grid[:4, 0].tolist() == first_offsets
    expected_row = (np.array(first_offsets[1]) + 2 * np.arange(8)) % num_frames
    assert grid[1].tolist() == expected_row.tolist()
    assert grid.max() < num_frames


def test_short_videos_loop():
    grid = sample_frames(5, clip_len=8, frame_interval=2, num_clips=8, test_mode=True)
    assert grid[0].tolist() == [0, 2, 4, 1, 3, 0, 2, 4]


def test_decodes_the_grid_frames_of_an_mp4(tmp_path):
    levels = [(7 * i) % 250 for i in range(40)]
    path = write_gray_levels(tmp_path / "levels.mp4", levels)
    processor = GladVideoProcessor(size={"shortest_edge": 40}, crop_size={"height": 32, "width": 32})
    pixel_values = processor(str(path), return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (1, 8, 3, 8, 32, 32)
    grid = sample_frames(40, 8, 2, 8, test_mode=True)
    mean, std = torch.tensor(IMAGE_MEAN), torch.tensor(IMAGE_STD)
    recovered = pixel_values.mean(dim=(-1, -2)) * std[None, None, :, None] + mean[None, None, :, None]
    expected = torch.tensor([[levels[i] for i in row] for row in grid], dtype=torch.float32)
    torch.testing.assert_close(recovered[0, :, 1], expected, atol=4.0, rtol=0)


def test_decoded_arrays_are_sampled_the_same_way():
    video = np.stack([np.full((40, 50, 3), i, dtype=np.uint8) for i in range(100)])
    processor = GladVideoProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    pixel_values = processor(video, return_tensors="pt")["pixel_values"]
    first_channel = pixel_values[0, :, 0, :, 0, 0] * IMAGE_STD[0] + IMAGE_MEAN[0]
    torch.testing.assert_close(
        first_channel,
        torch.tensor(sample_frames(100, 8, 2, 8, test_mode=True), dtype=torch.float32),
        atol=1e-3,
        rtol=0,
    )


def test_unreadable_video_is_reported(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="broken.mp4"):
        GladVideoProcessor()(str(broken), return_tensors="pt")


def test_pipeline_on_a_saved_tiny_model(tmp_path):
    model = GladForVideoClassification(tiny_config())
    model.save_pretrained(tmp_path)
    GladVideoProcessor(size={"shortest_edge": 40}, crop_size={"height": 32, "width": 32}).save_pretrained(
        tmp_path
    )
    assert type(AutoVideoProcessor.from_pretrained(tmp_path)) is GladVideoProcessor
    video = write_mp4(tmp_path / "clip.mp4", num_frames=50)
    results = pipeline("video-classification", model=str(tmp_path))(str(video), top_k=12)
    assert len(results) == 12 and abs(sum(r["score"] for r in results) - 1) < 1e-4
    pixel_values = GladVideoProcessor.from_pretrained(tmp_path)(str(video), return_tensors="pt")[
        "pixel_values"
    ]
    with torch.no_grad():
        probs = model.eval()(pixel_values).logits.softmax(-1)[0]
    assert results[0]["label"] == model.config.id2label[int(probs.argmax())]
    assert results[0]["score"] == pytest.approx(float(probs.max()), abs=1e-5)
