from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str(
    "SECRET_KEY", default="dev-only-insecure-key-never-use-in-production"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
# One developer is every shopper, all from 127.0.0.1.
CHECKOUTS_PER_ADDRESS = env.int("CHECKOUTS_PER_ADDRESS", default=1000)
