"""The audit log: services record what changed; who did it comes from the request that
is being served (partner API key, portal user, staff) or is named explicitly (Xero,
when it deauthorises a connection)."""

from contextvars import ContextVar
from dataclasses import dataclass

from .models import AuditEvent, Company


@dataclass(frozen=True)
class Actor:
    kind: str
    label: str


SYSTEM = Actor(AuditEvent.ActorKind.SYSTEM, "system")
XERO = Actor(AuditEvent.ActorKind.XERO, "Xero")
LINK_VISITOR = Actor(AuditEvent.ActorKind.PORTAL_USER, "visitor with the company's link")

_current: ContextVar[Actor] = ContextVar("audit_actor", default=SYSTEM)


def set_actor(actor: Actor):
    """Make `actor` the author of what follows in this request; returns a reset token."""
    return _current.set(actor)


def reset_actor(token) -> None:
    _current.reset(token)


def actor_for_request(request) -> Actor:
    """Staff in Django admin, a signed-in portal user, or (signed out: the only pages that
    change anything without a sign-in are the portal's, reached by its link) a visitor."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        match = request.resolver_match
        if user.is_staff and match is not None and match.app_name == "admin":
            return Actor(AuditEvent.ActorKind.STAFF, user.get_username())
        return Actor(AuditEvent.ActorKind.PORTAL_USER, user.email or user.get_username())
    return LINK_VISITOR


def audit_record(*, company: Company | str, subject: str, subject_id, action: str, detail: str = "",
                 actor: Actor | None = None) -> AuditEvent:
    """Record one change to a company's connection, feed or source account."""
    actor = actor or _current.get()
    company_id = company if isinstance(company, str) else company.pk
    return AuditEvent.objects.create(company_id=company_id, subject=subject, subject_id=str(subject_id),
                                     action=action, detail=detail[:2000], actor_kind=actor.kind, actor=actor.label)


class AuditActorMiddleware:
    """Name the portal user or staff member behind each request, once its URL is resolved.
    The partner API names its actor in authentication, which runs later, inside the view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_actor(SYSTEM)
        try:
            return self.get_response(request)
        finally:
            reset_actor(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        set_actor(actor_for_request(request))
