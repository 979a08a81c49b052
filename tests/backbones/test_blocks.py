"""The residual blocks shared by I3D and TSM (`backbones/blocks.py`): one definition in 2 and 3 dimensions, built
from block tables, refusing what a table or a 2D block cannot mean."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from glad_hf.backbones.blocks import BasicBlock, BlockSpec, Bottleneck, ConvBnAct, make_stages, residual_block

NORM = SimpleNamespace(norm_eps=1e-5, norm_momentum=0.1)


@pytest.mark.parametrize("block", [BasicBlock, Bottleneck])
def test_a_per_frame_block_computes_what_the_3d_block_computes_on_one_frame(block):
    """The 2D block (TSM) and the 3D block (I3D, temporal kernel 1) are one definition: same keys, and with the 3D
    block's weights (T dimension squeezed) the 2D block maps a frame to the 3D block's output for it."""
    spec = BlockSpec(spatial_stride=2)
    torch.manual_seed(0)
    block3d = block(8, 4, spec, dims=3, config=NORM).eval()
    block2d = block(8, 4, spec, dims=2, config=NORM).eval()
    assert block2d.state_dict().keys() == block3d.state_dict().keys()
    assert block3d.downsample is not None  # stride 2 and 8 -> 4 * expansion channels
    block2d.load_state_dict({k: v.squeeze(2) if v.ndim == 5 else v for k, v in block3d.state_dict().items()})
    x = torch.randn(2, 8, 1, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(block2d(x[:, :, 0]), block3d(x)[:, :, 0])


def test_an_inflated_block_convolves_over_time():
    block = Bottleneck(8, 2, BlockSpec(temporal_kernel=3, temporal_stride=2), dims=3, config=NORM)
    assert block.conv1.conv.kernel_size == (3, 1, 1) and block.conv1.conv.padding == (1, 0, 0)
    assert block.conv1.conv.stride == (2, 1, 1) and block.downsample.conv.stride == (2, 1, 1)
    assert block(torch.randn(1, 8, 4, 4, 4)).shape == (1, 8, 2, 4, 4)


@pytest.mark.parametrize(
    "spec, message",
    [
        (BlockSpec(temporal_kernel=3), "temporal kernel of 3"),
        (BlockSpec(temporal_stride=2), "temporal stride of 2"),
    ],
)
def test_a_per_frame_block_refuses_a_temporal_kernel_or_stride(spec, message):
    with pytest.raises(ValueError, match=message):
        BasicBlock(4, 4, spec, dims=2, config=NORM)


def test_conv_bn_act_in_two_dimensions_drops_a_neutral_time_axis():
    conv = ConvBnAct(3, 4, (1, 3, 3), (1, 2, 2), (0, 1, 1), dims=2, config=NORM)
    assert isinstance(conv.conv, nn.Conv2d) and isinstance(conv.bn, nn.BatchNorm2d)
    assert (conv.conv.kernel_size, conv.conv.stride, conv.conv.padding) == ((3, 3), (2, 2), (1, 1))


def test_make_stages_builds_the_table_and_its_temporal_modules():
    table = [
        [BlockSpec(shift=True), BlockSpec(non_local=True)],
        [BlockSpec(spatial_stride=2)],
    ]
    built = []

    def non_local(channels):
        built.append(channels)
        return nn.Identity()

    config = SimpleNamespace(depth=50, base_channels=2, **vars(NORM))  # bottlenecks, stage widths 2 and 4
    layers, channels = make_stages(table, dims=3, config=config, shift=nn.Identity, non_local=non_local)
    assert channels == 16 and [len(layer) for layer in layers] == [2, 1]
    assert [block.shift is not None for layer in layers for block in layer] == [True, False, False]
    assert [block.non_local is not None for layer in layers for block in layer] == [False, True, False]
    assert built == [8]  # the non-local block gets the block's output channels (2 planes * 4)
    assert layers[1][0].downsample is not None and layers[0][1].downsample is None
    assert residual_block(18) is BasicBlock


def test_make_stages_refuses_a_row_asking_for_a_module_it_cannot_build():
    config = SimpleNamespace(depth=18, base_channels=2, **vars(NORM))
    with pytest.raises(ValueError, match="non_local=True"):
        make_stages([[BlockSpec(non_local=True)]], dims=3, config=config)
