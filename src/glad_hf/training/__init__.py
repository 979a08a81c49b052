"""Training of GLAD: stage-1 temporal order learning and stage-2 domain adaptation, with Accelerate."""
