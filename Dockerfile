# Kameng image: the same image runs the web process (granian, the default command),
# the Celery worker and Celery beat; docker-compose.yml chooses the command.
FROM python:3.11-slim-bookworm

# DEBUG is off in the image: the settings' embedded default turns it on when
# DATABASE_URL is unset, and a container must not serve debug pages by accident.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=kameng.settings \
    DEBUG=false

# WeasyPrint's runtime libraries (it loads Pango, PangoFT2, HarfBuzz and its subset
# library, and fontconfig, with dlopen), Noto CJK so PDFs show Chinese, and gettext
# for compilemessages.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        libfontconfig1 \
        fonts-noto-cjk \
        gettext \
    && rm -rf /var/lib/apt/lists/*

# A writable home: fontconfig keeps its cache there.
RUN groupadd --system --gid 1000 kameng \
    && useradd --system --uid 1000 --gid kameng --create-home --home-dir /home/kameng \
        --shell /usr/sbin/nologin kameng

WORKDIR /app

# Exact pins, installed before the code is copied so code changes reuse this layer.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The code stays owned by root (read-only for the app user); see .dockerignore.
COPY . .

# DEBUG=false (above) selects WhiteNoise's manifest storage, which the stack serves.
# Without DEBUG the settings want real secrets: the build gets throwaway ones that
# live only in this step (the running containers read theirs from .env).
# var/ is writable by the app user: media (a volume in docker-compose.yml) and the
# embedded SQLite database when the image runs without DATABASE_URL.
RUN export SECRET_KEY=build-only-not-used-at-runtime \
        CARD_HASH_KEY=build-only-card-hash-key-not-used-at-runtime \
        FIELD_ENCRYPTION_KEY="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    && python manage.py collectstatic --noinput \
    && python manage.py compilemessages \
    && mkdir -p /app/var/media \
    && chown -R kameng:kameng /app/var

USER kameng

EXPOSE 8000

# Workers, threads and bind: kameng/serve.py (WEB_CONCURRENCY, WEB_THREADS, WEB_BIND).
CMD ["python", "-m", "kameng.serve"]
