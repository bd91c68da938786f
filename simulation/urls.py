app_name = "simulation"

urlpatterns = []
