"""The `hotline` app's models, one module per sub-domain; import them from here.

Django finds an app's models through this package, so every model module is imported below.
"""

from hotline.models.accounts import ApiToken, PasswordResetCode
from hotline.models.calls import (
    CATEGORY_ROLE,
    MENU_KEYS,
    Call,
    CallAttempt,
    CallbackBestTime,
    CallbackRequest,
    CallJoin,
    Category,
    NonDataType,
    RingRotation,
)
from hotline.models.crisis import (
    ESCALATION_OUTCOMES,
    ESCALATION_RISK,
    RISK_DESCRIPTIONS,
    AuditLog,
    CallerAgeBand,
    CallerGroup,
    CallerSex,
    CallReport,
    CallReportAddendum,
    Escalation,
    EscalationAlert,
    ReportCategory,
    RiskLevel,
    alert_dedupe_key,
)
from hotline.models.followups import CallBackAttempt, FollowUp, FollowUpSms
from hotline.models.hotlines import Hotline
from hotline.models.people import ROLE_FLAG, MessageChannel, Organisation, Role, Volunteer
from hotline.models.referrals import Resource, ResourceCategory
from hotline.models.sms import InboundSms, Message
from hotline.models.stamps import ChangeStamp
from hotline.models.stats import ActivityReport
from hotline.models.taxonomy import TaxonomyAction, TaxonomyCallerGroup, TaxonomyCategory

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
    "CallBackAttempt",
    "CallReport",
    "CallReportAddendum",
    "CallbackBestTime",
    "CallbackRequest",
    "CallJoin",
    "CallerAgeBand",
    "CallerGroup",
    "CallerSex",
    "ChangeStamp",
    "Category",
    "Escalation",
    "FollowUp",
    "FollowUpSms",
    "EscalationAlert",
    "Hotline",
    "InboundSms",
    "Message",
    "NonDataType",
    "Organisation",
    "PasswordResetCode",
    "ReportCategory",
    "RingRotation",
    "RiskLevel",
    "MessageChannel",
    "Resource",
    "ResourceCategory",
    "Role",
    "TaxonomyAction",
    "TaxonomyCallerGroup",
    "TaxonomyCategory",
    "Volunteer",
    "alert_dedupe_key",
]
