"""The MyAfya application factory."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from config import check_production_secrets, from_environment

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    from app.core.uploads import UploadAwareRequest

    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"),
                instance_path=str(ROOT / "instance"))
    app.request_class = UploadAwareRequest  # a larger body for the views that take a file, only them
    app.config.update(from_environment())
    if overrides:
        app.config.update(overrides)
    check_production_secrets(app.config)
    Path(app.instance_path).mkdir(exist_ok=True)

    register_logging(app)
    register_middleware(app)
    register_extensions(app)
    register_hooks(app)
    register_realtime(app)
    register_request_cycle(app)
    register_portals(app)
    register_errors(app)
    register_templates(app)
    register_jobs(app)
    register_cli(app)
    return app


def register_logging(app: Flask) -> None:
    from app.core.logs import install_safe_log_records

    install_safe_log_records()
    if not app.debug and not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def register_middleware(app: Flask) -> None:
    """Static files answered before Flask (compressed, cached by version); behind a proxy, the client's
    address and scheme read first, so static answers know about HTTPS too."""
    from app.core.static_files import StaticFiles

    app.wsgi_app = StaticFiles(app.wsgi_app, root=app.static_folder, prefix=app.static_url_path,
                               autorefresh=app.debug)
    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def bind_services(app: Flask) -> None:
    """Point the process-wide services (keys, database, queue, cache, hub) at this app's settings.
    The worker and tests call it again when one process serves more than one app."""
    from app.core import files
    from app.core.crypto import keyring
    from app.extensions import cache, db, hub, jobs, socket_slots

    keyring.configure(app.config["FERNET_KEYS"], app.config["BLIND_INDEX_KEY"])
    db.bind(app.config["DATABASE_URL"])
    files.storage.init_app(app)
    jobs.init_app(app)
    cache.init_app(app)
    hub.init_app(app)
    socket_slots.init_app(app)


def register_extensions(app: Flask) -> None:
    from app.core import compression, i18n
    from app.extensions import csrf, db, login_manager

    bind_services(app)
    compression.register(app)  # its after_request registered first: it runs last, on the final response
    app.teardown_appcontext(db._remove)
    csrf.init_app(app)
    i18n.register(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    from app.accounts.sessions import load_user_from_cookie

    login_manager.user_loader(load_user_from_cookie)


def register_hooks(app: Flask) -> None:
    """Every call that goes up a layer, wired here: the lower module names what it needs (a Hook,
    a channel kind, a context processor) and never imports the module that answers (.importlinter)."""
    from app.accounts import layout as accounts_layout
    from app.accounts.queries import active_admins
    from app.accounts.sessions import session_still_current
    from app.accounts.views import public as accounts_public
    from app.audit import checkpoints
    from app.audit.services import audit_denied, audit_keep_reads_of_refused_request
    from app.consultations import access as consultations_access
    from app.consultations import queries as consultations_queries
    from app.consultations.channels import channels_register as consultations_channels
    from app.core import hooks
    from app.labs import fhir as labs_fhir
    from app.labs.channels import channels_register as labs_channels_register
    from app.labs.purposes import purposes_register as labs_purposes_register
    from app.notifications import layout as notifications_layout
    from app.notifications.links import linker_register
    from app.prescriptions import fhir as prescriptions_fhir
    from app.prescriptions.channels import channels_register as prescriptions_channels_register
    from app.prescriptions.purposes import purposes_register
    from app.realtime import guard
    from app.records import fhir as records_fhir
    from app.records import services as records_services
    from app.records import visits
    from app.scheduling import notices as scheduling_notices
    from app.scheduling import queries as scheduling_queries
    from app.scheduling.channels import channels_register

    # core asks audit; the layout shows the account's role and the unread messages
    hooks.audit_denial.register(audit_denied)
    hooks.audit_refused_request.register(audit_keep_reads_of_refused_request)
    app.context_processor(accounts_layout.layout_context)
    app.context_processor(notifications_layout.layout_context)
    # an in-app notice opens the thing it is about: the domain that wrote it says where
    linker_register("appt", scheduling_notices.appointment_link)
    # realtime asks accounts, and each domain declares its channels
    guard.session_still_current.register(session_still_current)
    channels_register()
    consultations_channels()
    # audit asks accounts; accounts asks records; records asks scheduling
    checkpoints.active_admins.register(active_admins)
    accounts_public.patient_self_register.register(records_services.patient_self_register)
    visits.appointment_together.register(scheduling_queries.appointment_together)
    visits.patients_together.register(scheduling_queries.patients_together)
    visits.visits_together.register(scheduling_queries.visits_together)
    visits.visit_get.register(scheduling_queries.visit_get)
    visits.patient_appointments.register(scheduling_queries.patient_appointments)
    visits.no_show_counts.register(scheduling_queries.no_show_counts)
    # scheduling's day and queue ask consultations who waits in a video room; consultations reads
    # charts through the records gate with its own purpose
    scheduling_queries.waiting_online.register(consultations_queries.waiting_online)
    consultations_access.purpose_declare()
    # prescriptions reads charts for its own purposes, through the records gate
    purposes_register()
    prescriptions_channels_register()
    records_fhir.export_contributor_register(prescriptions_fhir.export_resources)
    # labs reads and writes the lab part of a chart for its own purpose, through the records gate
    labs_purposes_register()
    labs_channels_register()
    records_fhir.export_contributor_register(labs_fhir.export_resources)


def register_realtime(app: Flask) -> None:
    """First in the request cycle: a websocket handshake from another site is refused before any
    session work, and every page notes when it started (live regions carry it, see live.js)."""
    from app.realtime.freshness import live_since, stamp_request
    from app.realtime.origin import refuse_foreign_origin

    app.before_request(refuse_foreign_origin)
    app.before_request(stamp_request)
    app.jinja_env.globals["live_since"] = live_since


def register_request_cycle(app: Flask) -> None:
    from app.accounts.sessions import enforce_idle_timeout
    from app.core.form_urls import keep_page_url
    from app.core.policies import enforce
    from app.core.security import (
        add_security_headers,
        install_converters,
        reject_nul_bytes,
    )
    from app.core.transactions import commit_or_fail

    install_converters(app)
    app.before_request(reject_nul_bytes)
    app.before_request(enforce_idle_timeout)
    app.before_request(enforce)
    app.after_request(commit_or_fail)
    app.after_request(add_security_headers)
    app.after_request(keep_page_url)


def register_portals(app: Flask) -> None:
    from app.accounts.views.public import bp as accounts_bp
    from app.consultations.views.chart import bp as recordings_bp
    from app.consultations.views.recording import bp as visit_recording_bp
    from app.consultations.views.room import bp as visit_bp
    from app.consultations.views.room_panel import bp as visit_panel_bp
    from app.consultations.views.twilio import bp as visit_twilio_bp
    from app.core.health import bp as health_bp
    from app.notifications.views.inbox import bp as inbox_bp
    from app.portals import all_portals
    from app.prescriptions.views.public import bp as rx_check_bp
    from app.realtime.views import bp as realtime_bp

    app.register_blueprint(accounts_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(realtime_bp)
    app.register_blueprint(visit_bp)
    app.register_blueprint(visit_twilio_bp)
    app.register_blueprint(visit_panel_bp)
    app.register_blueprint(visit_recording_bp)
    app.register_blueprint(recordings_bp)
    app.register_blueprint(rx_check_bp)
    for portal in all_portals():
        app.register_blueprint(portal)


def register_errors(app: Flask) -> None:
    from app.core.error_pages import register

    register(app)


def register_templates(app: Flask) -> None:
    from app.core.templating import register

    register(app)


def register_jobs(app: Flask) -> None:
    from app.accounts.tasks import accounts_sweep
    from app.audit.tasks import audit_checkpoint_sweep
    from app.consultations.tasks import recordings_purge_sweep
    from app.extensions import jobs
    from app.notifications.tasks import notifications_sweep
    from app.scheduling.tasks import reminders_sweep

    jobs.every(app.config["OUTBOX_SWEEP_SECONDS"], notifications_sweep)
    jobs.every(app.config["OUTBOX_SWEEP_SECONDS"], accounts_sweep)
    jobs.every(app.config["REMINDER_SWEEP_SECONDS"], reminders_sweep)
    jobs.every(app.config["AUDIT_CHECKPOINT_SECONDS"], audit_checkpoint_sweep)
    jobs.every(app.config["RECORDING_PURGE_SECONDS"], recordings_purge_sweep)
    if app.config.get("REDIS_URL") or app.config.get("TESTING"):
        return
    started = []

    @app.before_request
    def start_in_process_jobs():
        # Started by the first request, not by create_app: CLI commands and tests run no thread.
        if not started:
            started.append(True)
            jobs.start_in_process()


def register_cli(app: Flask) -> None:
    from app.cli import register

    register(app)
