"""What the connection use cases refuse, with the sentences tests assert against."""

from apps.core.refusals import Refused, item

# Never names the other company: it is another customer of the same partner.
ORG_LINKED_ELSEWHERE = "The Xero organisation “{org}” is already connected to another company."
OAUTH_EXPIRED = "This sign-in to Xero expired or did not start here. Please connect again."
CONNECTION_NOT_LINKED = "The connection is {status}: the company must connect Xero again from the portal."
LINK_INVALID = "This link has expired or has already been used. Ask {partner} for a new one, or sign in."
XERO_NOT_CONNECTED_YET = "Xero is not connected yet."
REVOKE_UNREACHABLE = "Xero could not be reached to revoke access: {reason}"


class ConnectionRefused(Refused):
    """A refusal about the connection's state, with a message for people."""

    def __init__(self, message, **kwargs):
        kwargs.setdefault("errors", [item(message)])
        super().__init__(message, **kwargs)


class ConnectionNotLinked(ConnectionRefused):
    """The connection is not Linked, so nothing can be asked of Xero for it. A 400 unless
    the operation asking lists no 400 (`status`)."""

    def __init__(self, connection_status, *, status=None):
        super().__init__(CONNECTION_NOT_LINKED.format(status=connection_status), errors=[], can_be_retried=False,
                         status=status)
        self.connection_status = connection_status


class OrganisationTaken(ConnectionRefused):
    pass


# Why the OAuth dance did not end in tokens, for the portal's sentences.
OAUTH_EXPIRED_KIND = "expired"
OAUTH_CANCELLED = "cancelled"
OAUTH_XERO_ERROR = "xero_error"
OAUTH_NO_ORGANISATION = "no_organisation"


class OAuthFailed(ConnectionRefused):
    """The OAuth dance failed: `kind` says how, `detail` holds Xero's own words if any."""

    def __init__(self, message, *, kind=OAUTH_EXPIRED_KIND, detail="", **kwargs):
        super().__init__(message, **kwargs)
        self.kind = kind
        self.detail = detail


class LinkInvalid(ConnectionRefused):
    pass
