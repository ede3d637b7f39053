FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# libmagic: uploads are checked by content (python-magic).
RUN apt-get update && apt-get install -y --no-install-recommends libmagic1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 copsite
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings but no services: a throwaway key for this step only.
RUN DEBUG=0 SECRET_KEY=build-only-build-only-build-only-build-only-build-only \
    ALLOWED_HOSTS=build COPSITE_VAR_DIR=/tmp/var python manage.py collectstatic --noinput \
    && mkdir -p /app/var /app/media && chown -R copsite:copsite /app/var /app/media

USER copsite
EXPOSE 8000
CMD ["gunicorn", "copsite.wsgi:application", "-c", "gunicorn.conf.py"]
