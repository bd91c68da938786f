from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunitiesConfig(AppConfig):
    name = "communities"
    verbose_name = _("Communities")

    def ready(self):
        # Enrolment of a person into a community is this app's service; accounts calls it
        # back for users staff create with a community, without importing communities.
        from accounts.services import account_placement_register
        from communities.services import account_placement, account_placement_community

        account_placement_register(resolve=account_placement_community, place=account_placement)
