"""Imports every domain's tables so metadata (Alembic, tests) sees them all."""

from claimwatch.access.models import PersonalDataAccess
from claimwatch.actions.models import ActionClock, ActionStep, ImprovementAction
from claimwatch.assignment.models import (
    AssignmentDecision,
    AssignmentSetting,
    HandlerLeave,
    HandlerProfile,
    LoadSnapshot,
)
from claimwatch.audit.models import AuditArchive, AuditCheckpoint, AuditEntry, AuditHead
from claimwatch.auth.models import ApiKey, LoginRecord, LoginThrottle, PermissionSuspension, User, UserSession
from claimwatch.calendar.models import BusinessHours, CalendarDay, CalendarYear
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.committee.models import CommitteeDecision, CommitteeItem, CommitteeMeeting
from claimwatch.complaints.models import Complaint, ComplaintClock, ComplaintEvent, TenantVolume
from claimwatch.evidence.models import (
    EvidenceNode,
    EvidenceSigningKey,
    EvidenceTreeHead,
    EvidenceTreeState,
    WitnessedHead,
)
from claimwatch.forecasts.models import RosterDay, VolumeForecast
from claimwatch.heartbeat.models import StaleEpisode, WorkerHeartbeat
from claimwatch.inspections.models import (
    Inspection,
    InspectionDraw,
    InspectionEvidence,
    InspectionFinding,
    InspectionItemResult,
    InspectionPlan,
    InspectionReview,
)
from claimwatch.kb.models import KbArticle, KbArticleVersion, KbFeedback
from claimwatch.kpi.models import QualityAlert
from claimwatch.lookup.models import LookupCode, LookupThrottle
from claimwatch.materials.models import MaterialsDocument, MaterialsNotice, MaterialsProfile
from claimwatch.notify.models import (
    NotifyRobot,
    OptOut,
    OutboxMessage,
    StaffInboxItem,
    StaffNotification,
    StaffNotifyPreference,
    StaffNotifyProfile,
)
from claimwatch.ops.models import IngestCount
from claimwatch.people.models import (
    AppraisalScheme,
    AppraisalScorecard,
    StaffLicence,
    StaffMember,
    TrainingAttendance,
    TrainingCourse,
    TrainingSession,
)
from claimwatch.policies.models import (
    PolicyRevisit,
    PolicySale,
    SaleComplaintLink,
    SaleFlag,
    UnderwritingCase,
    UnderwritingClock,
    UnderwritingEvent,
    UnderwritingRuleSet,
)
from claimwatch.providers.models import (
    ContractLevel,
    Provider,
    ProviderContract,
    ProviderFlag,
    ProviderTask,
    ProviderTaskClock,
    ProviderTaskEvent,
    TaskDispute,
)
from claimwatch.rectification.models import (
    Rectification,
    RectificationClock,
    RectificationEvent,
    RectificationEvidence,
)
from claimwatch.reports.disclosure_models import PublicDisclosure
from claimwatch.reports.models import Report
from claimwatch.risk.fairness_models import FairnessResult, FairnessRun
from claimwatch.risk.models import RiskModel, RiskReview, RiskScore
from claimwatch.sanctions.models import BlacklistEntry, MandatoryTraining, Sanction, Violation
from claimwatch.servicedesk.models import PeakPeriod, ServiceRequest, ServiceRequestClock, ServiceRequestEvent
from claimwatch.sla.models import Escalation, RegulatorFiling, SlaClock, SlaClockEvent
from claimwatch.supervision.models import (
    RatingDeduction,
    RatingMethodology,
    RatingObjection,
    RatingResult,
    RatingRun,
    WhitelistStatus,
)
from claimwatch.surveys.models import Survey, SurveyResponse
from claimwatch.tenancy.models import OrgUnit, Region, Tenant
from claimwatch.triage.catastrophe_models import Catastrophe
from claimwatch.triage.models import TriageContact, TriageDecision, TriageRuleSet

__all__ = [
    "RosterDay",
    "VolumeForecast",
    "KbArticle",
    "KbArticleVersion",
    "KbFeedback",
    "PeakPeriod",
    "ServiceRequest",
    "ServiceRequestClock",
    "ServiceRequestEvent",
    "AppraisalScheme",
    "AppraisalScorecard",
    "StaffLicence",
    "StaffMember",
    "TrainingAttendance",
    "TrainingCourse",
    "TrainingSession",
    "PolicyRevisit",
    "PolicySale",
    "SaleComplaintLink",
    "SaleFlag",
    "UnderwritingCase",
    "UnderwritingClock",
    "UnderwritingEvent",
    "UnderwritingRuleSet",
    "EvidenceNode",
    "EvidenceSigningKey",
    "EvidenceTreeHead",
    "EvidenceTreeState",
    "WitnessedHead",
    "RatingDeduction",
    "RatingMethodology",
    "RatingObjection",
    "RatingResult",
    "RatingRun",
    "WhitelistStatus",
    "ContractLevel",
    "Provider",
    "ProviderContract",
    "ProviderFlag",
    "ProviderTask",
    "ProviderTaskClock",
    "ProviderTaskEvent",
    "TaskDispute",
    "RiskModel",
    "RiskReview",
    "RiskScore",
    "TriageContact",
    "TriageDecision",
    "TriageRuleSet",
    "Catastrophe",
    "ActionClock",
    "ActionStep",
    "ImprovementAction",
    "IngestCount",
    "StaleEpisode",
    "WorkerHeartbeat",
    "CommitteeDecision",
    "CommitteeItem",
    "CommitteeMeeting",
    "PublicDisclosure",
    "Report",
    "FairnessResult",
    "FairnessRun",
    "BlacklistEntry",
    "MandatoryTraining",
    "PermissionSuspension",
    "Sanction",
    "Violation",
    "Inspection",
    "InspectionDraw",
    "InspectionEvidence",
    "InspectionFinding",
    "InspectionItemResult",
    "InspectionPlan",
    "InspectionReview",
    "Rectification",
    "RectificationClock",
    "RectificationEvent",
    "RectificationEvidence",
    "PersonalDataAccess",
    "AssignmentDecision",
    "AssignmentSetting",
    "HandlerLeave",
    "HandlerProfile",
    "LoadSnapshot",
    "Complaint",
    "ComplaintClock",
    "ComplaintEvent",
    "TenantVolume",
    "Survey",
    "SurveyResponse",
    "QualityAlert",
    "BusinessHours",
    "CalendarDay",
    "CalendarYear",
    "Escalation",
    "LookupCode",
    "LookupThrottle",
    "RegulatorFiling",
    "SlaClock",
    "SlaClockEvent",
    "StaffNotification",
    "StaffInboxItem",
    "StaffNotifyPreference",
    "StaffNotifyProfile",
    "NotifyRobot",
    "OptOut",
    "OutboxMessage",
    "ApiKey",
    "LoginRecord",
    "LoginThrottle",
    "UserSession",
    "AuditArchive",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "CaseEvent",
    "Claim",
    "MaterialsDocument",
    "MaterialsNotice",
    "MaterialsProfile",
    "OrgUnit",
    "Region",
    "Tenant",
    "User",
]
