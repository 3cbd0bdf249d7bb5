"""Stock: receiving, correcting and taking units, decided by the database (never below zero, the
earliest expiry first, never an expired batch), audited."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core.errors import DomainError, NotFound
from app.extensions import db
from app.prescriptions import services
from app.prescriptions.models import AdjustmentReason, StockBatch, StockMovement
from tests.prescriptions.conftest import actor_for, days


@pytest.fixture
def amoxicillin(medicine_id):
    return medicine_id("Amoxicillin", "capsule")


@pytest.fixture
def pharmacist(pharmacy, pharmacist_at):
    return pharmacist_at(pharmacy[0])


def receive(app, pharmacist, site_id, medicine, number, expires_in_days, quantity):
    with app.app_context():
        batch = services.stock_receive(actor=actor_for(pharmacist), site_id=site_id, medicine_id=medicine,
                                       batch_number=number, expires_on=days(expires_in_days), quantity=quantity)
        db.session.commit()
        return batch.id


def quantities(app, medicine) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(select(StockBatch.batch_number, StockBatch.quantity)
                                       .where(StockBatch.medicine_id == medicine)).all())


def test_receiving_the_same_batch_again_adds_to_it_and_every_delivery_is_in_the_ledger(app, pharmacy, pharmacist, amoxicillin):
    first = receive(app, pharmacist, pharmacy[0], amoxicillin, "AX1", 200, 100)
    again = receive(app, pharmacist, pharmacy[0], amoxicillin, " AX1 ", 200, 50)
    assert first == again and quantities(app, amoxicillin) == {"AX1": 150}
    with app.app_context():
        assert db.session.execute(select(StockMovement.change).order_by(StockMovement.id)).scalars().all() == [100, 50]
        assert db.session.execute(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "stock.received")).scalar_one() == 2


@pytest.mark.parametrize("number, expires_in, quantity, field", [
    ("", 200, 10, "batch_number"), ("AX2", 0, 10, "expires_on"), ("AX2", -5, 10, "expires_on"),
    ("AX2", 200, 0, "quantity"), ("AX2", 200, 1_000_000, "quantity")])
def test_a_delivery_that_cannot_be_right_is_refused_beside_its_field(app, pharmacy, pharmacist, amoxicillin,
                                                                     number, expires_in, quantity, field):
    with app.app_context(), pytest.raises(DomainError) as refused:
        services.stock_receive(actor=actor_for(pharmacist), site_id=pharmacy[0], medicine_id=amoxicillin,
                               batch_number=number, expires_on=days(expires_in), quantity=quantity)
    assert refused.value.field == field
    assert quantities(app, amoxicillin) == {}


def test_a_known_batch_number_with_another_expiry_is_refused(app, pharmacy, pharmacist, amoxicillin):
    receive(app, pharmacist, pharmacy[0], amoxicillin, "AX1", 200, 10)
    with app.app_context(), pytest.raises(DomainError, match="already here with expiry"):
        services.stock_receive(actor=actor_for(pharmacist), site_id=pharmacy[0], medicine_id=amoxicillin,
                               batch_number="AX1", expires_on=days(300), quantity=5)


def test_taking_uses_the_earliest_expiry_first_and_never_an_expired_batch(app, pharmacy, pharmacist, amoxicillin):
    receive(app, pharmacist, pharmacy[0], amoxicillin, "LATE", 400, 30)
    receive(app, pharmacist, pharmacy[0], amoxicillin, "SOON", 20, 10)
    receive(app, pharmacist, pharmacy[0], amoxicillin, "OLD", 2, 5)
    with app.app_context():
        db.session.execute(StockBatch.__table__.update().where(StockBatch.batch_number == "OLD")
                           .values(expires_on=days(-1)))  # it has expired on the shelf since
        db.session.commit()
        taken = services.stock_take(actor=actor_for(pharmacist), site_id=pharmacy[0], medicine_id=amoxicillin,
                                    quantity=15)
        db.session.commit()
        assert [(batch.batch_number, part) for batch, part in taken] == [("SOON", 10), ("LATE", 5)]
    assert quantities(app, amoxicillin) == {"LATE": 25, "SOON": 0, "OLD": 5}


def test_a_shortfall_says_what_is_short_and_takes_nothing(app, pharmacy, pharmacist, amoxicillin):
    receive(app, pharmacist, pharmacy[0], amoxicillin, "A", 100, 4)
    receive(app, pharmacist, pharmacy[0], amoxicillin, "B", 200, 3)
    with app.app_context(), pytest.raises(services.StockShort) as short:
        services.stock_take(actor=actor_for(pharmacist), site_id=pharmacy[0], medicine_id=amoxicillin, quantity=10)
    assert (short.value.available, short.value.wanted) == (7, 10)
    assert "3 short" in short.value.message and "Amoxicillin 500 mg" in short.value.message
    assert quantities(app, amoxicillin) == {"A": 4, "B": 3}


def test_another_pharmacys_stock_is_not_taken_nor_corrected(app, pharmacy, pharmacist, pharmacist_at, amoxicillin):
    theirs = pharmacist_at(pharmacy[1])
    batch = receive(app, theirs, pharmacy[1], amoxicillin, "THEIRS", 100, 50)
    with app.app_context():
        with pytest.raises(services.StockShort):
            services.stock_take(actor=actor_for(pharmacist), site_id=pharmacy[0], medicine_id=amoxicillin, quantity=1)
        with pytest.raises(NotFound):
            services.stock_adjust(actor=actor_for(pharmacist), site_id=pharmacy[0], batch_id=batch, change=-5,
                                  reason=AdjustmentReason.DAMAGED)
    assert quantities(app, amoxicillin) == {"THEIRS": 50}


def test_a_correction_needs_a_reason_cannot_go_below_zero_and_is_audited(app, pharmacy, pharmacist, amoxicillin):
    batch = receive(app, pharmacist, pharmacy[0], amoxicillin, "AX1", 100, 5)
    actor = actor_for(pharmacist)
    with app.app_context():
        with pytest.raises(DomainError, match="only 5 left") as refused:
            services.stock_adjust(actor=actor, site_id=pharmacy[0], batch_id=batch, change=-6, reason=AdjustmentReason.DAMAGED)
        assert refused.value.field == "change"
        with pytest.raises(DomainError) as refused:
            services.stock_adjust(actor=actor, site_id=pharmacy[0], batch_id=batch, change=-1, reason=AdjustmentReason.OTHER)
        assert refused.value.field == "note"
        services.stock_adjust(actor=actor, site_id=pharmacy[0], batch_id=batch, change=-2,
                              reason=AdjustmentReason.DAMAGED, note="Two packs crushed in the delivery")
        db.session.commit()
        movement = db.session.execute(select(StockMovement).where(StockMovement.kind == "adjusted")).scalar_one()
        assert (movement.change, movement.reason, movement.note) == (-2, "damaged", "Two packs crushed in the delivery")
        assert db.session.execute(select(AuditEvent.target).where(AuditEvent.action == "stock.adjusted")).scalars().all() \
            == [f"stock_batch:{batch}"]
    assert quantities(app, amoxicillin) == {"AX1": 3}


def test_two_pharmacists_taking_the_last_box_at_once_exactly_one_gets_it_every_time(app, pharmacy, pharmacist,
                                                                                   pharmacist_at, amoxicillin):
    """Two connections, many rounds: each round puts one unit on the shelf and two pharmacists take it
    at the same moment. The database decides: one wins, the other is told the stock is short."""
    other = pharmacist_at(pharmacy[0])
    rounds = 25
    for round_number in range(rounds):
        receive(app, pharmacist, pharmacy[0], amoxicillin, f"R{round_number}", 100, 1)
        barrier = threading.Barrier(2)
        outcomes: list = [None, None]

        def take(index: int, who) -> None:
            with app.app_context():
                try:
                    barrier.wait(timeout=30)
                    services.stock_take(actor=actor_for(who), site_id=pharmacy[0], medicine_id=amoxicillin, quantity=1)
                    db.session.commit()
                    outcomes[index] = "dispensed"
                except services.StockShort:
                    outcomes[index] = "short"
                except Exception as error:  # noqa: BLE001 - reported below
                    outcomes[index] = repr(error)
                finally:
                    db.session.rollback()
                    db.session.remove()

        threads = [threading.Thread(target=take, args=(0, pharmacist)), threading.Thread(target=take, args=(1, other))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["dispensed", "short"], f"round {round_number}: {outcomes}"
    assert set(quantities(app, amoxicillin).values()) == {0}
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(StockMovement)
                                  .where(StockMovement.kind == "dispensed")).scalar_one() == rounds


def test_the_database_itself_refuses_a_negative_quantity(app, pharmacy, pharmacist, amoxicillin):
    from sqlalchemy.exc import IntegrityError

    batch = receive(app, pharmacist, pharmacy[0], amoxicillin, "AX1", 100, 1)
    with app.app_context(), pytest.raises(IntegrityError):
        db.session.execute(StockBatch.__table__.update().where(StockBatch.id == batch).values(quantity=-1))
        db.session.flush()
