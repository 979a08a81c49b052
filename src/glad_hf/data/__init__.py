"""Kinetics->BABEL data: annotation lists, the `datasets` builder, frame sampling and decoding, transforms."""

from glad_hf.data.annotations import (
    KINETICS2BABEL_ANNOTATIONS_URL,
    AnnotationError,
    AnnotationRow,
    read_annotation_list,
    read_annotation_tar,
    resolve_annotations,
)
from glad_hf.data.background import BackgroundBlend, extract_backgrounds, median_background
from glad_hf.data.builder import Kinetics2Babel, Kinetics2BabelConfig, load_k2b_domains, verify_media
from glad_hf.data.prepare import prepare_rawframes, read_prepare_reports
from glad_hf.data.readers import (
    DecodedVideoCache,
    FrameReadError,
    RawFrameReader,
    VideoFileReader,
    read_frames,
)
from glad_hf.data.sampling import sample_frames, view_cell_mask
from glad_hf.data.sharding import parse_shard, shard_items
from glad_hf.data.shared_classes import dropped_rows
from glad_hf.data.synthetic import SyntheticK2BConfig, generate_synthetic_k2b
from glad_hf.data.synthetic_motions import SyntheticMotionConfig, SyntheticMotionDataset
from glad_hf.data.transforms import VideoResizeTransform, VideoTestTransform, VideoTrainTransform
from glad_hf.data.two_domains import TwoDomainVideos, TwoDomainVideosConfig, load_two_domains
from glad_hf.data.video_datasets import DomainPairedDataset, GladClipDataset, TemporalOrderDataset

__all__ = [
    "KINETICS2BABEL_ANNOTATIONS_URL",
    "AnnotationError",
    "AnnotationRow",
    "BackgroundBlend",
    "DecodedVideoCache",
    "DomainPairedDataset",
    "FrameReadError",
    "GladClipDataset",
    "Kinetics2Babel",
    "Kinetics2BabelConfig",
    "RawFrameReader",
    "SyntheticK2BConfig",
    "SyntheticMotionConfig",
    "SyntheticMotionDataset",
    "TemporalOrderDataset",
    "TwoDomainVideos",
    "TwoDomainVideosConfig",
    "VideoFileReader",
    "VideoResizeTransform",
    "VideoTestTransform",
    "VideoTrainTransform",
    "dropped_rows",
    "extract_backgrounds",
    "generate_synthetic_k2b",
    "load_k2b_domains",
    "load_two_domains",
    "median_background",
    "parse_shard",
    "prepare_rawframes",
    "read_annotation_list",
    "read_annotation_tar",
    "read_frames",
    "read_prepare_reports",
    "resolve_annotations",
    "sample_frames",
    "shard_items",
    "verify_media",
    "view_cell_mask",
]
