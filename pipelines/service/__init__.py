"""The web service of fallwatch: a FastAPI app over the event store, and a web page.

``create_app(Settings(data_dir=...))`` builds the app (tests build it directly);
``fallwatch serve --data DIR`` runs it with uvicorn; ``fallwatch token create --data DIR
--role ROLE`` makes API tokens (viewer, investigator, admin). See ``app.py``.
"""

from pipelines.service.app import create_app
from pipelines.service.config import Settings

__all__ = ["Settings", "create_app"]
