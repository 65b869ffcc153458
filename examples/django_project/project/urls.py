from django.urls import path
from markets import views

urlpatterns = [path("ticker/", views.ticker)]
