"""Portal forms: one mapping form per source account, and the optional email + password
that lets a visitor who came by link sign in again later."""

import hashlib
from datetime import date, timedelta

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

NEW_ACCOUNT = "new"
SKIP = "skip"


def one_year_ago(today: date) -> date:
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today - timedelta(days=365)


def form_prefix(source_account_id: str) -> str:
    """A stable, HTML-safe prefix per source account: the partner's ids may hold any character."""
    return "a" + hashlib.sha256(source_account_id.encode()).hexdigest()[:10]


class MappingForm(forms.Form):
    """Where one source account's transactions go in Xero, and from which day."""

    target = forms.ChoiceField(
        label=_("Xero account"),
        error_messages={"required": _("Choose where these transactions should go in Xero.")},
    )
    feed_start_date = forms.DateField(
        label=_("Send transactions from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Up to one year ago, and not in the future."),
        error_messages={"required": _("Enter the first day to send to Xero."),
                        "invalid": _("Enter a date such as 2025-01-31.")},
    )

    def __init__(self, *args, mapping: dict, **kwargs):
        self.mapping = mapping
        kwargs.setdefault("prefix", form_prefix(mapping["sourceAccountId"]))
        super().__init__(*args, **kwargs)
        self.options = mapping.get("targetAccountOptions") or []
        existing = [(o["id"], self._option_label(o)) for o in self.options]
        choices = [("", _("Choose a Xero account…"))]
        if existing:
            choices.append((_("Your Xero bank accounts"), existing))
        choices += [(NEW_ACCOUNT, _("Create a new account in Xero")), (SKIP, _("Don't connect this account now"))]
        self.fields["target"].choices = choices
        today = timezone.localdate()
        self.fields["feed_start_date"].initial = today
        self.fields["feed_start_date"].widget.attrs.update(
            {"min": one_year_ago(today).isoformat(), "max": today.isoformat()}
        )
        self.fields["target"].initial = self._suggested_target()

    @staticmethod
    def _option_label(option: dict) -> str:
        number = " ".join(p for p in (option.get("sortCode"), option.get("accountNumber")) if p)
        return f"{option['name']} ({number})" if number else option["name"]

    def _suggested_target(self) -> str:
        """Xero's suggestion, else the Xero account with the same account number."""
        ids = {o["id"] for o in self.options}
        if self.mapping.get("targetAccountId") in ids:
            return self.mapping["targetAccountId"]
        number = (self.mapping.get("sourceAccountNumber") or "").replace(" ", "")
        for option in self.options:
            if number and (option.get("accountNumber") or "").replace(" ", "").endswith(number):
                return option["id"]
        return ""

    def clean_feed_start_date(self):
        value = self.cleaned_data["feed_start_date"]
        today = timezone.localdate()
        if value > today:
            raise forms.ValidationError(_("The start date can't be in the future."), code="future")
        earliest = one_year_ago(today)
        if value < earliest:
            raise forms.ValidationError(
                _("Xero accepts transactions up to one year old: choose %(date)s or later."),
                code="too_old", params={"date": formats.date_format(earliest, "DATE_FORMAT")},
            )
        return value

    @property
    def skipped(self) -> bool:
        return self.cleaned_data.get("target") == SKIP

    def plan_item(self) -> dict:
        """The choice as it is kept in the session between the mapping and confirm steps."""
        target = self.cleaned_data["target"]
        option = next((o for o in self.options if o["id"] == target), None)
        return {
            "sourceAccountId": self.mapping["sourceAccountId"],
            "sourceAccountName": self.mapping.get("sourceAccountName") or self.mapping["sourceAccountId"],
            "sourceAccountNumber": self.mapping.get("sourceAccountNumber") or "",
            "sourceCurrency": self.mapping.get("sourceCurrency") or "",
            "targetAccountId": option["id"] if option else None,
            "targetAccountName": self._option_label(option) if option else "",
            "feedStartDate": self.cleaned_data["feed_start_date"].isoformat(),
        }


class SaveAccessForm(forms.Form):
    """Email and password for a visitor who came in by link, so they can sign in later."""

    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = forms.CharField(label=_("Password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Password (again)"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        User = get_user_model()
        if User.objects.filter(email__iexact=email).exists() or User.objects.filter(username__iexact=email).exists():
            raise forms.ValidationError(_("An account with this email already exists. Sign in with it instead."))
        return email

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords don't match."))
        elif first:
            try:
                password_validation.validate_password(first)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
