"""Deployment settings, read from the environment with working local defaults."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Where the filesystem broker, the file result backend and generated media live when
# no server is configured.
DATA_DIR = Path(os.environ.get("SHOP_DATA_DIR", Path(tempfile.gettempdir()) / "poolkit-shop"))

DATABASE_URL = os.environ.get("SHOP_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/shop")
PAYMENTS_API = os.environ.get("SHOP_PAYMENTS_API", "http://127.0.0.1:8025/v1")
WEBHOOK_TIMEOUT = float(os.environ.get("SHOP_WEBHOOK_TIMEOUT", "10"))
SMTP_HOST = os.environ.get("SHOP_SMTP_HOST", "127.0.0.1")
SMTP_PORT = int(os.environ.get("SHOP_SMTP_PORT", "1025"))
SHOP_EMAIL = "orders@shop.example"

HTTP_QUEUE = "http"
