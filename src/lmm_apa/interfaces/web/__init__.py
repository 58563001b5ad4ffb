"""The practice web page and its HTTP API (FastAPI): `create_app(scorer_factory)`."""

from lmm_apa.interfaces.web.app import Limits, Scorer, create_app

__all__ = ["Limits", "Scorer", "create_app"]
