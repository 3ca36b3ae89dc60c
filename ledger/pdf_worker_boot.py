"""Imported once by the PDF workers' fork server (`ledger.pdf_parts.pool`): Django's settings
and apps, and WeasyPrint with its libraries. Each worker is then forked from that server with
them already in memory, instead of importing them again (about a second of CPU a worker).
The database is never opened here, so no connection is shared by the forks."""

import logging

import django

django.setup()
logging.getLogger("weasyprint").setLevel(logging.ERROR)

import weasyprint  # noqa: E402, F401 - loaded for the forks
