"""Policy learning on robomimic (BC-RNN-GMM): presets, training, safe checkpoints, evaluation helpers.

torch/robomimic are imported inside functions only, so importing this package stays framework-free.
"""
