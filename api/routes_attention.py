"""``POST /api/attention``: one layer/head of a model's attention (all of them on request, capped)."""

from __future__ import annotations

from fastapi import APIRouter

from api import schemas as s
from api.checks import blank, check_text
from api.errors import BODY, GUARDED, ApiError, responses
from api.serving import Serving, rounded

MAX_FULL_ATTENTION = 1_000_000  # floats in a full attention answer (layers x heads x T x T)
ERRORS = responses(*BODY, *GUARDED, 404, 503)


def router(serving: Serving) -> APIRouter:
    r = APIRouter(tags=["Attention"], responses=ERRORS)

    @r.post("/api/attention", response_model=s.AttentionResponse, summary="Attention maps")
    async def attention(req: s.AttentionRequest) -> s.AttentionResponse:
        blank(check_text(req.text, "text"), "text")
        pair = check_text(req.pair, "pair") if req.pair and req.pair.strip() else None
        res = await serving.run("attention", req.text, req.model, text_pair=pair)
        att = res.attentions  # (layers, heads, T, T)
        n_layers, n_heads = int(att.shape[0]), int(att.shape[1])
        if not -n_layers <= req.layer < n_layers:
            raise ApiError(422, "bad-layer", f"layer is from 0 to {n_layers - 1} (or negative from the end)")
        if req.head is not None and not 0 <= req.head < n_heads:
            raise ApiError(422, "bad-head", f"head is from 0 to {n_heads - 1}, or null for the average")
        layer = req.layer % n_layers
        matrix = att[layer].mean(axis=0) if req.head is None else att[layer, req.head]
        full = None
        if req.full:
            if att.size > MAX_FULL_ATTENTION:
                raise ApiError(
                    413,
                    "too-large",
                    f"all maps would be {att.size} numbers (at most {MAX_FULL_ATTENTION}): ask one layer/head or a shorter text",
                )
            full = rounded(att, 4)
        return s.AttentionResponse(
            model=res.model,
            tokens=list(res.tokens),
            layers=n_layers,
            heads=n_heads,
            layer=layer,
            head=req.head,
            matrix=rounded(matrix, 5),
            truncated=res.truncated,
            n_input_tokens=res.n_input_tokens,
            causal=res.causal,
            kv_heads=res.kv_heads,
            full=full,
        )

    return r
