"""Schema versions: each component's Alembic history, and running it.

    history.py    each component's revisions, read without importing Alembic (the check on every open)
    apply.py      the schema lock and `alembic upgrade`, driven from code (no alembic.ini)
    env.py        Alembic's environment: the connection and the component come from `Config.attributes`
    compare.py    how tables are compared with the models (revisions written, and the drift test)
    adopt.py      what base revisions use to adopt tables made before schema versions
    upgrades.py   every component of a home folder or a shared database: status, and upgrading them all
    new.py        ``python -m bastidor.database.migrations.new "message"`` writes the revisions for changed tables
    versions/<component>/   the revisions: one line from a base revision per component

The rules (when a database is upgraded by itself, when that is an error) are in `bastidor.database.schema`.
Nothing here imports Alembic at import time.
"""
