"""Live cameras: ``fallwatch watch``.

- ``site.py``: the site file (cameras, data folder, alerts, retention, ``LiveSettings``);
- ``worker.py``: ``CameraWorker``, one camera's stream -> detector -> evidence, reporting
  health, events and evidence through one ``emit`` callable (a process's queue);
- ``supervisor.py``: one spawned process per camera, restarts, store and alerts;
- ``command.py``: the command line.
"""
