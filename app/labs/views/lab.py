"""The technician's queue, built for a 768 px touch tablet: waiting for the sample → sample taken
(a printable label) → received at the bench → being tested → completed; or the sample rejected with
a reason, which asks for a new one. Live over the websocket; filter by urgency and state; type or
scan a sample id to open its order. Only the orders sent to the technician's own lab."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import AccessDenied, DomainError, NotFound
from app.core.forms import refusal_beside, show_error
from app.core.htmx import is_htmx_fragment_request, render_form, render_page_or_fragment
from app.core.request_actor import current_actor
from app.core.transactions import refused
from app.core.uploads import accepts_upload
from app.labs import bench, queries, results, services
from app.labs.forms import AttachmentForm, RejectForm, ResultsForm, SampleFindForm
from app.labs.models import Flag, LabOrderStatus, SampleType, Urgency
from app.labs.status import OrderChanged
from app.labs.views._common import report_pdf_response
from app.scheduling.clinic_time import local_today, to_local

bp = Blueprint("bench", __name__, url_prefix="/orders")


def _site():
    return services.lab_of(user_id=current_user.id)


def _filters() -> dict:
    status = request.args.get("status") or None
    urgency = request.args.get("urgency") or None
    return {"status": status if status in {s.value for s in LabOrderStatus} else None,
            "urgency": urgency if urgency in {u.value for u in Urgency} else None}


def _short_time():
    """A queue row's time, cheap enough for every row of a page fetched at each queue event (the
    babel-formatted date filter cost more than the rest of the partial): today's as 14:05, an
    earlier day's as 30/11 14:05, in the clinic's time zone."""
    today = local_today()

    def short(instant) -> str:
        moment = to_local(instant)
        return moment.strftime("%H:%M") if moment.date() == today else moment.strftime("%d/%m %H:%M")

    return short


def queue_page(form=None, *, status=200):
    """The portal's home: the queue (filtered) and the find-by-sample-id form."""
    site = _site()
    filters = _filters()
    context = dict(site=site, queue=queries.lab_queue(site_id=site.id, **filters), filters=filters,
                   statuses=list(LabOrderStatus), urgencies=list(Urgency),
                   status_labels={s.value: str(s.label) for s in LabOrderStatus},
                   status_badges={s.value: s.badge for s in LabOrderStatus}, urgent_label=_("Urgent"),
                   order_url=url_for("lab.bench.order", order_id=0)[:-1], when=_short_time())
    if is_htmx_fragment_request():  # the live refresh: the queue alone
        return render_page_or_fragment("labs/lab/queue.html", "labs/lab/_queue.html", **context)
    return render_page_or_fragment("labs/lab/queue.html", "labs/lab/_queue.html", status=status,
                                   form=form or SampleFindForm(formdata=None), **context)


@bp.route("/find", methods=["POST"])
def find():
    form = SampleFindForm()
    if form.validate_on_submit():
        with refusal_beside(form):
            found = bench.sample_find(site_id=_site().id, code=form.code.data)
            return redirect(url_for("lab.bench.order", order_id=found.id), code=303)
    return queue_page(form, status=422)


def _detail(order_id: int, reject_form=None, results_form=None, *, typed=None, errors=None, attachment_form=None,
            status=200):
    site = _site()
    order = bench.order_read(actor=current_actor(), site_id=site.id, order_id=order_id)
    report = order.report
    if typed is None and report is not None:  # the form starts from what was entered
        typed = {results.field_name(a): (report.results.get(f"{t['code']}.{a.code}") or {}).get("value", "")
                 for t, a in results.analytes_of(order)}
    return render_form("labs/lab/order.html", site=site, order=order, patient=order.patient, report=report,
                       reject_form=reject_form or RejectForm(formdata=None),
                       results_form=results_form or ResultsForm(formdata=None, comment=report.comment if report else None),
                       analytes=results.analytes_of(order) if order.status in ("in_progress", "completed") else [],
                       typed=typed or {}, errors=errors or {}, field_name=results.field_name,
                       attachment_form=attachment_form or AttachmentForm(formdata=None),
                       verification_required=results.verification_required(), me=current_user.id, status=status,
                       sample_labels={s.value: s.label for s in SampleType}, flag_labels={f.value: f.label for f in Flag})


@bp.route("/<int:order_id>")
def order(order_id: int):
    return _detail(order_id)


STEPS = {"collect": bench.sample_collect, "receive": bench.sample_receive, "start": bench.analysis_start,
         "verify": results.results_verify, "release": results.results_release}


@bp.route("/<int:order_id>/<any(collect, receive, start, verify, release):step>", methods=["POST"])
def step(order_id: int, step: str):
    url = url_for("lab.bench.order", order_id=order_id)
    try:
        STEPS[step](actor=current_actor(), site_id=_site().id, order_id=order_id)
    except NotFound:
        raise
    except DomainError as error:
        return refused(error.message, url)
    flash({"collect": _("Sample taken: print its label and stick it on the tube."),
           "receive": _("Sample received."), "start": _("Testing started."), "verify": _("Results verified."),
           "release": _("Results released: the doctor and the patient have been told.")}[step], "success")
    return redirect(url_for("lab.bench.label", order_id=order_id) if step == "collect" else url, code=303)


@bp.route("/<int:order_id>/<any(results, amend):kind>", methods=["POST"])
def results_save(order_id: int, kind: str):
    """Enter (or correct before release) the results, or amend released ones with a reason. A refusal
    shows the whole form again with what was typed and each message beside its field."""
    form = ResultsForm()
    typed = {key: value[:40] for key, value in request.form.items() if key.startswith("r-")}
    if form.validate_on_submit():
        try:
            if kind == "results":
                report = results.results_enter(actor=current_actor(), site_id=_site().id, order_id=order_id,
                                               typed=typed, comment=form.comment.data)
            else:
                report = results.results_amend(actor=current_actor(), site_id=_site().id, order_id=order_id,
                                               typed=typed, comment=form.comment.data, reason=form.reason.data)
        except (NotFound, AccessDenied):
            raise
        except OrderChanged as error:
            return refused(error.message, url_for("lab.bench.order", order_id=order_id))
        except results.ResultErrors as error:
            form.form_errors.append(error.message)
            return _detail(order_id, results_form=form, typed=typed, errors=error.errors, status=422)
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("Results amended: the doctor and the patient have been told.") if kind == "amend" else
                  (_("Results saved. A critical value: the doctor has been alerted.") if report.critical else
                   _("Results saved.")), "success")
            return redirect(url_for("lab.bench.order", order_id=order_id), code=303)
    return _detail(order_id, results_form=form, typed=typed, status=422)


@bp.route("/<int:order_id>/reject", methods=["POST"])
def reject(order_id: int):
    form = RejectForm()
    if form.validate_on_submit():
        try:
            bench.sample_reject(actor=current_actor(), site_id=_site().id, order_id=order_id,
                                reason=form.reason.data, note=form.note.data)
        except (NotFound, AccessDenied):
            raise
        except OrderChanged as error:
            return refused(error.message, url_for("lab.bench.order", order_id=order_id))
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("Sample rejected; the patient is asked for a new one."), "success")
            return redirect(url_for("lab.home"), code=303)
    return _detail(order_id, form, status=422)


@bp.route("/<int:order_id>/label")
def label(order_id: int):
    from app.labs.printing import sample_qr

    site = _site()
    order = bench.order_read(actor=current_actor(), site_id=site.id, order_id=order_id)
    sample = order.sample
    if sample is None:
        return refused(_("This order has no sample to label yet."), url_for("lab.bench.order", order_id=order_id))
    return render_template("labs/lab/label.html", order=order, patient=order.patient, sample=sample,
                           qr=sample_qr(sample.code))


def no_lab_page(error):
    """A technician whose account no admin has assigned to a lab: say so, on every lab page."""
    return render_template("labs/lab/no_lab.html", message=error.message)


@bp.route("/<int:order_id>/attachment", methods=["POST"])
@accepts_upload(results.attachment_max_bytes)
def attach(order_id: int):
    form = AttachmentForm()
    if form.validate_on_submit():
        try:
            results.report_attach(actor=current_actor(), site_id=_site().id, order_id=order_id,
                                  data=form.file.data.read(results.attachment_max_bytes() + 1))
        except (NotFound, AccessDenied):
            raise
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("Report attached."), "success")
            return redirect(url_for("lab.bench.order", order_id=order_id), code=303)
    return _detail(order_id, attachment_form=form, status=422)


@bp.route("/<int:order_id>/report.pdf")
def report_pdf(order_id: int):
    order = bench.order_read(actor=current_actor(), site_id=_site().id, order_id=order_id)
    return report_pdf_response(order)
