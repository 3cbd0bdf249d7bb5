"""Formulary and stock forms."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.core.forms import DateWithin, choices, fits
from app.prescriptions.models import NOTE_MAX, AdjustmentReason, Medicine, StockBatch
from app.prescriptions.services import QUANTITY_MAX, MedicineInput

_required = InputRequired(_l("This cannot be empty."))
PRICE_MAX = Decimal("1000000")  # per unit, in the clinic's currency


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class ReceiveForm(FlaskForm):
    medicine_id = SelectField(_l("Medicine"), coerce=int, validators=[InputRequired(_l("Choose the medicine."))])
    batch_number = StringField(_l("Batch number"), filters=[_strip],
                               validators=[InputRequired(_l("Enter the batch number printed on the pack.")),
                                           fits(StockBatch.batch_number)])
    expires_on = DateField(_l("Expiry date"), validators=[
        InputRequired(_l("Enter the expiry date printed on the pack.")),
        DateWithin(past_days=None, future_days=20 * 366, message=_l("Enter an expiry date within 20 years."))])
    quantity = IntegerField(_l("Quantity received (units)"), validators=[
        InputRequired(_l("Enter how many units arrived.")),
        NumberRange(min=1, max=QUANTITY_MAX, message=_l("Enter a quantity from 1 to %(max)s."))])

    def with_medicines(self, medicines: list[Medicine]) -> "ReceiveForm":
        self.medicine_id.choices = choices([(m.id, m.label) for m in medicines])
        return self


class AdjustForm(FlaskForm):
    batch_id = SelectField(_l("Batch"), coerce=int, validators=[InputRequired(_l("Choose the batch."))])
    change = IntegerField(_l("Change in units (e.g. -3 or 10)"), validators=[
        InputRequired(_l("Enter the change, e.g. -3 or 10 (not zero).")),
        NumberRange(min=-QUANTITY_MAX, max=QUANTITY_MAX, message=_l("Enter a change from -%(max)s to %(max)s."))])
    reason = SelectField(_l("Why"), choices=choices([(r.value, r.label) for r in AdjustmentReason]),
                         validators=[InputRequired()])
    note = StringField(_l("Note"), filters=[_strip], validators=[
        Optional(), Length(max=NOTE_MAX, message=_l("Use at most %(max)d characters."))])

    def with_batches(self, batches: list[StockBatch]) -> "AdjustForm":
        self.batch_id.choices = choices([(b.id, f"{b.batch_number} · {b.expires_on.isoformat()} · {b.quantity}")
                                         for b in batches])
        return self


class MedicineForm(FlaskForm):
    name = StringField(_l("Medicine (generic name)"), filters=[_strip], validators=[_required, fits(Medicine.name)])
    form = StringField(_l("Form"), filters=[_strip], validators=[_required, fits(Medicine.form)])
    strength = StringField(_l("Strength"), filters=[_strip], validators=[_required, fits(Medicine.strength)])
    route = StringField(_l("Route"), filters=[_strip], validators=[_required, fits(Medicine.route)])
    dose_unit = StringField(_l("Dose unit (mg, IU, tablet ...)"), filters=[_strip],
                            validators=[_required, fits(Medicine.dose_unit)])
    dose_min = DecimalField(_l("Usual adult dose, lowest"), places=3, validators=[
        InputRequired(_l("Enter a dose above zero.")),
        NumberRange(min=Decimal("0.001"), max=Decimal("100000"), message=_l("Enter a dose above zero."))])
    dose_max = DecimalField(_l("Usual adult dose, highest"), places=3, validators=[
        InputRequired(_l("Enter a dose above zero.")),
        NumberRange(min=Decimal("0.001"), max=Decimal("100000"), message=_l("Enter a dose above zero."))])
    unit = StringField(_l("Dispensed as (tablet, bottle, vial ...)"), filters=[_strip],
                       validators=[_required, fits(Medicine.unit)])
    price = DecimalField(_l("Price per unit"), places=2, validators=[
        InputRequired(_l("Enter the price (0 if free).")),
        NumberRange(min=0, max=PRICE_MAX, message=_l("Enter a price from 0 to %(max)s."))])
    reorder_level = IntegerField(_l("Reorder at (units on hand)"), validators=[
        InputRequired(_l("Enter zero or more.")), NumberRange(min=0, max=QUANTITY_MAX, message=_l("Enter zero or more."))])
    class_ids = SelectMultipleField(_l("Drug classes (for allergy and interaction checks)"), coerce=int)
    active = BooleanField(_l("In the formulary (doctors can prescribe it)"), default=True)

    def with_classes(self, classes) -> "MedicineForm":
        self.class_ids.choices = choices([(c.id, c.name) for c in classes])
        return self

    @classmethod
    def of(cls, medicine: Medicine) -> "MedicineForm":
        return cls(formdata=None, obj=medicine, price=Decimal(medicine.price_cents) / 100,
                   class_ids=[c.id for c in medicine.classes])

    def values(self) -> MedicineInput:
        return MedicineInput(
            name=self.name.data, form=self.form.data, strength=self.strength.data, route=self.route.data,
            dose_unit=self.dose_unit.data, dose_min=self.dose_min.data, dose_max=self.dose_max.data,
            unit=self.unit.data, price_cents=int((self.price.data * 100).to_integral_value()),
            reorder_level=self.reorder_level.data, active=bool(self.active.data), class_ids=list(self.class_ids.data or []))
