import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# The cycle collector's youngest generation is collected every 700 new container objects.
# A push of 1000 lines keeps several thousand alive while it runs, all freed by reference
# counting when it is answered (apps.api.middleware.ReleaseCyclesMiddleware), so those
# passes mostly walked live objects. At 10,000 a pass runs every hundred pushes or so, over
# the few cycles libraries leave (docs/PERFORMANCE.md, round 8).
gc.set_threshold(10_000)
