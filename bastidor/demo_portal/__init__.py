"""Bastidor's demo back-office portal: a small real web app that demo flows and browser tests drive.

Start it with ``start_portal(PortalSettings(password=...))`` or ``python -m bastidor.demo_portal``.
"""

from bastidor.demo_portal.app import create_app
from bastidor.demo_portal.server import PortalStartError, RunningPortal, start_portal
from bastidor.demo_portal.settings import PortalSettings

__all__ = ["PortalSettings", "PortalStartError", "RunningPortal", "create_app", "start_portal"]
