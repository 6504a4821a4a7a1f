"""Alembic environment of the fallwatch store: runs on the connection the store hands over
in ``config.attributes["connection"]`` (no ini file, no URL of its own)."""

from alembic import context

from pipelines.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
