"""The API's description (OpenAPI), named for whoever saves it."""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView

from core.views import content_disposition


class SchemaView(SpectacularAPIView):
    """drf-spectacular's schema with a Content-Disposition a browser reads: its Chinese title
    as RFC 6266's `filename*`, where the library's plain `filename="…"` reaches the browser
    MIME-encoded (`=?utf-8?b?…?=`) and saves under that name."""

    def _get_schema_response(self, request):
        response = super()._get_schema_response(request)
        version = self.api_version or request.version or self._get_version_parameter(request)
        name = self._get_filename(request, version)
        response["Content-Disposition"] = content_disposition(name, kind="inline")
        return response
