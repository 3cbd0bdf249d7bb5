"""Unbound extension objects: any module may import them without importing the app."""
from __future__ import annotations

from flask_babel import Babel
from flask_compress import Compress
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from app.core.cache import Cache
from app.core.db import Database
from app.core.jobs import JobQueue
from app.realtime.hub import Hub
from app.realtime.slots import SocketSlots

login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
compress = Compress()
db = Database()
jobs = JobQueue()
cache = Cache()
hub = Hub()
socket_slots = SocketSlots()
