from django.urls import path

from market import api

urlpatterns = [
    path("market/offers", api.OfferListCreateApi.as_view(), name="market-offers"),
    path("market/offers/<int:pk>", api.OfferDetailApi.as_view(), name="market-offer-detail"),
    path("market/offers/<int:pk>/withdraw", api.OfferWithdrawApi.as_view(), name="market-offer-withdraw"),
    path("market/allocations", api.AllocationListCreateApi.as_view(), name="market-allocations"),
    path("market/allocations/<int:pk>", api.AllocationDetailApi.as_view(), name="market-allocation-detail"),
    path(
        "market/allocations/<int:pk>/cancel",
        api.AllocationCancelApi.as_view(),
        name="market-allocation-cancel",
    ),
    path("market/deliveries", api.DeliveryListApi.as_view(), name="market-deliveries"),
]
