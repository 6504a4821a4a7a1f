"""fallwatch's detection algorithm: luma frames in, events out.

Nothing in this package opens a file, a socket or a window, and it never imports
``pipelines``.
"""
