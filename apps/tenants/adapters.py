from allauth.account.adapter import DefaultAccountAdapter


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """Portal users arrive by a partner's link or an invitation, never by signing up."""

    def is_open_for_signup(self, request):
        return False
