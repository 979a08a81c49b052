"""Draw the local and global views GLAD samples from a video into a PNG (the picture in the README).

    python scripts/draw_views.py --video path/to/video.mp4 --output views.png
    python scripts/draw_views.py --video path/to/video.mp4 --output views.png --model outputs/run/glad/last

With --model (a GLAD folder or Hub id), the clip grid and views are that model's (config and processor); without,
the paper's: 8 clips x 8 frames at interval 2, local clips 4 and 5, global column 3.
"""

import argparse

from glad_hf.data.view_picture import save_views_png


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", required=True, help="a video file")
    parser.add_argument("--output", required=True, help="the PNG to write")
    parser.add_argument("--model", default=None, help="GLAD folder or Hub id whose views to draw")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    grid = {}
    if args.model:
        from glad_hf import GladConfig, GladVideoProcessor

        config = GladConfig.from_pretrained(args.model)
        processor = GladVideoProcessor.from_pretrained(args.model)
        grid = dict(
            num_clips=config.num_clips,
            clip_len=config.clip_len,
            frame_interval=processor.frame_interval,
            local_clip_indices=tuple(config.local_clip_indices),
            global_frame_index=config.global_frame_index,
        )
    print(f"wrote {save_views_png(args.video, args.output, title=args.title, **grid)}")


if __name__ == "__main__":
    main()
