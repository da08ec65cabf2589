"""Alembic environment: uses the engine handed over by `custodes.store.migrate`."""

from alembic import context

from custodes.store.migrations.tables import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
