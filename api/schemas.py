"""Request and response models of the HTTP API (pydantic): what ``/docs`` shows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.qa.select import MAX_CONTEXT_CHARS  # one number: core refuses longer passages too

MAX_QUESTION_CHARS = 1_000
MAX_TEXT_CHARS = 5_000
MAX_TEXTS = 256
MAX_LABELS = 20
MAX_LABEL_CHARS = 100
MAX_ATTENTION_CHARS = 2_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ErrorBody(BaseModel):
    code: str = Field(
        description="machine-readable: invalid-input, invalid-json, too-large, binary-text, passage-too-long, ..."
    )
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


# --- Q&A -------------------------------------------------------------------------------


class AskRequest(Strict):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, examples=["什么是人工智能？"])
    context: str = Field(
        min_length=1,
        description=f"at most {MAX_CONTEXT_CHARS:,} characters; longer: 422 with code passage-too-long",
        json_schema_extra={"maxLength": MAX_CONTEXT_CHARS},  # checked by the route: its own error code
        examples=["人工智能是一种模拟人类智能的技术，通过计算机程序实现智能行为。"],
    )
    model: str | None = Field(None, description="a registry key (GET /api/models); default: the passage's language")


class AskResponse(BaseModel):
    answer: str = Field(description="the best answer, a span of the passage; empty when there is none")


class QARequest(AskRequest):
    top_k: int = Field(3, ge=1, le=10)


class AnswerOut(BaseModel):
    text: str
    start: int = Field(description="character offset into context: context[start:end] == text")
    end: int
    score: float
    kind: Literal["span", "sentence", "llm"]


class QAResponse(BaseModel):
    answers: list[AnswerOut]
    model: str
    mode: Literal["span", "sentence", "llm"]
    language: str
    no_answer: bool
    weak: bool
    null_score: float
    windows: int
    requested: str
    why: str
    fallback: str
    notes: list[str]
    device: str
    latency_ms: float
    windows_total: int = Field(0, description="span mode: the passage's windows; `windows` of them were read")
    segments: list[tuple[int, int]] = Field(
        default_factory=list,
        description="the parts of the context that were read (character offsets) when not all of it was: "
        "llm mode, and span mode on a long passage (its best windows); empty: the whole passage was read",
    )
    first_token_ms: float = Field(0.0, description="llm mode: time to the first answer token")


# --- classification --------------------------------------------------------------------


class _Texts(Strict):
    text: str | None = Field(None, max_length=MAX_TEXT_CHARS)
    texts: list[str] | None = Field(None, max_length=MAX_TEXTS)

    @model_validator(mode="after")
    def _one_of(self) -> _Texts:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give either text or texts")
        for t in self.all_texts():
            if len(t) > MAX_TEXT_CHARS:
                raise ValueError(f"each text is at most {MAX_TEXT_CHARS} characters")
        return self

    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class ClassifyRequest(_Texts):
    model: str | None = Field(None, description="a sentiment model key; default: each text's language")


class ZeroShotRequest(_Texts):
    labels: list[str] = Field(min_length=1, max_length=MAX_LABELS, examples=[["sport", "politics", "technology"]])
    model: str | None = None

    @model_validator(mode="after")
    def _labels(self) -> ZeroShotRequest:
        if any(not lab.strip() or len(lab) > MAX_LABEL_CHARS for lab in self.labels):
            raise ValueError(f"labels are 1 to {MAX_LABEL_CHARS} characters")
        return self


class PredictionOut(BaseModel):
    label: str
    score: float
    scores: dict[str, float]
    model: str
    language: str
    truncated: bool


class ClassifyResponse(BaseModel):
    predictions: list[PredictionOut | None] = Field(description="one per text; null for an empty text")
    latency_ms: float


# --- digits ----------------------------------------------------------------------------


class DigitsRequest(Strict):
    pixels: list[list[float]] = Field(
        description="a 28x28 or 280x280 grey image, rows of numbers in 0..255 (or 0..1); ink light on dark or dark on light"
    )
    saliency: bool = False


class DigitsResponse(BaseModel):
    code: Literal["ok", "blank"]
    digit: int | None
    probabilities: list[float] | None = Field(None, description="ten probabilities, digit 0 first")
    image: list[list[float]] | None = Field(None, description="the 28x28 picture the model saw, 0..1")
    saliency: list[list[float]] | None = None
    model: str
    latency_ms: float


# --- attention -------------------------------------------------------------------------


class AttentionRequest(Strict):
    text: str = Field(min_length=1, max_length=MAX_ATTENTION_CHARS)
    pair: str | None = Field(None, max_length=MAX_ATTENTION_CHARS)
    model: str | None = None
    layer: int = Field(-1, description="which layer (negative counts from the last)")
    head: int | None = Field(None, description="which head; null: the average of the layer's heads")
    full: bool = Field(False, description="also every layer and head (capped in size)")


class AttentionResponse(BaseModel):
    model: str
    tokens: list[str]
    layers: int
    heads: int
    layer: int
    head: int | None
    matrix: list[list[float]] = Field(description="T x T: row i is how token i attends to every token")
    truncated: bool
    n_input_tokens: int
    causal: bool = Field(False, description="a language model: each token attends only to itself and earlier ones")
    kv_heads: int = Field(0, description="key/value heads shared by groups of query heads (0: one per head)")
    full: list[list[list[list[float]]]] | None = Field(None, description="layers x heads x T x T when asked")


# --- models, health --------------------------------------------------------------------


class ModelOut(BaseModel):
    key: str
    name: str
    tasks: list[str]
    languages: list[str]
    source: str
    status: str
    reason: str
    size_mb: float
    loaded_s: float | None


class TaskCall(Strict):
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
