# syntax=docker/dockerfile:1
#
# 改革试点台账的生产镜像。同一镜像运行三种进程（见 docker-compose.yml）：
#   web    — gunicorn 提供页面和 REST API（默认 CMD）；
#   worker — Celery worker（PDF 渲染、Excel 导出、提醒邮件等后台任务）；
#   beat   — Celery beat，按 django-celery-beat 的数据库计划派发定时任务，只能有一个。
# 部署说明见 docs/deployment.md。

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- 1. Front-end assets ------------------------------------------------------------------
# ECharts and Tom Select come from the npm registry, pinned by package-lock.json, exactly as
# `make setup` installs them. Node.js and npm live in this stage only; the runtime image has neither.
FROM ${PYTHON_IMAGE} AS assets
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
    && mkdir -p static/vendor/echarts static/vendor/tom-select \
    && cp node_modules/echarts/dist/echarts.min.js static/vendor/echarts/ \
    && cp node_modules/tom-select/dist/js/tom-select.complete.min.js static/vendor/tom-select/ \
    && cp node_modules/tom-select/dist/css/tom-select.min.css static/vendor/tom-select/

# --- 2. Python dependencies ---------------------------------------------------------------
# The product's packages from requirements.lock (`make lock` writes it from pyproject.toml),
# each pinned and hash-checked, as `make setup` installs the dev lock; then the project
# itself without dependencies: with `[tool.setuptools] packages = []` it is an empty
# distribution (the code is copied into /app below), so the image is not an editable tree.
# This layer is rebuilt only when the lock or pyproject.toml changes.
FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /build
COPY pyproject.toml requirements.lock ./
RUN /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install --require-hashes -r requirements.lock \
    && /opt/venv/bin/pip install --no-deps . \
    && /opt/venv/bin/pip check

# --- 3. Runtime ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# Pango and HarfBuzz's subsetter for WeasyPrint (without libharfbuzz-subset0 a Chinese PDF
# renders about ten times slower), a CJK font so Chinese PDFs embed real glyphs, fontconfig.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
        fonts-noto-cjk fontconfig \
    && fc-cache -f \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --create-home --home-dir /home/app app

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    PRIVATE_MEDIA_ROOT=/data/private

WORKDIR /app
COPY --from=deps /opt/venv /opt/venv
COPY . .
COPY --from=assets /build/static/vendor/ static/vendor/

# Static files are collected into /app/staticfiles (STATIC_ROOT's default) at build time; the
# key below exists only so that settings load with DEBUG=false and is never used at run time.
# The private folder is created here, owned by the app user, so that a new named volume
# mounted on it starts with that owner.
RUN SECRET_KEY=collectstatic-only-not-a-secret DEBUG=false \
        python manage.py collectstatic --noinput \
    && mkdir -p /data/private /app/var \
    && chown app:app /data/private /app/var

USER app
EXPOSE 8000

# GUNICORN_WORKERS (default 3) sets the number of sync worker processes: 3 served the most on
# two cores, where 5 were slower (docs/performance.md, "Capacity"); a request may take up to
# 120 s (large Excel and PDF exports); the access log goes to stdout.
CMD ["sh", "-c", "exec gunicorn config.wsgi:application --bind 0.0.0.0:8000 --workers ${GUNICORN_WORKERS:-3} --timeout 120 --access-logfile - --error-logfile -"]
