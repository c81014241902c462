"""The console's pages: each module exposes ``routes`` (a list of Starlette routes), found by `app.py`."""
