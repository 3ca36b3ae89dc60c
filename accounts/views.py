from django.http import HttpRequest, HttpResponse


def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers and container health checks: the database answers."""
    from django.db import connection

    try:
        connection.ensure_connection()
    except Exception:  # any database failure means unhealthy, with no details leaked
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
