"""Calls that go up a layer (app/core/hooks.py): create_app answers every one, and one left
unanswered raises instead of silently skipping what it was for (an audit, an access check)."""
from __future__ import annotations

import re
import sys

import pytest

from app.core.hooks import Hook


def test_every_hook_the_app_declares_is_answered(app):
    hooks = [(name, value) for module_name, module in list(sys.modules.items())
             if module_name == "app" or module_name.startswith("app.")
             for name, value in vars(module).items() if isinstance(value, Hook)]
    assert len(hooks) >= 8
    unanswered = [f"{name}: {hook.purpose}" for name, hook in hooks if hook._answer is None]
    assert unanswered == []


def test_an_unanswered_hook_raises():
    hook = Hook("audit something")
    with pytest.raises(RuntimeError, match="audit something"):
        hook(reason="x")
    hook.register(lambda **kwargs: kwargs)
    assert hook(reason="x") == {"reason": "x"}


def test_the_layout_still_shows_the_accounts_role_label(signed_in):
    from app.accounts.models import Role

    browser, user = signed_in(Role.RECEPTION)
    page = browser.get("/reception/").get_data(as_text=True)
    assert re.search(rf'class="who-name"[^>]*>{re.escape(user.full_name)} <small>Reception</small>', page)
