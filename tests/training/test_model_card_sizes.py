"""A trained model's card describes that model: backbone family and depth, feature size, head widths, clip grid and
input size read from its config and processor, not the paper's R50 text."""

from glad_hf.configuration_glad import GladConfig
from glad_hf.hub.cards import render_model_card
from glad_hf.training.outputs import config_summary


def _card(config: GladConfig, input_size=None) -> str:
    return render_model_card(
        model_id="org/m",
        dataset_name="synthetic",
        config_summary=config_summary(config),
        input_size=input_size,
    ).text


def test_a_tiny_models_card_names_its_own_sizes():
    config = GladConfig.tiny()
    text = _card(config, input_size=(32, 24))
    details = text.split("## How to use")[0]
    assert "2048" not in details and "ResNet3d-50" not in details and "four" not in details
    assert f"I3D ResNet3d-{config.backbone_config.depth}" in details
    assert f"features average-pooled to {config.hidden_size}" in details
    assert f"an MLP of {config.domain_num_layers} {config.domain_hidden_size}-wide layers" in details
    assert "short side resized to 32, one centre crop of 24" in text
    assert "pixel_values [1, 8, 3, 8, 24, 24]" in text
    assert f"| `tol_hidden_size` | {config.tol_hidden_size} |" in text


def test_the_papers_model_keeps_the_papers_description():
    text = _card(GladConfig(), input_size=(256, 224))
    assert (
        "I3D ResNet3d-50 with non-local blocks (mmaction `ResNet3d`), features average-pooled to 2048" in text
    )
    assert "an MLP of 4 2048-wide layers" in text and "clips 4 and 5" in text


def test_a_tsm_models_card_names_tsm_and_its_depth():
    config = GladConfig.tiny("tsm")
    text = _card(config)
    assert (
        f"TSM ResNet-{config.backbone_config.depth} (temporal shift)" in text
        and "ResNet3d" not in text.split("## How to use")[0]
    )
