from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.validators import validate_fiscal_code


class ProfileForm(forms.Form):
    full_name = forms.CharField(max_length=200, required=False, label=_("Full name"))
    address = forms.CharField(max_length=300, required=False, label=_("Address"))
    fiscal_code = forms.CharField(
        max_length=16, required=False, label=_("Fiscal code"),
        help_text=_("Italian codice fiscale (16 characters); the check character is verified."),
    )

    def clean_fiscal_code(self):
        code = self.cleaned_data["fiscal_code"].strip().upper()
        if code:
            validate_fiscal_code(code)
        return code

    @classmethod
    def for_user(cls, user: User, data=None):
        return cls(data=data, initial={"full_name": user.full_name, "address": user.address,
                                       "fiscal_code": user.fiscal_code})
