app_name = "iot"

urlpatterns = []
