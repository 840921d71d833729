"""The `hotline` app's models, one module per sub-domain; import them from here.

Django finds an app's models through this package, so every model module is imported below.
"""

from hotline.models.accounts import ApiToken, PasswordResetCode
from hotline.models.calls import (
    CATEGORY_ROLE,
    MENU_KEYS,
    Call,
    CallAttempt,
    CallbackRequest,
    Category,
    RingRotation,
)
from hotline.models.crisis import (
    ESCALATION_OUTCOMES,
    ESCALATION_RISK,
    RISK_DESCRIPTIONS,
    AuditLog,
    CallerGroup,
    CallReport,
    CallReportAddendum,
    Escalation,
    EscalationAlert,
    ReportCategory,
    RiskLevel,
    alert_dedupe_key,
)
from hotline.models.hotlines import Hotline
from hotline.models.people import ROLE_FLAG, MessageChannel, Organisation, Role, Volunteer
from hotline.models.sms import InboundSms, Message
from hotline.models.stats import ActivityReport

__all__ = [
    "CATEGORY_ROLE",
    "ESCALATION_OUTCOMES",
    "ESCALATION_RISK",
    "MENU_KEYS",
    "RISK_DESCRIPTIONS",
    "ROLE_FLAG",
    "ActivityReport",
    "ApiToken",
    "AuditLog",
    "Call",
    "CallAttempt",
    "CallReport",
    "CallReportAddendum",
    "CallbackRequest",
    "CallerGroup",
    "Category",
    "Escalation",
    "EscalationAlert",
    "Hotline",
    "InboundSms",
    "Message",
    "Organisation",
    "PasswordResetCode",
    "ReportCategory",
    "RingRotation",
    "RiskLevel",
    "MessageChannel",
    "Role",
    "Volunteer",
    "alert_dedupe_key",
]
