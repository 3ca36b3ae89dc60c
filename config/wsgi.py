import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# What start-up loaded (modules, URL patterns, templates, settings) lives as long as the
# process: freezing it keeps every full garbage collection from walking it again.
gc.freeze()
