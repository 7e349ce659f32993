"""Portal forms: one mapping form per source account, and the optional email + password
that lets a visitor who came by link sign in again later."""

import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import date

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from apps.feeds.mapping import MappingOption, feed_start_date_window
from apps.feeds.source_accounts import xero_account_type

NEW_ACCOUNT = "new"
SKIP = "skip"


@dataclass(frozen=True)
class PlanItem:
    """One account's choice, kept in the session between the mapping and confirm steps."""

    source_account_id: str
    source_account_name: str
    source_account_number: str
    currency: str
    target_account_id: str | None
    target_account_name: str
    feed_start_date: date
    skipped: bool = False  # kept too, so Change and Back show the choice again

    @property
    def target_choice(self) -> str:
        """The mapping form's value for this choice."""
        return SKIP if self.skipped else self.target_account_id or NEW_ACCOUNT

    def as_session(self) -> dict:
        return {**asdict(self), "feed_start_date": self.feed_start_date.isoformat()}

    @classmethod
    def from_session(cls, data: dict) -> "PlanItem":
        return cls(**{**data, "feed_start_date": date.fromisoformat(data["feed_start_date"])})


def shown_number(source) -> str:
    """An account's number as the portal shows it: a card's last four digits only, a bank
    account's sort code and number."""
    number = source.account_number or ""
    if xero_account_type(source) == "CREDITCARD":
        digits = re.sub(r"\D", "", number)
        return f"•••• {digits[-4:]}" if digits else ""
    return " ".join(p for p in (source.sort_code, number) if p)


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

    def __init__(self, *args, option: MappingOption, chosen: "PlanItem | None" = None, **kwargs):
        """`chosen`: what the user chose last time (Change, Back, a reload), which wins over
        our suggestion while it is still on offer."""
        self.option = option
        self.source = option.source_account
        kwargs.setdefault("prefix", form_prefix(self.source.account_id))
        super().__init__(*args, **kwargs)
        self.targets = option.targets
        existing = [(t.account_id, self._target_label(t)) for t in self.targets]
        choices = [("", _("Choose a Xero account…"))]
        if existing:
            choices.append((_("Your Xero bank accounts"), existing))
        if option.can_create:
            choices.append((NEW_ACCOUNT, _("Create a new account in Xero")))
        else:
            self.fields["target"].help_text = _(
                "This Xero organisation can't hold %(currency)s accounts (multi-currency is off), so no new "
                "account can be created for it.") % {"currency": self.source.currency}
        choices.append((SKIP, _("Don't connect this account now")))
        self.fields["target"].choices = choices
        earliest, today = feed_start_date_window()
        self.fields["feed_start_date"].widget.attrs.update({"min": earliest.isoformat(), "max": today.isoformat()})
        offered = {value for value, _label in existing} | {SKIP} | ({NEW_ACCOUNT} if option.can_create else set())
        if chosen is not None and chosen.target_choice in offered:
            self.fields["target"].initial = chosen.target_choice
            self.fields["feed_start_date"].initial = chosen.feed_start_date
        else:
            self.fields["target"].initial = self._suggested_target()
            self.fields["feed_start_date"].initial = today

    @staticmethod
    def _target_label(target) -> str:
        number = " ".join(p for p in (target.sort_code, target.number) if p)
        return f"{target.name} ({number})" if number else target.name

    def _suggested_target(self) -> str:
        """The Xero account the feed goes to (or went to, before it was disconnected), else
        the one with the same number."""
        ids = {t.account_id for t in self.targets}
        history = list(self.source.feeds.all()) if self.source.pk else []  # newest first
        for feed in [self.option.feed, *history]:
            if feed and str(feed.target_account_id) in ids:
                return str(feed.target_account_id)
        number = (self.source.account_number or "").replace(" ", "")
        for target in self.targets:
            if number and (target.number or "").replace(" ", "").endswith(number):
                return target.account_id
        return ""

    def clean_feed_start_date(self):
        value = self.cleaned_data["feed_start_date"]
        earliest, today = feed_start_date_window()
        if value > today:
            raise forms.ValidationError(_("The start date can't be in the future."), code="future")
        if value < earliest:
            raise forms.ValidationError(
                _("Xero accepts transactions up to one year old: choose %(date)s or later."),
                code="too_old", params={"date": formats.date_format(earliest, "DATE_FORMAT")},
            )
        return value

    @property
    def skipped(self) -> bool:
        return self.cleaned_data.get("target") == SKIP

    def plan_item(self) -> PlanItem:
        target = next((t for t in self.targets if t.account_id == self.cleaned_data["target"]), None)
        return PlanItem(
            source_account_id=self.source.account_id,
            source_account_name=self.source.account_name or self.source.account_id,
            source_account_number=shown_number(self.source),
            currency=self.source.currency or "",
            target_account_id=target.account_id if target else None,
            target_account_name=self._target_label(target) if target else "",
            feed_start_date=self.cleaned_data["feed_start_date"],
            skipped=self.skipped,
        )


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
