"""Who is calling, and what they may do. Decided once per request, then passed down."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from claimwatch.auth.models import Role
from claimwatch.db import TenantContext


class Permission(enum.StrEnum):
    VIEW_CLAIMS = "view_claims"
    INGEST_EVENTS = "ingest_events"
    VERIFY_AUDIT = "verify_audit"
    MANAGE_TENANT = "manage_tenant"  # users, API keys, org units, workflows, business hours
    MANAGE_CLOCKS = "manage_clocks"  # suspend or extend an SLA clock (extension also needs the policy's approver)
    VIEW_ESCALATIONS = "view_escalations"  # the supervisors' queue of yellow and red cases
    VIEW_FILINGS = "view_filings"  # regulator filings (监管报备)
    MANAGE_NOTIFICATIONS = "manage_notifications"  # claimant messages: failures, resend, opt-outs
    VIEW_COMPLAINTS = "view_complaints"  # the complaint queue, pages, keyword trends
    HANDLE_COMPLAINTS = "handle_complaints"  # intake, accept, notes, decide, review, withdraw, import
    VIEW_SURVEYS = "view_surveys"  # satisfaction survey results
    MANAGE_VOLUMES = "manage_volumes"  # policies in force and premium per month (complaint rates)
    VIEW_KPIS = "view_kpis"  # the quality dashboard, KPI values and alerts
    VIEW_ANALYTICS = "view_analytics"  # process analytics and XES export
    EDIT_MATERIALS = "edit_materials"  # a claim's materials profile, notices and documents
    VIEW_ACCESS_LOG = "view_access_log"  # sign-ins and views of personal data (who, when, from where)
    UNMASK_PERSONAL_DATA = "unmask_personal_data"  # a claimant's phone or ID number in clear, with a reason (logged)
    READ_OWN_NOTIFICATIONS = "read_own_notifications"  # a staff member's own notices (the bell), their preferences
    MANAGE_ASSIGNMENT = "manage_assignment"  # handler profiles and leave, load per handler, rebalance (bulk reassign)
    BE_ASSIGNED = "be_assigned"  # may have a handler profile and be given claims or complaints by the rules
    # Quality inspections (品质抽检), rectification (整改) and sanctions (issue 13).
    VIEW_INSPECTIONS = "view_inspections"  # plans, draws, results with their estimate, findings
    MANAGE_INSPECTION_PLANS = "manage_inspection_plans"  # create plans, draw samples, special inspections
    PERFORM_INSPECTIONS = "perform_inspections"  # score the cases given to me, review (复核) others' results
    VIEW_RECTIFICATIONS = "view_rectifications"  # the rectification board (my org subtree unless quality)
    WORK_RECTIFICATIONS = "work_rectifications"  # as owner: submit the plan, progress and evidence
    ACCEPT_RECTIFICATIONS = "accept_rectifications"  # accept or send back (验收)
    PROPOSE_SANCTIONS = "propose_sanctions"  # record a violation and propose its sanction from a finding
    APPROVE_SANCTIONS = "approve_sanctions"  # approve, reject or revoke sanctions
    VIEW_SANCTIONS = "view_sanctions"  # violations, sanctions, suspensions, mandatory trainings
    VIEW_BLACKLIST = "view_blacklist"  # staff, agents and third parties listed, with reason and period
    MANAGE_BLACKLIST = "manage_blacklist"  # list and lift
    # The to-do inbox (我的待办, claimwatch.todo): which sections of work land on whose home.
    INBOX_MY_CLAIMS = "inbox_my_claims"  # open claims assigned to me, nearest SLA deadline first
    INBOX_ESCALATIONS = "inbox_escalations"  # unacknowledged escalations of my org subtree, red first
    INBOX_COMPLAINTS = "inbox_complaints"  # my complaints by nearest deadline, and the unassigned ones in my scope
    INBOX_QUALITY = "inbox_quality"  # red KPIs of the last complete month and recent quality alerts
    INBOX_SURVEY_FOLLOW_UP = "inbox_survey_follow_up"  # low satisfaction scores to look into
    INBOX_DEAD_LETTERS = "inbox_dead_letters"  # claimant messages that could not be delivered
    INBOX_FILINGS = "inbox_filings"  # recent regulator filings and the insurers they come from
    INBOX_INSPECTIONS = "inbox_inspections"  # my sampled cases and reviews by due date
    INBOX_RECTIFICATIONS = "inbox_rectifications"  # rectifications I own (plan due, overdue); awaiting acceptance
    INBOX_SANCTIONS = "inbox_sanctions"  # sanctions proposed and waiting for approval
    VIEW_ACTIONS = "view_actions"  # improvement actions (PDCA board, action pages, effectiveness checks)
    MANAGE_ACTIONS = "manage_actions"  # raise actions, set owner and due date, move phases, run the check, standardise
    WORK_ACTIONS = "work_actions"  # as the action's or a step's owner: progress, finish steps, move Do → Check
    INBOX_ACTIONS = "inbox_actions"  # actions and steps I own by due date; overdue actions of my scope
    VIEW_COMMITTEE = "view_committee"  # quality committee meetings: agenda and minutes
    MANAGE_COMMITTEE = "manage_committee"  # generate the agenda, record decisions, close the minutes
    VIEW_REPORTS = "view_reports"  # quality and special reports (HTML/PDF); the regulator's cross-insurer edition
    BUILD_REPORTS = "build_reports"  # build or rebuild a report, a special report, publish a disclosure
    VIEW_OPERATIONS = "view_operations"  # worker heartbeats: the stale-worker banner
    VIEW_TRIAGE = "view_triage"  # a claim's route and the rules that fired; rule-set versions; catastrophe events
    MANAGE_TRIAGE_RULES = "manage_triage_rules"  # load rule sets, switch monitor/active
    DECLARE_CATASTROPHES = "declare_catastrophes"  # declare and end catastrophe events (大灾)
    VIEW_RISK = "view_risk"  # risk scores with their reasons, model cards, 降赔惜赔 flags
    REVIEW_RISK = "review_risk"  # decide high-risk claims in the review queue (核查); the decision is a label
    TRAIN_RISK_MODELS = "train_risk_models"  # train and activate a risk model version
    INBOX_RISK_REVIEW = "inbox_risk_review"  # high-risk claims waiting for my review
    VIEW_PROVIDERS = "view_providers"  # third parties: register, contracts, tasks, scorecards (regulator: statistics)
    MANAGE_PROVIDERS = "manage_providers"  # register and import providers and contracts, keys, suspend and reinstate
    SEND_PROVIDER_TASKS = "send_provider_tasks"  # send a claim's task to a provider, cancel it, raise a dispute
    RESOLVE_TASK_DISPUTES = "resolve_task_disputes"  # decide a dispute on a provider's report
    REVIEW_PROVIDERS = "review_providers"  # review scorecard flags (keep, warn, suspend)
    ANSWER_PROVIDER_TASKS = "answer_provider_tasks"  # a provider's own key: accept, decline, report on its tasks
    INBOX_PROVIDER_TASKS = "inbox_provider_tasks"  # provider tasks of my claims that are late or answered
    VIEW_RATINGS = "view_ratings"  # the service rating: the regulator every insurer's; an insurer its own, published
    MANAGE_RATINGS = "manage_ratings"  # methodology versions, compute and approve runs, deductions, decide objections
    FILE_RATING_OBJECTIONS = "file_rating_objections"  # an insurer's objection (复核) to its published result
    VIEW_BENCHMARKS = "view_benchmarks"  # every insurer against the industry: rankings, box plots, insurer profiles
    VIEW_EVIDENCE = "view_evidence"  # tree heads, receipts and proofs of my tenant (the regulator: every tenant)
    MANAGE_EVIDENCE = "manage_evidence"  # sign a tree head now, rotate the signing key
    WITNESS_EVIDENCE = "witness_evidence"  # the platform's witness: receive heads, check consistency, see alarms
    VIEW_SALES = "view_sales"  # policies sold, sales-quality flags, mis-selling complaints, revisits
    MANAGE_SALES = "manage_sales"  # record and import sales, clear or confirm flags, link complaints to sales
    WORK_REVISITS = "work_revisits"  # post-issue revisits (新契约回访): call, record the outcome
    INBOX_REVISITS = "inbox_revisits"  # revisits due or overdue that I may work
    VIEW_UNDERWRITING = "view_underwriting"  # underwriting cases, their assessment, clocks and decisions
    SUBMIT_APPLICATIONS = "submit_applications"  # applications in (API, import, staff form); withdraw
    DECIDE_UNDERWRITING = "decide_underwriting"  # manual review of high-risk cases: reasons, decision
    MANAGE_UNDERWRITING_RULES = "manage_underwriting_rules"  # load underwriting rule-set versions
    INBOX_UNDERWRITING = "inbox_underwriting"  # cases waiting for my review by turnaround deadline
    VIEW_PEOPLE = "view_people"  # staff and agents, licences, training coverage (a supervisor: own org subtree)
    MANAGE_PEOPLE = "manage_people"  # staff, licences, courses, sessions, attendance, imports
    INBOX_PEOPLE = "inbox_people"  # licences expiring within 30 days, mandatory training overdue
    VIEW_APPRAISALS = "view_appraisals"  # monthly scorecards of the people I manage (quality: everyone's)
    COMMENT_APPRAISALS = "comment_appraisals"  # the manager's comment on a scorecard
    MANAGE_APPRAISALS = "manage_appraisals"  # appraisal scheme versions, compute a month
    VIEW_OWN_APPRAISAL = "view_own_appraisal"  # my own scorecard, training record and licences
    VIEW_SERVICE_REQUESTS = "view_service_requests"  # the service-request queue, request pages, their KPIs
    HANDLE_SERVICE_REQUESTS = "handle_service_requests"  # intake, assign, notes, replies, resolve, escalate, import
    MANAGE_PEAK_MODE = "manage_peak_mode"  # declare, confirm (from the forecast) and end peak periods (高峰期)
    INBOX_SERVICE_REQUESTS = "inbox_service_requests"  # my requests by nearest deadline; my team's unassigned ones
    VIEW_KB = "view_kb"  # search and read the knowledge base, suggested articles, "was this helpful"
    EDIT_KB = "edit_kb"  # write articles and new versions, submit them for review
    APPROVE_KB = "approve_kb"  # approve or reject a submitted version (not one's own), retire articles
    VIEW_FORECASTS = "view_forecasts"  # volume forecasts with their back-test, staffing against the roster
    MANAGE_FORECASTS = "manage_forecasts"  # run a forecast now, enter the roster


_STAFF = {Role.ADJUSTER, Role.SUPERVISOR, Role.COMPLAINT_HANDLER, Role.INSPECTOR, Role.QUALITY_MANAGER, Role.ADMIN}

ROLE_PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.VIEW_CLAIMS: frozenset(_STAFF | {Role.REGULATOR, Role.INTEGRATION}),
    Permission.INGEST_EVENTS: frozenset({Role.ADJUSTER, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION}),
    Permission.VERIFY_AUDIT: frozenset({Role.ADMIN, Role.QUALITY_MANAGER, Role.REGULATOR}),
    Permission.MANAGE_TENANT: frozenset({Role.ADMIN}),
    Permission.MANAGE_CLOCKS: frozenset({Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION}),
    Permission.VIEW_ESCALATIONS: frozenset({Role.SUPERVISOR, Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.VIEW_FILINGS: frozenset({Role.SUPERVISOR, Role.QUALITY_MANAGER, Role.ADMIN, Role.REGULATOR}),
    Permission.MANAGE_NOTIFICATIONS: frozenset(
        {Role.SUPERVISOR, Role.COMPLAINT_HANDLER, Role.QUALITY_MANAGER, Role.ADMIN, Role.INTEGRATION}
    ),
    Permission.VIEW_COMPLAINTS: frozenset(_STAFF | {Role.REGULATOR, Role.INTEGRATION}),
    Permission.HANDLE_COMPLAINTS: frozenset({Role.COMPLAINT_HANDLER, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION}),
    Permission.VIEW_SURVEYS: frozenset(
        {Role.SUPERVISOR, Role.COMPLAINT_HANDLER, Role.INSPECTOR, Role.QUALITY_MANAGER, Role.ADMIN, Role.REGULATOR}
    ),
    Permission.MANAGE_VOLUMES: frozenset({Role.QUALITY_MANAGER, Role.ADMIN, Role.INTEGRATION}),
    Permission.VIEW_KPIS: frozenset({Role.QUALITY_MANAGER, Role.ADMIN, Role.SUPERVISOR, Role.REGULATOR}),
    Permission.VIEW_ANALYTICS: frozenset(
        {Role.QUALITY_MANAGER, Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR, Role.REGULATOR}
    ),
    Permission.EDIT_MATERIALS: frozenset({Role.ADJUSTER, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION}),
    Permission.VIEW_ACCESS_LOG: frozenset({Role.ADMIN, Role.QUALITY_MANAGER}),
    Permission.UNMASK_PERSONAL_DATA: frozenset({Role.SUPERVISOR, Role.COMPLAINT_HANDLER, Role.ADMIN}),
    Permission.READ_OWN_NOTIFICATIONS: frozenset(_STAFF | {Role.UNDERWRITER}),
    Permission.MANAGE_ASSIGNMENT: frozenset({Role.SUPERVISOR, Role.ADMIN}),
    Permission.BE_ASSIGNED: frozenset({Role.ADJUSTER, Role.SUPERVISOR, Role.COMPLAINT_HANDLER}),
    Permission.VIEW_INSPECTIONS: frozenset({Role.INSPECTOR, Role.QUALITY_MANAGER, Role.ADMIN, Role.SUPERVISOR}),
    Permission.MANAGE_INSPECTION_PLANS: frozenset({Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.PERFORM_INSPECTIONS: frozenset({Role.INSPECTOR, Role.QUALITY_MANAGER}),
    Permission.VIEW_RECTIFICATIONS: frozenset(_STAFF),
    Permission.WORK_RECTIFICATIONS: frozenset(
        {Role.ADJUSTER, Role.SUPERVISOR, Role.COMPLAINT_HANDLER, Role.QUALITY_MANAGER, Role.ADMIN}
    ),
    Permission.ACCEPT_RECTIFICATIONS: frozenset({Role.QUALITY_MANAGER}),
    Permission.PROPOSE_SANCTIONS: frozenset({Role.INSPECTOR, Role.QUALITY_MANAGER}),
    Permission.APPROVE_SANCTIONS: frozenset({Role.QUALITY_MANAGER}),
    Permission.VIEW_SANCTIONS: frozenset({Role.INSPECTOR, Role.QUALITY_MANAGER, Role.ADMIN, Role.SUPERVISOR}),
    Permission.VIEW_BLACKLIST: frozenset(_STAFF),
    Permission.MANAGE_BLACKLIST: frozenset({Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.INBOX_MY_CLAIMS: frozenset({Role.ADJUSTER}),
    Permission.INBOX_ESCALATIONS: frozenset({Role.SUPERVISOR}),
    Permission.INBOX_COMPLAINTS: frozenset({Role.COMPLAINT_HANDLER}),
    Permission.INBOX_QUALITY: frozenset({Role.QUALITY_MANAGER}),
    Permission.INBOX_SURVEY_FOLLOW_UP: frozenset({Role.INSPECTOR}),
    Permission.INBOX_DEAD_LETTERS: frozenset({Role.ADMIN}),
    Permission.INBOX_FILINGS: frozenset({Role.REGULATOR}),
    Permission.INBOX_INSPECTIONS: frozenset({Role.INSPECTOR}),
    Permission.INBOX_RECTIFICATIONS: frozenset(
        {Role.ADJUSTER, Role.SUPERVISOR, Role.COMPLAINT_HANDLER, Role.QUALITY_MANAGER}
    ),
    Permission.INBOX_SANCTIONS: frozenset({Role.QUALITY_MANAGER}),
    Permission.VIEW_ACTIONS: frozenset(_STAFF),
    Permission.MANAGE_ACTIONS: frozenset({Role.QUALITY_MANAGER, Role.SUPERVISOR, Role.ADMIN}),
    Permission.WORK_ACTIONS: frozenset(
        {Role.ADJUSTER, Role.SUPERVISOR, Role.COMPLAINT_HANDLER, Role.INSPECTOR, Role.QUALITY_MANAGER, Role.ADMIN}
    ),
    Permission.INBOX_ACTIONS: frozenset(
        {Role.ADJUSTER, Role.SUPERVISOR, Role.COMPLAINT_HANDLER, Role.INSPECTOR, Role.QUALITY_MANAGER}
    ),
    Permission.VIEW_COMMITTEE: frozenset({Role.QUALITY_MANAGER, Role.SUPERVISOR, Role.ADMIN, Role.INSPECTOR}),
    Permission.MANAGE_COMMITTEE: frozenset({Role.QUALITY_MANAGER}),
    Permission.VIEW_REPORTS: frozenset(
        {Role.QUALITY_MANAGER, Role.SUPERVISOR, Role.ADMIN, Role.INSPECTOR, Role.REGULATOR}
    ),
    Permission.BUILD_REPORTS: frozenset({Role.QUALITY_MANAGER, Role.ADMIN, Role.REGULATOR}),
    Permission.VIEW_OPERATIONS: frozenset({Role.ADMIN, Role.QUALITY_MANAGER}),
    Permission.VIEW_TRIAGE: frozenset(_STAFF | {Role.REGULATOR}),
    Permission.MANAGE_TRIAGE_RULES: frozenset({Role.ADMIN, Role.QUALITY_MANAGER}),
    Permission.DECLARE_CATASTROPHES: frozenset({Role.ADMIN}),
    Permission.VIEW_RISK: frozenset({Role.SUPERVISOR, Role.INSPECTOR, Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.REVIEW_RISK: frozenset({Role.SUPERVISOR, Role.INSPECTOR}),
    Permission.TRAIN_RISK_MODELS: frozenset({Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.INBOX_RISK_REVIEW: frozenset({Role.SUPERVISOR, Role.INSPECTOR}),
    Permission.VIEW_PROVIDERS: frozenset(_STAFF | {Role.REGULATOR, Role.INTEGRATION}),
    Permission.MANAGE_PROVIDERS: frozenset({Role.QUALITY_MANAGER, Role.ADMIN, Role.INTEGRATION}),
    Permission.SEND_PROVIDER_TASKS: frozenset({Role.ADJUSTER, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION}),
    Permission.RESOLVE_TASK_DISPUTES: frozenset({Role.SUPERVISOR, Role.QUALITY_MANAGER}),
    Permission.REVIEW_PROVIDERS: frozenset({Role.QUALITY_MANAGER, Role.ADMIN}),
    # Only a provider's key: no staff role answers for a provider.
    Permission.ANSWER_PROVIDER_TASKS: frozenset({Role.PROVIDER}),
    Permission.INBOX_PROVIDER_TASKS: frozenset({Role.ADJUSTER, Role.SUPERVISOR}),
    Permission.VIEW_RATINGS: frozenset({Role.REGULATOR, Role.QUALITY_MANAGER, Role.ADMIN}),
    # The supervisor's own acts: the regulator is read-only on insurers' data, not on the rating it runs.
    Permission.MANAGE_RATINGS: frozenset({Role.REGULATOR}),
    Permission.FILE_RATING_OBJECTIONS: frozenset({Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.VIEW_BENCHMARKS: frozenset({Role.REGULATOR}),
    Permission.VIEW_EVIDENCE: frozenset(_STAFF | {Role.REGULATOR}),
    Permission.MANAGE_EVIDENCE: frozenset({Role.ADMIN}),
    Permission.WITNESS_EVIDENCE: frozenset({Role.REGULATOR}),
    Permission.VIEW_SALES: frozenset({Role.SUPERVISOR, Role.INSPECTOR, Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.MANAGE_SALES: frozenset({Role.QUALITY_MANAGER, Role.ADMIN, Role.INTEGRATION}),
    Permission.WORK_REVISITS: frozenset({Role.COMPLAINT_HANDLER, Role.SUPERVISOR, Role.QUALITY_MANAGER}),
    Permission.INBOX_REVISITS: frozenset({Role.COMPLAINT_HANDLER}),
    Permission.VIEW_UNDERWRITING: frozenset(
        {Role.UNDERWRITER, Role.SUPERVISOR, Role.INSPECTOR, Role.QUALITY_MANAGER, Role.ADMIN}
    ),
    Permission.SUBMIT_APPLICATIONS: frozenset({Role.UNDERWRITER, Role.ADMIN, Role.INTEGRATION}),
    Permission.DECIDE_UNDERWRITING: frozenset({Role.UNDERWRITER, Role.SUPERVISOR}),
    Permission.MANAGE_UNDERWRITING_RULES: frozenset({Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.INBOX_UNDERWRITING: frozenset({Role.UNDERWRITER}),
    Permission.VIEW_PEOPLE: frozenset({Role.SUPERVISOR, Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.MANAGE_PEOPLE: frozenset({Role.QUALITY_MANAGER, Role.ADMIN, Role.INTEGRATION}),
    Permission.INBOX_PEOPLE: frozenset({Role.QUALITY_MANAGER, Role.ADMIN}),
    # A person's scorecard: the person, their managers and the quality department (issue 18), nobody else.
    Permission.VIEW_APPRAISALS: frozenset({Role.SUPERVISOR, Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.COMMENT_APPRAISALS: frozenset({Role.SUPERVISOR, Role.QUALITY_MANAGER}),
    Permission.MANAGE_APPRAISALS: frozenset({Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.VIEW_OWN_APPRAISAL: frozenset(_STAFF | {Role.UNDERWRITER}),
    Permission.VIEW_SERVICE_REQUESTS: frozenset(_STAFF | {Role.INTEGRATION}),
    Permission.HANDLE_SERVICE_REQUESTS: frozenset(
        {Role.COMPLAINT_HANDLER, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION}
    ),
    Permission.MANAGE_PEAK_MODE: frozenset({Role.SUPERVISOR, Role.QUALITY_MANAGER}),
    Permission.INBOX_SERVICE_REQUESTS: frozenset({Role.COMPLAINT_HANDLER, Role.SUPERVISOR}),
    Permission.VIEW_KB: frozenset(_STAFF | {Role.UNDERWRITER}),
    Permission.EDIT_KB: frozenset({Role.COMPLAINT_HANDLER, Role.SUPERVISOR, Role.QUALITY_MANAGER}),
    Permission.APPROVE_KB: frozenset({Role.SUPERVISOR, Role.QUALITY_MANAGER}),
    Permission.VIEW_FORECASTS: frozenset({Role.SUPERVISOR, Role.QUALITY_MANAGER, Role.ADMIN}),
    Permission.MANAGE_FORECASTS: frozenset({Role.SUPERVISOR, Role.ADMIN}),
}


# Permission groups a sanction may suspend (暂停业务/权限, claimwatch.sanctions): a suspension names a group, and
# for its period every permission of the group is refused to the suspended user, whatever their role.
PERMISSION_GROUPS: dict[str, frozenset[Permission]] = {
    "handle_claims": frozenset(
        {Permission.INGEST_EVENTS, Permission.EDIT_MATERIALS, Permission.MANAGE_CLOCKS, Permission.BE_ASSIGNED}
    ),
    "handle_complaints": frozenset({Permission.HANDLE_COMPLAINTS, Permission.BE_ASSIGNED}),
    "perform_inspections": frozenset({Permission.PERFORM_INSPECTIONS, Permission.PROPOSE_SANCTIONS}),
}
# What the refusal calls each group (zh, en): "您的理赔处理权限已被暂停至 …".
PERMISSION_GROUP_LABELS: dict[str, tuple[str, str]] = {
    "handle_claims": ("理赔处理", "claims handling"),
    "handle_complaints": ("投诉处理", "complaint handling"),
    "perform_inspections": ("品质抽检", "quality inspection"),
}


class AccessDenied(PermissionError):
    """The caller's role or tenant does not allow the action (HTTP 403)."""


@dataclass(frozen=True)
class Suspension:
    """A permission group suspended by an approved sanction, active when the principal was resolved.
    ``until`` is the last local day of the suspension (what the refusal shows); ``reference`` the sanction."""

    group: str
    ends_at: dt.datetime
    until: dt.date
    reference: str

    def message(self, locale: str = "zh") -> str:
        zh, en = PERMISSION_GROUP_LABELS.get(self.group, (self.group, self.group.replace("_", " ")))
        if locale == "en":
            return f"Your {en} permission is suspended until {self.until.isoformat()} (sanction {self.reference})"
        return f"您的{zh}权限已被暂停至 {self.until.isoformat()}（处罚 {self.reference}）"


class PermissionSuspended(AccessDenied):
    """The role allows the action but an approved sanction suspends it for now (HTTP 403, with the end date
    and the sanction's number). ``str()`` is the Chinese message; :meth:`message` gives either language."""

    def __init__(self, suspension: Suspension) -> None:
        self.suspension = suspension
        super().__init__(suspension.message("zh"))

    def message(self, locale: str) -> str:
        return self.suspension.message(locale)


@dataclass(frozen=True)
class Principal:
    role: Role
    tenant_id: int | None
    actor: str  # what the audit trail records: "user:zhang.wei" or "api_key:core-sys"
    user_id: int | None = None
    api_key_id: int | None = None
    display_name: str = ""
    # A provider key's provider (role ``provider``): the provider API filters every read and write on it.
    provider_id: int | None = None
    # Suspensions active when the principal was resolved (auth.service loads them with the session).
    suspensions: tuple[Suspension, ...] = ()

    @property
    def is_regulator(self) -> bool:
        """The cross-insurer, read-only view (监管/协会): sees every tenant, changes nothing."""
        return self.role is Role.REGULATOR

    def can(self, permission: Permission) -> bool:
        return self.role in ROLE_PERMISSIONS[permission] and (
            not self.suspensions or self.suspension_of(permission) is None
        )

    def suspension_of(self, permission: Permission) -> Suspension | None:
        """The active suspension that refuses ``permission`` (the one ending last), if any."""
        found = [s for s in self.suspensions if permission in PERMISSION_GROUPS.get(s.group, ())]
        return max(found, key=lambda s: s.ends_at) if found else None

    def require(self, permission: Permission) -> None:
        if self.role not in ROLE_PERMISSIONS[permission]:
            raise AccessDenied(f"role {self.role.value!r} may not {permission.value.replace('_', ' ')}")
        suspended = self.suspension_of(permission) if self.suspensions else None
        if suspended is not None:
            raise PermissionSuspended(suspended)

    def context(self) -> TenantContext:
        if self.is_regulator:
            return TenantContext.regulator()
        if self.tenant_id is None:
            raise AccessDenied("this account belongs to no tenant")
        return TenantContext.for_tenant(self.tenant_id)
