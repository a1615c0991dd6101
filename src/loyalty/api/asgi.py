"""The application object uvicorn imports in each worker process (configured from the environment)."""

from loyalty.api.app import create_app
from loyalty.api.observability import configure_logging
from loyalty.settings import Settings

settings = Settings()
configure_logging(settings.log_level)
app = create_app(settings)
