from django.urls import path
from markets import views

urlpatterns = [
    path("ticker/", views.ticker),
    path("redis/ticker/", views.ticker_from_redis),
]
