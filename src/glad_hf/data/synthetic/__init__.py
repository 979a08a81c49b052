"""Synthetic Kinetics->BABEL: a small procedural dataset in the real benchmark's layout (SPEC §1).

It has the two gaps of K->B in miniature (see dataset_scripts/kinetics2babel/SYNTHETIC.md):
- source ("k400"): one clip per video, a cluttered background; a fraction of the videos carries a
  class-correlated background texture (a shortcut a model can learn);
- target ("babel"): long "sequences" on a plain grey background, one fixed-looking actor, several labelled
  segments of log-normal length (median 54 frames), with transitions in between.
A class is a motion of one actor: the actor's look, size and position are drawn independently of the class, so a
single frame does not tell the class. Two generator versions (``SyntheticK2BConfig.version``):
- 3 (default): **one-shot actions** with phases in an order (crouch -> leap -> land, wind-up -> release ->
  follow-through, ...), none the time-reverse of another. A source clip (80-120 frames) holds the action once
  (``source_actions_per_clip``) at the source's pace (48-75 frames), somewhere inside the clip; a target segment is
  one whole action stretched over the segment, however long (15-1,300 frames): the temporal gap. The order of
  three clips of a video is visible in the motion alone.
- 2: periodic motion patterns (hop, run across, throw arc, ...) repeated throughout a clip or segment at varied
  speed; kept for the earlier benchmark tables (docs/benchmark_synthetic/v2). Clip order is not learnable there.

``generate_synthetic_k2b(root)`` writes ``<root>/k400/{train,val}``, ``<root>/babel/{train,val}`` (mp4 or
rawframes, named as the real data), ``<root>/kinetics2babel.tar`` with the four lists in the real format, and
``<root>/synthetic_k2b.json`` (config + content hash, so an identical dataset is reused).

The package, by job (each module read at one sitting): `config` (the knobs), `trajectory` (the actor's path, both
versions), `periodic` (version 2), `one_shot` (version 3), `render` (frames), `plan` (what the dataset holds),
`writing` (files, the tar, `generate_synthetic_k2b`) and `preview` (the dataset card's picture). The names others
use are imported from here.
"""

from glad_hf.data.synthetic.config import (
    ANNOTATION_TAR,
    GENERATOR_VERSIONS,
    METADATA_FILENAME,
    SyntheticK2BConfig,
)
from glad_hf.data.synthetic.one_shot import ONE_SHOT_ACTIONS, one_shot_trajectory
from glad_hf.data.synthetic.periodic import MOTION_PATTERNS, motion_trajectory
from glad_hf.data.synthetic.plan import plan_source, plan_target, temporal_gap
from glad_hf.data.synthetic.preview import save_preview_grid
from glad_hf.data.synthetic.render import (
    render_actor,
    render_source_video,
    render_target_sequence,
    source_background,
)
from glad_hf.data.synthetic.trajectory import Trajectory, held
from glad_hf.data.synthetic.writing import generate_synthetic_k2b

__all__ = [
    "ANNOTATION_TAR",
    "GENERATOR_VERSIONS",
    "METADATA_FILENAME",
    "MOTION_PATTERNS",
    "ONE_SHOT_ACTIONS",
    "SyntheticK2BConfig",
    "Trajectory",
    "generate_synthetic_k2b",
    "held",
    "motion_trajectory",
    "one_shot_trajectory",
    "plan_source",
    "plan_target",
    "render_actor",
    "render_source_video",
    "render_target_sequence",
    "save_preview_grid",
    "source_background",
    "temporal_gap",
]
