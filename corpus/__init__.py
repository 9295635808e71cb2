"""The shared kernel: what a regulation, an article and a citation are; the store and the text encoders.

Imports nothing else of ours.
"""

import os as _os

# Haystack sends usage telemetry by default; this service runs offline and must not phone home.
_os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
