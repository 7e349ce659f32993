"""Deploy checks (`manage.py check --deploy`): production must not run on the demo's
defaults. Registered in XeroAuthConfig.ready()."""

from django.conf import settings
from django.core.checks import Error, Tags, register

DEMO_TOKEN_KEY = Error(
    "TOKEN_ENCRYPTION_KEY is unset or holds the demo key, which is public: anyone with a copy of the "
    "database could read every Xero token.",
    hint="Set TOKEN_ENCRYPTION_KEY to a new key: python -c 'from cryptography.fernet import Fernet; "
         "print(Fernet.generate_key().decode())'.",
    id="bankfeeds.E001",
)
SANDBOX_MOUNTED = Error(
    "XERO_SANDBOX is on with DEBUG off: the embedded Xero sandbox (its consent page, tokens and fault "
    "control) would be served in production.",
    hint="Unset XERO_SANDBOX (or set it to 0) and set XERO_CLIENT_ID and XERO_CLIENT_SECRET of your Xero app.",
    id="bankfeeds.E002",
)


@register(Tags.security, deploy=True)
def production_is_not_the_demo(app_configs, **kwargs):
    if settings.DEBUG:
        return []
    errors = []
    keys = [k.strip() for k in settings.TOKEN_ENCRYPTION_KEY.split(",")]
    if not any(keys) or settings.DEMO_TOKEN_ENCRYPTION_KEY in keys:
        errors.append(DEMO_TOKEN_KEY)
    if settings.XERO_SANDBOX:
        errors.append(SANDBOX_MOUNTED)
    return errors
