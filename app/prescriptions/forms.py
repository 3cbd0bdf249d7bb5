"""Formulary and stock forms."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.core.forms import DateWithin, choices, fits
from app.prescriptions.models import NOTE_MAX, AdjustmentReason, InteractionSeverity, Medicine, StockBatch
from app.prescriptions.prescribing import ItemInput
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


FREQUENCY_CHOICES = [("od", _l("Once a day")), ("bd", _l("Twice a day")), ("tds", _l("Three times a day")),
                     ("qds", _l("Four times a day")), ("nocte", _l("At night")), ("stat", _l("Once, now")),
                     ("prn", _l("When needed"))]


class ItemForm(Form):
    """One medicine of a prescription (a sub-form: the prescription's form carries the CSRF token)."""

    medicine_id = SelectField(_l("Medicine"), coerce=int, validators=[InputRequired(_l("Choose the medicine."))])
    dose = DecimalField(_l("Dose (per time)"), places=3, validators=[
        InputRequired(_l("Enter the dose, a number above zero.")),
        NumberRange(min=Decimal("0.001"), max=Decimal("100000"), message=_l("Enter the dose, a number above zero."))])
    route = StringField(_l("Route"), filters=[_strip], default="oral", validators=[Optional(), Length(max=30)])
    frequency = SelectField(_l("How often"), choices=choices(FREQUENCY_CHOICES), validators=[InputRequired()])
    days = IntegerField(_l("For how many days"), validators=[
        InputRequired(_l("Enter from 1 to 365 days.")), NumberRange(min=1, max=365, message=_l("Enter from 1 to 365 days."))])
    quantity = IntegerField(_l("Quantity to dispense"), validators=[
        InputRequired(_l("Enter a quantity from 1 to 10,000.")),
        NumberRange(min=1, max=10_000, message=_l("Enter a quantity from 1 to 10,000."))])
    instructions = StringField(_l("Instructions for the patient"), filters=[_strip], validators=[
        Optional(), Length(max=300, message=_l("Use at most %(max)d characters."))])


class PrescriptionForm(FlaskForm):
    items = FieldList(FormField(ItemForm), min_entries=1, max_entries=5)
    pharmacy_id = SelectField(_l("Pharmacy the patient chose"), coerce=int,
                              validators=[InputRequired(_l("Choose a pharmacy from the list."))])
    refills = IntegerField(_l("Refills allowed"), default=0, validators=[
        InputRequired(_l("Allow from 0 to 5 refills.")), NumberRange(min=0, max=5, message=_l("Allow from 0 to 5 refills."))])

    def with_choices(self, *, medicines, pharmacies) -> "PrescriptionForm":
        for entry in self.items:
            entry.form.medicine_id.choices = choices([(0, "—")] + [(m.id, m.label) for m in medicines])
        self.pharmacy_id.choices = choices([(p.id, p.name) for p in pharmacies])
        return self

    def item_inputs(self) -> list[ItemInput]:
        return [ItemInput(medicine_id=e.form.medicine_id.data, dose=e.form.dose.data, route=e.form.route.data or "",
                          frequency=e.form.frequency.data, days=e.form.days.data, quantity=e.form.quantity.data,
                          instructions=e.form.instructions.data) for e in self.items]


class PharmacyNoteForm(FlaskForm):
    """A pharmacist's question to the prescriber, or why it will not be dispensed."""

    note = TextAreaField(_l("What should the prescriber know?"), filters=[_strip], validators=[
        InputRequired(_l("Say what the prescriber should know.")),
        Length(max=300, message=_l("Use at most %(max)d characters."))])


class CodeForm(FlaskForm):
    code = StringField(_l("Collection code"), filters=[_strip], validators=[
        InputRequired(_l("Type the code the patient shows.")), Length(max=20)])


class RefillDeclineForm(FlaskForm):
    note = StringField(_l("Why not (the patient reads this)"), filters=[_strip], validators=[
        InputRequired(_l("Say why, for the patient.")), Length(max=300, message=_l("Use at most %(max)d characters."))])


class InteractionForm(FlaskForm):
    class_a_id = SelectField(_l("One class"), coerce=int, validators=[InputRequired(_l("Choose a class."))])
    class_b_id = SelectField(_l("The other class"), coerce=int, validators=[InputRequired(_l("Choose a class."))])
    severity = SelectField(_l("Severity"), choices=choices([(s.value, s.label) for s in InteractionSeverity]),
                           validators=[InputRequired()])
    advice = StringField(_l("Advice for the prescriber"), filters=[_strip], validators=[
        InputRequired(_l("Write the advice.")), Length(max=300, message=_l("Use at most %(max)d characters."))])

    def with_classes(self, classes) -> "InteractionForm":
        self.class_a_id.choices = choices([(c.id, c.name) for c in classes])
        self.class_b_id.choices = choices([(c.id, c.name) for c in classes])
        return self
