"""The twelve Kinetics->BABEL action classes (SPEC §1), shared by the model config and the data code."""

K2B_LABELS = (
    "jump",
    "run",
    "throw",
    "kick",
    "bend",
    "dance",
    "clean",
    "squat",
    "punch",
    "crawl",
    "clap",
    "lift",
)

# Kinetics-400 classes grouped into each K->B action (SPEC §1).
K400_CLASSES_PER_LABEL = {
    "jump": ("long_jump", "high_jump"),
    "run": ("jogging", "running_on_treadmill"),
    "throw": ("throwing_ball", "throwing_axe", "javelin_throw"),
    "kick": ("kicking_soccer_ball", "drop_kicking", "kicking_field_goal"),
    "bend": ("bending_back",),
    "dance": ("swing_dancing", "dancing_macarena", "tap_dancing", "tango_dancing"),
    "clean": ("cleaning_pool", "cleaning_toilet", "cleaning_windows", "cleaning_floor"),
    "squat": ("squat",),
    "punch": ("slapping", "punching_person_(boxing)", "punching_bag"),
    "crawl": ("crawling_baby",),
    "clap": ("applauding", "clapping"),
    "lift": ("deadlifting", "front_raises"),
}

# Normalisation of 0-255 RGB input (SPEC §7).
IMAGE_MEAN = (123.675, 116.28, 103.53)
IMAGE_STD = (58.395, 57.12, 57.375)
