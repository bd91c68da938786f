from django.urls import path

from billing import api

urlpatterns = [
    path("wallet", api.WalletApi.as_view(), name="billing-wallet"),
    path("wallet/transactions", api.WalletTransactionsApi.as_view(), name="billing-wallet-transactions"),
    path("wallet/topup", api.TopupApi.as_view(), name="billing-wallet-topup"),
    path("wallet/withdraw", api.WithdrawApi.as_view(), name="billing-wallet-withdraw"),
    path("payment/callback", api.payment_callback, name="billing-payment-callback"),
    path("billing/receivables", api.ReceivableListApi.as_view(), name="billing-receivables"),
    path("billing/receivables/<int:pk>/settle", api.ReceivableSettleApi.as_view(),
         name="billing-receivable-settle"),
    path("admin/metrics", api.MetricsApi.as_view(), name="billing-admin-metrics"),
]
