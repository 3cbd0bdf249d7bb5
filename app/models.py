"""Every domain's models, imported once so Alembic and the CLI see the whole schema."""
from app.accounts.models import (  # noqa: F401
    AccountToken,
    LoginThrottle,
    PasswordResetRequest,
    Site,
    StaffProfile,
    User,
)
from app.audit.models import AuditChainHead, AuditEvent  # noqa: F401
from app.consultations.models import CallQualitySample, ChatMessage, Consultation, PhoneCall  # noqa: F401
from app.consultations.recording_models import Recording, RecordingChunk  # noqa: F401
from app.core.db import Base  # noqa: F401
from app.core.files import StoredFile  # noqa: F401
from app.labs.models import (  # noqa: F401
    LabAnalyte,
    LabChargeLine,
    LabOrder,
    LabReport,
    LabReportVersion,
    LabSample,
    LabTest,
)
from app.notifications.models import Notification  # noqa: F401
from app.prescriptions.models import (  # noqa: F401
    Dispense,
    DrugClass,
    Interaction,
    Medicine,
    Prescription,
    RefillRequest,
    StockBatch,
    StockMovement,
)
from app.records.models import ClinicalEntry, Patient  # noqa: F401
from app.scheduling.models import Appointment, AvailabilityException, WeeklyHours  # noqa: F401
