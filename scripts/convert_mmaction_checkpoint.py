"""Convert an mmaction2 (GLAD reference) checkpoint into a `GladForVideoClassification.from_pretrained` folder.

python scripts/convert_mmaction_checkpoint.py --checkpoint glad.pth --output converted/ [--num-labels 12]
"""

from glad_hf.conversion import main

if __name__ == "__main__":
    main()
