"""The shipped thresholds of what the aligner hears: the defaults of `lmm_apa.infer.policy.ScoringPolicy`.

Kept apart from the modules that apply them (which load torch) so that reading a policy does not.
A scorer applies its model's policy; these are what the shipped default's was made with, and the
defaults of `Aligner` and `EvidenceScorer` for code that scores without a policy (training data,
benches).
"""

# Cost (log-probability) of leaving a word unsaid: a fixed part plus a part per phone, so that a long
# word is not dropped for one badly said phone. Chosen on dev (bench/align_skip_penalty.py).
SKIP_BASE = 6.0
SKIP_PER_PHONE = 3.0
# A said word whose predicted accuracy is below this is reported as mispronounced. The corpus' raters
# give 0-10, and words at 5 or below have at least one clearly wrong sound in their guidelines.
MISPRONUNCIATION_BELOW = 6.0
# A said phone whose predicted accuracy (0-2) is below this is reported as heard as its rival: "more
# wrong than right". Measured as a detector of the phones raters scored below 1 on dev25
# (bench/results/heard_phones.md): F1 0.64 against 0.36 for the recogniser's own choice (GOP < 0,
# the earlier rule, which flagged a quarter of all phones); cross-validated cuts fall at 1.0-1.3.
HEARD_BELOW = 1.0
