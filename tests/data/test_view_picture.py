"""The picture of the sampled views: drawn from a video with the package's own sampling, by function and script."""

import runpy
from pathlib import Path

from matplotlib.image import imread

from glad_hf.data.view_picture import save_views_png
from helpers import write_mp4

REPO = Path(__file__).resolve().parents[2]


def test_the_views_picture_is_drawn_from_a_video(tmp_path):
    video = write_mp4(tmp_path / "v.mp4", num_frames=40)
    path = save_views_png(video, tmp_path / "views.png")
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 400 and image.shape[1] > 400
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # written atomically


def test_the_script_draws_another_grid(tmp_path, capsys):
    video = write_mp4(tmp_path / "v.mp4", num_frames=30)
    main = runpy.run_path(str(REPO / "scripts" / "draw_views.py"))["main"]
    main(["--video", str(video), "--output", str(tmp_path / "small.png")])
    square = imread(tmp_path / "small.png").shape
    save_views_png(video, tmp_path / "wide.png", num_clips=4, clip_len=8, local_clip_indices=(1, 2))
    wide = imread(tmp_path / "wide.png").shape
    assert wide[0] < square[0]  # 4 rows instead of 8
    assert f"wrote {tmp_path / 'small.png'}" in capsys.readouterr().out
