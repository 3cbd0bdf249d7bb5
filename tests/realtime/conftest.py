"""The app served on a real port in this process (the browser tests' server), for socket tests."""
from tests.browser.conftest import live_server, live_server_factory  # noqa: F401
