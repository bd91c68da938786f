app_name = "plants"

urlpatterns = []
