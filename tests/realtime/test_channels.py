"""Each domain declares its kinds of channel and who may listen; realtime parses names strictly
and refuses any kind nobody declared."""
from __future__ import annotations

import pytest

from app.accounts.models import Role
from app.realtime import channels
from app.realtime.channels import channel_kind_register, channel_parse, may_listen


class _User:
    def __init__(self, role: Role, user_id: int) -> None:
        self.role, self.id = role.value, user_id


@pytest.fixture
def kinds(monkeypatch):
    """The declared kinds (scheduling's, from create_app), restored after the test."""
    monkeypatch.setattr(channels, "_kinds", dict(channels._kinds))


def _doctors_of_ward_four(user, ward_id: int) -> bool:
    return user.role == Role.DOCTOR.value and ward_id == 4


def test_scheduling_declared_its_channels():
    assert {"clinic", "doctor", "patient"} <= set(channels._kinds)


def test_a_kind_nobody_declared_is_refused(kinds):
    admin = _User(Role.ADMIN, 1)
    for name in ("ward:4", "ward", "labs:1", "inbox:1"):
        assert channel_parse(name) is None and not may_listen(admin, name), name


def test_a_declared_kind_is_listened_to_by_its_own_rule(kinds):
    channel_kind_register("ward", numbered=True, may_listen=_doctors_of_ward_four)
    assert channel_parse("ward:4") == ("ward", 4)
    assert may_listen(_User(Role.DOCTOR, 9), "ward:4") and not may_listen(_User(Role.DOCTOR, 9), "ward:5")
    assert not may_listen(_User(Role.ADMIN, 1), "ward:4")
    for name in ("ward", "ward:04", "ward:4:4", "Ward:4", "ward:٤"):  # a numbered kind needs one plain id
        assert channel_parse(name) is None, name
    assert channel_parse("clinic:4") is None  # and a bare one takes none


def test_no_domain_can_take_over_another_domains_channel(kinds):
    from app.scheduling.channels import channels_register

    channels_register()  # the same declaration again (another create_app) changes nothing
    with pytest.raises(ValueError, match="already declared"):
        channel_kind_register("doctor", numbered=True, may_listen=lambda user, ident: True)
    with pytest.raises(ValueError, match="already declared"):
        channel_kind_register("clinic", numbered=True, may_listen=channels._kinds["clinic"].may_listen)
    assert not may_listen(_User(Role.PATIENT, 3), "doctor:3")


@pytest.mark.parametrize("name", ["", "Ward", "ward:", "wa-rd", "wärd", "ward1"])
def test_a_kind_name_is_plain_lowercase_letters(kinds, name):
    with pytest.raises(ValueError):
        channel_kind_register(name, numbered=False, may_listen=_doctors_of_ward_four)
