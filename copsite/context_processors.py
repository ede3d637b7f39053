from django.conf import settings


def site(request):
    return {"SITE_NAME": settings.COPSITE_NAME, "DEBUG": settings.DEBUG}
