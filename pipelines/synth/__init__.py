"""The labelled scene generator: physically faithful synthetic footage with ground truth.

A perspective camera at the foot of a building looks up at its facade. Objects are
released from windows and integrated under gravity with quadratic air drag; the
things that cause false alarms in the field are rendered beside them. Each scene is
written as H.264 (``NAME.mp4``), its camera file (``NAME.yaml``) and its truth
(``NAME.truth.json``).
"""
