"""Push a GLAD model folder (written by the converter, training or evaluation) to a Hub model repo in one commit.

python scripts/push_to_hub.py --folder outputs/run/glad/last --repo_id ORG/glad-k2b-i3d [--private] \
    [--commit_message "..."]

The folder is checked (config.json with model_type "glad", *.safetensors weights) and the repo id too before any
upload; the folder itself is not modified (a staged copy is pushed). Log in first (`hf auth login` or HF_TOKEN).
"""

from glad_hf.hub.push import main

if __name__ == "__main__":
    main()
