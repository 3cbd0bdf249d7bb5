"""Chart entry forms, one per kind of entry."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)

from app.core.forms import choices, date_of_birth_bounds, fits
from app.core.i18n import format_day
from app.core.phones import PhoneNumber
from app.records.access import EMERGENCY_REASON_MAX, EMERGENCY_REASON_MIN
from app.records.models import DOCUMENT_NOTE_MAX, DOCUMENT_TITLE_MAX, REASON_MAX, SOAP_FIELDS, EntryKind, Patient
from app.records.visits import clinic_today
from app.records.vitals import SIGNS


def _range(low, high):
    message = _l("Expected between %(low)s and %(high)s.", low=low, high=high)
    in_range = NumberRange(min=low, max=high, message=message)

    def validate(form, field):
        # DecimalField takes "NaN", "Infinity" and "sNaN"; none is a reading, and sNaN makes NumberRange raise.
        if isinstance(field.data, Decimal) and not field.data.is_finite():
            raise StopValidation(message)
        in_range(form, field)

    validate.field_flags = in_range.field_flags  # the input keeps its min/max attributes
    return validate


def _verified(value) -> bool:
    return value in (True, "verified")


class AllergyForm(FlaskForm):
    substance = StringField(_l("Substance"), validators=[InputRequired(_l("Name the substance.")), Length(max=120)])
    reaction = StringField(_l("Reaction"), validators=[Optional(), Length(max=200)])
    severity = SelectField(_l("Severity"),
                           choices=choices([("mild", _l("Mild")), ("moderate", _l("Moderate")), ("severe", _l("Severe"))]),
                           validators=[InputRequired()])
    # Stored as a yes/no; the select's values are words so a form posted without it reads as unverified.
    verified = SelectField(_l("Verification"), coerce=_verified, default=False,
                           choices=choices([("unverified", _l("Unverified (reported, not confirmed)")),
                                            ("verified", _l("Verified"))]))


class ProblemForm(FlaskForm):
    code = StringField(_l("ICD-10 diagnosis"), validators=[Optional(), Length(max=200)],
                       description=_l("Type a code or words of the diagnosis, then pick it from the list."))
    condition = StringField(_l("Condition or diagnosis"), validators=[Optional(), Length(max=200)],
                            description=_l("In your words; the code's title when left empty."))
    onset = StringField(_l("Since"), validators=[Optional(), Length(max=40)])
    notes = StringField(_l("Notes"), validators=[Optional(), Length(max=500)])

    def validate_condition(self, field):
        if not (field.data or "").strip() and not (self.code.data or "").strip():
            raise StopValidation(_l("Name the condition or choose its ICD-10 code."))


class MedicationForm(FlaskForm):
    drug = StringField(_l("Medicine"), validators=[InputRequired(_l("Name the medicine.")), Length(max=120)])
    dose = StringField(_l("Dose"), validators=[Optional(), Length(max=60)])
    frequency = StringField(_l("How often"), validators=[Optional(), Length(max=60)])


def _sign(name: str) -> list:
    sign = SIGNS[name]
    return [Optional(), _range(sign.low, sign.high)]


class VitalsForm(FlaskForm):
    """Every field optional (a blank is simply not recorded), each refused outside its human range
    (app/records/vitals.py; the service refuses the same ranges for a post the form never saw)."""

    systolic = IntegerField(_l("Systolic BP (mmHg)"), validators=_sign("systolic"))
    diastolic = IntegerField(_l("Diastolic BP (mmHg)"), validators=_sign("diastolic"))
    pulse = IntegerField(_l("Pulse (/min)"), validators=_sign("pulse"))
    temperature_c = DecimalField(_l("Temperature (°C)"), places=1, validators=_sign("temperature_c"))
    spo2 = IntegerField(_l("SpO₂ (%)"), validators=_sign("spo2"))
    weight_kg = DecimalField(_l("Weight (kg)"), places=1, validators=_sign("weight_kg"))
    height_cm = IntegerField(_l("Height (cm)"), validators=_sign("height_cm"))

    def content(self) -> dict:
        return {name: (float(f.data) if isinstance(f.data, Decimal) else f.data)
                for name, f in self._fields.items() if name != "csrf_token"}


SOAP_MAX = 4000


def _visit_id(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return -1  # not a visit: the service refuses it beside the field


class NoteForm(FlaskForm):
    """A consultation note in SOAP form, with the visit it belongs to (the view fills the choices
    with this doctor's recent visits with the patient; the service checks the one posted)."""

    appointment_id = SelectField(_l("Visit"), coerce=_visit_id, validate_choice=False, default=None)
    subjective = TextAreaField(_l("Subjective"), validators=[Optional(), Length(max=SOAP_MAX)],
                               description=_l("What the patient tells: complaints, history."))
    objective = TextAreaField(_l("Objective"), validators=[Optional(), Length(max=SOAP_MAX)],
                              description=_l("What you find: examination, results."))
    assessment = TextAreaField(_l("Assessment"), validators=[Optional(), Length(max=SOAP_MAX)],
                               description=_l("Your conclusion: diagnosis, differential."))
    plan = TextAreaField(_l("Plan"), validators=[Optional(), Length(max=SOAP_MAX)],
                         description=_l("Treatment, tests, advice, follow-up."))

    def validate_subjective(self, field):
        if not any((f.data or "").strip() for f in (self.subjective, self.objective, self.assessment, self.plan)):
            raise StopValidation(_l("Write at least one of subjective, objective, assessment or plan."))


class TextNoteForm(FlaskForm):
    """A note written before notes were in SOAP form: amended as the one text it is."""

    text = TextAreaField(_l("Clinical note"), validators=[InputRequired(_l("Write the note.")), Length(max=5000)])


ENTRY_FORMS = {
    EntryKind.ALLERGY: AllergyForm,
    EntryKind.PROBLEM: ProblemForm,
    EntryKind.MEDICATION: MedicationForm,
    EntryKind.VITALS: VitalsForm,
    EntryKind.NOTE: NoteForm,
}


class DocumentDetailsForm(FlaskForm):
    """What is said about a document: what amending one changes (its file never changes)."""

    title = StringField(_l("Title"), validators=[InputRequired(_l("Give the document a title.")),
                                                 Length(max=DOCUMENT_TITLE_MAX)])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=DOCUMENT_NOTE_MAX)])


# What the file input offers to pick (a hint to the browser: the server reads the type from the bytes).
DOCUMENT_ACCEPT = "application/pdf,image/jpeg,image/png,image/webp,.pdf,.jpg,.jpeg,.png,.webp"


class DocumentUploadForm(DocumentDetailsForm):
    file = FileField(_l("File: a PDF or a photo"), validators=[FileRequired(_l("Choose a file."))])


def form_content(form) -> dict:
    """What the form says about the entry (not its CSRF token, nor an amendment's reason)."""
    content = form.content() if hasattr(form, "content") else {
        name: f.data for name, f in form._fields.items() if name != "csrf_token"}
    content.pop("reason", None)
    return content


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class EmergencyAccessForm(FlaskForm):
    """Why a doctor with no care relationship must open this chart now (recorded and reviewed)."""

    reason = TextAreaField(
        _l("Why do you need this chart now?"), filters=[_strip],
        validators=[DataRequired(_l("Say why you need this chart.")),
                    Length(min=EMERGENCY_REASON_MIN, max=EMERGENCY_REASON_MAX,
                           message=_l("Write between %(min)d and %(max)d characters."))])


class WalkInForm(FlaskForm):
    """Everything the desk needs to register a patient who walks in, in under a minute."""

    given_name = StringField(_l("Given name(s)"),
                             validators=[InputRequired(_l("Enter the given name.")), fits(Patient.given_name)])
    family_name = StringField(_l("Family name"),
                              validators=[InputRequired(_l("Enter the family name.")), fits(Patient.family_name)])
    phone = StringField(_l("Mobile phone"), validators=[
        Optional(), Length(max=30), PhoneNumber()])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional(), date_of_birth_bounds()])
    sex = SelectField(_l("Sex"),
                      choices=choices([("", "—"), ("female", _l("Female")), ("male", _l("Male")), ("other", _l("Other"))]),
                      validators=[Optional()])
    national_id = StringField(_l("National ID (optional)"), validators=[Optional(), Length(max=20)])
    # Filled only after the desk was shown likely duplicates and chose to register a new record.
    register_anyway = HiddenField()
    duplicate_reason = TextAreaField(_l("Why is this a different person?"), filters=[_strip],
                                     validators=[Optional(), Length(max=300)])


class PatientDetailsForm(FlaskForm):
    """The desk corrects who a patient is (app/records/demographics.py); `version`: the details as
    the form was opened, so a save over someone else's newer change is refused."""

    given_name = StringField(_l("Given name(s)"),
                             validators=[InputRequired(_l("Enter the given name.")), fits(Patient.given_name)])
    family_name = StringField(_l("Family name"),
                              validators=[InputRequired(_l("Enter the family name.")), fits(Patient.family_name)])
    phone = StringField(_l("Mobile phone"), validators=[Optional(), Length(max=30), PhoneNumber()])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional(), date_of_birth_bounds()])
    sex = SelectField(_l("Sex"),
                      choices=choices([("", "—"), ("female", _l("Female")), ("male", _l("Male")), ("other", _l("Other"))]),
                      validators=[Optional()])
    national_id = StringField(_l("National ID (optional)"), validators=[Optional(), Length(max=20)])
    version = HiddenField()


def _reason_field(label):
    return TextAreaField(label, filters=[_strip], validators=[
        DataRequired(_l("Say why.")), Length(max=REASON_MAX, message=_l("Write at most %(max)d characters."))])


def amend_form(kind: EntryKind, content: dict | None = None):
    """The kind's entry form (a note written before SOAP: its one text) plus the required reason."""
    base = DocumentDetailsForm if kind == EntryKind.DOCUMENT else ENTRY_FORMS[kind]
    if kind == EntryKind.NOTE and content and "text" in content and not any(content.get(f) for f in SOAP_FIELDS):
        base = TextNoteForm
    return type(f"Amend{base.__name__}", (base,), {"reason": _reason_field(_l("Why are you changing it?"))})


def visit_choices(form, visits, *, kept: int | None = None) -> None:
    """Fill a note form's visit select: the doctor's recent visits with the patient, latest first
    (and `kept`, the one a note being amended has); a new note defaults to today's visit."""
    if not hasattr(form, "appointment_id"):
        return
    pairs = [("", _l("No visit"))] + [(str(v.id), _l("Visit of %(date)s", date=format_day(v.day, "EEE dd MMM y")))
                                      for v in visits]
    if kept is not None and str(kept) not in {value for value, _label in pairs}:
        pairs.append((str(kept), _l("The visit it was linked to")))
    form.appointment_id.choices = choices(pairs)
    posted = form.appointment_id.raw_data is not None
    if not posted and kept is None and visits and visits[0].day == clinic_today():
        form.appointment_id.data = visits[0].id


class DiagnosisSearchForm(FlaskForm):
    """A GET form (no CSRF token: it changes nothing): the code to find the patients by."""

    code = StringField(_l("ICD-10 diagnosis"), validators=[Optional(), Length(max=200)],
                       description=_l("Type a code or words of the diagnosis, then pick it from the list."))


class EnteredInErrorForm(FlaskForm):
    reason = _reason_field(_l("Why was it entered in error?"))
