# Production image: gunicorn for web, the same image for the Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Hashed, compressed static files served by WhiteNoise; the key is only for this build step.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input

RUN useradd --system --uid 10001 leadflow
USER leadflow
EXPOSE 8000
CMD ["gunicorn", "leadflow.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
