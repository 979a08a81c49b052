"""GLAD: global-local view alignment (SPEC §3-§4) and temporal-order learning (SPEC §6) as transformers models."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .backbones import build_backbone
from .backbones.loading import keeps_own_initialisation
from .configuration_glad import GladConfig
from .frame_sampling import view_cell_mask

# ----------------------------------------------------------------------------------------------- outputs


@dataclass
class GladModelOutput(ModelOutput):
    """Pooled per-view features of a batch of clip grids.

    local_features: [B, L, D], one row per local clip (L = number of local clips computed).
    global_features: [B, D].
    pooled_output: [B, D], mean of the L local features and the global feature.
    """

    local_features: torch.FloatTensor | None = None
    global_features: torch.FloatTensor | None = None
    pooled_output: torch.FloatTensor | None = None


@dataclass
class GladVideoClassifierOutput(ModelOutput):
    """Output of `GladForVideoClassification`.

    loss: total loss (classification + weighted domain losses), when labels are given.
    logits: [B, num_labels] for the (source) videos.
    classification_loss: cross-entropy on the (source) labels.
    domain_loss: sum of the weighted domain losses, when target videos are given.
    domain_losses / domain_accuracies: per domain classifier ("local", "global", "cross", "video").
    source_features / target_features: the `GladModelOutput` of each domain.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    classification_loss: torch.FloatTensor | None = None
    domain_loss: torch.FloatTensor | None = None
    domain_losses: dict[str, torch.FloatTensor] | None = None
    domain_accuracies: dict[str, torch.FloatTensor] | None = None
    source_features: GladModelOutput | None = None
    target_features: GladModelOutput | None = None


@dataclass
class GladTemporalOrderOutput(ModelOutput):
    """Output of `GladForTemporalOrderLearning`.

    loss: cross-entropy against the permutation index. logits: [B, tol_num_clips!].
    accuracy: fraction of permutations recognised. permutation: [B] permutation index applied to each video.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    accuracy: torch.FloatTensor | None = None
    permutation: torch.LongTensor | None = None


# ----------------------------------------------------------------------------------------------- modules


class LocalGlobalViewSampler(nn.Module):
    """Cut the views out of a clip grid or a compact stack of its view cells (SPEC §3).

    pixel_values, either
    - a clip grid [B, N, C, T, H, W] (row = clip, column = position in the clip), or
    - compact view cells [B, K, C, H, W]: the cells of `view_cell_mask(..., decode)` in row-major order, K = 22 for
      decode "views" (local rows + global column) or 15 for "reference_test" (last local row + global column; the
      reference test path only), what the training datasets yield;
    -> local views [B, L, C, T, H, W] (rows `local_clip_indices`) and global view [B, C, N, H, W] (column
    `global_frame_index` of every row: one sparse clip spanning the whole video).
    """

    def __init__(
        self, num_clips: int, clip_len: int, global_frame_index: int, local_clip_indices: tuple[int, ...]
    ):
        super().__init__()
        self.num_clips = num_clips
        self.clip_len = clip_len
        self.global_frame_index = global_frame_index
        # For each compact layout (keyed by its cell count): the position of every grid cell in the stack, -1 where
        # the layout has no such cell.
        self.compact_layouts = {}
        for decode in ("views", "reference_test"):
            mask = view_cell_mask(num_clips, clip_len, tuple(local_clip_indices), global_frame_index, decode)
            positions = np.full(mask.shape, -1, dtype=np.int64)
            positions[mask] = np.arange(mask.sum())
            self.compact_layouts[int(mask.sum())] = torch.from_numpy(positions)
        # The gather indices of each (layout, local clips, device), copied to the device once: a copy per forward
        # would make the host wait for the device at every step.
        self._device_indices = {}

    def forward(self, pixel_values: torch.Tensor, local_clip_indices: tuple[int, ...]):
        if pixel_values.ndim == 5:
            return self._cut_compact(pixel_values, local_clip_indices)
        if pixel_values.ndim != 6:
            raise ValueError(
                "pixel_values must be a clip grid [B, N, C, T, H, W] or compact view cells [B, K, C, H, W], got "
                f"shape {tuple(pixel_values.shape)}"
            )
        if pixel_values.shape[1] != self.num_clips or pixel_values.shape[3] != self.clip_len:
            raise ValueError(
                f"pixel_values must hold num_clips={self.num_clips} clips of clip_len={self.clip_len} frames "
                f"([B, {self.num_clips}, C, {self.clip_len}, H, W]), got shape {tuple(pixel_values.shape)}"
            )
        local_views = pixel_values[:, list(local_clip_indices)]
        global_view = pixel_values[:, :, :, self.global_frame_index].transpose(1, 2)
        return local_views, global_view

    def _cut_compact(self, cells: torch.Tensor, local_clip_indices: tuple[int, ...]):
        positions = self.compact_layouts.get(cells.shape[1])
        if positions is None:
            raise ValueError(
                f"compact pixel_values [B, K, C, H, W] must hold K in {sorted(self.compact_layouts)} view cells "
                f"(the cells of decode 'views' or 'reference_test'), got shape {tuple(cells.shape)}"
            )
        local_positions = positions[list(local_clip_indices)]  # [L, T]
        if (local_positions < 0).any():
            raise ValueError(
                f"compact pixel_values with {cells.shape[1]} cells do not hold local clips {tuple(local_clip_indices)}"
            )
        key = (cells.shape[1], tuple(local_clip_indices), cells.device)
        if key not in self._device_indices:
            self._device_indices[key] = (
                local_positions.flatten().to(cells.device),
                positions[:, self.global_frame_index].to(cells.device),
            )
        local_indices, global_indices = self._device_indices[key]
        batch = cells.shape[0]
        local_views = cells[:, local_indices]  # [B, L * T, C, H, W]
        # Contiguous, as the grid's local rows are: the backbone then computes bit-identical features from both forms.
        local_views = (
            local_views.view(batch, *local_positions.shape, *cells.shape[2:]).transpose(2, 3).contiguous()
        )
        global_view = cells[:, global_indices].transpose(1, 2)
        return local_views, global_view


class GradientReversal(torch.autograd.Function):
    """Identity forward; gradient multiplied by -lambda backward (Ganin & Lempitsky 2015)."""

    @staticmethod
    def forward(ctx, x, lambda_):
        ctx.lambda_ = lambda_
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.neg() * ctx.lambda_, None


class DomainClassifier(nn.Module):
    """Gradient reversal -> num_layers x [Linear(D, hidden) -> Dropout -> ReLU] -> Linear(hidden, 1).

    features [M, D] -> domain logits [M] (source = 1, target = 0).
    """

    def __init__(self, in_features: int, hidden_size: int, num_layers: int, dropout: float):
        super().__init__()
        blocks = []
        for index in range(num_layers):
            blocks.append(
                nn.Sequential(
                    nn.Linear(in_features if index == 0 else hidden_size, hidden_size),
                    nn.Dropout(dropout),
                    nn.ReLU(inplace=True),
                )
            )
        self.blocks = nn.ModuleList(blocks)
        self.output = nn.Linear(hidden_size if num_layers else in_features, 1)

    def forward(self, features: torch.Tensor, grl_lambda: float) -> torch.Tensor:
        x = GradientReversal.apply(features, grl_lambda)
        for block in self.blocks:
            x = block(x)
        return self.output(x).squeeze(-1)


class VideoClassifierHead(nn.Module):
    """Dropout -> Linear. features [B, D] -> logits [B, num_labels]."""

    def __init__(self, in_features: int, num_labels: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_features, num_labels)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(features))


class TemporalOrderHead(nn.Module):
    """Clip-order prediction (SPEC §6).

    clip features [B, K, D] already in shuffled order -> every ordered pair (i < j) concatenated -> Linear(2D, hidden)
    -> ReLU -> the K(K-1)/2 pair vectors concatenated -> Dropout -> Linear(., K!) -> logits [B, K!].
    """

    def __init__(self, in_features: int, num_clips: int, hidden_size: int, dropout: float):
        super().__init__()
        self.pairs = list(itertools.combinations(range(num_clips), 2))
        self.pair_projection = nn.Linear(2 * in_features, hidden_size)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size * len(self.pairs), math.factorial(num_clips))

    def forward(self, clip_features: torch.Tensor) -> torch.Tensor:
        pairs = [torch.cat([clip_features[:, i], clip_features[:, j]], dim=-1) for i, j in self.pairs]
        pair_vectors = self.relu(self.pair_projection(torch.stack(pairs, dim=1)))  # [B, P, hidden]
        return self.classifier(self.dropout(pair_vectors.flatten(1)))


# ----------------------------------------------------------------------------------------------- models


BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


@contextlib.contextmanager
def frozen_batch_norm_statistics(module: nn.Module) -> Iterator[None]:
    """Within the block, batch norms of `module` normalise with batch statistics as usual (in training mode) but
    leave their running statistics unchanged (momentum 0; the batch counter restored)."""
    norms = [m for m in module.modules() if isinstance(m, BATCH_NORMS) and m.track_running_stats]
    saved = [(norm.momentum, norm.num_batches_tracked.clone()) for norm in norms]
    for norm in norms:
        norm.momentum = 0.0
    try:
        yield
    finally:
        with torch.no_grad():
            for norm, (momentum, count) in zip(norms, saved, strict=True):
                norm.momentum = momentum
                norm.num_batches_tracked.copy_(count)


def _weight_files(source) -> str:
    """The `*.safetensors` files of the local folder `source` (comma-separated), else `source` (a Hub id)."""
    folder = Path(source)
    files = sorted(str(path) for path in folder.glob("*.safetensors")) if folder.is_dir() else []
    return ", ".join(files) or str(source)


class TemporalOrderModelError(ValueError):
    """A temporal-order (stage-1) model was given where an action classifier is needed."""


def check_not_temporal_order(architectures, source) -> None:
    """Refuse a model whose config says it is a temporal-order model (`architectures` lists
    GladForTemporalOrderLearning, not GladForVideoClassification): as a classifier it would score with an untrained
    head. `source` (its folder or Hub id) is named in the error."""
    architectures = list(architectures or ())
    if "GladForTemporalOrderLearning" in architectures and "GladForVideoClassification" not in architectures:
        raise TemporalOrderModelError(
            f"{source} holds a temporal-order model (stage 1, GladForTemporalOrderLearning): its head orders clips "
            "and it has no trained action classifier, so as a classifier it would score a randomly initialised "
            f"head. Train stage 2 from it (--stage glad --init_model {source}) and use that model (its glad/last)"
        )


def check_classifier_folder(folder) -> None:
    """`check_not_temporal_order` for a local model folder (its config.json); a Hub id or a folder without
    config.json passes (checked when it is loaded)."""
    config_file = Path(folder) / "config.json"
    if config_file.is_file():
        check_not_temporal_order(json.loads(config_file.read_text()).get("architectures"), folder)


class GladPreTrainedModel(PreTrainedModel):
    config: GladConfig
    config_class = GladConfig
    base_model_prefix = "glad"
    main_input_name = "pixel_values"
    input_modalities = "video"
    supports_gradient_checkpointing = True

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """`PreTrainedModel.from_pretrained`; unreadable weights (a truncated or corrupt `*.safetensors`) are
        named by their file."""
        try:
            return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        except Exception as error:
            # safetensors' error names no file; matched by name, since the remote code may import only torch,
            # numpy and transformers
            if type(error).__name__ != "SafetensorError":
                raise
            raise OSError(
                f"{_weight_files(pretrained_model_name_or_path)}: the weights cannot be read ({error}); the file is "
                "truncated or corrupt (an interrupted copy or download?): copy, download or save it again"
            ) from error

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Kaiming (fan-out) convs, unit BN, PyTorch-default linears (the reference keeps them for the domain
        classifiers), and N(0, initializer_range) for the video classifier (mmaction's I3DHead).

        A transformers backbone (a `PreTrainedModel` inside) is initialised by its own `_init_weights` (transformers
        dispatches to it); modules of a torchvision backbone are marked `keep_own_initialisation` and left as they are.
        """
        if keeps_own_initialisation(module):
            return
        if isinstance(module, (nn.Conv2d, nn.Conv3d)):
            init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm3d)):
            init.ones_(module.weight)
            init.zeros_(module.bias)
            init.zeros_(module.running_mean)
            init.ones_(module.running_var)
            init.zeros_(module.num_batches_tracked)
        elif isinstance(module, nn.LayerNorm) and module.elementwise_affine:
            init.ones_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            if module.bias is not None:
                bound = 1 / math.sqrt(module.weight.shape[1])
                init.uniform_(module.bias, -bound, bound)
        elif isinstance(module, VideoClassifierHead):
            init.normal_(module.fc.weight, std=self.config.initializer_range)
            init.zeros_(module.fc.bias)
        elif isinstance(module, GladForTemporalOrderLearning):
            # A non-persistent buffer: from_pretrained creates it empty (no checkpoint holds it), so it is set here.
            init.copy_(module.permutations, clip_permutations(module.config.tol_num_clips))

    def activation_checkpointing_enable(
        self, activation_checkpointing_kwargs=None, every_n_layers: int = 1, offload: bool = False
    ):
        """transformers' activation checkpointing (non-reentrant), except that the backward pass's recomputation of a
        block leaves batch-norm running statistics as the forward pass left them: without this, every training step
        would update them twice."""
        kwargs = {
            "use_reentrant": False,
            "context_fn": lambda: (contextlib.nullcontext(), frozen_batch_norm_statistics(self)),
            **(activation_checkpointing_kwargs or {}),
        }
        super().activation_checkpointing_enable(kwargs, every_n_layers=every_n_layers, offload=offload)


class GladModel(GladPreTrainedModel):
    """Backbone + view sampling: clip grids [B, N, C, T, H, W] -> pooled features per view (`GladModelOutput`)."""

    def __init__(self, config: GladConfig):
        super().__init__(config)
        self.view_sampler = LocalGlobalViewSampler(
            config.num_clips, config.clip_len, config.global_frame_index, config.local_clip_indices
        )
        self.backbone = build_backbone(config.backbone_type, config.backbone_config)
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor,
        local_clip_indices: tuple[int, ...] | None = None,
        fuse_views: bool | None = None,
    ) -> GladModelOutput:
        """pixel_values: a clip grid [B, N, C, T, H, W] or compact view cells [B, K, C, H, W] (`LocalGlobalViewSampler`);
        `local_clip_indices` defaults to the config's; `fuse_views` (default:
        config.batch_norm_grouping == "fused") runs local and global views in one backbone call, else one call each.
        """
        indices = self.config.local_clip_indices if local_clip_indices is None else tuple(local_clip_indices)
        if fuse_views is None:
            fuse_views = self.config.batch_norm_grouping == "fused"
        local_views, global_view = self.view_sampler(pixel_values, indices)
        batch, num_local = local_views.shape[:2]
        local_input = local_views.flatten(0, 1)  # [B * L, C, T, H, W]
        if fuse_views:
            features = self.backbone.extract_features(torch.cat([local_input, global_view], dim=0))
            local_features, global_features = features[: batch * num_local], features[batch * num_local :]
        else:
            local_features = self.backbone.extract_features(local_input)
            global_features = self.backbone.extract_features(global_view)
        local_features = local_features.view(batch, num_local, -1)
        pooled = torch.cat([local_features, global_features[:, None]], dim=1).mean(dim=1)
        return GladModelOutput(
            local_features=local_features, global_features=global_features, pooled_output=pooled
        )


class GladForVideoClassification(GladPreTrainedModel):
    """GLAD for video classification, with domain-adaptation training (SPEC §4).

    - `model(pixel_values)` in eval mode: the test path (`config.test_view_aggregation`); "reference" computes only
      the last local clip and the global view, exactly as the reference recognizer scores a video.
    - `model(pixel_values, labels)` in train mode: classifier on the mean of all view features, cross-entropy.
    - `model(pixel_values, labels, target_pixel_values=...)`: adds the domain losses of `config.domain_alignment`;
      target labels are never used.
    """

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """`PreTrainedModel.from_pretrained`, refusing a config that says it is a temporal-order model (its head
        would be random): a stage-1 folder or repo, through this class, `AutoModelForVideoClassification` or the
        pipeline. Training a classifier from a stage-1 backbone passes a config of its own (no `architectures`)."""
        loaded = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded
        check_not_temporal_order(getattr(model.config, "architectures", None), pretrained_model_name_or_path)
        return loaded

    def __init__(self, config: GladConfig):
        super().__init__(config)
        self.glad = GladModel(config)
        hidden = self.glad.backbone.num_features
        self.classifier = VideoClassifierHead(hidden, config.num_labels, config.classifier_dropout)
        self.domain_classifiers = nn.ModuleDict(
            {
                name: DomainClassifier(
                    hidden, config.domain_hidden_size, config.domain_num_layers, config.domain_dropout
                )
                for name in config.domain_alignment
            }
        )
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        target_pixel_values: torch.Tensor | None = None,
        grl_lambda: float | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> GladVideoClassifierOutput | tuple:
        """pixel_values / target_pixel_values: clip grids [B, N, C, T, H, W] or compact view cells [B, K, C, H, W]
        (`LocalGlobalViewSampler`); labels [B] (source). Returns logits [B, num_labels]."""
        return_dict = self.config.return_dict if return_dict is None else return_dict
        fuse = self.config.batch_norm_grouping == "fused"
        if target_pixel_values is not None:
            if not self.training:
                raise ValueError(
                    "target_pixel_values is for domain-adaptation training: call model.train() first"
                )
            output = self._domain_adaptation_forward(
                pixel_values, labels, target_pixel_values, grl_lambda, fuse
            )
        else:
            # Out of training, batch norm uses its running statistics, so one backbone call on every view gives the
            # same features as one call per view kind, faster (when local and global views have one length).
            fuse_views = fuse or (not self.training and self.config.num_clips == self.config.clip_len)
            if self.training or self.config.test_view_aggregation == "all_views":
                features = self.glad(pixel_values, fuse_views=fuse_views).pooled_output
            else:
                # The reference's test path keeps only the last local clip (a slicing quirk, SPEC §4): don't compute
                # the other one.
                last_local = (self.config.local_clip_indices[-1],)
                features = self.glad(
                    pixel_values, local_clip_indices=last_local, fuse_views=fuse_views
                ).pooled_output
            logits = self.classifier(features)
            loss = None if labels is None else F.cross_entropy(logits, labels)
            output = GladVideoClassifierOutput(loss=loss, logits=logits, classification_loss=loss)
        return output if return_dict else output.to_tuple()

    def _domain_adaptation_forward(
        self, source, labels, target, grl_lambda, fuse
    ) -> GladVideoClassifierOutput:
        if fuse:
            if source.shape[2:] != target.shape[2:]:
                raise ValueError(
                    f"fused batch norm needs source and target clips of one shape, got {tuple(source.shape)} "
                    f"and {tuple(target.shape)}"
                )
            both = self.glad(torch.cat([source, target], dim=0), fuse_views=True)
            num_source = source.shape[0]
            source_out, target_out = (
                GladModelOutput(
                    local_features=both.local_features[part],
                    global_features=both.global_features[part],
                    pooled_output=both.pooled_output[part],
                )
                for part in (slice(None, num_source), slice(num_source, None))
            )
        else:
            source_out = self.glad(source, fuse_views=False)
            target_out = self.glad(target, fuse_views=False)
        logits = self.classifier(source_out.pooled_output)
        classification_loss = None if labels is None else F.cross_entropy(logits, labels)
        lambda_ = self.config.grl_lambda if grl_lambda is None else grl_lambda
        domain_losses, domain_accuracies = {}, {}
        for name, classifier in self.domain_classifiers.items():
            inputs, domains = _domain_inputs(name, source_out, target_out)
            domain_logits = classifier(inputs, lambda_)
            domain_losses[name] = F.binary_cross_entropy_with_logits(domain_logits, domains)
            domain_accuracies[name] = ((domain_logits > 0).float() == domains).float().mean().detach()
        domain_loss = None
        if domain_losses:
            domain_loss = self.config.domain_loss_weight * torch.stack(list(domain_losses.values())).sum()
        parts = [p for p in (classification_loss, domain_loss) if p is not None]
        loss = torch.stack(parts).sum() if parts else None
        return GladVideoClassifierOutput(
            loss=loss,
            logits=logits,
            classification_loss=classification_loss,
            domain_loss=domain_loss,
            domain_losses=domain_losses,
            domain_accuracies=domain_accuracies,
            source_features=source_out,
            target_features=target_out,
        )


def _domain_inputs(name: str, source: GladModelOutput, target: GladModelOutput):
    """Features [M, D] and domain labels [M] (source 1, target 0) for one domain classifier (SPEC §4)."""
    if name == "local":
        src, tgt = [source.local_features.mean(1)], [target.local_features.mean(1)]
    elif name == "global":
        src, tgt = [source.global_features], [target.global_features]
    elif name == "cross":
        # [source-local, target-global] and [source-global, target-local]
        src = [source.local_features.mean(1), source.global_features]
        tgt = [target.global_features, target.local_features.mean(1)]
    else:  # "video": DANN on the mean of every view
        src, tgt = [source.pooled_output], [target.pooled_output]
    rows, labels = [], []
    for s, t in zip(src, tgt):
        rows += [s, t]
        labels += [s.new_ones(s.shape[0]), t.new_zeros(t.shape[0])]
    return torch.cat(rows), torch.cat(labels)


def clip_permutations(num_clips: int) -> torch.Tensor:
    """[K!, K] long: `itertools.permutations(range(K))` in order (row i is the order of class i)."""
    return torch.tensor(list(itertools.permutations(range(num_clips))), dtype=torch.long)


class GladForTemporalOrderLearning(GladPreTrainedModel):
    """Stage 1 (SPEC §6): predict which permutation shuffled K clips of a video.

    pixel_values [B, K, C, T, H, W] in temporal order; the clips go through the backbone in one call, their pooled
    features are reordered by a permutation (drawn per video from torch's RNG unless given), and the head predicts
    its index in `itertools.permutations(range(K))` order.
    """

    def __init__(self, config: GladConfig):
        super().__init__(config)
        self.glad = GladModel(config)
        self.temporal_order_head = TemporalOrderHead(
            self.glad.backbone.num_features, config.tol_num_clips, config.tol_hidden_size, config.tol_dropout
        )
        self.register_buffer("permutations", clip_permutations(config.tol_num_clips), persistent=False)
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor,
        permutation: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> GladTemporalOrderOutput | tuple:
        """pixel_values [B, K, C, T, H, W]; permutation [B] indices into the K! permutations. logits [B, K!]."""
        return_dict = self.config.return_dict if return_dict is None else return_dict
        num_clips = self.config.tol_num_clips
        if pixel_values.ndim != 6 or pixel_values.shape[1] != num_clips:
            raise ValueError(
                f"pixel_values must be [B, {num_clips}, C, T, H, W] (tol_num_clips={num_clips}), "
                f"got shape {tuple(pixel_values.shape)}"
            )
        batch = pixel_values.shape[0]
        num_orders = self.permutations.shape[0]
        if permutation is None:
            permutation = torch.randint(num_orders, (batch,)).to(pixel_values.device)
        elif permutation.shape != (batch,) or permutation.min() < 0 or permutation.max() >= num_orders:
            raise ValueError(
                f"permutation must be [B={batch}] indices in [0, {num_orders}), got {permutation}"
            )
        features = self.glad.backbone.extract_features(pixel_values.flatten(0, 1)).view(batch, num_clips, -1)
        order = self.permutations[permutation]  # [B, K]: position k holds clip order[k]
        shuffled = torch.gather(features, 1, order[..., None].expand_as(features))
        logits = self.temporal_order_head(shuffled)
        loss = F.cross_entropy(logits, permutation)
        accuracy = (logits.argmax(-1) == permutation).float().mean().detach()
        output = GladTemporalOrderOutput(loss=loss, logits=logits, accuracy=accuracy, permutation=permutation)
        return output if return_dict else output.to_tuple()
