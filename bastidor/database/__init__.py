"""Where Bastidor keeps its shared state: the home folder's SQLite files (embedded, the default) or one
PostgreSQL database shared by every machine (`--database URL` / `$BASTIDOR_DATABASE_URL`).

    places = places_for(home)          # Places(home, url) for this command
    open_work_queue(places.queue)      # home/queue.db, or the PostgreSQL URL
    open_run_store(places.runs)        # home/runs.db, or the same URL
"""

from bastidor.lazy import lazy_exports

_EXPORTS = {
    "DATABASE_ENV": "places", "DatabaseSettingError": "places", "Places": "places", "database_url": "places",
    "normalized_url": "places", "places_for": "places", "is_postgres": "places", "safe_url": "places",
}
"""Each exported name and the module it lives in, imported on first use (see `bastidor.lazy`)."""
__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
