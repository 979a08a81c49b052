"""Model cards and provenance of converted checkpoints, and pushing model folders to the Hub (`glad_hf.hub`,
`glad-convert-mmaction --push_to_hub`, `scripts/push_to_hub.py`), against the local fake Hub (tests/fake_hub.py)."""

import hashlib
import json
import runpy
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard, hf_hub_download
from torchvision.models import resnet18

from glad_hf import GladForVideoClassification, GladVideoProcessor
from glad_hf.conversion import convert_mmaction_checkpoint, main
from glad_hf.hub.cards import EVALUATION_RESULTS_END, EVALUATION_RESULTS_START
from glad_hf.hub.provenance import PROVENANCE_FILE_NAME, parse_zoo_file_name
from glad_hf.hub.push import check_repo_id, push_model_folder
from glad_hf.hub.retry import HubPushError, RetryPolicy
from helpers import tiny_config
from test_conversion import mmaction_i3d_r50_shapes, random_state_dict
from test_conversion_tsm import R18_BLOCKS, mmaction_tsm_shapes

# huggingface_hub's LFS upload passes a file object as `data=`, which its HTTP client deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")

REPO = Path(__file__).resolve().parents[1]
I3D_ZOO_FILE = (
    "i3d_imagenet-pretrained-r50-nl-dot-product_8xb8-32x2x1-100e_kinetics400-rgb_20220812-8e1f2148.pth"
)
REPO_ID = "glad-org/i3d-r50-nl-k400"


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def tiny_model_folder(tmp_path):
    """A tiny GLAD `save_pretrained` folder with processor and a card."""
    folder = tmp_path / "tiny"
    GladForVideoClassification(tiny_config()).save_pretrained(folder)
    GladVideoProcessor().save_pretrained(folder)
    (folder / "README.md").write_text("---\nlibrary_name: glad_hf\n---\n\n# tiny\n")
    return folder


def test_zoo_identities_are_read_from_file_names():
    mmaction = parse_zoo_file_name(I3D_ZOO_FILE, sha256="8e1f2148" + "0" * 56)
    assert mmaction["zoo"] == "mmaction2" and mmaction["zoo_id"] == "20220812-8e1f2148"
    assert mmaction["config"] == I3D_ZOO_FILE.rsplit("_", 1)[0] and mmaction["date"] == "2022-08-12"
    assert mmaction["sha256_matches_hash_suffix"] is True
    assert mmaction["url"].endswith(f"/recognition/i3d/{mmaction['config']}/{I3D_ZOO_FILE}")
    torchvision = parse_zoo_file_name("resnet50-0676ba61.pth", sha256="f" * 64)
    assert torchvision["zoo"] == "torchvision" and torchvision["arch"] == "resnet50"
    assert torchvision["sha256_matches_hash_suffix"] is False
    assert parse_zoo_file_name("glad_k2b.pth") is None


def test_converted_zoo_checkpoint_carries_provenance_is_pushed_and_downloads(fake_hub, tmp_path):
    state = random_state_dict(mmaction_i3d_r50_shapes(head_classes=400), seed=5)
    state["data_preprocessor.mean"] = torch.zeros(3, 1, 1)
    checkpoint = tmp_path / I3D_ZOO_FILE
    torch.save({"meta": {"epoch": 100}, "state_dict": state}, checkpoint)
    sha256 = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    output = tmp_path / "converted"

    main(["--checkpoint", str(checkpoint), "--output", str(output), "--push_to_hub", REPO_ID, "--private"])

    provenance = json.loads((output / PROVENANCE_FILE_NAME).read_text())
    assert provenance["source"]["file_name"] == I3D_ZOO_FILE and provenance["source"]["sha256"] == sha256
    zoo = provenance["source"]["zoo"]
    assert zoo["zoo_id"] == "20220812-8e1f2148" and zoo["hash_suffix"] == "8e1f2148"
    assert zoo["sha256_matches_hash_suffix"] is False  # random weights, not the published file
    conversion = provenance["conversion"]
    assert conversion["kind"] == "classifier" and conversion["source_num_labels"] == 400
    assert conversion["counts"] == {"used": 380, "ignored": 1, "initialised": 30}
    assert conversion["ignored"] == ["data_preprocessor.mean"] and len(conversion["used"]) == 380
    assert all(key.startswith("domain_classifiers.") for key in conversion["initialised"])

    card = ModelCard.load(output / "README.md")
    data = card.data
    assert data.library_name == "glad_hf" and data.pipeline_tag == "video-classification"
    assert data.license == "apache-2.0" and data.model_name == "i3d-r50-nl-k400"
    assert data.datasets == ["imagenet-1k", "kinetics-400"]
    assert {"glad", "mmaction2", "resnet3d", "kinetics-400"} <= set(data.tags)
    assert data.eval_results is None and "model-index" not in data.to_dict()  # nothing evaluated yet
    text = card.text
    assert sha256 in text and "`20220812-8e1f2148`" in text and "**not** start with it" in text
    assert "**380 used** (378 `backbone.*`, 2 `cls_head.*`), **1 ignored**" in text
    assert "**30 newly initialised**" in text and "- `data_preprocessor.mean`" in text
    assert "**Stage-1 initialisation.**" in text
    assert f"--config configs/k2b_i3d_paper.yaml --data_dir data --init_model {REPO_ID}" in text
    assert "Apache License 2.0" in text and "CC BY 4.0" in text and "BSD-3-Clause" in text
    assert EVALUATION_RESULTS_START in text and EVALUATION_RESULTS_END in text
    assert "{{ " not in text and "{%" not in text

    # one commit on top of the repo's first, private as asked
    repo = fake_hub.repos[REPO_ID]
    assert repo.private and len(repo.commits) == 2
    assert repo.head.summary == f"Convert {I3D_ZOO_FILE} with glad_hf"
    pushed = fake_hub.files(REPO_ID)
    for name, content in folder_bytes(output).items():
        if name.endswith(".json") and name != PROVENANCE_FILE_NAME:  # remote code may add `auto_map`
            settings = json.loads(pushed[name])
            settings.pop("auto_map", None)
            assert settings == json.loads(content), name
        else:
            assert pushed[name] == content, name

    # a fresh cache downloads the model, its processor and its card from the Hub
    cache = tmp_path / "fresh_cache"
    model = GladForVideoClassification.from_pretrained(REPO_ID, cache_dir=cache)
    torch.testing.assert_close(model.classifier.fc.weight, state["cls_head.fc_cls.weight"])
    assert GladVideoProcessor.from_pretrained(REPO_ID, cache_dir=cache).num_clips == 8
    downloaded = ModelCard.load(hf_hub_download(REPO_ID, "README.md", cache_dir=cache))
    assert downloaded.data.license == "apache-2.0" and sha256 in downloaded.text
    assert json.loads(Path(hf_hub_download(REPO_ID, PROVENANCE_FILE_NAME, cache_dir=cache)).read_text()) == (
        provenance
    )


def test_glad_tol_and_imagenet_checkpoints_get_cards_for_their_use(tmp_path):
    glad = tmp_path / "glad_k2b_tsm_r18.pth"
    shapes = mmaction_tsm_shapes(stage_blocks=R18_BLOCKS, head_classes=12, domain_classifiers=True)
    torch.save({"state_dict": random_state_dict(shapes, seed=6)}, glad)
    convert_mmaction_checkpoint(glad, tmp_path / "glad", model_id="glad-org/glad-k2b-tsm")
    card = ModelCard.load(tmp_path / "glad" / "README.md")
    assert card.data.license is None and card.data.datasets == ["kinetics2babel"]
    assert card.data.pipeline_tag == "video-classification" and "tsm" in card.data.tags
    assert "**Evaluation of a published GLAD model.**" in card.text
    assert "evaluate_glad.py --model glad-org/glad-k2b-tsm --dataset kinetics2babel" in card.text
    assert "three domain classifiers" in card.text and "BABEL / AMASS" in card.text
    assert "none recognised from the file name" in card.text

    tol = tmp_path / "tol.pth"
    torch.save(random_state_dict(mmaction_tsm_shapes(stage_blocks=R18_BLOCKS, tol_head=True), seed=7), tol)
    convert_mmaction_checkpoint(tol, tmp_path / "tol", model_id="glad-org/tol", license="bsd-3-clause")
    card = ModelCard.load(tmp_path / "tol" / "README.md")
    assert card.data.pipeline_tag is None  # a clip-order model is not a video classifier
    assert card.data.license == "bsd-3-clause" and "**Stage-2 initialisation.**" in card.text
    assert (
        "--config configs/k2b_tsm_r50_ablation.yaml --data_dir data --init_model glad-org/tol --stage glad"
        in card.text
    )

    weights = resnet18().state_dict()
    torch.save(weights, tmp_path / "scratch.pth")
    sha256 = hashlib.sha256((tmp_path / "scratch.pth").read_bytes()).hexdigest()
    named = tmp_path / f"resnet18-{sha256[:8]}.pth"  # torchvision names a file by the start of its sha256
    (tmp_path / "scratch.pth").rename(named)
    convert_mmaction_checkpoint(named, tmp_path / "tsm", base_model="timm/resnet18.tv_in1k")
    card = ModelCard.load(tmp_path / "tsm" / "README.md")
    provenance = json.loads((tmp_path / "tsm" / PROVENANCE_FILE_NAME).read_text())
    assert provenance["conversion"]["kind"] == "imagenet_resnet"
    assert provenance["source"]["zoo"]["sha256_matches_hash_suffix"] is True
    assert card.data.license == "bsd-3-clause" and card.data.datasets == ["imagenet-1k"]
    assert card.data.base_model == "timm/resnet18.tv_in1k"
    assert "this is the published file" in card.text and "**Stage-1 initialisation.**" in card.text


def test_push_script_pushes_a_staged_copy_in_one_commit(fake_hub, tiny_model_folder):
    before = folder_bytes(tiny_model_folder)
    runpy.run_path(str(REPO / "scripts" / "push_to_hub.py"))["main"](
        ["--folder", str(tiny_model_folder), "--repo_id", "glad-org/tiny", "--commit_message", "tiny model"]
    )
    assert folder_bytes(tiny_model_folder) == before  # the user's folder is untouched
    repo = fake_hub.repos["glad-org/tiny"]
    assert not repo.private and len(repo.commits) == 2 and repo.head.summary == "tiny model"
    pushed = fake_hub.files("glad-org/tiny")
    for name in ("model.safetensors", "README.md"):
        assert pushed[name] == before[name]
    model = GladForVideoClassification.from_pretrained(
        "glad-org/tiny", cache_dir=tiny_model_folder.parent / "c"
    )
    assert model.config.num_labels == tiny_config().num_labels


def test_the_pushed_repo_has_remote_code_when_the_package_provides_it(fake_hub, tiny_model_folder):
    push_model_folder(tiny_model_folder, "glad-org/tiny")
    pushed = fake_hub.files("glad-org/tiny")
    assert "auto_map" in json.loads(pushed["config.json"])
    assert any(name.endswith(".py") for name in pushed)
    assert "auto_map" not in json.loads((tiny_model_folder / "config.json").read_text())
    assert not list(tiny_model_folder.glob("*.py"))


@pytest.mark.parametrize("problem", ["missing", "no_config", "not_glad", "no_weights"])
def test_a_folder_that_is_not_a_glad_model_is_refused_before_any_request(
    fake_hub, tiny_model_folder, problem
):
    folder = tiny_model_folder
    if problem == "missing":
        folder = folder.parent / "typo"
    elif problem == "no_config":
        (folder / "config.json").unlink()
    elif problem == "not_glad":
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps(config | {"model_type": "bert"}))
    else:
        (folder / "model.safetensors").unlink()
    with pytest.raises(ValueError, match=str(folder)):
        push_model_folder(folder, "glad-org/tiny")
    assert fake_hub.requests == [] and fake_hub.repos == {}


@pytest.mark.parametrize(
    "repo_id", ["glad-tiny", "glad-org/glad tiny", "a/b/c", "glad-org/glad--tiny", "org/"]
)
def test_a_malformed_repo_id_is_refused_before_any_request(fake_hub, tiny_model_folder, repo_id):
    with pytest.raises(ValueError, match="ORG/NAME") as raised:
        push_model_folder(tiny_model_folder, repo_id)
    assert repr(repo_id) in str(raised.value)
    assert fake_hub.requests == [] and fake_hub.repos == {}


def test_the_converter_refuses_a_malformed_repo_id_before_converting(fake_hub, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(
            [
                "--checkpoint",
                str(tmp_path / "any.pth"),
                "--output",
                str(tmp_path / "out"),
                "--push_to_hub",
                "x",
            ]
        )
    assert "--push_to_hub: repo id 'x' is not of the form ORG/NAME" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and fake_hub.requests == []
    with pytest.raises(ValueError, match="ORG/NAME"):
        check_repo_id("glad-org/bad name")


def test_an_upload_that_keeps_failing_raises_naming_the_repo(fake_hub, tiny_model_folder, caplog):
    fake_hub.fail_requests("/commit/", times=100, status=500)
    with pytest.raises(HubPushError, match=r"glad-org/tiny failed after 3 attempts: .*500"):
        push_model_folder(tiny_model_folder, "glad-org/tiny", retries=RetryPolicy(max_retries=2, backoff=0.0))
    commits = [path for method, path in fake_hub.requests if "/commit/" in path]
    assert len(commits) == 3
    assert set(fake_hub.files("glad-org/tiny")) == {".gitattributes"}  # nothing half-pushed
    assert sum("retrying" in record.getMessage() for record in caplog.records) == 2


def test_a_transient_failure_is_retried(fake_hub, tiny_model_folder):
    fake_hub.fail_requests("/commit/", times=1, status=503)
    commit = push_model_folder(tiny_model_folder, "glad-org/tiny", retries=RetryPolicy(backoff=0.0))
    assert commit.commit_url.startswith(f"{fake_hub.endpoint}/glad-org/tiny/commit/")
    assert "model.safetensors" in fake_hub.files("glad-org/tiny")


def test_a_refused_permission_is_not_retried(fake_hub, tiny_model_folder):
    fake_hub.fail_requests("/api/repos/create", times=100, status=403)
    with pytest.raises(HubPushError, match=r"glad-org/tiny failed after 1 attempt: .*403"):
        push_model_folder(tiny_model_folder, "glad-org/tiny", retries=RetryPolicy(max_retries=3, backoff=0.0))
    assert fake_hub.repos == {}


def test_a_push_offline_fails_at_once_naming_the_repo(tiny_model_folder, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    requests = []
    monkeypatch.setattr("glad_hf.hub.push.HfApi.create_repo", lambda *args, **kwargs: requests.append(args))
    with pytest.raises(
        HubPushError, match="glad-org/tiny: HF_HUB_OFFLINE=1 is set, so no upload can succeed"
    ):
        push_model_folder(tiny_model_folder, "glad-org/tiny")
    assert requests == []  # no request, hence no retry loop that cannot succeed


def test_push_script_refuses_negative_retries_before_any_request(fake_hub, tiny_model_folder, capsys):
    main_of_script = runpy.run_path(str(REPO / "scripts" / "push_to_hub.py"))["main"]
    with pytest.raises(SystemExit):
        main_of_script(
            ["--folder", str(tiny_model_folder), "--repo_id", "glad-org/tiny", "--max_retries", "-1"]
        )
    assert "--max_retries / max_retries must be >= 0, got -1" in capsys.readouterr().err
    assert fake_hub.requests == []
