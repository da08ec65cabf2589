"""Leak forensics: which exposure and which employee produced a leaked list (canaries, the
e-mail read index, a probabilistic model), fingerprinted exports, canary intake alerts."""
