"""A second application in the test process, with the shared services put back afterwards.

`create_app` binds process-wide objects (the keyring, the database engine, the job queue), so a
test that needs other settings (other keys, a Redis that is down) builds its app here, and the
session's app finds everything as it was when the block ends.
"""
from __future__ import annotations

import contextlib

from tests.conftest import test_settings


@contextlib.contextmanager
def another_app(app, **overrides):
    """Yield a new app with the session app's settings plus `overrides`; rebind to `app` afterwards."""
    import app as app_package
    from app.core.crypto import keyring
    from app.extensions import db, jobs

    saved_keyring = dict(keyring.__dict__)
    saved_engine, saved_bind = db.engine, db._factory.kw.get("bind")
    saved_jobs = dict(jobs.__dict__)
    db.session.remove()
    try:
        # The same checkpoint file: it describes the same database.
        overrides = {"AUDIT_CHECKPOINT_PATH": app.config["AUDIT_CHECKPOINT_PATH"], **overrides}
        yield app_package.create_app(test_settings(app.config["DATABASE_URL"], app.config["REDIS_URL"], **overrides))
    finally:
        db.session.remove()
        keyring.__dict__.update(saved_keyring)
        db.engine = saved_engine
        db._factory.configure(bind=saved_bind)
        jobs.__dict__.update(saved_jobs)
        bind_services = getattr(app_package, "bind_services", None)
        if bind_services is not None:
            bind_services(app)
