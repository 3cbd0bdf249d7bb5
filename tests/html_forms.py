"""Forms as a browser sees them, for tests of the no-JavaScript paths: what a submit would send."""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit


@dataclass
class Form:
    method: str
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)

    def get_url(self, **choices: str) -> str:
        """The address a browser GETs when this form is submitted: the action's own query string is
        dropped and replaced by the form's fields (with `choices` set, as a person would)."""
        sent = [(name, choices.pop(name) if name in choices else value) for name, value in self.fields]
        sent += list(choices.items())
        return urlsplit(self.action)._replace(query=urlencode(sent)).geturl()


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append(Form((a.get("method") or "get").lower(), a.get("action") or ""))
        elif not self.forms:
            return
        elif tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.forms[-1].fields.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.forms[-1].fields.append((self._select, a.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def forms(html: str, method: str | None = None) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return [f for f in parser.forms if method is None or f.method == method]
