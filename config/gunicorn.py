"""gunicorn's settings for the web process: `gunicorn config.wsgi -c config/gunicorn.py`.

The access log keeps secrets out: a partner's API key (sent as the Basic-auth user) shows
as its visible prefix only, as admin shows it; portal link tokens, password-reset and
email-confirmation keys in paths, and OAuth codes and states (and any token or secret) in
query strings and referers show as [redacted]."""

import os
import re

from gunicorn.glogging import Logger

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = 120
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

REDACTED = "[redacted]"
# As long as PartnerApiKey.prefix: "bfk_" and 8 characters of the key.
KEY_PREFIX_LENGTH = 12
_PATH_SECRET = re.compile(r"(/link/|/password/reset/key/|/confirm-email/)[^/?#\s\"]+")
_QUERY_SECRET = re.compile(
    r"(?i)((?:^|[?&;])(?:code|state|session_state|token|access_token|refresh_token|id_token|code_verifier|"
    r"client_secret|key|password)=)[^&;#\s\"]*")
# Request headers and environ values that carry credentials, whatever the format asks for.
_SECRET_ATOMS = ("{authorization}i", "{proxy-authorization}i", "{cookie}i", "{x-csrftoken}i",
                 "{http_authorization}e", "{http_proxy_authorization}e", "{http_cookie}e", "{http_x_csrftoken}e")


def redact(text):
    """`text` (a request line, path, query string or referer) without the secrets above."""
    if not text:
        return text
    text = _PATH_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    return _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U", "q", "f"):
            atoms[name] = redact(atoms[name])
        for name in _SECRET_ATOMS:
            atoms.pop(name, None)
        return atoms

    def _get_user(self, environ):
        user = super()._get_user(environ)
        if user and len(user) > KEY_PREFIX_LENGTH:
            return user[:KEY_PREFIX_LENGTH] + "…"
        return user


logger_class = RedactingLogger
