"""Hear what was said: a CTC phone recogniser on the frozen audio encoder, forced alignment of any
reference text with omissions allowed, and per-phone / per-word acoustic evidence.

Pipeline: 50 Hz encoder frames -> `PhoneHead` (log posteriors over phones + blank) ->
`align_words` (CTC Viterbi whose words may be skipped) -> `Alignment` (word and phone segments,
omissions, insertions, the phone heard; per phone `evidence.segment_stats`, GOP-style features) ->
`EvidenceScorer` (scores from the evidence alone). `Listener.hear` runs it all for one recording.
"""
