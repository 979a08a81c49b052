"""Convert an mmaction2 (GLAD reference) checkpoint into a `GladForVideoClassification.from_pretrained` folder, with a
model card and `provenance.json`; optionally push it to the Hub.

python scripts/convert_mmaction_checkpoint.py --checkpoint glad.pth --output converted/ [--num-labels 12] \
    [--push_to_hub ORG/NAME [--private]]
"""

from glad_hf.conversion import main

if __name__ == "__main__":
    main()
