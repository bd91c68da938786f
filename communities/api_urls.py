from django.urls import path

from communities import api

urlpatterns = [
    path("communities", api.CommunityListCreateApi.as_view(), name="community-list"),
    path("communities/<int:pk>", api.CommunityDetailApi.as_view(), name="community-detail"),
    path("communities/<int:pk>/boundary", api.CommunityBoundaryApi.as_view(), name="community-boundary"),
    path("communities/<int:pk>/members", api.CommunityMembersApi.as_view(), name="community-members"),
    path("communities/<int:pk>/members/<int:membership_id>", api.CommunityMemberDetailApi.as_view(),
         name="community-member-detail"),
    path("communities/<int:pk>/members/<int:membership_id>/participation-factors",
         api.MemberParticipationFactorsApi.as_view(), name="community-member-factors"),
    path("communities/<int:pk>/transactions", api.CommunityTransactionsApi.as_view(),
         name="community-transactions"),
    path("configurations", api.ConfigurationListCreateApi.as_view(), name="configuration-list"),
    path("members", api.MemberListCreateApi.as_view(), name="member-list"),
    path("transactions", api.TransactionListApi.as_view(), name="transaction-list"),
    path("metering-points", api.MeteringPointListCreateApi.as_view(), name="metering-point-list"),
    path("metering-points/<int:pk>", api.MeteringPointDetailApi.as_view(), name="metering-point-detail"),
]
