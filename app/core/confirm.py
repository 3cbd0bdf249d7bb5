"""Destructive actions ask first, the same way everywhere.

A view decorated with `asks_first` takes GET and POST on one URL. With JavaScript, app.js opens the
confirmation dialog for a form marked `data-confirm` (the post_button macro's `confirm=`) and adds
the confirmation field before the form goes. Without it, the button's POST has no such field: it is
answered with a redirect to the same URL, whose GET shows the question and a real submit. Only a
POST carrying the field runs the view, so a stray tap or a replayed form changes nothing.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

from flask import redirect, render_template, request
from flask_babel import lazy_gettext as _l

CONFIRMED_FIELD = "confirmed"
CONFIRMED_VALUE = "yes"


@dataclass(frozen=True)
class Ask:
    """What the confirmation says: the question, the destructive button's label, where "no" leads."""
    question: str
    yes: str
    back: str
    detail: str | None = None
    no: str = _l("Go back")
    # Form fields the action needs (a choice, a reason): without JavaScript the question is then shown
    # in answer to the POST itself, carrying them, instead of on a GET that would lose them.
    carry: tuple[str, ...] = ()


def is_confirmed() -> bool:
    return request.method == "POST" and request.form.get(CONFIRMED_FIELD) == CONFIRMED_VALUE


def asks_first(ask: Callable[..., Ask | None]):
    """Run the view only on a confirmed POST. `ask(**view_args)` says what to ask, or None when this
    action needs no confirmation (the view then runs on any POST)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(**view_args):
            asking = ask(**view_args)
            if request.method == "POST" and (asking is None or is_confirmed()):
                return view(**view_args)
            if asking is None:  # a GET of an action that asks nothing: nothing to show here
                return redirect("/", code=303)
            carried = {}
            if request.method == "POST":  # not confirmed: ask, on a page a reload cannot repeat
                if not asking.carry:
                    return redirect(request.full_path.rstrip("?"), code=303)
                carried = {name: request.form.get(name, "") for name in asking.carry}
            return render_template("components/confirm_page.html", ask=asking,
                                   action=request.full_path.rstrip("?"), field=CONFIRMED_FIELD,
                                   value=CONFIRMED_VALUE, carried=carried)

        wrapper.asks_first = True
        return wrapper

    return decorate
