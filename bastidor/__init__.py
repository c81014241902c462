"""Bastidor: declarative YAML flows run by Playwright bots, with every action audited."""

from pathlib import Path

__version__ = "0.1.0"

# In a source checkout, `bots/` and `connectors/` sit beside this package and are
# installed as `bastidor.bots` and `bastidor.connectors`. Let them resolve the same
# way when `python runner.py` runs straight from the checkout.
_checkout = Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "bots" / "__init__.py").is_file():
    __path__.append(str(_checkout))  # noqa: F821 - the package's own __path__
