"""Model logic of the AI demo app: no Streamlit pages here, only typed functions.

OpenMP threads that spin while waiting for work steal the CPU from the other sessions and
models of a shared server (bench/load.py measured about twice the server CPU per page
visit). They must be told before torch is first imported, which is after this package is.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
