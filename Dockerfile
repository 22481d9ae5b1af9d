# Cellar production image: gunicorn serving cellar.wsgi, static files via whitenoise.
# The same image runs the Celery worker and beat (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint (PDF invoices) needs Pango, HarfBuzz's subsetter and a font.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Unprivileged user; /app/media and /app/private exist (owned by it) so named
# volumes mounted there start out writable.
RUN groupadd --system cellar \
    && useradd --system --gid cellar --create-home --home-dir /home/cellar cellar \
    && install -d -o cellar -g cellar /app /app/media /app/private
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --chown=cellar:cellar . .
USER cellar

# Production settings refuse to load without these, so collectstatic gets
# throwaway values here only; they are not baked into the image's environment.
RUN env DJANGO_SETTINGS_MODULE=cellar.settings.production \
        SECRET_KEY=collectstatic-build-only \
        STRIPE_SECRET_KEY=sk_test_build_only \
        STRIPE_WEBHOOK_SECRET=whsec_build_only \
        SECURE_SSL_REDIRECT=false \
        python manage.py collectstatic --noinput

ENV DJANGO_SETTINGS_MODULE=cellar.settings.production
EXPOSE 8000

# X-Forwarded-Proto keeps SECURE_SSL_REDIRECT from answering with a redirect;
# 127.0.0.1 must stay in ALLOWED_HOSTS. A 503 raises, so the check fails.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'X-Forwarded-Proto': 'https'}), timeout=4)"]

CMD ["sh", "-c", "exec gunicorn cellar.wsgi:application --config gunicorn.conf.py --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-2} --access-logfile -"]
