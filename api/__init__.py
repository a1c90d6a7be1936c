"""The HTTP API over ``core``'s task functions: one FastAPI application
(:func:`api.app.create_app`) served in one process (``make api``: uvicorn, models in
process) or on Ray Serve (``make serve-cluster``: :mod:`api.ray_serve`, the same routes
with model deployments behind them). Routes reach models only through a backend
(:mod:`api.backend`), so both servers share one set of route code."""
