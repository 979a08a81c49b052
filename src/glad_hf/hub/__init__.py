"""Everything glad_hf does with the Hugging Face Hub, in one package (the model side's neighbour: it imports the
model, never data or training code).

- `cards`: what every model card shares, and the card of a trained checkpoint;
- `converted_card`, `provenance`: the card of a converted checkpoint and the record of where it comes from;
- `card_results`: evaluation results added to an existing card (`evaluate_glad.py --update_card`);
- `remote_code`: GLAD's code beside the weights, so that a folder or repo loads with `trust_remote_code=True`;
- `push`: the checks every push makes, and a folder pushed now, in one commit (`scripts/push_to_hub.py`);
- `background`: checkpoint folders pushed while training goes on (`HfApi.run_as_future`);
- `run_sync`: what `--hub_strategy` pushes during a run, and `--resume_from_checkpoint hub`;
- `retry`: the one retry policy of every push.
"""

from .background import BackgroundHubUploader
from .card_results import update_model_card_results
from .cards import render_model_card, write_model_card
from .converted_card import render_converted_model_card, write_converted_model_card
from .provenance import conversion_provenance
from .push import check_model_folder, check_repo_id, push_model_folder
from .remote_code import add_remote_code
from .retry import HubPushError, RetryPolicy
from .run_sync import HUB_STRATEGIES, HubPublisher, download_stage_state

__all__ = [
    "HUB_STRATEGIES",
    "BackgroundHubUploader",
    "HubPublisher",
    "HubPushError",
    "RetryPolicy",
    "add_remote_code",
    "check_model_folder",
    "check_repo_id",
    "conversion_provenance",
    "download_stage_state",
    "push_model_folder",
    "render_converted_model_card",
    "render_model_card",
    "update_model_card_results",
    "write_converted_model_card",
    "write_model_card",
]
