"""Account jobs: "forgot password" requests handled after the form has answered, and the sweep that
finds requests whose job was lost (Redis down) and forgets old sign-in counts."""
from __future__ import annotations

from app.accounts import services
from app.extensions import jobs


@jobs.task
def password_reset_handle(request_id: int) -> bool:
    return services.password_reset_request_handle(request_id=request_id)


@jobs.task
def accounts_sweep() -> int:
    handled = 0
    for request_id in services.password_reset_requests_pending():
        handled += services.password_reset_request_handle(request_id=request_id)
    services.password_reset_requests_prune()
    services.login_throttles_prune()
    return handled
